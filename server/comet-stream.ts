// Turns a feed of message batches into a transport's bytes: a streaming body
// (an async iterator of Buffers that server/stream.ts writes) or one polling
// answer. This is where the SPEC's streaming rules live: heartbeats, the byte
// limit after which a stream ends with a `reconnect`, the long-poll hold, and
// framing each message once per transport (the same Buffer goes to every
// subscriber, so per-subscriber work is a write, not an encode).
import type { Control, EncodeOptions, Encoder, WireMessage } from '../transports/encoder.ts';

/** What a Comet view streams: control frames to send first, then batches of messages. */
export interface CometFeed {
  /** Sent right after the opening bytes (e.g. a `gap`). */
  controls: Control[];
  batches: AsyncIterator<WireMessage[]>;
  /** Why the batches ended, if the feed ended them (a slow reader, shutdown). */
  endReason?(): 'slow' | 'shutdown' | null;
}

/** Counts what goes out, for /status and /metrics. */
export interface CometCounters {
  messagesOut: number;
  bytesOut: number;
}

// Frames made once per message and transport, shared by every subscriber.
const frameCache = new Map<string, WeakMap<WireMessage, Buffer>>();

export function frameOf(encoder: Encoder, message: WireMessage): Buffer {
  let cache = frameCache.get(encoder.name);
  if (!cache) frameCache.set(encoder.name, (cache = new WeakMap()));
  let frame = cache.get(message);
  if (!frame) cache.set(message, (frame = Buffer.from(encoder.message(message))));
  return frame;
}

function framesOf(encoder: Encoder, batch: readonly WireMessage[]): Buffer {
  if (batch.length === 1) return frameOf(encoder, batch[0]!);
  const separator = Buffer.from(encoder.separator);
  return Buffer.concat(batch.flatMap((message, i) => (i > 0 ? [separator, frameOf(encoder, message)] : [frameOf(encoder, message)])));
}

/**
 * Heartbeats for every open stream from one timer. Each tick (half the interval)
 * beats the streams that wrote nothing since the previous tick, so no stream is
 * silent for longer than the interval.
 */
export interface Heartbeats {
  add(stream: HeartbeatTarget): void;
  delete(stream: HeartbeatTarget): void;
  stop(): void;
  /** Streams registered now. */
  readonly size: number;
}

export interface HeartbeatTarget {
  /** Set on every write; cleared by each tick. */
  wrote: boolean;
  beat(): void;
}

export function createHeartbeats(intervalMs: number): Heartbeats {
  const streams = new Set<HeartbeatTarget>();
  const timer = setInterval(() => {
    for (const stream of streams) {
      if (!stream.wrote) stream.beat();
      stream.wrote = false;
    }
  }, intervalMs / 2);
  timer.unref();
  return {
    add: (stream) => streams.add(stream),
    delete: (stream) => streams.delete(stream),
    stop: () => {
      clearInterval(timer);
      streams.clear();
    },
    get size() {
      return streams.size;
    },
  };
}

export interface StreamLimits {
  /** End the response once this many bytes were sent (the client reconnects). */
  byteLimit: number;
}

