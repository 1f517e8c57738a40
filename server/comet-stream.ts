// Turns a source of message batches into a transport's bytes: a streaming body
// (a PushBody that server/stream.ts writes) or one polling answer. This is
// where the SPEC's streaming rules live: heartbeats, the byte limit after which a
// stream ends with a `reconnect`, the long-poll hold, and framing each message
// once per transport (the same Buffer goes to every subscriber, so
// per-subscriber work is a write, not an encode).
//
// A streaming body listens to its source: when a message is delivered it is
// framed and written at once, synchronously, inside the hub's fan-out loop. When
// a socket's buffer fills, the body pauses its source (which queues, bounded)
// until the socket drains, and the queued messages go out as one write.
import type { Control, EncodeOptions, Encoder, TransportName, WireMessage } from '../transports/encoder.ts';
import { append, linkedList, remove, type Linked } from './linked-list.ts';
import { pushBody, type PushBody, type PushSink } from './views.ts';

/** Where a source's push-mode messages go. */
export interface SourceListener {
  messages(batch: readonly WireMessage[]): void;
  end(reason: 'slow' | 'closed'): void;
}

/** Messages for one subscriber, pushed to a listener; take() hands over what is waiting now. The hub's Subscription is one. */
export interface MessageSource {
  listen(listener: SourceListener): void;
  pause(): void;
  resume(): void;
  /** What is waiting now, without waiting; null when nothing is. */
  take(): readonly WireMessage[] | null;
}

/** What a Comet view sends: control frames first, then the source's messages. */
export interface CometFeed {
  /** Sent right after the opening bytes (e.g. a `gap`). */
  readonly controls: readonly Control[];
  source: MessageSource;
  /** Called exactly once, as a method, when the response is over: unsubscribe, give back places. */
  release(): void;
}

/** What every Comet response shares: one heartbeat timer, one timer for held polls, the limits, and the counters /status reads. */
export interface CometContext {
  heartbeats: Heartbeats;
  /** Held long-polls, each answered empty when its hold runs out. */
  holds: PollHolds;
  /** A streaming response ends after this many bytes. */
  byteLimit: number;
  counters: { messagesOut: number; bytesOut: number };
  /** Open responses per transport. */
  open: Record<TransportName, number>;
}

// Frames made once per message and transport. A fan-out asks for the same
// message's frame once per subscriber in a row, so the last one is kept at hand;
// older ones live as long as their message does.
interface FrameCache { last: WireMessage | null; lastFrame: Buffer; frames: WeakMap<WireMessage, Buffer> }
const frameCaches = new Map<Encoder, FrameCache>();

