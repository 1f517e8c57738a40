// `npm start`'s entry point as a real process: it listens, serves the examples,
// answers /healthz, and on SIGTERM ends open streams cleanly and exits in time.
import { afterEach, describe, expect, it } from 'vitest';
import { get, openConnection } from './helpers/raw-http.ts';
import { spawnServer, stopServer, type ServerProcess } from './helpers/spawn-server.ts';

let server: ServerProcess | undefined;
afterEach(async () => {
  if (server) await stopServer(server, 'SIGKILL');
  server = undefined;
});

describe('the entry point', () => {
  it('serves /healthz and the clock, one line per interval', async () => {
    server = await spawnServer();
    const health = await fetch(`${server.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });

    const conn = await openConnection(server.port);
    await conn.request(get('/examples/clock?n=3&interval=300'));
    const res = await conn.finished();
    conn.close();
    const lines = res.body.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(Number.isNaN(Date.parse(line))).toBe(false);
    expect(res.chunks[2]!.at - res.chunks[0]!.at).toBeGreaterThanOrEqual(500);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} ends open streams cleanly and exits within 5 s`, async () => {
      server = await spawnServer();
      const conn = await openConnection(server.port);
      await conn.request(get('/examples/clock?n=1000&interval=1000'));
      const { code, ms } = await stopServer(server, signal);
      const res = await conn.finished();
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
      expect(res.complete).toBe(true); // the terminating chunk was sent: a clean end
      expect(server.output()).toContain('stopping');
    });
  }
});
