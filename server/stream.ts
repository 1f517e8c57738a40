// The one module that writes a streamed response. It owns the raw Node response
// from the first byte to the last, for two kinds of body:
//
//   pull: view's async iterator ──next()──▶ chunk ──res.write()──▶ socket
//   push: PushBody ──sink.write(chunk)──▶ res.write() ──▶ socket
//           ▲ resume() on 'drain'            (false: buffer full, hold on)
//   either: stop ◀── the client left | idle timeout | shutdown
//
// - Each chunk is written as soon as it exists; Node frames it as an HTTP/1.1
//   chunk, or writes it raw with `Connection: close` for an HTTP/1.0 client. A
//   view that sets `Connection: close` itself gets a raw body delimited by the
//   close, with no chunk framing (Comet streams, which end by closing anyway).
//   Such a body cannot show a cut as incomplete, so it needs its own end marker.
// - Backpressure: an iterator is not pulled again, and a push body is told to
//   hold on, while the socket's buffer is over its high-water mark, so a slow
//   reader costs a bounded amount of memory.
// - Stopping never waits for the view: a pending next() is abandoned, the
//   response ends (which aborts the request's signal, so the view's awaits end)
//   and return() runs its `finally`.
// - An error before the first chunk is answered as JSON (500, or the HttpError's
//   status); after it the socket is cut so the client sees an incomplete body.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { streamsKey } from './connection.ts';
import { errorBody, errorHeaders } from './errors.ts';
import { append, forEach, linkedList, remove, type Linked, type LinkedList } from './linked-list.ts';
import { writeRawAnswer } from './raw-answer.ts';
import { isPushBody, type Chunk, type PushBody, type PushSink, type ViewResponse } from './views.ts';

export type StopReason = 'client-gone' | 'idle-timeout' | 'shutdown';

export interface StreamHead {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The view set `Connection: close`: the body is delimited by the close, with no chunk framing. */
  closeDelimited: boolean;
}

export interface StreamOptions {
  /** End the stream when nothing is written for this long. */
  idleTimeoutMs?: number | undefined;
}

/** Streams views' bodies and remembers which streams are open, to end them on shutdown. */
export interface Streamer {
  /** Writes an iterator's chunks to `res`; resolves once the response is over, whatever ended it. */
  stream(res: ServerResponse, head: StreamHead, chunks: AsyncIterable<Chunk>, options: StreamOptions): Promise<void>;
  /** Lets a push body write to `res` until it ends or is stopped. */
  push(res: ServerResponse, head: StreamHead, body: PushBody, options: StreamOptions): void;
  /** Ends every open stream cleanly (the client sees a complete body); resolves when all have ended. */
  endAll(): Promise<void>;
  /** How many streams are open. */
  readonly openCount: number;
}

// The open streams, to end them on shutdown, are a list linked through the streams themselves.
interface OpenStream extends Linked<OpenStream> {
  halt(reason: StopReason): void;
}

// A client that leaves is seen on its connection: one 'close' listener per
// socket, a shared function that halts the streams open on it, push or pull. A
// socket holds one open stream, or several when requests were pipelined behind
// a stream. Listening on each response instead cost every held poll two
// listeners and a property of ours on Node's response, whose changed shape
// sent Node's own property accesses on it to V8's slower, megamorphic paths
// (BENCHMARKS.md, session 12). And a response that closed before its stream
// started (its view awaited), or that waited behind another on its
// connection, was never heard from.
type Watched = Socket & { [streamsKey]?: OpenStream | Set<OpenStream> | null };

function watch(socket: Watched, stream: OpenStream): void {
  const current = socket[streamsKey];
  if (current === undefined) socket.on('close', onConnectionClose);
  if (!current) socket[streamsKey] = stream;
  else if (current instanceof Set) current.add(stream);
  else socket[streamsKey] = new Set([current, stream]);
}

function unwatch(socket: Watched, stream: OpenStream): void {
  const current = socket[streamsKey];
  if (current === stream) socket[streamsKey] = null;
  else if (current instanceof Set && current.delete(stream) && current.size === 0) socket[streamsKey] = null;
}

function onConnectionClose(this: Watched): void {
  const current = this[streamsKey];
  this[streamsKey] = null;
  if (current instanceof Set) for (const stream of current) stream.halt('client-gone');
  else current?.halt('client-gone');
}

