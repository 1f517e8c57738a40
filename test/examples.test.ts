// The example apps, mounted as `npm start` mounts them.
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { loadSettings } from '../server/config.ts';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Hub } from '../server/hub.ts';
import { messagesOf, parseItems } from './helpers/comet-client.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

let app: FastifyInstance;
let hub: Hub;
afterEach(() => app.close());

async function start(): Promise<number> {
  ({ fastify: app, hub } = await buildApp(loadSettings({})));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

describe('examples', () => {
  it('clock: n lines, interval apart, and 400 for a bad n', async () => {
    const port = await start();
    const conn = await openConnection(port);
    await conn.request(get('/examples/clock?n=2&interval=200'));
    const res = await conn.finished();
    conn.close();
    expect(res.chunks).toHaveLength(2);
    expect(res.chunks[1]!.at - res.chunks[0]!.at).toBeGreaterThanOrEqual(150);
    const bad = await fetch(`http://127.0.0.1:${port}/examples/clock?n=0`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_parameter', parameter: 'n' });
  });

  it('polls: a vote reaches an open results stream at once', async () => {
    const port = await start();
    const base = `http://127.0.0.1:${port}/examples/polls`;
    expect(await (await fetch(`${base}/`)).json()).toEqual([{ id: 1, question: "What's new?" }]);
    expect((await fetch(`${base}/9/`)).status).toBe(404);

    const conn = await openConnection(port);
    const stream = await conn.request(get('/examples/polls/1/results/'));
    await waitFor(() => stream.chunks.length === 1, 2000, 'the first results');
    expect(JSON.parse(stream.chunks[0]!.data).map((c: { votes: number }) => c.votes)).toEqual([0, 0]);

    const voted = await fetch(`${base}/1/vote/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"choice":2}' });
    expect(voted.status).toBe(200);
    await waitFor(() => stream.chunks.length === 2, 2000, 'the results after the vote');
    expect(JSON.parse(stream.chunks[1]!.data).map((c: { votes: number }) => c.votes)).toEqual([0, 1]);

    const badVote = await fetch(`${base}/1/vote/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"choice":99}' });
    expect(badVote.status).toBe(400);
    conn.close();
  });

  it('agentpush: every page view is published with its User-Agent and Referer, shown escaped to later viewers, live on any transport', async () => {
    const port = await start();
    const base = `http://127.0.0.1:${port}`;
    // A long-poll's head comes only with its answer: its request is not awaited here.
    const watchers = await Promise.all((['sse', 'longpoll'] as const).map(async (transport) => {
      const conn = await openConnection(port);
      const head = conn.request(get(`/comet/agentpush?transport=${transport}`));
      if (transport === 'sse') await head;
      return { transport, conn, head };
    }));
    await waitFor(() => hub.stats().subscribers === 2, 2000, 'both watchers');
    const hostile = 'Mozilla/5.0 </script><script>alert(1)</script>';
    const first = await fetch(`${base}/examples/agentpush/`, { headers: { 'user-agent': hostile, referer: 'https://forum.example/t/1?a=<b>' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const firstPage = await first.text();
    expect(firstPage).toContain('<script src="/static/comet.js"></script>');

    for (const { transport, conn, head } of watchers) {
      const res = await head;
      if (transport === 'longpoll') await conn.finished();
      else await waitFor(() => res.chunks.some((c) => c.data.includes('forum.example')), 2000, 'the view on the stream');
      const messages = messagesOf(parseItems(transport, res.chunks.map((c) => c.data).join('')));
      expect(messages.map((m) => m.data)).toEqual([{ userAgent: hostile, referer: 'https://forum.example/t/1?a=<b>', time: expect.any(Number) }]);
      conn.close();
    }

    // A later viewer sees the earlier view in the page itself, escaped.
    const second = await (await fetch(`${base}/examples/agentpush/`, { headers: { 'user-agent': 'curl/8' } })).text();
    expect(second).toContain('Mozilla/5.0 &#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(second).not.toContain('<script>alert(1)');
    expect(second.match(/<script/g)).toHaveLength(2);
  });
});
