// The Comet lane (server/comet-lane.ts): subscribe GETs are answered before
// fastify routes them, byte for byte as the mounted route answers them, and
// every other request still goes through fastify and its hooks.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../server/app.ts';
import { loadSettings } from '../server/config.ts';
import { get, openConnection, rawRequest, waitFor, type RawResponse } from './helpers/raw-http.ts';

let app: App;
let port: number;
let dataDir: string;
// What fastify's onRequest hooks see: every request that did not take the lane.
let seenByFastify: string[];

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'evcomet-lane-'));
  app = await buildApp(loadSettings({ DATA_DIR: dataDir }));
  seenByFastify = [];
  app.fastify.addHook('onRequest', (request, _reply, done) => {
    seenByFastify.push(`${request.method} ${request.url}`);
    done();
  });
  await app.fastify.listen({ port: 0, host: '127.0.0.1' });
  port = (app.fastify.server.address() as AddressInfo).port;
});

afterEach(async () => {
  await app.fastify.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function publish(channel: string, data: unknown): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/comet/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data),
  });
  return ((await res.json()) as { id: string }).id;
}

/** The answer without what differs between any two answers (the time it was made). */
function comparable(res: RawResponse) {
  const { date, ...headers } = res.headers;
  expect(date).toBeDefined();
  return { status: res.status, headers, body: res.body };
}

describe('the Comet lane', () => {
  it('takes subscribe GETs from fastify, and nothing else', async () => {
    const first = await publish('lane', { n: 1 });
    await publish('lane', { n: 2 });
    seenByFastify = [];

    const laned = await rawRequest(port, get(`/comet/lane?transport=longpoll&since=${first}`));
    expect(laned.status).toBe(200);
    expect(JSON.parse(laned.body)).toMatchObject([{ data: { n: 2 } }]);
    expect(seenByFastify).toEqual([]);

    const others = [
      `HEAD /comet/lane?transport=longpoll`, // HEAD answers a head alone, as fastify's route does
      `GET /comet/l%61ne?transport=longpoll&since=${first}`, // fastify decodes the path
      'GET /comet/lane/more?transport=longpoll', // not the route: fastify answers 404
      'GET /status',
    ];
    for (const line of others) {
      const [method, path] = line.split(' ') as [string, string];
      await rawRequest(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    }
    await publish('lane', { n: 3 });
    expect(seenByFastify).toEqual([...others, 'POST /comet/lane']);
  });

  it('answers as the mounted route does, successes and refusals alike', async () => {
    const first = await publish('ab', { text: 'one' });
    await publish('ab', { text: 'two é' });
    const queries = [
      `transport=longpoll&since=${first}`,
      `transport=jsonp&callback=cb&since=${first}`,
      `transport=longpoll&since=${first}&callback=bad-name`,
      'transport=nope',
      'transport=longpoll&since=not-an-id',
    ];
    for (const query of queries) {
      const laned = await rawRequest(port, get(`/comet/ab?${query}`));
      const routed = await rawRequest(port, get(`/comet/%61b?${query}`));
      expect(comparable(laned), query).toEqual(comparable(routed));
    }
    // A stream's head and first bytes: its opening and the resumed message.
    for (const transport of ['sse', 'xhr-stream', 'iframe']) {
      const [laned, routed] = await Promise.all([`/comet/ab`, `/comet/%61b`].map(async (path) => {
        const conn = await openConnection(port);
        const res = await conn.request(get(`${path}?transport=${transport}&since=${first}`));
        await waitFor(() => res.chunks.map((c) => c.data).join('').includes('two'), 2000, `the resumed message on ${transport}`);
        conn.close();
        return { ...res, body: res.chunks.map((c) => c.data).join('') };
      }));
      expect(comparable(laned!), transport).toEqual(comparable(routed!));
    }
    const badChannel = await rawRequest(port, get('/comet/-x?transport=longpoll'));
    expect(comparable(badChannel)).toEqual(comparable(await rawRequest(port, get('/comet/%2Dx?transport=longpoll'))));
    expect(badChannel.status).toBe(400);
    expect(JSON.parse(badChannel.body).error).toBe('bad_channel');
    expect(seenByFastify.filter((line) => line.startsWith('GET')).every((line) => line.includes('%'))).toBe(true);
  });
});
