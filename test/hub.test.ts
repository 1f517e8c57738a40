// The hub and message ids, without HTTP: ordering, resume, gaps, eviction by
// count and age, repeats, slow subscribers, and release on return().
import { describe, expect, it } from 'vitest';
import { createHub, isValidChannelName, type Hub, type Message } from '../server/hub.ts';
import { compareMessageIds, createIdGenerator, formatMessageId, parseMessageId } from '../server/message-id.ts';

function hubAt(clock: { now: number }, options: Partial<Parameters<typeof createHub>[0]> = {}): Hub {
  return createHub({ bufferSize: 100, bufferAgeMs: 60_000, maxQueued: 100, origin: 'abc', now: () => clock.now, ...options });
}

const publish = (hub: Hub, channel: string, data: unknown): Message => {
  const message = hub.createMessage(channel, data);
  hub.deliver(message);
  return message;
};

async function take(sub: AsyncIterator<Message[]>): Promise<unknown[]> {
  const result = await sub.next();
  return result.done ? [] : result.value.map((m) => m.data);
}

describe('message ids', () => {
  it('increase within a millisecond and when the clock steps back, and carry their time', () => {
    const clock = { now: 1_800_000_000_000 };
    const next = createIdGenerator('xyz', () => clock.now);
    const a = next();
    const b = next();
    clock.now -= 5000; // the clock steps back
    const c = next();
    clock.now += 10_000;
    const d = next();
    expect(compareMessageIds(a, b)).toBeLessThan(0);
    expect(compareMessageIds(b, c)).toBeLessThan(0);
    expect(compareMessageIds(c, d)).toBeLessThan(0);
    expect(parseMessageId(formatMessageId(d))).toEqual(d);
    expect(parseMessageId(formatMessageId(a))!.ms).toBe(1_800_000_000_000);
    expect(formatMessageId(a)).toBe(`${(1_800_000_000_000).toString(36)}-0xyz`);
  });

  it('refuse anything that is not an id', () => {
    for (const bad of ['', 'abc', '-0abc', 'mhw3k0zq-', 'mhw3k0zq-0ab', 'MHW-0abc', 'a-0abc\n', 'zzzzzzzzzzzz-0abc', 'a-abc', 'a-0123456abc', 'a-0a-bc', 'a_-0abc', 'zzzzzzzzzzz-0abc']) {
      expect(parseMessageId(bad), bad).toBeNull();
    }
  });

  it('read each id afresh when ids alternate, good and bad', () => {
    // parseMessageId remembers the last id it read: no answer may leak to the next id.
    for (let round = 0; round < 2; round++) {
      expect(parseMessageId('a-1abc')).toEqual({ ms: 10, seq: 1, origin: 'abc' });
      expect(parseMessageId('a-1abd')).toEqual({ ms: 10, seq: 1, origin: 'abd' });
      expect(parseMessageId('a-1ab')).toBeNull();
      expect(parseMessageId('a-1abc')).toEqual({ ms: 10, seq: 1, origin: 'abc' });
      expect(parseMessageId('a-1abc')).toEqual({ ms: 10, seq: 1, origin: 'abc' });
      expect(parseMessageId('')).toBeNull();
    }
  });

  it('order by time, then sequence, then origin', () => {
    expect(compareMessageIds(parseMessageId('b-0aaa')!, parseMessageId('a-9zzz')!)).toBeGreaterThan(0);
    expect(compareMessageIds(parseMessageId('a-10aaa')!, parseMessageId('a-9aaa')!)).toBeGreaterThan(0);
    expect(compareMessageIds(parseMessageId('a-1aab')!, parseMessageId('a-1aaa')!)).toBeGreaterThan(0);
  });
});