const stopped = Symbol('stopped');
const drained = Symbol('drained');
type Wake = IteratorResult<Chunk> | typeof stopped | typeof drained;

export function createStreamer(log: FastifyBaseLogger): Streamer {
  const open = linkedList<OpenStream>();

  async function run(res: ServerResponse, head: StreamHead, iterator: AsyncIterator<Chunk>, options: StreamOptions, entry: OpenStream): Promise<void> {
    const { idleTimeoutMs } = options;
    let stopReason: StopReason | null = null;
    let finished = false; // the iterator said done or threw: no return() needed
    // One waiter at a time: the pending next() or drain, woken by whichever comes first.
    let wake: ((value: Wake) => void) | null = null;

    const halt = (reason: StopReason): void => {
      if (stopReason) return;
      stopReason = reason;
      wake?.(stopped);
    };
    entry.halt = halt;
    const connection: Watched = res.req.socket;
    // A client that left while the view awaited is told of no more: the view's iterator only returns.
    if (connection.destroyed) halt('client-gone');
    else watch(connection, entry);
    const onDrain = () => wake?.(drained);
    res.on('drain', onDrain);

    if (head.closeDelimited) res.removeHeader('transfer-encoding');
    const idleTimer = idleTimeoutMs ? setTimeout(() => halt('idle-timeout'), idleTimeoutMs) : null;
    const pull = (): Promise<Wake> => new Promise((resolve, reject) => {
      wake = resolve;
      iterator.next().then(resolve, reject);
    });
    const drain = (): Promise<Wake> => new Promise((resolve) => { wake = resolve; });

    try {
      while (!stopReason) {
        const step = await pull();
        if (step === stopped || step === drained) break;
        if (step.done) { finished = true; break; }
        idleTimer?.refresh();
        if (step.value.length === 0) {
          // An empty first chunk still opens the response: the client learns it is subscribed.
          if (!res.headersSent) res.writeHead(head.status, head.headers).flushHeaders();
          continue;
        }
        if (!res.headersSent) res.writeHead(head.status, head.headers);
        if (!res.write(step.value) && !stopReason && (await drain()) === stopped) break;
      }
      if (stopReason !== 'client-gone') {
        if (!res.headersSent) res.writeHead(head.status, head.headers);
        res.end();
      }
    } catch (err) {
      finished = true;
      if (stopReason === 'client-gone') {
        log.debug({ err }, 'stream ended with an error after the client left');
      } else {
        answerError(res, err, log);
      }
    } finally {
      if (idleTimer) clearTimeout(idleTimer);
      unwatch(connection, entry);
      res.off('drain', onDrain);
      wake = null;
      if (!finished) {
        // Runs the view's `finally`. Not awaited: a view stuck on a wait that
        // ignores the signal must not hold the response open.
        Promise.resolve()
          .then(() => iterator.return?.())
          .catch((err: unknown) => log.warn({ err }, "view's return() failed"));
      }
    }
  }

  return {
    stream(res, head, chunks, options) {
      const entry: OpenStream = { halt: () => {}, listPrev: null, listNext: null, listOrder: 0 };
      append(open, entry);
      return run(res, head, chunks[Symbol.asyncIterator](), options, entry).finally(() => remove(open, entry));
    },
    push(res, head, body, options) {
      new PushWriter(res, head, body, options.idleTimeoutMs, log, open).start();
    },
    async endAll() {
      forEach(open, (stream) => stream.halt('shutdown'));
      // Pull streams end a few microtasks later; push streams already have.
      while (open.size > 0) await new Promise((resolve) => setImmediate(resolve));
    },
    get openCount() {
      return open.size;
    },
  };
}

/** Writes a streamed answer (a push body or an async iterable) to `res`; for HEAD, its head alone. */
export function sendStream(streamer: Streamer, res: ServerResponse, method: string, { status, headers, body }: StreamedResponse, options: StreamOptions): void {
  const head = streamHead(status, headers);
  if (method === 'HEAD') {
    if (isPushBody(body)) body.stop('client-gone');
    else void body[Symbol.asyncIterator]().return?.();
    res.writeHead(head.status, head.headers).end();
    return;
  }
  // Not awaited: an open stream keeps no frame of this handler alive.
  if (isPushBody(body)) streamer.push(res, head, body, options);
  else void streamer.stream(res, head, body, options);
}

