// The example apps, mounted as `npm start` mounts them.
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { loadSettings } from '../server/config.ts';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

let app: FastifyInstance;
afterEach(() => app.close());

async function start(): Promise<number> {
  app = (await buildApp(loadSettings({}))).fastify;
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
});
