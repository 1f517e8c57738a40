// EvServer's encapsulate_to_comet: wraps a function that makes a feed of messages
// into a view whose response is framed by the request's transport. The same
// feed serves every browser: SSE, XHR streaming, the forever frame, multipart,
// long-polling, JSONP or plain chunked NDJSON.
import { chooseTransport } from '../transports/choose.ts';
import type { EncodeOptions, Encoder } from '../transports/encoder.ts';
import { isValidCallback } from '../transports/escape.ts';
import { encoders } from '../transports/index.ts';
import { PollingBody, StreamingBody, type CometContext, type CometFeed } from './comet-stream.ts';
import { httpError } from './errors.ts';
import { isPromiseLike, respond, type View, type ViewRequest, type ViewResponse } from './views.ts';

// Every Comet response: never cached, never sniffed, open to other origins.
const cometHeaders = {
  'cache-control': 'no-cache, no-store',
  'x-content-type-options': 'nosniff',
  'access-control-allow-origin': '*',
};

/** Makes a view that frames `makeFeed`'s messages by the transport the request asks for. */
export function cometView(makeFeed: (req: ViewRequest) => CometFeed | Promise<CometFeed>, context: CometContext): View {
  // Not an async function: a feed made at once (every hub channel's is) is
  // answered at once, with no promise and no microtask per request.
  return (req) => {
    // The headers are read only when no transport is named: Node builds a
    // request's header object on first use, and comet.js always names one.
    const requested = req.query.get('transport');
    const choice = chooseTransport(requested !== null
      ? { requested }
      : { accept: req.headers.accept, userAgent: req.headers['user-agent'] });
    if (!choice.ok) throw httpError('bad_transport', undefined, { transports: choice.valid });
    const encoder = encoders[choice.name];
    const callback = req.query.get('callback') ?? undefined;
    if (callback !== undefined ? !isValidCallback(callback) : encoder.name === 'jsonp') throw httpError('bad_callback');
    const options: EncodeOptions = callback === undefined ? noOptions : { callback };

    const feed = makeFeed(req);
    if (isPromiseLike(feed)) return feed.then((made) => cometResponse(encoder, options, made, context));
    return cometResponse(encoder, options, feed, context);
  };
}

function cometResponse(encoder: Encoder, options: EncodeOptions, feed: CometFeed, context: CometContext): ViewResponse {
  const body = encoder.streaming ? new StreamingBody(encoder, options, feed, context) : new PollingBody(encoder, options, feed, context);
  return respond(body, { headers: headersOf(encoder, options) });
}

const noOptions: EncodeOptions = {};

// A transport's full headers, made once: they depend on the request only through
// options that no encoder uses in its headers.
const headerCache = new Map<Encoder, Record<string, string>>();

function headersOf(encoder: Encoder, options: EncodeOptions): Record<string, string> {
  let headers = headerCache.get(encoder);
  if (!headers) {
    headers = { ...encoder.headers(options), ...cometHeaders };
    // Streams are close-delimited: no chunk framing on each message (6 bytes of
    // ~90), and no proxy that buffers chunked bodies; a stream ends by closing
    // anyway and marks a deliberate end with its `reconnect` frame. nginx is
    // told not to buffer them. A poll's answer is whole when it is sent, so it
    // needs neither (and every header costs each of the many answers).
    if (encoder.streaming) {
      headers.connection = 'close';
      headers['x-accel-buffering'] = 'no';
    }
    headerCache.set(encoder, headers);
  }
  return headers;
}