export interface StreamedResponse {
  status: number;
  headers: ViewResponse['headers'];
  body: PushBody | AsyncIterable<Chunk>;
}

// A stream's type is text unless the view says otherwise; nosniff keeps browsers
// from holding chunks back while they guess it. Views that answer many requests
// with one headers object (every Comet view does) get one head for it, made
// once: streams' heads are shared and never changed.
const headsOf = new WeakMap<ViewResponse['headers'], StreamHead>();

function streamHead(status: number, headers: ViewResponse['headers']): StreamHead {
  let head = headsOf.get(headers);
  if (!head) {
    const out: OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };
    for (const name in headers) out[name.toLowerCase()] = headers[name];
    const closeDelimited = String(out.connection).toLowerCase() === 'close';
    headsOf.set(headers, (head = { status: 200, headers: out, closeDelimited }));
  }
  return status === 200 ? head : { ...head, status };
}

/** Answers `err` as JSON if nothing was sent yet; else cuts the connection, so the client sees an incomplete body. */
export function answerError(res: ServerResponse, err: unknown, log: FastifyBaseLogger): void {
  if (!res.headersSent) {
    const { status, body } = errorBody(err);
    if (status >= 500) log.error({ err }, 'view failed before its first chunk');
    const json = JSON.stringify(body);
    // With its length the connection stays open for the client's next request, as after any answer.
    res.removeHeader('transfer-encoding');
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), ...errorHeaders(body) });
    res.end(json);
  } else {
    log.error({ err }, 'view failed mid-stream; cutting the connection');
    res.destroy();
  }
}

class PushWriter implements PushSink, OpenStream {
  listPrev: OpenStream | null = null;
  listNext: OpenStream | null = null;
  listOrder = 0;
  private state: 'open' | StopReason | 'ended' = 'open';
  private idleTimer: NodeJS.Timeout | null = null;
  /** The connection the response goes out on; a pipelined response has no res.socket yet. */
  private readonly connection: Watched;
  /** Set for a close-delimited body once its head is out: later chunks go to it directly. */
  private socket: Socket | null = null;
  /** What 'drain' is listened on, and the listener, once a write has filled the buffer; most responses never need it. */
  private drainSource: ServerResponse | Socket | null = null;
  private onDrain: (() => void) | null = null;
  private readonly raw: boolean;

  constructor(
    private readonly res: ServerResponse,
    /** Dropped once the headers are sent: an open stream keeps only what it needs. */
    private head: StreamHead | null,
    private readonly body: PushBody,
    private readonly idleTimeoutMs: number | undefined,
    private readonly log: FastifyBaseLogger,
    private readonly registry: LinkedList<OpenStream>,
  ) {
    this.raw = head!.closeDelimited;
    this.connection = res.req.socket;
  }

  start(): void {
    // A client that left while the view awaited is told of no more: the body only stops.
    if (this.connection.destroyed) return this.halt('client-gone');
    const { res } = this;
    if (this.raw) res.removeHeader('transfer-encoding');
    try {
      this.body.start(this);
    } catch (err) {
      this.fail(err);
    }
    // A body that ended within start() (a poll answered at once) needs no
    // listeners, timer or place among the open streams. Events come
    // asynchronously, so none was missed meanwhile.
    if (this.state !== 'open') return;
    append(this.registry, this);
    watch(this.connection, this);
    if (this.idleTimeoutMs) this.idleTimer = setTimeout(() => this.halt('idle-timeout'), this.idleTimeoutMs);
  }

  write(chunk: Chunk): boolean {
    // Final bytes are welcome while stopping for shutdown or idleness, not once the client is gone.
    if (this.state === 'ended' || this.state === 'client-gone') return false;
    this.idleTimer?.refresh();
    const written = this.socket ? this.socket.write(chunk) : this.writeToResponse(chunk);
    if (!written && !this.drainSource) {
      this.drainSource = this.socket ?? this.res;
      this.drainSource.on('drain', (this.onDrain ??= () => this.drained()));
    }
    return written;
  }

