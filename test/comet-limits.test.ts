// Bad input and limits on the Comet endpoints: each answered with a 4xx and a
// JSON error code, none of them crashing the server or losing a message.
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../server/config.ts';
import { checkPublisher, isLoopback } from '../server/publish-auth.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { get, openConnection, rawRequest, waitFor } from './helpers/raw-http.ts';

let server: AppServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${server!.base}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('publishing', () => {
  it('answers the new id, channel and time', async () => {
    server = await startApp();
    const res = await post('/comet/room', '{"hello":"world"}');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ channel: 'room', id: expect.stringMatching(/^[0-9a-z]+-[0-9a-z]+$/) });
    expect(Math.abs((res.body.time as number) - Date.now())).toBeLessThan(5000);
    expect(server.hub.recent('room').map((m) => m.data)).toEqual([{ hello: 'world' }]);
  });

  it('refuses bodies over 64 KiB, bad JSON, other content types and bad channels', async () => {
    server = await startApp();
    const big = JSON.stringify({ text: 'x'.repeat(64 * 1024) });
    expect(await post('/comet/room', big)).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    expect(await post('/comet/room', '{"unclosed":')).toMatchObject({ status: 400, body: { error: 'bad_json' } });
    expect(await post('/comet/room', '')).toMatchObject({ status: 400, body: { error: 'bad_json' } });
    expect(await post('/comet/room', 'hello', { 'content-type': 'text/plain' })).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } });
    expect(await post('/comet/room', '<a/>', { 'content-type': 'application/xml' })).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } });
    expect(await post('/comet/-bad', '{}')).toMatchObject({ status: 400, body: { error: 'bad_channel' } });
    expect(await post(`/comet/${'a'.repeat(65)}`, '{}')).toMatchObject({ status: 400, body: { error: 'bad_channel' } });
    expect(server.hub.stats().published).toBe(0);
    // and the server still serves
    expect((await post('/comet/room', '1')).status).toBe(200);
  });

  it('needs the bearer token when PUBLISH_TOKEN is set', async () => {
    server = await startApp({ PUBLISH_TOKEN: 's3cret' });
    expect(await post('/comet/room', '{}')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(await post('/comet/room', '{}', { 'content-type': 'application/json', authorization: 'Bearer wrong!' }))
      .toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await post('/comet/room', '{}', { 'content-type': 'application/json', authorization: 'Bearer s3cret' })).status).toBe(200);
    expect(server.hub.stats().published).toBe(1);
  });

  it('without a token, takes publishers on this machine only', () => {
    expect(() => checkPublisher({}, '127.0.0.1', undefined)).not.toThrow();
    expect(() => checkPublisher({}, '::ffff:127.0.0.9', undefined)).not.toThrow();
    expect(() => checkPublisher({}, '::1', undefined)).not.toThrow();
    expect(() => checkPublisher({}, '10.1.2.3', undefined)).toThrow(expect.objectContaining({ code: 'forbidden', statusCode: 403 }));
    expect(() => checkPublisher({}, '::ffff:192.168.0.1', undefined)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(isLoopback('2001:db8::1')).toBe(false);
  });

  it('without a token, refuses a request that a proxy relayed, though it comes from loopback', async () => {
    server = await startApp();
    for (const [name, value] of [['x-forwarded-for', '203.0.113.5'], ['forwarded', 'for=203.0.113.5'], ['x-real-ip', '203.0.113.5']] as const) {
      const res = await post('/comet/room', '{"forged":true}', { 'content-type': 'application/json', [name]: value });
      expect(res, name).toMatchObject({ status: 403, body: { error: 'forbidden', message: expect.stringContaining('proxy') } });
    }
    const forumEvent = await post('/forum/events', '{"type":"thread.created","who":"x"}', { 'content-type': 'application/json', 'x-forwarded-for': '127.0.0.1' });
    expect(forumEvent).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(server.hub.stats().published).toBe(0);
    expect((await post('/comet/room', '{}')).status).toBe(200);
  });

  it('takes the token holder through a proxy', async () => {
    server = await startApp({ PUBLISH_TOKEN: 's3cret', TRUST_PROXY: 'loopback' });
    const res = await post('/comet/room', '{}', { 'content-type': 'application/json', authorization: 'Bearer s3cret', 'x-forwarded-for': '203.0.113.5' });
    expect(res.status).toBe(200);
  });
});

