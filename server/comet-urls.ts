// The Comet endpoints: GET /comet/:channel subscribes (any transport, resuming
// from ?since= or Last-Event-ID), POST /comet/:channel publishes a JSON message.
import type { CometContext } from './comet-stream.ts';
import { cometView } from './comet-view.ts';
import type { AddressLimiter } from './address-limiter.ts';
import { httpError } from './errors.ts';
import { isValidChannelName, type Hub } from './hub.ts';
import { parseMessageId } from './message-id.ts';
import { checkPublisher } from './publish-auth.ts';
import { path } from './urls.ts';
import type { ViewRequest } from './views.ts';

export interface CometUrlsOptions {
  hub: Hub;
  comet: CometContext;
  limiter: AddressLimiter;
  publishToken: string | undefined;
}

const MAX_PUBLISH_BYTES = 64 * 1024;

export function cometUrls({ hub, comet, limiter, publishToken }: CometUrlsOptions) {
  function channelOf(req: ViewRequest): string {
    const channel = req.params.channel as string;
    if (!isValidChannelName(channel)) throw httpError('bad_channel');
    return channel;
  }

  const subscribe = cometView((req) => {
    const channel = channelOf(req);
    const since = req.query.get('since') ?? req.headers['last-event-id'] ?? undefined;
    if (since !== undefined && !parseMessageId(String(since))) throw httpError('bad_since');
    const address = req.ip;
    if (!limiter.acquire(address)) throw httpError('too_many_subscribers');
    const subscription = hub.subscribe(channel, since === undefined ? undefined : String(since));
    return {
      controls: subscription.gap ? [{ control: 'gap', ...subscription.gap }] : [],
      source: subscription,
      release: () => {
        void subscription.return();
        limiter.release(address);
      },
    };
  }, comet);

  function publish(req: ViewRequest) {
    checkPublisher(req.headers, req.ip, publishToken);
    const channel = channelOf(req);
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw httpError('unsupported_media_type', 'Publish a JSON body with Content-Type: application/json.');
    const message = hub.createMessage(channel, req.body);
    hub.deliver(message);
    return { id: message.id, channel, time: message.time };
  }

  const channelView = (req: ViewRequest) => (req.method === 'POST' ? publish(req) : subscribe(req));
  return [path('comet/<str:channel>', channelView, { name: 'comet-channel', methods: ['GET', 'POST'], bodyLimit: MAX_PUBLISH_BYTES })];
}
