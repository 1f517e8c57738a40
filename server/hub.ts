// The channel hub: channels, their bounded buffers of recent messages, and the
// subscribers that messages fan out to. It knows nothing of HTTP or of buses:
// messages come in through deliver() (from whichever bus the app runs) and go
// out through subscriptions, which are async iterators of batches.
//
// Resume: every channel knows the id before which its history is incomplete
// (its floor: the last message it evicted, or the hub's start). A subscriber
// resuming from an id at or above the floor gets exactly the buffered messages
// after it; below the floor, or an id the hub cannot place, it is told of the
// gap and gets the whole buffer instead.
import { append, forEach, linkedList, remove, type LinkedList } from './linked-list.ts';
import {
  compareMessageIds, createIdGenerator, formatMessageId, parseMessageId, type MessageIdParts,
} from './message-id.ts';

/** A message of a channel. `json` is `data` serialized once, for every encoder to reuse. */
export interface Message {
  readonly id: string;
  readonly channel: string;
  /** Milliseconds since 1970, when it was first published (the id's time). */
  readonly time: number;
  readonly data: unknown;
  readonly json: string;
}

/** Why a resume could not continue exactly where the client left off. */
export interface Gap {
  /** `expired`: the id has left the buffer; `unknown`: it is from before this hub's history or not ours. */
  reason: 'expired' | 'unknown';
  since: string;
  /** Where to resume from next time if nothing follows: the buffer's floor. A
   * client that goes on with its old id would be told of the gap forever. */
  resume: string;
}

/** Where a push-mode subscription sends its messages (see Subscription.listen). */
export interface SubscriptionListener {
  /** Messages in order, called synchronously from deliver(). The array is shared
   * with other subscribers and reused: read it, do not keep it. */
  messages(batch: readonly Message[]): void;
  /** The hub ended the subscription: `slow` (its queue overflowed while paused) or `closed`. */
  end(reason: 'slow' | 'closed'): void;
}

/**
 * A subscriber's view of a channel, in one of two modes:
 * - pull: an async iterator of batches (what arrived since the last next());
 * - push: after listen(), every message goes to the listener synchronously, so a
 *   fan-out is one loop of writes; pause() queues messages (bounded: past
 *   `maxQueued` the subscription ends as slow) until resume() hands them over
 *   as one batch.
 * return() unsubscribes in either mode.
 */
export interface Subscription extends AsyncIterableIterator<Message[]> {
  readonly channel: string;
  /** Set when the subscription began with a gap; the backlog is then the whole buffer. */
  readonly gap: Gap | null;
  /** Set when the hub ended the subscription: `slow` when its queue overflowed. */
  readonly endReason: 'slow' | 'closed' | null;
  listen(listener: SubscriptionListener): void;
  pause(): void;
  resume(): void;
  /** The messages waiting now, taken without waiting; null when there are none. */
  take(): Message[] | null;
  return(): Promise<IteratorResult<Message[]>>;
}

export interface HubOptions {
  /** Messages kept per channel for resumes. */
  bufferSize: number;
  /** How long a message stays resumable. */
  bufferAgeMs: number;
  /** Messages queued for one subscriber that is not reading before it is cut off as slow. */
  maxQueued: number;
  /** This process's id origin; random if absent. */
  origin?: string;
  now?: () => number;
}

export interface HubStats {
  channels: number;
  subscribers: number;
  buffered: number;
  delivered: number;
  published: number;
  resumes: number;
  gaps: number;
  slow: number;
  /** Listeners that threw; each one's subscription was ended. */
  listenerErrors: number;
  byChannel: Array<{ channel: string; subscribers: number; buffered: number }>;
}

export interface Hub {
  /** A new message for `channel` with a fresh id; not delivered until deliver() gets it. */
  createMessage(channel: string, data: unknown): Message;
  /** Buffers a message and hands it to every subscriber of its channel. false: seen already. */
  deliver(message: Message): boolean;
  /** Subscribes to `channel`, resuming after `since` if given. */
  subscribe(channel: string, since?: string): Subscription;
  /** The channel's buffered messages, oldest first, at most `limit`. */
  recent(channel: string, limit?: number): Message[];
  stats(): HubStats;
  /** Ends every subscription and the sweep timer. */
  close(): void;
}

