// The Comet endpoints: GET /comet/:channel subscribes (any transport, resuming
// from ?since= or Last-Event-ID), POST /comet/:channel publishes a JSON message,
// POST /forum/events publishes a forum event (docs/bus.md).
import type { CometContext } from './comet-stream.ts';
import { cometView } from './comet-view.ts';
import type { AddressLimiter } from './address-limiter.ts';
import { BusUnavailableError, type Topic } from './bus.ts';
import { channelFeed } from './channel-feed.ts';
import { httpError } from './errors.ts';
import { isValidChannelName, type Hub } from './hub.ts';
import type { Publish } from './publisher.ts';
import { checkPublisher } from './publish-auth.ts';
import { path } from './urls.ts';
import type { ViewRequest } from './views.ts';

export interface CometUrlsOptions {
  hub: Hub;
  publish: Publish;
  comet: CometContext;
  limiter: AddressLimiter;
  publishToken: string | undefined;
}

const MAX_PUBLISH_BYTES = 64 * 1024;

/** The name of GET/POST /comet/:channel in the URL table; the app's Comet lane finds its route by it. */
export const cometChannelRouteName = 'comet-channel';

// The least a forum event must be for the bus to carry it; the chat checks each
// type's fields when it makes a line of it (docs/forum-events.md).
function isForumEvent(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    && typeof (body as { type?: unknown }).type === 'string' && typeof (body as { who?: unknown }).who === 'string';
}

export function cometUrls({ hub, publish, comet, limiter, publishToken }: CometUrlsOptions) {
  function channelOf(req: ViewRequest): string {
    const channel = req.params.channel as string;
    if (!isValidChannelName(channel)) throw httpError('bad_channel');
    return channel;
  }

  const subscribe = cometView((req) => channelFeed(req, hub, limiter, channelOf(req)), comet);

  // Answers only once the bus has the message (RabbitMQ confirmed it).
  async function publishTo(req: ViewRequest, topic: Topic, channel: string) {
    checkPublisher(req.headers, req.ip, publishToken);
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw httpError('unsupported_media_type', 'Publish a JSON body with Content-Type: application/json.');
    if (topic === 'forum' && !isForumEvent(req.body)) throw httpError('bad_event');
    let message;
    try {
      message = await publish(topic, channel, req.body);
    } catch (err) {
      if (err instanceof BusUnavailableError) throw httpError('bus_unavailable', err.message);
      throw err;
    }
    return { id: message.id, channel, time: message.time };
  }

  const channelView = (req: ViewRequest) => (req.method === 'POST' ? publishTo(req, 'chat', channelOf(req)) : subscribe(req));
  return [
    path('comet/<str:channel>', channelView, { name: cometChannelRouteName, methods: ['GET', 'POST'], bodyLimit: MAX_PUBLISH_BYTES }),
    path('forum/events', (req) => publishTo(req, 'forum', 'forum'), { name: 'forum-events', methods: ['POST'], bodyLimit: MAX_PUBLISH_BYTES }),
  ];
}
