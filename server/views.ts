// What a view is. A view is a function of a request that returns (or resolves
// to) a value, a response, or an async iterable of chunks; EvServer's apps
// yielded a file descriptor to wait, ours `await`. Chunks are written as they
// are yielded (server/stream.ts); everything else is sent whole.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Params } from './urls.ts';

export type Chunk = string | Uint8Array;

/** The request a view sees: Django's HttpRequest, in spirit. */
export interface ViewRequest {
  method: string;
  /** The decoded path, e.g. `/polls/3/`. */
  path: string;
  /** Parameters captured by the URL pattern, converted (`<int:id>` is a number). */
  params: Params;
  /** The query string (Django's request.GET). */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed body (JSON, form or text, by content type), if any. */
  body: unknown;
  /** The client's address. */
  ip: string;
  /** Aborted when the response ends for any reason: the client left, the view
   * idled out, or the server is shutting down. Pass it to whatever you await. */
  signal: AbortSignal;
  /** The fastify request, for plugins (cookies, sessions) that decorate it;
   * absent for a subscribe answered on the Comet lane (server/comet-lane.ts). */
  raw: FastifyRequest | undefined;
}

const responseBrand: unique symbol = Symbol('evcomet.response');

/** A response with its own status and headers. */
export interface ViewResponse {
  readonly [responseBrand]: true;
  status: number;
  headers: Record<string, string | number | string[]>;
  body: Body;
}

/** Marks a PushBody (below). */
export const pushBody: unique symbol = Symbol('evcomet.pushBody');

/**
 * A streamed body that writes its chunks itself, synchronously, instead of being
 * pulled chunk by chunk: the fast path for fan-out, where one message is written
 * to thousands of sockets in one loop. An async iterable is the ordinary way.
 */
export interface PushBody {
  readonly [pushBody]: true;
  /** Begin writing into `sink`; call sink.end() when done. */
  start(sink: PushSink): void;
  /** The socket drained after a write returned false: writing may go on. */
  resume(): void;
  /** The response is ending for `reason` (`client-gone`, `idle-timeout`, `shutdown`);
   * release everything. Unless the client is gone, final bytes may still be written now. */
  stop(reason: string): void;
}

/** Where a PushBody writes. */
export interface PushSink {
  /** Writes a chunk now. false: the socket's buffer is full; hold further chunks until resume(). */
  write(chunk: Chunk): boolean;
  /** Ends the response cleanly. */
  end(): void;
  /** Ends the response with `body` as its last chunk; if nothing was written
   * before, it is the whole body, sent with a Content-Length (a poll's answer).
   * As with any Node write, `body` must not change once passed: one body may
   * answer many polls, and its text is kept between them. */
  endWith(body: Uint8Array): void;
}

/** What a response may hold: a JSON-able value, text, bytes or a stream of chunks. */
export type Body = string | Uint8Array | AsyncIterable<Chunk> | PushBody | object | number | boolean | null | undefined;

export type ViewResult = ViewResponse | Body;

export type View = (req: ViewRequest) => ViewResult | Promise<ViewResult>;

/** A response with a status and headers, e.g. `respond(stream(), { headers: { 'content-type': 'text/plain' } })`. */
export function respond(body: Body, init: { status?: number; headers?: ViewResponse['headers'] } = {}): ViewResponse {
  return new BrandedResponse(init.status ?? 200, init.headers ?? {}, body);
}

// A class with its brand on the prototype: an object literal with a computed
// (symbol) key is built by a slow runtime call, and respond() runs per request.
class BrandedResponse {
  declare readonly [responseBrand]: true;
  constructor(public status: number, public headers: ViewResponse['headers'], public body: Body) {}
}
Object.defineProperty(BrandedResponse.prototype, responseBrand, { value: true });

export function isViewResponse(value: unknown): value is ViewResponse {
  return typeof value === 'object' && value !== null && responseBrand in value;
}

/** A view's result as status, headers and body: a bare body is a 200 with no headers of its own. */
export function asResponse(result: ViewResult): Pick<ViewResponse, 'status' | 'headers' | 'body'> {
  return isViewResponse(result) ? result : { status: 200, headers: {}, body: result as Body };
}

/** A body written as it comes, not whole: a push body or an async iterable of chunks. */
export function isStreamBody(body: Body): body is PushBody | AsyncIterable<Chunk> {
  return isPushBody(body) || isAsyncIterable(body);
}

export function isPushBody(value: unknown): value is PushBody {
  return typeof value === 'object' && value !== null && pushBody in value;
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<Chunk> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