/** A hub message from a bus envelope, or null when its id or channel is not valid. */
export function messageFromEnvelope(envelope: { id: string; channel: string; time: number; data: unknown; json?: string }): Message | null {
  if (typeof envelope.id !== 'string' || !parseMessageId(envelope.id)) return null;
  if (typeof envelope.channel !== 'string' || !isValidChannelName(envelope.channel)) return null;
  // The in-process bus hands over the hub's own Message, already serialized.
  if (typeof envelope.json === 'string') return envelope as Message;
  const { id, channel, time, data } = envelope;
  return { id, channel, time, data, json: JSON.stringify(data) ?? 'null' };
}

const channelPattern = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;

/** A channel name: 1–64 of letters, digits and `_ . : -`, not starting with punctuation other than `_`. */
export function isValidChannelName(name: string): boolean {
  return channelPattern.test(name);
}

interface Buffered { message: Message; parts: MessageIdParts }

interface Channel {
  name: string;
  buffer: Buffered[];
  floor: MessageIdParts;
  /** In the order they came. */
  subscribers: LinkedList<HubSubscription>;
}

const SWEEP_INTERVAL_MS = 30_000;

export function createHub(options: HubOptions): Hub {
  const now = options.now ?? Date.now;
  const nextId = createIdGenerator(options.origin, now);
  const startedAt: MessageIdParts = { ms: now(), seq: 0, origin: '' };
  // Channels forgotten by the sweep take their floors with them; new ones start no lower.
  let forgottenFloor = startedAt;
  const channels = new Map<string, Channel>();
  const counters = { delivered: 0, published: 0, resumes: 0, gaps: 0, slow: 0, listenerErrors: 0 };

  const sweep = setInterval(() => {
    for (const channel of channels.values()) {
      evictOld(channel);
      if (channel.buffer.length === 0 && channel.subscribers.size === 0) {
        if (compareMessageIds(channel.floor, forgottenFloor) > 0) forgottenFloor = channel.floor;
        channels.delete(channel.name);
      }
    }
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  function channelFor(name: string): Channel {
    let channel = channels.get(name);
    if (!channel) {
      if (!isValidChannelName(name)) throw new Error(`invalid channel name "${name}"`);
      channel = { name, buffer: [], floor: forgottenFloor, subscribers: linkedList() };
      channels.set(name, channel);
    }
    return channel;
  }

  function evict(channel: Channel, count: number): void {
    if (count <= 0) return;
    channel.floor = channel.buffer[count - 1]!.parts;
    channel.buffer.splice(0, count);
  }

  function evictOld(channel: Channel): void {
    const oldest = now() - options.bufferAgeMs;
    let count = 0;
    while (count < channel.buffer.length && channel.buffer[count]!.message.time < oldest) count++;
    evict(channel, count);
  }

  return {
    createMessage(channel, data) {
      if (!isValidChannelName(channel)) throw new Error(`invalid channel name "${channel}"`);
      const parts = nextId();
      counters.published++;
      return { id: formatMessageId(parts), channel, time: parts.ms, data, json: JSON.stringify(data) ?? 'null' };
    },

    deliver(message) {
      const parts = parseMessageId(message.id);
      if (!parts) throw new Error(`invalid message id "${message.id}"`);
      const channel = channelFor(message.channel);
      const { buffer } = channel;
      // Usually the newest; otherwise find its place, and drop it if it is a repeat.
      let at = buffer.length;
      while (at > 0 && compareMessageIds(buffer[at - 1]!.parts, parts) >= 0) at--;
      if (at < buffer.length && compareMessageIds(buffer[at]!.parts, parts) === 0) return false;
      if (compareMessageIds(parts, channel.floor) > 0) {
        buffer.splice(at, 0, { message, parts });
        evict(channel, buffer.length - options.bufferSize);
        evictOld(channel);
      }
      const single = [message];
      counters.delivered += channel.subscribers.size;
      forEach(channel.subscribers, (subscriber) => {
        try {
          subscriber.push(message, single);
        } catch {
          // One subscriber's failure must not cost the others their message.
          counters.listenerErrors++;
          subscriber.end('closed');
        }
      });
      return true;
    },

    subscribe(name, since) {
      const channel = channelFor(name);
      evictOld(channel);
      let gap: Gap | null = null;
      let backlog = noMessages;
      if (since !== undefined) {
        counters.resumes++;
        const parts = parseMessageId(since);
        const tooNew = parts && parts.ms > now() + 60_000; // from some other clock: we cannot place it
        if (!parts || tooNew || compareMessageIds(parts, channel.floor) < 0) {
          const reason = parts && !tooNew && compareMessageIds(parts, startedAt) >= 0 ? 'expired' : 'unknown';
          // The floor of a hub's start has no origin; '000' orders right after it.
          gap = { reason, since, resume: formatMessageId({ ...channel.floor, origin: channel.floor.origin || '000' }) };
          counters.gaps++;
          backlog = messagesFrom(channel.buffer, 0);
        } else {
          let at = channel.buffer.length;
          while (at > 0 && compareMessageIds(channel.buffer[at - 1]!.parts, parts) > 0) at--;
          backlog = messagesFrom(channel.buffer, at);
        }
      }
      return new HubSubscription(channel, gap, backlog, options.maxQueued, counters);
    },

    recent(name, limit = Infinity) {
      const channel = channels.get(name);
      if (!channel) return [];
      evictOld(channel);
      return channel.buffer.slice(Math.max(0, channel.buffer.length - limit)).map((b) => b.message);
    },

    stats() {
      let subscribers = 0;
      let buffered = 0;
      const byChannel = [];
      for (const channel of channels.values()) {
        subscribers += channel.subscribers.size;
        buffered += channel.buffer.length;
        byChannel.push({ channel: channel.name, subscribers: channel.subscribers.size, buffered: channel.buffer.length });
      }
      return { channels: channels.size, subscribers, buffered, ...counters, byChannel };
    },

    close() {
      clearInterval(sweep);
      for (const channel of channels.values()) forEach(channel.subscribers, (subscriber) => subscriber.end('closed'));
    },
  };
}

function messagesFrom(buffer: readonly Buffered[], at: number): Message[] {
  if (at >= buffer.length) return noMessages;
  const messages: Message[] = [];
  for (let i = at; i < buffer.length; i++) messages.push(buffer[i]!.message);
  return messages;
}

// An empty queue, shared: most subscriptions (every waiting poll) hold nothing,
// and push() makes a queue of their own when a message must wait.
const noMessages: Message[] = [];

// What next() and return() give once a subscription is over: one shared, settled
// promise, since every poll's subscription ends this way.
const finished: Promise<IteratorResult<Message[]>> = Promise.resolve(Object.freeze({ value: undefined, done: true }));

// One subscriber. A class rather than closures: the hub holds one per open
// connection, and prototype methods cost nothing per instance.
class HubSubscription implements Subscription {
  endReason: Subscription['endReason'] = null;
  /** Its place among the channel's subscribers (server/linked-list.ts). */
  listPrev: HubSubscription | null = null;
  listNext: HubSubscription | null = null;
  listOrder = 0;
  private queue: Message[];
  private waiting: ((result: IteratorResult<Message[]>) => void) | null = null;
  private listener: SubscriptionListener | null = null;
  private paused = false;
  private done = false;

  constructor(
    private readonly channelState: Channel,
    readonly gap: Gap | null,
    backlog: Message[],
    private readonly maxQueued: number,
    private readonly counters: { slow: number },
  ) {
    this.queue = backlog;
    append(channelState.subscribers, this);
  }

  get channel(): string {
    return this.channelState.name;
  }

  /** Called by deliver(); `single` is `[message]`, shared by every subscriber. */
  push(message: Message, single: readonly Message[]): void {
    if (this.listener && !this.paused) {
      this.listener.messages(single);
    } else if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: [message], done: false });
    } else {
      if (this.queue === noMessages) this.queue = [message];
      else this.queue.push(message);
      if (this.queue.length > this.maxQueued) this.end('slow');
    }
  }

  end(reason: 'slow' | 'closed'): void {
    if (this.done) return;
    this.endReason = reason;
    if (reason === 'slow') this.counters.slow++;
    this.finish();
    this.listener?.end(reason);
  }

  listen(listener: SubscriptionListener): void {
    this.listener = listener;
    this.flush();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flush();
  }

  take(): Message[] | null {
    if (this.queue.length === 0) return null;
    const batch = this.queue;
    this.queue = noMessages;
    return batch;
  }

  next(): Promise<IteratorResult<Message[]>> {
    if (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = noMessages;
      return Promise.resolve({ value: batch, done: false });
    }
    if (this.done) return finished;
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  return(): Promise<IteratorResult<Message[]>> {
    if (!this.done) this.finish();
    return finished;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private flush(): void {
    if (this.queue.length === 0 || !this.listener || this.paused || this.done) return;
    const batch = this.queue;
    this.queue = noMessages;
    this.listener.messages(batch);
  }

  private finish(): void {
    this.done = true;
    remove(this.channelState.subscribers, this);
    this.queue = noMessages;
    const w = this.waiting;
    this.waiting = null;
    w?.({ value: undefined, done: true });
  }
}
