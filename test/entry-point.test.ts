// `npm start`'s entry point as a real process: it listens, serves the examples,
// answers /healthz, and on SIGTERM ends open streams cleanly and exits in time;
// when it cannot start, it says why in one line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
    expect(server.output()).toContain(`chat at ${server.base}/ and status at ${server.base}/status (in-process bus, history in `);
    expect(server.output()).not.toContain('incoming request'); // every poll is a request: not logged unless asked
    const lines = res.body.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(Number.isNaN(Date.parse(line))).toBe(false);
    expect(res.chunks[2]!.at - res.chunks[0]!.at).toBeGreaterThanOrEqual(500);
  });

  it('logs each request with LOG_REQUESTS=1, subscribes too (no Comet lane then)', async () => {
    server = await spawnServer({ LOG_REQUESTS: '1' });
    await (await fetch(`${server.base}/healthz`)).json();
    await (await fetch(`${server.base}/comet/logged?transport=nope`)).json();
    await new Promise((r) => setTimeout(r, 100)); // the log line follows the answer
    expect(server.output()).toMatch(/"url":"\/healthz".*"msg":"incoming request"/);
    expect(server.output()).toMatch(/"url":"\/comet\/logged\?transport=nope".*"msg":"incoming request"/);
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

  for (const [why, env, says] of [
    ['its port is taken', (port: number) => ({ PORT: String(port) }), /^evcomet: could not start: listen EADDRINUSE: .* \(another server has port \d+: stop it, or set PORT\)$/],
    ['MySQL is not there', () => ({ MYSQL_URL: 'mysql://root@127.0.0.1:1/test' }), /^evcomet: could not start: connect ECONNREFUSED 127\.0\.0\.1:1 \(is MySQL running at MYSQL_URL\?\)$/],
  ] as const) {
    it(`exits 1 with one line saying why when ${why}`, async () => {
      server = await spawnServer();
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env(server.port) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(stderr.trim()).toMatch(says);
    }, 20_000);
  }
});
