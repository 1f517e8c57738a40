// The Comet feed of one hub channel, as every subscribe view makes it: resume
// from `?since=` or `Last-Event-ID`, one more subscription counted against the
// client's address, a `gap` frame first when the resume cannot be exact, and
// everything given back when the response ends.
import type { AddressLimiter } from './address-limiter.ts';
import type { CometFeed } from './comet-stream.ts';
import { httpError } from './errors.ts';
import type { Hub } from './hub.ts';
import { parseMessageId } from './message-id.ts';
import type { ViewRequest } from './views.ts';

/** Subscribes `req` to `channel`; `onRelease` runs once when the response is over. */
export function channelFeed(req: ViewRequest, hub: Hub, limiter: AddressLimiter, channel: string, onRelease?: () => void): CometFeed {
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
      onRelease?.();
    },
  };
}
