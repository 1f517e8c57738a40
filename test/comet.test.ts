// Every transport over real sockets: subscribe, publish, read the frames as a
// client would; disconnect and resume with the last id (nothing lost, nothing
// repeated); a resume from an id that left the buffer is told of the gap.
import { afterEach, describe, expect, it } from 'vitest';
import { transportNames, type TransportName } from '../transports/encoder.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { messagesOf, parseItems, type Item } from './helpers/comet-client.ts';
import { get, openConnection, type RawConnection, type RawResponse, waitFor } from './helpers/raw-http.ts';

let server: AppServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const streaming = transportNames.filter((t) => t !== 'longpoll' && t !== 'jsonp');
const polling = ['longpoll', 'jsonp'] as const;

function subscribeUrl(transport: TransportName, channel: string, since?: string): string {
  const params = new URLSearchParams({ transport });
  if (transport === 'jsonp') params.set('callback', 'cb');
  if (since) params.set('since', since);
  return `/comet/${channel}?${params}`;
}

/** An open streaming subscription (subscribed once its head has arrived) and the items parsed from it so far. */
async function openStream(transport: TransportName, channel: string, since?: string) {
  const conn: RawConnection = await openConnection(server!.port);
  const res: RawResponse = await conn.request(get(subscribeUrl(transport, channel, since)));
  const text = () => res.chunks.map((c) => c.data).join('');
  return { conn, res, items: (): Item[] => parseItems(transport, text()), text };
}

async function poll(transport: TransportName, channel: string, since?: string): Promise<{ res: Response; items: Item[] }> {
  const res = await fetch(`${server!.base}${subscribeUrl(transport, channel, since)}`);
  return { res, items: parseItems(transport, await res.text()) };
}