describe('behind a reverse proxy (TRUST_PROXY)', () => {
  async function subscribeAs(forwardedFor: string) {
    const conn = await openConnection(server!.port);
    const res = await conn.request(get('/comet/room?transport=sse', { headers: { 'X-Forwarded-For': forwardedFor } }));
    return { conn, status: res.status };
  }

  it('counts each client named by the trusted proxy against its own address', async () => {
    server = await startApp({ MAX_SUBSCRIBERS_PER_ADDRESS: '1', TRUST_PROXY: 'loopback' });
    const first = await subscribeAs('203.0.113.5');
    const second = await subscribeAs('198.51.100.7');
    expect([first.status, second.status]).toEqual([200, 200]);
    const again = await subscribeAs('203.0.113.5');
    expect(again.status).toBe(429);
    expect(JSON.parse((await again.conn.finished()).body)).toMatchObject({ error: 'too_many_subscribers' });
    // long-polls are counted the same way
    const poll = await fetch(`${server.base}/comet/room?transport=longpoll`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(poll.status).toBe(429);
    for (const s of [first, second, again]) s.conn.close();
  });

  it('without it, counts every client the proxy relays as the proxy', async () => {
    server = await startApp({ MAX_SUBSCRIBERS_PER_ADDRESS: '1' });
    const first = await subscribeAs('203.0.113.5');
    const second = await subscribeAs('198.51.100.7');
    expect([first.status, second.status]).toEqual([200, 429]);
    for (const s of [first, second]) s.conn.close();
  });

  it('takes addresses, CIDRs and range names, and refuses anything else with a clear message', () => {
    expect(loadSettings({}).trustProxy).toBeUndefined();
    expect(loadSettings({ TRUST_PROXY: ' 10.0.0.1, 10.1.0.0/16 ,::1,fd00::/8,loopback ' }).trustProxy)
      .toEqual(['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback']);
    for (const bad of ['true', '2', '10.0.0.0/33', '::1/129', 'proxy.example', '10.0.0.1/8/1', '10.0.0.1,,']) {
      expect(() => loadSettings({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY=.*addresses or CIDRs/);
    }
  });
});

describe('subscribing', () => {
  it('answers 400 for an unknown transport, listing the valid ones', async () => {
    server = await startApp();
    const res = await fetch(`${server.base}/comet/room?transport=flash`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'bad_transport', message: 'No such transport.',
      transports: ['sse', 'xhr-stream', 'iframe', 'multipart', 'longpoll', 'jsonp', 'chunked'],
    });
  });

  it('answers 400 for a bad callback, a bad since and a bad channel', async () => {
    server = await startApp();
    for (const [query, code] of [
      ['transport=jsonp', 'bad_callback'],
      ['transport=jsonp&callback=alert(1)', 'bad_callback'],
      ['transport=jsonp&callback=a</script>', 'bad_callback'],
      [`transport=iframe&callback=${'a'.repeat(65)}`, 'bad_callback'],
      ['transport=longpoll&since=not-an-id!', 'bad_since'],
    ]) {
      const res = await fetch(`${server.base}/comet/room?${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: code });
    }
    const badHeader = await rawRequest(server.port, get('/comet/room?transport=sse', { headers: { 'Last-Event-ID': '"><script>' } }));
    expect(badHeader.status).toBe(400);
    expect(JSON.parse(badHeader.body)).toMatchObject({ error: 'bad_since' });
    const badChannel = await fetch(`${server.base}/comet/${encodeURIComponent('<script>')}`);
    expect(badChannel.status).toBe(400);
    expect(server.hub.stats().subscribers).toBe(0);
  });

  it('answers 429 past the subscriptions allowed per address, and frees places as clients leave', async () => {
    server = await startApp({ MAX_SUBSCRIBERS_PER_ADDRESS: '3' });
    const conns = [];
    for (let i = 0; i < 3; i++) {
      const conn = await openConnection(server.port);
      expect((await conn.request(get('/comet/room?transport=sse'))).status).toBe(200);
      conns.push(conn);
    }
    const refused = await fetch(`${server.base}/comet/room?transport=sse`);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'too_many_subscribers' });
    conns.pop()!.close();
    await waitFor(() => server!.hub.stats().subscribers === 2);
    const again = await openConnection(server.port);
    expect((await again.request(get('/comet/room?transport=sse'))).status).toBe(200);
    again.close();
    for (const conn of conns) conn.close();
  });

  it('survives a flood of garbage requests and still delivers', async () => {
    server = await startApp();
    const garbage = [
      'GET /comet/room?transport=sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \u0000\r\n\r\n',
      'POST /comet/room HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{',
      'GET /comet/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
      'BREW /comet/room HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /comet/room?transport=sse&since=%00 HTTP/1.1\r\nHost: x\r\n\r\n',
      'not http at all\r\n\r\n',
    ];
    await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const conn = await openConnection(server!.port);
      conn.socket.write(garbage[i % garbage.length]!);
      await new Promise((r) => setTimeout(r, 20));
      conn.close();
    }));
    const id = await server.publish('room', 'still here');
    const res = await fetch(`${server.base}/comet/room?transport=longpoll&since=${id.replace(/-.*/, '-0000')}`);
    expect(await res.json()).toEqual([{ id, data: 'still here' }]);
  });
});
