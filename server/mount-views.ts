// A fastify plugin that mounts a URL table (server/urls.ts). Each pattern becomes
// an ordinary fastify route, so fastify's own routes, hooks and plugins keep
// working beside it; patterns that fastify sees as the same path (`<int:id>` and
// `<slug:name>`) share one route and are tried in table order, as Django does.
//
//   app.register(mountViews, { urls: [path('clock', clock)], prefix: '/examples' })
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { errorHandler } from './error-handler.ts';
import { httpError } from './errors.ts';
import { createStreamer, sendStream, type Streamer } from './stream.ts';
import { flatten, resolve, type Route, type UrlEntry } from './urls.ts';
import { HttpViewRequest } from './view-request.ts';
import { asResponse, isPromiseLike, isStreamBody, type ViewResult } from './views.ts';

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

  const viewRequest = new HttpViewRequest(request.raw, reply.raw, pathname, params, queryAt < 0 ? '' : url.slice(queryAt + 1), request);
  const result = route.view(viewRequest);
  if (isPromiseLike(result)) return Promise.resolve(result).then((settled) => send(request, reply, route, streamer, settled));
  send(request, reply, route, streamer, result);
  return undefined;
}

function send(request: FastifyRequest, reply: FastifyReply, route: Route, streamer: Streamer, result: ViewResult): void {
  const { status, headers, body } = asResponse(result);

  if (isStreamBody(body)) {
    reply.hijack();
    sendStream(streamer, reply.raw, request.method, { status, headers, body }, route.options);
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