describe.each(streaming)('%s', (transport) => {
  it('streams published messages, framed as documented, with the Comet headers', async () => {
    server = await startApp();
    const stream = await openStream(transport, 'room');
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers['cache-control']).toBe('no-cache, no-store');
    expect(stream.res.headers['x-accel-buffering']).toBe('no');
    expect(stream.res.headers['x-content-type-options']).toBe('nosniff');
    // close-delimited: no chunk framing around each message
    expect(stream.res.headers['connection']).toBe('close');
    expect(stream.res.headers['transfer-encoding']).toBeUndefined();
    const sent = [{ n: 1 }, { text: 'two </script><!-- \u2028' }, { n: [3] }];
    const ids: string[] = [];
    for (const data of sent) ids.push(await server.publish('room', data));
    await waitFor(() => messagesOf(stream.items()).length === 3, 2000, 'three messages');
    expect(messagesOf(stream.items())).toEqual(sent.map((data, i) => ({ kind: 'message', id: ids[i], data })));
    stream.conn.close();
  });

  it('resumes after a disconnect with the last id: nothing lost, nothing repeated', async () => {
    server = await startApp();
    const first = await openStream(transport, 'room');
    await server.publish('room', 'a');
    await server.publish('room', 'b');
    await waitFor(() => messagesOf(first.items()).length === 2);
    const lastSeen = messagesOf(first.items()).at(-1)!.id!;
    first.conn.close();
    await waitFor(() => server!.hub.stats().subscribers === 0, 1000, 'the subscriber to leave');

    await server.publish('room', 'c'); // published while the client was away
    await server.publish('room', 'd');
    const second = await openStream(transport, 'room', lastSeen);
    await server.publish('room', 'e');
    await waitFor(() => messagesOf(second.items()).length === 3);
    expect(messagesOf(second.items()).map((m) => m.data)).toEqual(['c', 'd', 'e']);
    expect(second.items().filter((i) => i.kind === 'control')).toEqual([]);
    second.conn.close();
  });

  it('reports a gap when the id has left the buffer, then sends the recent buffer', async () => {
    server = await startApp({ CHANNEL_BUFFER_SIZE: '3' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await server.publish('room', i));
    const stream = await openStream(transport, 'room', ids[0]);
    await waitFor(() => messagesOf(stream.items()).length === 3);
    const items = stream.items();
    expect(items[0]).toEqual({ kind: 'control', control: 'gap', reason: 'expired', since: ids[0], resume: expect.any(String) });
    expect(messagesOf(items).map((m) => m.data)).toEqual([3, 4, 5]);
    stream.conn.close();
  });

  it('ends the response after the byte limit with a reconnect, and the resume continues', async () => {
    server = await startApp({ STREAM_BYTE_LIMIT: '4096' });
    const stream = await openStream(transport, 'room');
    const payload = 'x'.repeat(1000);
    for (let i = 0; i < 8; i++) await server.publish('room', { i, payload });
    const res = await stream.conn.finished();
    expect(res.complete).toBe(true);
    const items = stream.items();
    expect(items.at(-1)).toEqual({ kind: 'control', control: 'reconnect', reason: 'limit' });
    const got = messagesOf(items);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(8);
    const rest = await openStream(transport, 'room', got.at(-1)!.id);
    await waitFor(() => messagesOf(rest.items()).length === 8 - got.length);
    expect([...got, ...messagesOf(rest.items())].map((m) => (m.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    rest.conn.close();
  });

  it('sends heartbeats while the channel is quiet', async () => {
    server = await startApp({ HEARTBEAT_MS: '200' });
    const stream = await openStream(transport, 'quiet');
    const opened = stream.res.chunks.length;
    await waitFor(() => stream.res.chunks.length >= opened + 2, 1500, 'two heartbeats');
    expect(messagesOf(stream.items())).toEqual([]);
    stream.conn.close();
  });
});

describe.each(polling)('%s', (transport) => {
  it('answers at once with every message after the id, in one batch', async () => {
    server = await startApp();
    const since = await server.publish('room', 'before');
    const ids = [await server.publish('room', 1), await server.publish('room', 2), await server.publish('room', 3)];
    const { res, items } = await poll(transport, 'room', since);
    expect(res.headers.get('cache-control')).toBe('no-cache, no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(items).toEqual(ids.map((id, i) => ({ kind: 'message', id, data: i + 1 })));
  });

  it('answers polls catching up from one cursor alike, and each other cursor with its own messages', async () => {
    server = await startApp();
    const since = await server.publish('room', 'before');
    const [a, b] = [await server.publish('room', 'a'), await server.publish('room', 'b')];
    const dataAfter = async (cursor: string) => messagesOf((await poll(transport, 'room', cursor)).items).map((m) => m.data);
    expect(await dataAfter(since)).toEqual(['a', 'b']);
    expect(await dataAfter(since)).toEqual(['a', 'b']);
    // The same first message, one more after it; then a later first message, the same last.
    await server.publish('room', 'c');
    expect(await dataAfter(since)).toEqual(['a', 'b', 'c']);
    expect(await dataAfter(a)).toEqual(['b', 'c']);
    expect(await dataAfter(b)).toEqual(['c']);
    expect(await dataAfter(since)).toEqual(['a', 'b', 'c']);
  });

  it('holds the request until a message comes, and polls on with the last id losing nothing', async () => {
    server = await startApp();
    const held = poll(transport, 'room');
    await waitFor(() => server!.hub.stats().subscribers === 1, 1000, 'the poll to be held');
    await server.publish('room', 'a');
    const first = messagesOf((await held).items);
    expect(first.map((m) => m.data)).toEqual(['a']);

    await server.publish('room', 'b'); // between polls
    await server.publish('room', 'c');
    const second = messagesOf((await poll(transport, 'room', first[0]!.id)).items);
    expect(second.map((m) => m.data)).toEqual(['b', 'c']);
    const third = poll(transport, 'room', second[1]!.id);
    await waitFor(() => server!.hub.stats().subscribers === 1);
    await server.publish('room', 'd');
    expect(messagesOf((await third).items).map((m) => m.data)).toEqual(['d']);
  });

  it('answers an empty batch when the hold times out', async () => {
    server = await startApp({ LONGPOLL_HOLD_MS: '300' });
    const started = Date.now();
    const { res, items } = await poll(transport, 'room');
    expect(res.status).toBe(200);
    expect(items).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(server.hub.stats().subscribers).toBe(0);
  });

  it('answers text beyond ASCII byte for byte, with its length in bytes, held or at once', async () => {
    server = await startApp();
    const data = { text: 'grüße 😀 </script> \u2028 ☃' };
    const held = fetch(`${server.base}${subscribeUrl(transport, 'room')}`);
    await waitFor(() => server!.hub.stats().subscribers === 1, 1000, 'the poll to be held');
    await server.publish('room', data);
    const since = await server.publish('room', 'before');
    await server.publish('room', data);
    for (const res of [await held, await fetch(`${server.base}${subscribeUrl(transport, 'room', since)}`)]) {
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
      expect(messagesOf(parseItems(transport, bytes.toString('utf8'))).map((m) => m.data)).toEqual([data]);
    }
  });

  it('times each held poll from its own start, whichever polls came, went or were answered meanwhile', async () => {
    server = await startApp({ LONGPOLL_HOLD_MS: '400' });
    const timed = (channel: string) => {
      const started = Date.now();
      return poll(transport, channel).then(({ items }) => ({ items, ms: Date.now() - started }));
    };
    const first = timed('hold-a');
    await new Promise((r) => setTimeout(r, 100));
    const answered = timed('hold-b'); // answered early: the queue must not wait on it
    await new Promise((r) => setTimeout(r, 100));
    const last = timed('hold-c');
    await server.publish('hold-b', 'now');
    const [a, b, c] = await Promise.all([first, answered, last]);
    expect(messagesOf(b.items).map((m) => m.data)).toEqual(['now']);
    expect(b.ms).toBeLessThan(300);
    for (const held of [a, c]) {
      expect(held.items).toEqual([]);
      expect(held.ms).toBeGreaterThanOrEqual(380);
      expect(held.ms).toBeLessThan(1500);
    }
    expect(server.comet.holds.size).toBe(0);
  });

  it('reports a gap when the id has left the buffer, then sends the recent buffer', async () => {
    server = await startApp({ CHANNEL_BUFFER_SIZE: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await server.publish('room', i));
    const { items } = await poll(transport, 'room', ids[1]);
    expect(items).toEqual([
      { kind: 'control', control: 'gap', reason: 'expired', since: ids[1], resume: expect.any(String) },
      { kind: 'message', id: ids[3], data: 3 },
      { kind: 'message', id: ids[4], data: 4 },
    ]);
  });
});

describe('resume and choice of transport', () => {
  it('resumes from Last-Event-ID, and ?since= wins over it', async () => {
    server = await startApp();
    const a = await server.publish('room', 'a');
    const b = await server.publish('room', 'b');
    await server.publish('room', 'c');
    const byHeader = await openConnection(server.port);
    const res = await byHeader.request(get('/comet/room?transport=sse', { headers: { 'Last-Event-ID': b } }));
    await waitFor(() => messagesOf(parseItems('sse', res.chunks.map((c) => c.data).join(''))).length === 1);
    expect(messagesOf(parseItems('sse', res.chunks.map((c) => c.data).join(''))).map((m) => m.data)).toEqual(['c']);
    byHeader.close();
    const both = await poll('longpoll', 'room', a);
    expect(messagesOf(both.items).map((m) => m.data)).toEqual(['b', 'c']);
  });

  it('reports an id from before this server started as an unknown gap', async () => {
    server = await startApp();
    await server.publish('room', 'now');
    const { items } = await poll('longpoll', 'room', '1-0abc');
    expect(items[0]).toEqual({ kind: 'control', control: 'gap', reason: 'unknown', since: '1-0abc', resume: expect.any(String) });
    expect(messagesOf(items).map((m) => m.data)).toEqual(['now']);
  });

  it('chooses SSE for Accept: text/event-stream and chunked for curl', async () => {
    server = await startApp();
    for (const [headers, type] of [
      [{ Accept: 'text/event-stream' }, 'text/event-stream; charset=utf-8'],
      [{ 'User-Agent': 'curl/8.5.0' }, 'application/x-ndjson; charset=utf-8'],
    ] as const) {
      const conn = await openConnection(server.port);
      const res = await conn.request(get('/comet/room', { headers }));
      expect(res.headers['content-type']).toBe(type);
      conn.close();
    }
  });
});
