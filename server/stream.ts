// The one module that writes a streamed response. It owns the raw Node response
// from the first byte to the last:
//
//   view's iterator ──next()──▶ chunk ──res.write()──▶ socket
//        ▲                                   │ buffer full: wait for 'drain'
//        └── return() ◀── stop: the client left | idle timeout | shutdown
//
// - Each chunk is written as soon as it is yielded; Node frames it as an HTTP/1.1
//   chunk, or writes it raw with `Connection: close` for an HTTP/1.0 client. A
//   view that sets `Connection: close` itself gets a raw body delimited by the
//   close, with no chunk framing (Comet streams, which end by closing anyway).
//   Such a body cannot show a cut as incomplete, so it needs its own end marker.
// - Backpressure: the iterator is not pulled again while the socket's buffer is
//   over its high-water mark, so a slow reader costs a bounded amount of memory.
// - Stopping never waits for the view: a pending next() is abandoned, the request's
//   signal is aborted (so the view's awaits end) and return() runs its `finally`.
// - An error before the first chunk is answered as JSON (500, or the HttpError's
//   status); after it the socket is cut so the client sees an incomplete body.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { errorBody } from './errors.ts';
import type { Chunk } from './views.ts';

export type StopReason = 'client-gone' | 'idle-timeout' | 'shutdown';

export interface StreamHead {
  status: number;
  headers: OutgoingHttpHeaders;
}

export interface StreamOptions {
  /** Aborted when the stream stops, with the StopReason or 'done'. */
  controller: AbortController;
  /** End the stream when the view yields nothing for this long. */
  idleTimeoutMs?: number | undefined;
}

/** Streams views' chunks and remembers which streams are open, to end them on shutdown. */
export interface Streamer {
  /** Writes `chunks` to `res` under `head`; resolves once the response is over, whatever ended it. */
  stream(res: ServerResponse, head: StreamHead, chunks: AsyncIterable<Chunk>, options: StreamOptions): Promise<void>;
  /** Ends every open stream cleanly (the client sees a complete body); resolves when all have ended. */
  endAll(): Promise<void>;
  /** How many streams are open. */
  readonly openCount: number;
}

const stopped = Symbol('stopped');
const drained = Symbol('drained');
type Wake = IteratorResult<Chunk> | typeof stopped | typeof drained;

export function createStreamer(log: FastifyBaseLogger): Streamer {
  const open = new Map<(reason: StopReason) => void, Promise<void>>();

  async function run(
    res: ServerResponse,
    head: StreamHead,
    iterator: AsyncIterator<Chunk>,
    options: StreamOptions,
    onHalt: (halt: (reason: StopReason) => void) => void,
  ): Promise<void> {
    const { controller, idleTimeoutMs } = options;
    let stopReason: StopReason | null = null;
    let finished = false; // the iterator said done or threw: no return() needed
    // One waiter at a time: the pending next() or drain, woken by whichever comes first.
    let wake: ((value: Wake) => void) | null = null;

    const halt = (reason: StopReason): void => {
      if (stopReason) return;
      stopReason = reason;
      if (!controller.signal.aborted) controller.abort(reason);
      wake?.(stopped);
    };
    const onClose = () => halt('client-gone');
    const onDrain = () => wake?.(drained);
    res.on('close', onClose);
    res.on('error', onClose);
    res.on('drain', onDrain);
    onHalt(halt);

    if (String(head.headers.connection).toLowerCase() === 'close') res.removeHeader('transfer-encoding');
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
      } else if (!res.headersSent) {
        const { status, body } = errorBody(err);
        if (status >= 500) log.error({ err }, 'view failed before its first chunk');
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      } else {
        log.error({ err }, 'view failed mid-stream; cutting the connection');
        res.destroy();
      }
    } finally {
      if (idleTimer) clearTimeout(idleTimer);
      res.off('close', onClose);
      res.off('error', onClose);
      res.off('drain', onDrain);
      wake = null;
      if (!controller.signal.aborted) controller.abort('done');
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
      let halt: ((reason: StopReason) => void) | undefined;
      const done = run(res, head, chunks[Symbol.asyncIterator](), options, (h) => { halt = h; });
      open.set(halt!, done);
      return done.finally(() => open.delete(halt!));
    },
    async endAll() {
      const pending = [...open];
      for (const [halt] of pending) halt('shutdown');
      await Promise.allSettled(pending.map(([, done]) => done));
    },
    get openCount() {
      return open.size;
    },
  };
}
