// `npm start -- --workers N`: N processes on one port sharing RabbitMQ and
// MySQL; refused without either, since separate processes would not reach each
// other's subscribers, nor share the embedded store's file.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { messagesOf, parseSse } from './helpers/comet-client.ts';
import { createTestDatabase, type TestDatabase } from './helpers/mysql-db.ts';
import { deleteExchanges, uniqueExchanges } from './helpers/rabbitmq.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';
import { spawnServer, stopServer, type ServerProcess } from './helpers/spawn-server.ts';

describe('--workers', () => {
  const exchanges = uniqueExchanges();
  let server: ServerProcess | undefined;
  let db: TestDatabase | undefined;
  afterAll(async () => {
    if (server) await stopServer(server);
    await deleteExchanges(exchanges.chat, exchanges.forum);
    await db?.drop();
  });

  it('runs N processes on one port; a message published to one reaches the subscribers of all', async () => {
    db = await createTestDatabase('workers');
    server = await spawnServer({ ...exchanges.env, MYSQL_URL: db.url, LOG_LEVEL: 'info' }, ['--workers', '2']);
    await waitFor(() => /all 2 workers listening/.test(server!.output()), 20_000, 'both workers to listen');
    // Each worker's bus comes up on its own; ask until both have said so.
    const pids = new Set<number>();
    const deadline = Date.now() + 10_000;
    while (pids.size < 2 && Date.now() < deadline) {
      const health = (await (await fetch(`${server.base}/healthz`, { headers: { connection: 'close' } })).json()) as { pid: number; bus: string };
      if (health.bus === 'up') pids.add(health.pid);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(pids.size).toBe(2);
    expect(pids.has(server.child.pid!)).toBe(false); // the primary serves nothing itself

    // Connections go round the workers: four subscribers land on both.
    const subscribers = await Promise.all(Array.from({ length: 4 }, async () => {
      const conn = await openConnection(server!.port);
      const res = await conn.request(get('/comet/shared?transport=sse'));
      return { conn, messages: () => messagesOf(parseSse(res.chunks.map((c) => c.data).join(''))) };
    }));
    const res = await fetch(`${server.base}/comet/shared`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"n":1}' });
    const { id } = (await res.json()) as { id: string };
    await waitFor(() => subscribers.every((s) => s.messages().length === 1), 5000, 'every subscriber to get it');
    for (const s of subscribers) {
      expect(s.messages()[0]).toMatchObject({ id, data: { n: 1 } });
      s.conn.close();
    }
    const { code, ms } = await stopServer(server);
    server = undefined;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(6000);
  }, 40_000);

  for (const [missing, env] of [['AMQP_URL', { AMQP_URL: '' }], ['MYSQL_URL', { ...exchanges.env, MYSQL_URL: '' }]] as const) {
    it(`refuses more than one worker without ${missing}, saying why`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--workers=3'], {
        env: { ...process.env, ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(stderr).toContain(`--workers 3 needs ${missing}`);
    });
  }
});