describe('hub', () => {
  it('validates channel names', () => {
    for (const good of ['chat', 'forum.events', 'room:1', 'a_b-c', '_x', '9']) expect(isValidChannelName(good), good).toBe(true);
    for (const bad of ['', '-x', '.x', 'a/b', 'a b', '<x>', 'x'.repeat(65)]) expect(isValidChannelName(bad), bad).toBe(false);
  });

  it('fans a message out to every subscriber of its channel only', async () => {
    const hub = hubAt({ now: 1e12 });
    const a = hub.subscribe('one');
    const b = hub.subscribe('one');
    const other = hub.subscribe('two');
    publish(hub, 'one', 'hi');
    expect(await take(a)).toEqual(['hi']);
    expect(await take(b)).toEqual(['hi']);
    expect(hub.stats().byChannel.find((c) => c.channel === 'two')!.subscribers).toBe(1);
    await other.return!();
    hub.close();
  });

  it('batches what arrived while the subscriber was not reading', async () => {
    const hub = hubAt({ now: 1e12 });
    const sub = hub.subscribe('c');
    for (const n of [1, 2, 3]) publish(hub, 'c', n);
    expect(await take(sub)).toEqual([1, 2, 3]);
    hub.close();
  });

  it('resumes after an id with exactly the later messages', async () => {
    const hub = hubAt({ now: 1e12 });
    const sent = [1, 2, 3, 4].map((n) => publish(hub, 'c', n));
    const sub = hub.subscribe('c', sent[1]!.id);
    expect(sub.gap).toBeNull();
    expect(await take(sub)).toEqual([3, 4]);
    const atEnd = hub.subscribe('c', sent[3]!.id);
    publish(hub, 'c', 5);
    expect(await take(atEnd)).toEqual([5]);
    hub.close();
  });

  it('reports an evicted id as an expired gap and gives the buffer', async () => {
    const hub = hubAt({ now: 1e12 }, { bufferSize: 2 });
    const sent = [1, 2, 3, 4].map((n) => publish(hub, 'c', n));
    const sub = hub.subscribe('c', sent[0]!.id);
    expect(sub.gap).toEqual({ reason: 'expired', since: sent[0]!.id, resume: expect.any(String) });
    expect(hub.subscribe('c', sub.gap!.resume).gap).toBeNull(); // resuming from there is exact
    expect(await take(sub)).toEqual([3, 4]);
    // the newest evicted id is still a clean resume point
    expect(hub.subscribe('c', sent[1]!.id).gap).toBeNull();
    expect(hub.stats().gaps).toBe(1);
    hub.close();
  });

  it('evicts by age, and an id older than the buffer is then a gap', async () => {
    const clock = { now: 1e12 };
    const hub = hubAt(clock, { bufferAgeMs: 1000 });
    const old = publish(hub, 'c', 'old');
    clock.now += 600;
    publish(hub, 'c', 'newer');
    clock.now += 600;
    expect(hub.recent('c').map((m) => m.data)).toEqual(['newer']);
    expect(hub.subscribe('c', old.id).gap).toBeNull(); // the newest evicted id
    const before = formatMessageId({ ms: old.time - 1, seq: 0, origin: 'abc' });
    expect(hub.subscribe('c', before).gap).toEqual({ reason: 'unknown', since: before, resume: expect.any(String) });
    const after = hub.subscribe('c', hub.subscribe('c', before).gap!.resume);
    expect(after.gap).toBeNull(); // from the hub's start: the whole buffer, no gap // before the hub started
    hub.close();
  });

  it('calls ids from before its start, or from the far future, unknown', () => {
    const clock = { now: 1e12 };
    const hub = hubAt(clock);
    publish(hub, 'c', 1);
    expect(hub.subscribe('c', formatMessageId({ ms: 1e12 - 1, seq: 0, origin: 'zzz' })).gap?.reason).toBe('unknown');
    expect(hub.subscribe('c', formatMessageId({ ms: 1e12 + 3_600_000, seq: 0, origin: 'zzz' })).gap?.reason).toBe('unknown');
    hub.close();
  });

  it('drops a repeated delivery and places a late one in order', () => {
    const hub = hubAt({ now: 1e12 });
    const a = hub.createMessage('c', 'a');
    const b = hub.createMessage('c', 'b');
    expect(hub.deliver(b)).toBe(true);
    expect(hub.deliver(a)).toBe(true);
    expect(hub.deliver(b)).toBe(false);
    expect(hub.recent('c').map((m) => m.data)).toEqual(['a', 'b']);
    hub.close();
  });

  it('cuts off a subscriber whose queue overflows, as slow', async () => {
    const hub = hubAt({ now: 1e12 }, { maxQueued: 3 });
    const slow = hub.subscribe('c');
    for (let n = 0; n < 5; n++) publish(hub, 'c', n);
    expect(slow.endReason).toBe('slow');
    expect((await slow.next()).done).toBe(true);
    expect(hub.stats()).toMatchObject({ subscribers: 0, slow: 1 });
    hub.close();
  });

  it('releases a subscriber on return(), even while it waits', async () => {
    const hub = hubAt({ now: 1e12 });
    const sub = hub.subscribe('c');
    const pending = sub.next();
    await sub.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(hub.stats().subscribers).toBe(0);
    hub.close();
  });

  it('hands a message to each subscriber once while listeners leave, end others and join during its delivery', () => {
    const hub = hubAt({ now: 1e12 });
    const before = publish(hub, 'c', 'before');
    const got = new Map<string, unknown[]>();
    const listen = (name: string, sub: ReturnType<Hub['subscribe']>, onMessage: () => void = () => {}) => {
      got.set(name, []);
      sub.listen({ messages: (batch) => { got.get(name)!.push(...batch.map((m) => m.data)); onMessage(); }, end: () => {} });
      return sub;
    };
    let joiner: ReturnType<Hub['subscribe']> | null = null;
    const first = listen('first', hub.subscribe('c', before.id), () => {
      void first.return(); // leaves, as an answered poll does
      void second.return(); // ends the next one before its turn
      joiner ??= listen('joiner', hub.subscribe('c', before.id)); // joins from before the message
    });
    const second = listen('second', hub.subscribe('c', before.id));
    const third = listen('third', hub.subscribe('c', before.id));
    publish(hub, 'c', 'now');
    expect(Object.fromEntries(got)).toEqual({ first: ['now'], second: [], third: ['now'], joiner: ['now'] });
    expect(hub.stats().subscribers).toBe(2);
    publish(hub, 'c', 'later');
    expect(got.get('third')).toEqual(['now', 'later']);
    expect(got.get('joiner')).toEqual(['now', 'later']);
    void third.return();
    void joiner!.return();
    expect(hub.stats().subscribers).toBe(0);
    hub.close();
  });

  it('ends every subscription on close()', async () => {
    const hub = hubAt({ now: 1e12 });
    const sub = hub.subscribe('c');
    const pending = sub.next();
    hub.close();
    expect((await pending).done).toBe(true);
    expect(sub.endReason).toBe('closed');
  });
});
