// The Comet lane: subscribe GETs answered before fastify routes them. Every
// long-poll answer brings the next poll, so this one request is most of what a
// Comet server is asked, and fastify's router, hooks and request objects cost
// each of them about a tenth of its CPU (4 µs of 40) and 0.8 KB of garbage
// (BENCHMARKS.md, session 6). The same route's view answers, through the same
// streamer.
//
// Only the standalone app puts the lane in front of fastify (server/app.ts),
// where evcomet owns every hook, and not behind a trusted proxy (TRUST_PROXY),
// whose clients' addresses fastify reads from X-Forwarded-For. Whatever the lane would not answer exactly as
// the mounted route does goes on to fastify: other methods and paths, HEAD,
// percent-encoded paths (fastify decodes them), and every request once the
// server is closing (its onRequest hook answers 503). One answer differs: a
// channel name over 100 characters is bad_channel here, where fastify's router
// refuses the parameter as bad_parameter first; both are 400.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { answerError, sendStream, type Streamer } from './stream.ts';
import type { Route } from './urls.ts';
import { HttpViewRequest } from './view-request.ts';
import { asResponse, isPromiseLike, isStreamBody, type ViewResult } from './views.ts';

/** Answers `req` and says true, or says false and leaves it to fastify. */
export type CometLane = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface CometLaneOptions {
  /** A subscribe route of the app's URL table, as mounted at the root; its view answers GET with a stream. */
  route: Route;
  /** The streamer of the route's mount, so that shutdown ends the lane's streams too. */
  streamer: Streamer;
  /** True once the server is closing. */
  closing(): boolean;
  log: FastifyBaseLogger;
}

export function cometLane({ route, streamer, closing, log }: CometLaneOptions): CometLane {
  const send = (res: ServerResponse, result: ViewResult): void => {
    const { status, headers, body } = asResponse(result);
    if (!isStreamBody(body)) throw new Error(`the Comet lane's route ${route.pattern} answered GET without a stream`);
    sendStream(streamer, res, 'GET', { status, headers, body }, route.options);
  };
  const fail = (res: ServerResponse, err: unknown): void => answerError(res, err, log);

  return (req, res) => {
    if (req.method !== 'GET' || closing()) return false;
    const url = req.url!;
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (path.includes('%')) return false;
    const match = route.regex.exec(path);
    if (!match) return false;
    const request = new HttpViewRequest(req, res, path, route.params(match), queryAt < 0 ? '' : url.slice(queryAt + 1), undefined);
    try {
      const result = route.view(request);
      if (isPromiseLike(result)) {
        Promise.resolve(result).then((settled) => send(res, settled)).catch((err: unknown) => fail(res, err));
      } else {
        send(res, result);
      }
    } catch (err) {
      fail(res, err);
    }
    return true;
  };
}
