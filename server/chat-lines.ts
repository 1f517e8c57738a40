// Posting and deleting lines: the one place that keeps a post all-or-nothing.
//
//   reserve (stored, hidden) ──▶ publish on the bus ──▶ confirm (shown in history) ──▶ 201
//        │ store down: 503          │ bus down: discard, 503   │ store down: publish a delete, discard, 503
//
// A line is acknowledged only once it is both stored and published. Whatever
// fails, nothing half-done stays visible: a line whose publish failed is
// discarded; a line that went out but could not be confirmed is withdrawn from
// live clients with a `delete`; a line left pending by a crash is never shown,
// and the client's retry (same key) replaces it with a fresh line and id.
import { BusUnavailableError } from './bus.ts';
import { httpError } from './errors.ts';
import type { Hub } from './hub.ts';
import type { Publish } from './publisher.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { StoreUnavailableError, type Line, type Store, type User } from './store.ts';

/** Posting and deleting lines, all-or-nothing (see the diagram above). */
export interface ChatLines {
  /** Posts `text` as `user` in `room` under the idempotency `key`: the stored line (the first one for a repeated key). */
  post(user: User, room: string, text: string, key: string): Promise<{ line: Line; replayed: boolean }>;
  /** Deletes a line (moderators only: the caller checks) and tells every client. */
  remove(room: string, id: string): Promise<void>;
  /** Sends `data` on `channel` to every process's hub; rejects as the bus does. */
  send(channel: string, data: unknown): Promise<string>;
}

/** What posting needs: ids from the hub, publishing on the bus, the store, the per-user rate limit. */
export interface ChatLinesOptions {
  hub: Hub;
  publish: Publish;
  store: Store;
  rate: RateLimiter;
  log: { warn(obj: object, msg: string): void };
}

/** Makes the posting service; one per app. */
export function createChatLines({ hub, publish, store, rate, log }: ChatLinesOptions): ChatLines {
  async function send(channel: string, data: unknown, id?: string): Promise<string> {
    try {
      return (await publish('chat', channel, data, id)).id;
    } catch (err) {
      if (err instanceof BusUnavailableError) throw httpError('bus_unavailable', err.message);
      throw httpError('bus_unavailable', `The bus refused the message: ${(err as Error).message}`);
    }
  }

  async function stored<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw httpError('store_unavailable', err.message);
      throw err;
    }
  }

  async function reserveFresh(user: User, room: string, text: string, key: string) {
    for (let attempt = 0; ; attempt++) {
      const { id, time } = hub.createMessage(`chat.${room}`, null);
      const line: Line = { id, room, userId: user.id, nick: user.nick, text, time, kind: 'user' };
      const reservation = await stored(store.reserve(line, key));
      // A pending line is an earlier attempt that never finished: replace it.
      if (reservation.state !== 'pending' || attempt > 0) return reservation;
      await stored(store.discard(reservation.line.id));
    }
  }

  return {
    send: (channel, data) => send(channel, data),

    async post(user, room, text, key) {
      const reservation = await reserveFresh(user, room, text, key);
      if (reservation.state !== 'new') {
        if (reservation.state === 'shown') return { line: reservation.line, replayed: true };
        throw httpError('store_unavailable', 'An earlier post with this key is still in progress; retry shortly.');
      }
      const { line } = reservation;
      let wait: number;
      try {
        wait = await stored(rate.take(line));
      } catch (err) {
        await store.discard(line.id).catch(() => undefined);
        throw err;
      }
      if (wait > 0) {
        await store.discard(line.id).catch((err: unknown) => log.warn({ err, id: line.id }, 'could not discard a rate-limited line; it stays hidden'));
        throw httpError('rate_limited', undefined, { retryAfter: Math.ceil(wait / 1000) });
      }
      try {
        await send(`chat.${room}`, { type: 'line', line }, line.id);
      } catch (err) {
        await store.discard(line.id).catch((e: unknown) => log.warn({ err: e, id: line.id }, 'could not discard an unpublished line; it stays hidden'));
        throw err;
      }
      let confirmed = false;
      try {
        confirmed = await store.confirm(line.id);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
      }
      if (!confirmed) {
        // Out on the bus but not in history: take it back from every client.
        await send(`chat.${room}`, { type: 'delete', id: line.id }).catch((err: unknown) => log.warn({ err, id: line.id }, 'could not withdraw an unconfirmed line'));
        await store.discard(line.id).catch(() => undefined);
        throw httpError('store_unavailable', 'The line could not be stored; retry with the same key.');
      }
      return { line, replayed: false };
    },

    async remove(room, id) {
      if (!(await stored(store.remove(room, id)))) throw httpError('not_found', 'No such line in this room.');
      await send(`chat.${room}`, { type: 'delete', id });
    },
  };
}
