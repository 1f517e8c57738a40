// The ViewRequest a view sees, made from Node's request and response: by
// mount-views for a route fastify found, with the fastify request, and by the
// Comet lane (server/comet-lane.ts) without one. The signal and the parsed
// query are made only when a view asks for them (most long-lived Comet requests
// never do), and nothing keeps this object once the view lets go of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { peerAddressKey } from './connection.ts';
import type { Params } from './urls.ts';
import type { ViewRequest } from './views.ts';

export class HttpViewRequest implements ViewRequest {
  private controller: AbortController | null = null;
  private parsedQuery: URLSearchParams | null = null;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly res: ServerResponse,
    readonly path: string,
    readonly params: Params,
    private readonly queryString: string,
    readonly raw: FastifyRequest | undefined,
  ) {}

  get method() { return this.incoming.method!; }
  get headers() { return this.incoming.headers; }
  get body() { return this.raw?.body; }
  // fastify's address follows its trustProxy setting; without fastify it is the peer's.
  get ip() { return this.raw ? this.raw.ip : peerAddressOf(this.incoming.socket); }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.queryString));
  }

  /** Aborts when the response is over ('close' comes for every end: finished, cut or client gone). */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      const { res } = this;
      if (res.closed) controller.abort(res.writableFinished ? 'done' : 'client-gone');
      else res.once('close', () => controller.abort(res.writableFinished ? 'done' : 'client-gone'));
    }
    return this.controller.signal;
  }
}

// A connection's peer address, kept on its socket (server/connection.ts): every
// poll on a kept-alive connection asks for it (the per-address limit), and
// Node's getter costs a poll about 600 instructions and 20 cache misses each
// time (callgrind, BENCHMARKS.md, session 8).
function peerAddressOf(socket: Socket & { [peerAddressKey]?: string }): string {
  return (socket[peerAddressKey] ??= socket.remoteAddress ?? '');
}
