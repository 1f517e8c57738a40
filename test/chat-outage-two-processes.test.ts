// The chat on two processes over the real RabbitMQ and MariaDB: one process's
// MySQL access is cut (its own MySQL user, locked and its connections killed)
// and its posts answer 503 while the other process's lines still reach its
// readers; then its broker connection is cut (only ours) and a post answers 503
// leaving nothing behind, in history or in the database.
import { randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { chatSession, followRoom } from './helpers/chat-client.ts';
import { addForumUser, createPhpbbTables, createTestDatabase, type TestDatabase } from './helpers/mysql-db.ts';
import type { AmqpBus } from '../server/amqp-bus.ts';
import type { Bus } from '../server/bus.ts';
import { closeConnections, deleteExchanges, uniqueExchanges } from './helpers/rabbitmq.ts';

const exchanges = uniqueExchanges();

/** Resolves once `bus` says `state`, or rejects after `ms`. */
async function busState(bus: Bus, state: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (bus.state().state !== state) {
    if (Date.now() > deadline) throw new Error(`bus is ${JSON.stringify(bus.state())}, not ${state}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
let db: TestDatabase;
const user = `evc_${randomBytes(4).toString('hex')}`;
const password = randomBytes(12).toString('hex');
let a: AppServer;
let b: AppServer;

beforeAll(async () => {
  db = await createTestDatabase('outage2');
  await createPhpbbTables(db);
  await db.admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'%';
    CREATE USER '${user}'@'localhost' IDENTIFIED BY '${password}'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'localhost'`);
  const env = { ...exchanges.env, FORUM_CACHE_MS: '60000', MYSQL_TIMEOUT_MS: '2000' };
  a = await startApp({ ...env, MYSQL_URL: `mysql://${user}:${password}@127.0.0.1:3306/${db.name}` });
  b = await startApp({ ...env, MYSQL_URL: db.url });
  await busState(a.bus, 'up');
  await busState(b.bus, 'up');
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await deleteExchanges(exchanges.chat, exchanges.forum);
  await db.admin.query(`DROP USER IF EXISTS '${user}'@'%'; DROP USER IF EXISTS '${user}'@'localhost'`);
  await db.drop();
});

const json = (res: Response): Promise<any> => res.json() as Promise<any>;

describe('chat on two processes over RabbitMQ', () => {
  it('delivers a line posted on one process to the other\'s readers once, with the same id', async () => {
    const alice = await chatSession(b.base, (await addForumUser(db, 'Alice')).cookie, 'two');
    const feed = await followRoom(a.base, 'two');
    try {
      const { line } = await json(await alice.post('two', 'across processes', { key: 'x' }));
      await feed.waitFor(() => feed.messages().some((m) => m.data.type === 'line'), 'the line on the other process');
      expect(feed.messages().filter((m) => m.data.type === 'line')).toEqual([{ id: line.id, data: { type: 'line', line } }]);
    } finally {
      feed.close();
    }
  });

  it('answers 503 on the process that lost MySQL while the other\'s lines still reach its readers', async () => {
    const carol = await chatSession(a.base, (await addForumUser(db, 'Carol')).cookie, 'cut');
    const dave = await chatSession(b.base, (await addForumUser(db, 'Dave')).cookie, 'cut');
    const feed = await followRoom(a.base, 'cut');
    try {
      await db.admin.query(`ALTER USER '${user}'@'%' ACCOUNT LOCK; ALTER USER '${user}'@'localhost' ACCOUNT LOCK`);
      const [procs] = await db.admin.query<RowDataPacket[]>('SELECT id FROM information_schema.processlist WHERE user = ?', [user]);
      for (const { id } of procs) await db.admin.query(`KILL ${Number(id)}`).catch(() => undefined);
      const refused = await carol.post('cut', 'from the cut-off process', { key: 'c' });
      expect(refused.status).toBe(503);
      expect((await json(refused)).error).toBe('store_unavailable');
      const posted = await dave.post('cut', 'from the healthy process', { key: 'd' });
      expect(posted.status).toBe(201);
      await feed.waitFor(() => feed.messages().some((m) => m.data.type === 'line'), 'the healthy process\'s line');
      expect(feed.messages().filter((m) => m.data.type === 'line').map((m) => m.data.line.text)).toEqual(['from the healthy process']);
    } finally {
      await db.admin.query(`ALTER USER '${user}'@'%' ACCOUNT UNLOCK; ALTER USER '${user}'@'localhost' ACCOUNT UNLOCK`);
      feed.close();
    }
    expect((await carol.post('cut', 'from the cut-off process', { key: 'c' })).status).toBe(201);
  });

  it('answers 503 when the broker connection is gone, and leaves no line anywhere', async () => {
    const erin = await chatSession(a.base, (await addForumUser(db, 'Erin')).cookie, 'nobus');
    expect(await closeConnections((a.bus as AmqpBus).connectionName)).toBe(1);
    await busState(a.bus, 'reconnecting', 5000);
    const refused = await erin.post('nobus', 'never half-posted', { key: 'e' });
    expect(refused.status).toBe(503);
    expect((await json(refused)).error).toBe('bus_unavailable');
    const [rows] = await db.admin.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM evcomet_lines WHERE room = 'nobus'`);
    expect(Number(rows[0]!.n)).toBe(0);
    expect((await json(await fetch(`${b.base}/chat/nobus/history`))).lines).toEqual([]);
    await busState(a.bus, 'up', 15_000);
    const retried = await erin.post('nobus', 'never half-posted', { key: 'e' });
    expect(retried.status).toBe(201);
    expect((await json(await fetch(`${b.base}/chat/nobus/history`))).lines.map((l: { text: string }) => l.text)).toEqual(['never half-posted']);
  });
});
