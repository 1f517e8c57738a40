// EvServer's encapsulate_to_comet: wraps a function that makes a feed of messages
// into a view whose response is framed by the request's transport. The same
// feed serves every browser: SSE, XHR streaming, the forever frame, multipart,
// long-polling, JSONP or plain chunked NDJSON.
import { chooseTransport } from '../transports/choose.ts';
import type { EncodeOptions } from '../transports/encoder.ts';
import { isValidCallback } from '../transports/escape.ts';
import { encoders } from '../transports/index.ts';
import { pollingBody, StreamingBody, type CometContext, type CometFeed } from './comet-stream.ts';
import { httpError } from './errors.ts';
import { respond, type View, type ViewRequest } from './views.ts';

// Every Comet response: never cached, never buffered by a proxy, never sniffed.
const cometHeaders = {
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
  'access-control-allow-origin': '*',
};

/** Makes a view that frames `makeFeed`'s messages by the transport the request asks for. */
export function cometView(makeFeed: (req: ViewRequest) => CometFeed | Promise<CometFeed>, context: CometContext): View {
  return async (req) => {
    const choice = chooseTransport({
      requested: req.query.get('transport'),
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
    });
    if (!choice.ok) throw httpError('bad_transport', undefined, { transports: choice.valid });
    const encoder = encoders[choice.name];
    const callback = req.query.get('callback') ?? undefined;
    if (callback !== undefined ? !isValidCallback(callback) : encoder.name === 'jsonp') throw httpError('bad_callback');
    const options: EncodeOptions = callback === undefined ? noOptions : { callback };

    const feed = await makeFeed(req);
    const headers = { ...encoder.headers(options), ...cometHeaders };
    if (encoder.streaming) {
      // Close-delimited: no chunk framing on each message (6 bytes of ~90), and no
      // proxy that buffers chunked bodies; the stream ends by closing anyway and
      // marks a deliberate end with its `reconnect` frame.
      return respond(new StreamingBody(encoder, options, feed, context), { headers: { ...headers, connection: 'close' } });
    }
    return respond(await pollingBody(encoder, options, feed, req.signal, context), { headers });
  };
}

const noOptions: EncodeOptions = {};
