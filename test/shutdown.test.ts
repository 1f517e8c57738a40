// Stopping the app (fastify.close(), as on SIGTERM): held polls are answered at
// once, and a request that still arrives on a kept-alive connection gets the
// documented 503 `shutting_down` and the connection's end, not a hang.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../server/app.ts';
import { loadSettings } from '../server/config.ts';
import { waitFor } from './helpers/raw-http.ts';

let dataDir: string | undefined;
afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function listening(app: App): Promise<number> {
  await app.fastify.listen({ port: 0, host: '127.0.0.1' });
  return (app.fastify.server.address() as AddressInfo).port;
}

async function build(): Promise<App> {
  dataDir = mkdtempSync(join(tmpdir(), 'evcomet-shutdown-'));
  return buildApp(loadSettings({ DATA_DIR: dataDir }));
}

describe('stopping the server', () => {
  it('answers a held poll at once, with an empty batch', async () => {
    const app = await build();
    const port = await listening(app);
    const held = fetch(`http://127.0.0.1:${port}/comet/room?transport=longpoll`);
    await waitFor(() => app.hub.stats().subscribers === 1, 1000, 'the poll to be held');
    const started = Date.now();
    await app.fastify.close();
    const res = await held;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  // A subscribe, which the Comet lane would take from fastify, too: while closing it leaves it to fastify.
  for (const late of ['/healthz', '/comet/late?transport=longpoll']) it(`answers a request that arrives meanwhile on a kept-alive connection with 503 shutting_down, and closes it: ${late}`, async () => {
    const app = await build();
    // A request the test holds open, so that the connection stays busy while the server stops.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => { entered = resolve; });
    app.fastify.get('/held', async () => {
      entered();
      await gate;
      return { held: 'done' };
    });
    let parsed!: () => void;
    const secondParsed = new Promise<void>((resolve) => { parsed = resolve; });
    app.fastify.server.on('request', (req) => { if (req.url === late) parsed(); });
    const port = await listening(app);

    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => { received += chunk; });
    const ended = once(socket, 'close');
    socket.write('GET /held HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await inside;

    const closing = app.fastify.close();
    await waitFor(() => !app.fastify.server.listening, 1000, 'the server to stop listening');
    socket.write(`GET ${late} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await secondParsed;
    release();
    await ended;
    await closing;

    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toContain('{"held":"done"}');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(second!.slice(second!.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'shutting_down' });
  });
});
