// The chat on the machine's real RabbitMQ and MariaDB, as a site runs it: two
// server processes, one database. A line posted on one process reaches the
// room on the other with one id; a forum event published to the exchange
// becomes the same line on both and is stored once; with RabbitMQ away a post
// answers 503 and leaves nothing behind; the rate limit counts a user's lines on
// every process; `evcomet migrate` makes the schema.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from './bus-contract.ts';
import { startApp } from './helpers/app-server.ts';
import { chatSession, followRoom } from './helpers/chat-client.ts';
import { addForumUser, createPhpbbTables, createTestDatabase, type TestDatabase } from './helpers/mysql-db.ts';
import { deleteExchanges, publishRaw, uniqueExchanges } from './helpers/rabbitmq.ts';
import { spawnServer, stopServer, type ServerProcess } from './helpers/spawn-server.ts';

const run = promisify(execFile);

describe('the chat on RabbitMQ and MySQL, two processes', () => {
  const exchanges = uniqueExchanges();
  let db: TestDatabase;
  let one: ServerProcess;
  let two: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase('amqp');
    await createPhpbbTables(db);
    // The CLI makes the schema before any server starts.
    const migrated = await run(process.execPath, ['bin/evcomet.js', 'migrate'], { env: { ...process.env, MYSQL_URL: db.url } });
    expect(migrated.stdout).toMatch(/applied migrations 1/);
    const again = await run(process.execPath, ['bin/evcomet.js', 'migrate'], { env: { ...process.env, MYSQL_URL: db.url } });
    expect(again.stdout).toMatch(/up to date/);
    const env = { ...exchanges.env, MYSQL_URL: db.url };
    [one, two] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([one && stopServer(one), two && stopServer(two)]);
    await deleteExchanges(exchanges.chat, exchanges.forum);
    await db?.drop();
  });

  it('a line posted on one process reaches the room on the other, with the same id', async () => {
    const alice = await addForumUser(db, 'Alice');
    const feed = await followRoom(two.base, 'lobby');
    const session = await chatSession(one.base, alice.cookie);
    const res = await session.post('lobby', 'hello from process one');
    expect(res.status).toBe(201);
    const { line } = (await res.json()) as { line: { id: string } };
    await feed.waitFor(() => feed.messages().some((m) => m.data.type === 'line'), 'the line on process two', 5000);
    const got = feed.messages().find((m) => m.data.type === 'line')!;
    expect(got.id).toBe(line.id);
    expect(got.data.line).toMatchObject({ id: line.id, nick: 'Alice', text: 'hello from process one' });
    feed.close();
  });

  it('a forum event on the exchange becomes the same line on both processes, stored once', async () => {
    const feeds = await Promise.all([followRoom(one.base, 'lobby'), followRoom(two.base, 'lobby')]);
    const event = envelope('forum', { type: 'thread.created', who: 'carol', what: 'Z80 <tricks>', where: 'Programming', url: 'https://forum.example/t/9' });
    await publishRaw(exchanges.forum, [JSON.stringify(event)]);
    for (const feed of feeds) {
      await feed.waitFor(() => feed.messages().some((m) => m.id === event.id), 'the event line', 5000);
      expect(feed.messages().find((m) => m.id === event.id)!.data.line).toMatchObject({ kind: 'event', text: 'carol started a thread: Z80 <tricks> in Programming' });
      feed.close();
    }
    const [rows] = await db.admin.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM evcomet_lines WHERE id = ?', [event.id]);
    expect(rows[0]!.n).toBe(1);
  });

  it('limits each user across processes, not per process: the sixth line in 10 s is refused on either', async () => {
    const rapid = await addForumUser(db, 'Rapid');
    // One session per process: the Origin must be the page's own host.
    const sessions = [await chatSession(one.base, rapid.cookie), await chatSession(two.base, rapid.cookie)];
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) statuses.push((await sessions[n % 2]!.post('lobby', `rapid ${n}`)).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    const refused = await sessions[0]!.post('lobby', 'one more');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    // Refused lines leave nothing behind, and someone else may still post.
    const [rows] = await db.admin.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM evcomet_lines WHERE nick = ?', ['Rapid']);
    expect(rows[0]!.n).toBe(5);
    const calm = await addForumUser(db, 'Calm');
    expect((await (await chatSession(two.base, calm.cookie)).post('lobby', 'hi')).status).toBe(201);
  });
});

describe('the chat with RabbitMQ unreachable', () => {
  it('answers a post with 503 bus_unavailable and stores nothing', async () => {
    const db = await createTestDatabase('nobus');
    await createPhpbbTables(db);
    const server = await startApp({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', MYSQL_URL: db.url });
    try {
      const bob = await addForumUser(db, 'Bob');
      const session = await chatSession(server.base, bob.cookie);
      const res = await session.post('lobby', 'into the void');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'bus_unavailable' });
      const [rows] = await db.admin.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM evcomet_lines');
      expect(rows[0]!.n).toBe(0);
      expect((await (await fetch(`${server.base}/chat/lobby/history`)).json())).toMatchObject({ lines: [] });
    } finally {
      await server.close();
      await db.drop();
    }
  }, 20_000);
});