function frameOf(encoder: Encoder, message: WireMessage): Buffer {
  let cache = frameCaches.get(encoder);
  if (!cache) frameCaches.set(encoder, (cache = { last: null, lastFrame: Buffer.alloc(0), frames: new WeakMap() }));
  if (cache.last === message) return cache.lastFrame;
  let frame = cache.frames.get(message);
  if (!frame) cache.frames.set(message, (frame = Buffer.from(encoder.message(message))));
  cache.last = message;
  cache.lastFrame = frame;
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

/** A poll the holds queue answers when its time is up; the queue links it through its own fields. */
export interface HeldPoll extends Linked<HeldPoll> {
  expire(): void;
  /** When the hold runs out, in milliseconds since the queue began: a small integer for V8, not a boxed number per poll. */
  heldUntil: number;
}

export interface PollHolds {
  add(poll: HeldPoll): void;
  /** Takes `poll` out if it is held; harmless if it is not. */
  delete(poll: HeldPoll): void;
  stop(): void;
  readonly size: number;
}

/**
 * Held long-polls, all held for `holdMs`, in one queue with one timer. Every
 * poll is held equally long, so the order they came in is the order they run
 * out: the timer only ever waits for the first. (A timer per poll made a
 * thousand timer objects a wave; a Map, the next try, made what the polls held
 * be promoted out of the young generation: see server/linked-list.ts.)
 */
export function createPollHolds(holdMs: number): PollHolds {
  const start = Date.now();
  const clock = () => Date.now() - start;
  const held = linkedList<HeldPoll>();
  let timer: NodeJS.Timeout | null = null;

  function arm(): void {
    if (timer || !held.first) return;
    timer = setTimeout(expireDue, Math.max(0, held.first.heldUntil - clock()));
  }

  function disarm(): void {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  function expireDue(): void {
    timer = null;
    const now = clock();
    while (held.first && held.first.heldUntil <= now) {
      const poll = held.first;
      remove(held, poll);
      poll.expire();
    }
    arm();
  }

  return {
    add(poll) {
      poll.heldUntil = clock() + holdMs;
      append(held, poll);
      arm();
    },
    delete(poll) {
      remove(held, poll);
      // The last poll gone takes its timer along: none is left running for nobody.
      if (!held.first) disarm();
    },
    stop() {
      disarm();
      while (held.first) remove(held, held.first);
    },
    get size() {
      return held.size;
    },
  };
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

/**
 * The body of a streaming response: the opening bytes (with the feed's
 * controls), then every message as it is delivered, a heartbeat when idle, and a
 * `reconnect` plus the closing bytes when the byte limit is reached or the
 * source ends. A class: one per open stream, no closures.
 */
export class StreamingBody implements PushBody, SourceListener, HeartbeatTarget {
  declare readonly [pushBody]: true;
  wrote = false;
  private sink: PushSink | null = null;
  private controls: readonly Control[] | null;
  private sent = 0;
  private paused = false;
  private ended = false;
  private released = false;
  private readonly source: MessageSource;

  constructor(
    private readonly encoder: Encoder,
    private readonly options: EncodeOptions,
    private readonly feed: CometFeed,
    private readonly context: CometContext,
  ) {
    this.controls = feed.controls;
    this.source = feed.source;
    context.open[encoder.name]++;
  }

  start(sink: PushSink): void {
    this.sink = sink;
    this.context.heartbeats.add(this);
    const { encoder } = this;
    this.write(Buffer.from(encoder.open(this.options) + this.controls!.map((c) => encoder.control(c)).join('')));
    this.controls = null;
    if (!this.ended) this.source.listen(this);
  }

  messages(batch: readonly WireMessage[]): void {
    if (this.ended) return;
    this.context.counters.messagesOut += batch.length;
    const bytes = framesOf(this.encoder, batch);
    if (this.sent + bytes.length >= this.context.byteLimit) this.finish('limit', bytes);
    else this.write(bytes);
  }

  end(reason: 'slow' | 'closed'): void {
    this.finish(reason === 'slow' ? 'slow' : 'shutdown');
  }

  resume(): void {
    if (!this.paused || this.ended) return;
    this.paused = false;
    this.source.resume();
  }

  beat(): void {
    if (!this.paused && !this.ended) this.write(Buffer.from(this.encoder.heartbeat()));
  }

  stop(reason: string): void {
    if (reason === 'client-gone') this.release();
    else this.finish('shutdown');
  }

  private write(bytes: Buffer): void {
    this.sent += bytes.length;
    this.context.counters.bytesOut += bytes.length;
    this.wrote = true;
    if (!this.sink!.write(bytes) && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
  }

  private finish(reason: 'limit' | 'slow' | 'shutdown', before?: Buffer): void {
    if (this.ended) return;
    this.ended = true;
    const tail = Buffer.from(this.encoder.control({ control: 'reconnect', reason }) + this.encoder.close(this.options));
    this.write(before ? Buffer.concat([before, tail]) : tail);
    this.release();
    this.sink!.end();
  }

  private release(): void {
    this.ended = true;
    if (this.released) return;
    this.released = true;
    this.context.heartbeats.delete(this);
    this.context.open[this.encoder.name]--;
    this.feed.release();
  }
}

/**
 * The body of a polling answer (longpoll, jsonp): whatever the source has now,
 * or the first batch within the hold, framed as one response with a
 * Content-Length (`[]` when nothing came). Like StreamingBody it listens to its
 * source, so a message answers every held poll in the hub's one synchronous
 * fan-out loop.
 */
export class PollingBody implements PushBody, SourceListener, HeldPoll {
  declare readonly [pushBody]: true;
  heldUntil = 0;
  listPrev: HeldPoll | null = null;
  listNext: HeldPoll | null = null;
  listOrder = 0;
  private sink: PushSink | null = null;
  private done = false;

  constructor(
    private readonly encoder: Encoder,
    private readonly options: EncodeOptions,
    private readonly feed: CometFeed,
    private readonly context: CometContext,
  ) {
    context.open[encoder.name]++;
  }

  start(sink: PushSink): void {
    this.sink = sink;
    // A poll that finds messages waiting (a resume, or a client catching up
    // under load), or has a control frame to give, is answered at once.
    const ready = this.feed.source.take();
    if (ready || this.feed.controls.length > 0) return this.answer(ready);
    this.context.holds.add(this);
    this.feed.source.listen(this);
  }

  expire(): void {
    this.answer(null);
  }

  messages(batch: readonly WireMessage[]): void {
    this.answer(batch);
  }

  end(): void {
    this.answer(null);
  }

  resume(): void {}

  stop(): void {
    this.release();
  }

  private answer(messages: readonly WireMessage[] | null): void {
    if (this.done) return;
    const body = answerPoll(this.encoder, this.options, this.feed.controls, messages, this.context);
    this.release();
    this.sink!.endWith(body);
  }

  private release(): void {
    if (this.done) return;
    this.done = true;
    this.context.holds.delete(this); // nothing to do for a poll answered at once
    this.context.open[this.encoder.name]--;
    this.feed.release();
  }
}

// The brand on the prototypes: a computed class field costs a runtime call per instance.
Object.defineProperty(StreamingBody.prototype, pushBody, { value: true });
Object.defineProperty(PollingBody.prototype, pushBody, { value: true });

// The answer of a poll with no control frame is the same bytes for every poll
// given the same messages: when a message answers a thousand held polls in one
// fan-out loop, it is made once. So is a backlog: polls that fell behind
// together come back with one cursor and are answered one after another with
// the same messages (99 % of the many-message answers, measured at twice the
// bench's rate), so a server that has fallen behind does not make an answer
// per poll while it catches up. One kept per transport: the last batch.
interface SharedAnswer { messages: readonly WireMessage[]; bytes: Buffer }
const sharedAnswers = new Map<Encoder, SharedAnswer>();

function answerPoll(encoder: Encoder, options: EncodeOptions, controls: readonly Control[], messages: readonly WireMessage[] | null, context: CometContext): Buffer {
  const bytes = messages && messages.length > 0 && controls.length === 0 && options.callback === undefined
    ? sharedAnswer(encoder, options, messages)
    : buildAnswer(encoder, options, controls, messages);
  if (messages) context.counters.messagesOut += messages.length;
  context.counters.bytesOut += bytes.length;
  return bytes;
}

function sharedAnswer(encoder: Encoder, options: EncodeOptions, messages: readonly WireMessage[]): Buffer {
  let shared = sharedAnswers.get(encoder);
  if (!shared || !sameMessages(shared.messages, messages)) {
    // A copy: the batch is the source's, and what it holds must not change under the key.
    shared = { messages: messages.slice(), bytes: buildAnswer(encoder, options, [], messages) };
    sharedAnswers.set(encoder, shared);
  }
  return shared.bytes;
}

function sameMessages(a: readonly WireMessage[], b: readonly WireMessage[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildAnswer(encoder: Encoder, options: EncodeOptions, controls: readonly Control[], messages: readonly WireMessage[] | null): Buffer {
  const fixed = fixedBytesOf(encoder, options);
  const parts: Buffer[] = [fixed.open];
  for (const control of controls) {
    if (parts.length > 1) parts.push(fixed.separator);
    parts.push(Buffer.from(encoder.control(control)));
  }
  if (messages) {
    for (const message of messages) {
      if (parts.length > 1) parts.push(fixed.separator);
      parts.push(frameOf(encoder, message));
    }
  }
  parts.push(fixed.close);
  return Buffer.concat(parts);
}

// A transport's opening, separating and closing bytes, made once when they do
// not depend on the request (every transport but jsonp, whose callback they hold).
interface FixedBytes { open: Buffer; separator: Buffer; close: Buffer }
const fixedCache = new Map<Encoder, FixedBytes>();

function fixedBytesOf(encoder: Encoder, options: EncodeOptions): FixedBytes {
  const make = () => ({ open: Buffer.from(encoder.open(options)), separator: Buffer.from(encoder.separator), close: Buffer.from(encoder.close(options)) });
  if (options.callback !== undefined) return make();
  let fixed = fixedCache.get(encoder);
  if (!fixed) fixedCache.set(encoder, (fixed = make()));
  return fixed;
}
