// Who is in each room: per user, not per connection (three tabs are one person).
// A user joins with their first connection and leaves `graceMs` after their last
// one closed, so a long-poll's re-poll or a stream's reconnect is not a
// leave-and-join. Joins and leaves go out on the room's channel
// ({type:'join'|'leave', user}); a room costs one entry per user, whatever the
// number of tabs.
//
// Across processes: each join/leave carries `from`, the process that sent it, and
// every process keeps the users the others announced. Each process repeats its
// users every `refreshMs` on the channel `presence.<room>` (no browser listens
// there); another process's entries not repeated for three periods belong to a
// process that died and are dropped. When another process says a user left who
// is still connected here, this process announces them again, so clients that
// dropped them put them back.

/** A user as the room shows them. */
export interface RoomUser { id: string; nick: string }

/** The rooms' users (see above). */
export interface Presence {
  /** A connection of `user` opened in `room`; call the returned function once when it closes. */
  enter(room: string, user: RoomUser): () => void;
  /** The room's users, each once, by nick. */
  who(room: string): RoomUser[];
  /** A message from the bus: joins, leaves and repeats from other processes update the room. */
  observe(channel: string, data: unknown): void;
  /** Announces that this process's users left (the process is stopping), and stops the timers. */
  close(): void;
}

/** How presence talks to the rest: its name, its timings, and how it sends on a channel. */
export interface PresenceOptions {
  /** This process's name in `from`. */
  self: string;
  graceMs: number;
  refreshMs: number;
  /** Sends `data` on `channel` through the bus; failures are the caller's to log. */
  announce(channel: string, data: unknown): void;
  now?: () => number;
}

interface LocalEntry { user: RoomUser; connections: number; leaving: NodeJS.Timeout | null }
interface RemoteEntry { user: RoomUser; seen: Map<string, number> }

/** Presence for one process; close() stops its timers. */
export function createPresence(options: PresenceOptions): Presence {
  const now = options.now ?? Date.now;
  const local = new Map<string, Map<string, LocalEntry>>();
  const remote = new Map<string, Map<string, RemoteEntry>>();
  const { self } = options;

  const refresh = setInterval(() => {
    for (const [room, users] of local) {
      options.announce(`presence.${room}`, { type: 'here', from: self, users: [...users.values()].map((e) => e.user) });
    }
    const stale = now() - 3 * options.refreshMs;
    for (const [room, users] of remote) {
      for (const [id, entry] of users) {
        for (const [from, seen] of entry.seen) if (seen < stale) entry.seen.delete(from);
        if (entry.seen.size === 0) users.delete(id);
      }
      if (users.size === 0) remote.delete(room);
    }
  }, options.refreshMs);
  refresh.unref();

  function leave(room: string, entry: LocalEntry): void {
    const users = local.get(room);
    if (!users || users.get(entry.user.id) !== entry) return;
    users.delete(entry.user.id);
    if (users.size === 0) local.delete(room);
    options.announce(`chat.${room}`, { type: 'leave', user: entry.user, from: self });
  }

  function remoteSeen(room: string, user: RoomUser, from: string): void {
    let users = remote.get(room);
    if (!users) remote.set(room, (users = new Map()));
    let entry = users.get(user.id);
    if (!entry) users.set(user.id, (entry = { user, seen: new Map() }));
    entry.seen.set(from, now());
  }

  function remoteGone(room: string, userId: string, from: string): void {
    const users = remote.get(room);
    const entry = users?.get(userId);
    if (!entry) return;
    entry.seen.delete(from);
    if (entry.seen.size === 0) users!.delete(userId);
    if (users!.size === 0) remote.delete(room);
  }

  return {
    enter(room, user) {
      let users = local.get(room);
      if (!users) local.set(room, (users = new Map()));
      let entry = users.get(user.id);
      if (!entry) {
        users.set(user.id, (entry = { user: { id: user.id, nick: user.nick }, connections: 0, leaving: null }));
        options.announce(`chat.${room}`, { type: 'join', user: entry.user, from: self });
      }
      if (entry.leaving) {
        clearTimeout(entry.leaving);
        entry.leaving = null;
      }
      entry.connections++;
      const held = entry;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--held.connections > 0) return;
        if (options.graceMs === 0) return leave(room, held);
        held.leaving = setTimeout(() => leave(room, held), options.graceMs);
        held.leaving.unref();
      };
    },
    who(room) {
      const byId = new Map<string, RoomUser>();
      for (const entry of remote.get(room)?.values() ?? []) byId.set(entry.user.id, entry.user);
      for (const entry of local.get(room)?.values() ?? []) byId.set(entry.user.id, entry.user);
      return [...byId.values()].sort((a, b) => a.nick.localeCompare(b.nick));
    },
    observe(channel, data) {
      const d = data as { type?: unknown; user?: RoomUser; users?: RoomUser[]; from?: unknown } | null;
      if (!d || typeof d.from !== 'string' || d.from === self) return;
      if (channel.startsWith('chat.') && d.user && typeof d.user.id === 'string' && typeof d.user.nick === 'string') {
        const room = channel.slice(5);
        if (d.type === 'join') remoteSeen(room, d.user, d.from);
        else if (d.type === 'leave') {
          remoteGone(room, d.user.id, d.from);
          // Clients just dropped this user, who is still here: say so again.
          const mine = local.get(room)?.get(d.user.id);
          if (mine) options.announce(`chat.${room}`, { type: 'join', user: mine.user, from: self });
        }
      } else if (channel.startsWith('presence.') && d.type === 'here' && Array.isArray(d.users)) {
        const room = channel.slice(9);
        for (const user of d.users) if (user && typeof user.id === 'string' && typeof user.nick === 'string') remoteSeen(room, user, d.from);
      }
    },
    close() {
      clearInterval(refresh);
      for (const [room, users] of local) {
        for (const entry of users.values()) {
          if (entry.leaving) clearTimeout(entry.leaving);
          options.announce(`chat.${room}`, { type: 'leave', user: entry.user, from: self });
        }
      }
      local.clear();
    },
  };
}