const done: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * The body of a streaming response: the opening bytes (with the feed's controls),
 * then each batch as it comes, a heartbeat when idle, and a `reconnect` plus the
 * closing bytes when the byte limit is reached or the feed ends.
 */
export function streamingBody(
  encoder: Encoder,
  options: EncodeOptions,
  feed: CometFeed,
  limits: StreamLimits,
  heartbeats: Heartbeats,
  counters: CometCounters,
): AsyncIterableIterator<Buffer> {
  let sent = 0;
  let state: 'opening' | 'open' | 'ended' = 'opening';
  // At most one feed.next() in flight; its result waits in `arrived` if a
  // heartbeat answered the call that was waiting for it.
  let pulling = false;
  let arrived: IteratorResult<WireMessage[]> | null = null;
  let failed: { error: unknown } | null = null;
  let waiting: { resolve(result: IteratorResult<Buffer>): void; reject(error: unknown): void } | null = null;

  const emit = (bytes: Buffer): IteratorResult<Buffer> => {
    sent += bytes.length;
    counters.bytesOut += bytes.length;
    target.wrote = true;
    return { value: bytes, done: false };
  };
  const release = (): void => {
    heartbeats.delete(target);
    void feed.batches.return?.();
  };
  const ending = (reason: 'limit' | 'slow' | 'shutdown', before?: Buffer): IteratorResult<Buffer> => {
    state = 'ended';
    release();
    const tail = Buffer.from(encoder.control({ control: 'reconnect', reason }) + encoder.close(options));
    return emit(before ? Buffer.concat([before, tail]) : tail);
  };
  const target: HeartbeatTarget = {
    wrote: false,
    beat() {
      if (!waiting) return; // the writer is busy: bytes are flowing anyway
      const w = waiting;
      waiting = null;
      w.resolve(emit(Buffer.from(encoder.heartbeat())));
    },
  };

  const onBatch = (result: IteratorResult<WireMessage[]>): IteratorResult<Buffer> => {
    if (state === 'ended') return done;
    if (result.done) return ending(feed.endReason?.() ?? 'shutdown');
    counters.messagesOut += result.value.length;
    const bytes = framesOf(encoder, result.value);
    return sent + bytes.length >= limits.byteLimit ? ending('limit', bytes) : emit(bytes);
  };
  const pull = (): void => {
    pulling = true;
    feed.batches.next().then((result) => {
      pulling = false;
      if (!waiting) {
        arrived = result;
        return;
      }
      const w = waiting;
      waiting = null;
      w.resolve(onBatch(result));
    }, (error: unknown) => {
      pulling = false;
      if (waiting) waiting.reject(error);
      else failed = { error };
      waiting = null;
    });
  };

  const body: AsyncIterableIterator<Buffer> = {
    next() {
      if (state === 'ended') return Promise.resolve(done);
      if (state === 'opening') {
        state = 'open';
        heartbeats.add(target);
        const controls = feed.controls.map((c) => encoder.control(c)).join('');
        return Promise.resolve(emit(Buffer.from(encoder.open(options) + controls)));
      }
      if (failed) return Promise.reject(failed.error);
      if (arrived) {
        const result = arrived;
        arrived = null;
        return Promise.resolve(onBatch(result));
      }
      if (!pulling) pull();
      return new Promise((resolve, reject) => { waiting = { resolve, reject }; });
    },
    return() {
      if (state !== 'ended') {
        state = 'ended';
        release();
      }
      waiting = null;
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]() {
      return body;
    },
  };
  return body;
}

/**
 * The body of a polling answer: whatever the feed has now, or the first batch
 * within `holdMs`, framed as one response (`[]` when nothing came). Resolves
 * early with nothing if `signal` aborts (the client left).
 */
export async function pollingBody(
  encoder: Encoder,
  options: EncodeOptions,
  feed: CometFeed,
  holdMs: number,
  signal: AbortSignal,
  counters: CometCounters,
): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const result = await new Promise<IteratorResult<WireMessage[]> | null>((resolve, reject) => {
      timer = setTimeout(() => resolve(null), holdMs);
      onAbort = () => resolve(null);
      signal.addEventListener('abort', onAbort, { once: true });
      feed.batches.next().then(resolve, reject);
    });
    const items: Buffer[] = feed.controls.map((c) => Buffer.from(encoder.control(c)));
    if (result && !result.done && result.value.length > 0) {
      counters.messagesOut += result.value.length;
      items.push(framesOf(encoder, result.value));
    }
    const bytes = Buffer.concat([
      Buffer.from(encoder.open(options)),
      ...items.flatMap((item, i) => (i > 0 ? [Buffer.from(encoder.separator), item] : [item])),
      Buffer.from(encoder.close(options)),
    ]);
    counters.bytesOut += bytes.length;
    return bytes;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    await feed.batches.return?.();
  }
}
