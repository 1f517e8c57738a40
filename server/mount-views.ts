// A fastify plugin that mounts a URL table (server/urls.ts). Each pattern becomes
// an ordinary fastify route, so fastify's own routes, hooks and plugins keep
// working beside it; patterns that fastify sees as the same path (`<int:id>` and
// `<slug:name>`) share one route and are tried in table order, as Django does.
//
//   app.register(mountViews, { urls: [path('clock', clock)], prefix: '/examples' })
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorHandler } from './error-handler.ts';
import { httpError } from './errors.ts';
import { createStreamer, type Streamer, type StreamHead } from './stream.ts';
import { flatten, resolve, type Params, type Route, type UrlEntry } from './urls.ts';
import { isAsyncIterable, isPromiseLike, isPushBody, isViewResponse, type Body, type ViewRequest, type ViewResponse, type ViewResult } from './views.ts';

export interface MountViewsOptions {
  urls: readonly UrlEntry[];
  /** Streams of this mount; one is made if absent. */
  streamer?: Streamer;
}

export async function mountViews(app: FastifyInstance, options: MountViewsOptions): Promise<void> {
  const streamer = options.streamer ?? createStreamer(app.log);
  // Open streams never go idle on their own, so fastify's close would wait for
  // them forever: end them cleanly first.
  app.addHook('preClose', () => streamer.endAll());
  // Views answer errors in evcomet's JSON shape even when mounted on someone else's fastify.
  app.setErrorHandler(errorHandler);

  const byFastifyPath = new Map<string, Route[]>();
  for (const route of flatten(options.urls)) {
    allowedMethods.set(route, methodsOf(route));
    const group = byFastifyPath.get(route.fastifyPath) ?? [];
    group.push(route);
    byFastifyPath.set(route.fastifyPath, group);
  }
  for (const [url, group] of byFastifyPath) {
    const methods = new Set(group.flatMap((route) => allowedMethods.get(route)!));
    const bodyLimits = group.flatMap((route) => route.options.bodyLimit ?? []);
    app.route({
      method: [...methods] as HTTPMethods[],
      url,
      exposeHeadRoute: false,
      ...(bodyLimits.length > 0 ? { bodyLimit: Math.max(...bodyLimits) } : {}),
      handler: (request, reply) => handle(request, reply, group, app.prefix, streamer),
    });
  }
}

// Worked out once per route, not per request.
const allowedMethods = new WeakMap<Route, string[]>();

function methodsOf(route: Route): string[] {
  const methods = (route.options.methods ?? ['GET']).map((m) => m.toUpperCase());
  return methods.includes('GET') ? [...methods, 'HEAD'] : methods;
}

// Not async: a view that answers at once (every Comet subscribe does) is
// answered with no promise or microtask per request. Thrown errors reach
// fastify either way, and go to the error handler.
function handle(request: FastifyRequest, reply: FastifyReply, group: Route[], prefix: string, streamer: Streamer): unknown {
  const { url } = request;
  const queryAt = url.indexOf('?');
  const urlPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawPath = urlPath.slice(prefix.length) || '/';
  let pathname = rawPath;
  if (rawPath.includes('%')) {
    try {
      pathname = decodeURIComponent(rawPath);
    } catch {
      throw httpError('bad_request', 'The path is not valid percent-encoding.');
    }
  }
  const found = resolve(group, pathname);
  if (!found) throw httpError('not_found', `No such path: ${request.method} ${urlPath}`);
  const { route, params } = found;
  const allowed = allowedMethods.get(route)!;
  if (!allowed.includes(request.method)) {
    reply.header('allow', allowed.join(', '));
    throw httpError('method_not_allowed', `${request.method} is not allowed here`, { allow: allowed });
  }

  const viewRequest = new MountedRequest(request, reply.raw, pathname, params, queryAt < 0 ? '' : url.slice(queryAt + 1));
  const result = route.view(viewRequest);
  if (isPromiseLike(result)) return Promise.resolve(result).then((settled) => send(request, reply, route, streamer, settled));
  send(request, reply, route, streamer, result);
  return undefined;
}

function send(request: FastifyRequest, reply: FastifyReply, route: Route, streamer: Streamer, result: ViewResult): void {
  const { status, headers, body } = isViewResponse(result) ? result : { status: 200, headers: {}, body: result as Body };

  if (isPushBody(body) || isAsyncIterable(body)) {
    reply.hijack();
    const res = reply.raw;
    const head = streamHead(status, headers);
    if (request.method === 'HEAD') {
      if (isPushBody(body)) body.stop('client-gone');
      else void body[Symbol.asyncIterator]().return?.();
      res.writeHead(head.status, head.headers).end();
      return;
    }
    // Not awaited: an open stream keeps no frame of this handler alive.
    if (isPushBody(body)) streamer.push(res, head, body, route.options);
    else void streamer.stream(res, head, body, route.options);
    return;
  }
  reply.code(status).headers(headers);
  if (body === undefined || body === null) {
    reply.code(status === 200 ? 204 : status).send();
    return;
  }
  if (body instanceof Uint8Array && !reply.hasHeader('content-type')) reply.type('application/octet-stream');
  reply.send(body);
}

// The ViewRequest a view sees. The signal and the parsed query are made only
// when a view asks for them (most long-lived Comet requests never do), and
// nothing keeps this object once the view lets go of it.
class MountedRequest implements ViewRequest {
  private controller: AbortController | null = null;
  private parsedQuery: URLSearchParams | null = null;

  constructor(
    readonly raw: FastifyRequest,
    private readonly res: ServerResponse,
    readonly path: string,
    readonly params: Params,
    private readonly queryString: string,
  ) {}

  get method() { return this.raw.method; }
  get headers() { return this.raw.headers; }
  get body() { return this.raw.body; }
  get ip() { return this.raw.ip; }

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
    headsOf.set(headers, (head = { status: 200, headers: out }));
  }
  return status === 200 ? head : { status, headers: head.headers };
}
