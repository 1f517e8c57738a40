// The Comet feed of one hub channel, as every subscribe view makes it: resume
// from `?since=` or `Last-Event-ID`, one more subscription counted against the
// client's address, a `gap` frame first when the resume cannot be exact, and
// everything given back when the response ends.
import type { AddressLimiter } from './address-limiter.ts';
import type { CometFeed } from './comet-stream.ts';
import { httpError } from './errors.ts';
import type { Hub, Subscription } from './hub.ts';
import { parseMessageId } from './message-id.ts';
import type { Control } from '../transports/encoder.ts';
import type { ViewRequest } from './views.ts';

/** Subscribes `req` to `channel`; `onRelease` runs once when the response is over. */
export function channelFeed(req: ViewRequest, hub: Hub, limiter: AddressLimiter, channel: string, onRelease?: () => void): CometFeed {
  const since = req.query.get('since') ?? req.headers['last-event-id'] ?? undefined;
  if (since !== undefined && !parseMessageId(String(since))) throw httpError('bad_since');
  const address = req.ip;
  if (!limiter.acquire(address)) throw httpError('too_many_subscribers');
  const subscription = hub.subscribe(channel, since === undefined ? undefined : String(since));
  return new ChannelFeed(subscription, limiter, address, onRelease);
}

const noControls: readonly Control[] = [];

// A class rather than an object with a closure: one is made per poll.
class ChannelFeed implements CometFeed {
  readonly controls: readonly Control[];

  constructor(
    readonly source: Subscription,
    private readonly limiter: AddressLimiter,
    private readonly address: string,
    private readonly onRelease: (() => void) | undefined,
  ) {
    this.controls = source.gap ? [{ control: 'gap', ...source.gap }] : noControls;
  }

  release(): void {
    void this.source.return();
    this.limiter.release(this.address);
    this.onRelease?.();
  }
}