  private writeToResponse(chunk: Chunk): boolean {
    const { res } = this;
    if (this.head) this.writeHead();
    if (chunk.length === 0) {
      res.flushHeaders(); // an empty first chunk still opens the response
      return true;
    }
    const written = res.write(chunk);
    // A close-delimited body has no framing to add: once the head is out, its
    // bytes go straight to the socket, without the response's bookkeeping per write.
    if (this.raw && res.socket && !res.socket.destroyed) {
      this.socket = res.socket;
    }
    return written;
  }

  end(): void {
    if (this.state !== 'open') return; // a stop in progress ends the response itself
    this.finishResponse();
    this.cleanup();
  }

  endWith(body: Uint8Array): void {
    if (this.state !== 'open') return;
    if (this.head) {
      const { status, headers } = this.head;
      this.head = null;
      if (status !== 200 || !writeRawAnswer(this.res, headerListOf(headers), body)) {
        this.res.removeHeader('transfer-encoding');
        this.res.writeHead(status, sizedHeaderListOf(headers, body.length));
        this.res.end(textOf(body), 'latin1');
      }
    } else {
      this.res.end(body);
    }
    this.cleanup();
  }

  drained(): void {
    if (this.state === 'open') this.body.resume();
  }

  halt(reason: StopReason): void {
    if (this.state !== 'open') return;
    this.state = reason;
    try {
      this.body.stop(reason);
    } catch (err) {
      this.log.warn({ err }, "push body's stop() failed");
    }
    if (reason !== 'client-gone') this.finishResponse();
    this.cleanup();
  }

  private fail(err: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    answerError(this.res, err, this.log);
    this.cleanup();
  }

  private writeHead(): void {
    this.res.writeHead(this.head!.status, headerListOf(this.head!.headers));
    this.head = null;
  }

  private finishResponse(): void {
    if (this.head) this.writeHead();
    this.res.end();
  }

  private cleanup(): void {
    this.state = 'ended';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // The connection's 'close' listener stays: it is shared, finds no stream
    // once this one is gone, and serves the connection's next stream.
    unwatch(this.connection, this);
    if (this.drainSource) this.drainSource.off('drain', this.onDrain!);
    this.drainSource = null;
    this.socket = null;
    remove(this.registry, this);
  }
}

// A head's headers as the flat list of names and values that writeHead() also
// takes: Node walks a list at once, where a fresh object per response (a copy
// with its content-length added) cost a poll about a fifth of its CPU. A poll's
// answer adds its length; a message answering a thousand polls gives them all
// the same length, so the last such list is kept too.
interface HeaderLists { plain: string[]; sizedLength: number; sized: string[] }
const headerLists = new WeakMap<OutgoingHttpHeaders, HeaderLists>();

function listsOf(headers: OutgoingHttpHeaders): HeaderLists {
  let lists = headerLists.get(headers);
  if (!lists) {
    const plain: string[] = [];
    for (const name in headers) {
      const value = headers[name];
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) plain.push(name, String(one));
    }
    lists = { plain, sizedLength: -1, sized: plain };
    headerLists.set(headers, lists);
  }
  return lists;
}

function headerListOf(headers: OutgoingHttpHeaders): string[] {
  return listsOf(headers).plain;
}

function sizedHeaderListOf(headers: OutgoingHttpHeaders, length: number): string[] {
  const lists = listsOf(headers);
  if (lists.sizedLength !== length) {
    lists.sized = [...lists.plain, 'content-length', String(length)];
    lists.sizedLength = length;
  }
  return lists.sized;
}

// An answer that writeRawAnswer() leaves to Node goes out in one write, head
// and body, when its body is a string: Node then joins the two, where a Buffer
// body costs it a second chunk and more bookkeeping per answer (measured:
// 0.4 µs of a poll's 15 in a fan-out loop). latin1 gives each byte one
// character, so the bytes are the same. A message answering a thousand polls
// gives them one body: its text is kept, which is sound because a body never
// changes once written (PushSink). Made afresh per answer, the text would eat
// most of the gain (0.11 µs saved, not 0.37).
let lastBody: Uint8Array | null = null;
let lastText = '';

function textOf(body: Uint8Array): string {
  if (body !== lastBody) {
    lastText = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
    lastBody = body;
  }
  return lastText;
}
