// The chat on MySQL with forum sign-in, over real sockets and the real MariaDB:
// valid, expired and forged sessions, moderation, and a MySQL outage (a MySQL
// user of this file's own, locked and its connections killed) during which a
// post answers 503 while live delivery goes on.
import { randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { chatSession, followRoom, openPage, type RoomFeed } from './helpers/chat-client.ts';
import { addForumUser, createPhpbbTables, createTestDatabase, rememberForumUser, type TestDatabase } from './helpers/mysql-db.ts';

let db: TestDatabase;
const user = `evc_${randomBytes(4).toString('hex')}`;
const password = randomBytes(12).toString('hex');
let mysqlUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('chat');
  await createPhpbbTables(db);
  await db.admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'%';
    CREATE USER '${user}'@'localhost' IDENTIFIED BY '${password}'; GRANT ALL ON \`${db.name}\`.* TO '${user}'@'localhost'`);
  mysqlUrl = `mysql://${user}:${password}@127.0.0.1:3306/${db.name}`;
});
afterAll(async () => {
  await db.admin.query(`DROP USER IF EXISTS '${user}'@'%'; DROP USER IF EXISTS '${user}'@'localhost'`);
  await db.drop();
});

async function withServer(env: Record<string, string>, test: (server: AppServer) => Promise<void>): Promise<void> {
  const server = await startApp({ MYSQL_URL: mysqlUrl, ...env });
  try {
    await test(server);
  } finally {
    await server.close();
  }
}

const json = (res: Response): Promise<any> => res.json() as Promise<any>;

describe('chat on MySQL with forum sign-in', () => {
  it('posts as a valid session\'s forum user, and refuses expired and forged sessions', async () => {
    await withServer({ FORUM_SESSION_MAX_AGE: '600' }, async (server) => {
      const alice = await addForumUser(db, 'Alice');
      const old = await addForumUser(db, 'Old', { sessionAgeSeconds: 700 });
      const session = await chatSession(server.base, alice.cookie);
      expect(session.page.user).toEqual({ id: String(alice.userId), nick: 'Alice', moderator: false });
      expect(session.page.signIn).toBeNull();
      const res = await session.post('lobby', 'hello from the forum', { body: { nick: 'Admin' } });
      expect(res.status).toBe(201);
      expect((await json(res)).line).toMatchObject({ userId: String(alice.userId), nick: 'Alice' });

      const expired = await chatSession(server.base, old.cookie);
      expect(expired.page.user).toBeNull();
      expect((await expired.post('lobby', 'x', { headers: { 'x-csrf-token': session.page.csrf! } })).status).toBe(401);
      const forged = await chatSession(server.base, `phpbb3_sid=${'0'.repeat(32)}; phpbb3_u=${alice.userId}`);
      expect((await forged.post('lobby', 'x', { headers: { 'x-csrf-token': session.page.csrf! } })).status).toBe(401);
      // Someone else's session id with Alice's user id is not Alice.
      const mixed = await chatSession(server.base, `phpbb3_sid=${old.sid}; phpbb3_u=${alice.userId}`);
      expect((await mixed.post('lobby', 'x', { headers: { 'x-csrf-token': session.page.csrf! } })).status).toBe(401);
      const [rows] = await db.admin.query<RowDataPacket[]>('SELECT nick, text, pending FROM evcomet_lines');
      expect(rows).toEqual([{ nick: 'Alice', text: 'hello from the forum', pending: 0 }]);
    });
  });

  it('lets moderators delete a line: every client is told and history forgets it', async () => {
    await withServer({}, async (server) => {
      const mod = await chatSession(server.base, (await addForumUser(db, 'Mod', { groups: [2, 4] })).cookie, 'modroom');
      const bob = await chatSession(server.base, (await addForumUser(db, 'Bob')).cookie, 'modroom');
      expect(mod.page.user?.moderator).toBe(true);
      const { line } = await json(await bob.post('modroom', 'spam'));
      const { line: kept } = await json(await bob.post('modroom', 'fine'));
      const feed: RoomFeed = await followRoom(server.base, 'modroom', { since: kept.id });
      try {
        const refused = await bob.remove('modroom', line.id);
        expect(refused.status).toBe(403);
        expect((await json(refused)).error).toBe('not_moderator');
        expect((await mod.remove('modroom', line.id, { 'x-csrf-token': bob.page.csrf! })).status).toBe(403);
        expect((await mod.remove('modroom', line.id)).status).toBe(204);
        expect((await mod.remove('lobby', line.id)).status).toBe(404);
        await feed.waitFor(() => feed.messages().some((m) => m.data.type === 'delete'), 'the deletion');
        expect(feed.messages().map((m) => m.data)).toEqual([{ type: 'delete', id: line.id }]);
        const { page } = await openPage(server.base, '/chat/modroom');
        expect(page.lines.map((l) => l.text)).toEqual(['fine']);
      } finally {
        feed.close();
      }
    });
  });

  it('answers 503 to posts while MySQL is unreachable, keeps delivering live, and recovers', async () => {
    await withServer({ FORUM_CACHE_MS: '60000', MYSQL_TIMEOUT_MS: '2000' }, async (server) => {
      const carol = await chatSession(server.base, (await addForumUser(db, 'Carol')).cookie, 'outage');
      const dave = await addForumUser(db, 'Dave');
      expect((await carol.post('outage', 'before', { key: 'b' })).status).toBe(201);
      const feed = await followRoom(server.base, 'outage');
      try {
        await db.admin.query(`ALTER USER '${user}'@'%' ACCOUNT LOCK; ALTER USER '${user}'@'localhost' ACCOUNT LOCK`);
        const [procs] = await db.admin.query<RowDataPacket[]>('SELECT id FROM information_schema.processlist WHERE user = ?', [user]);
        for (const { id } of procs) await db.admin.query(`KILL ${Number(id)}`).catch(() => undefined);

        const refused = await carol.post('outage', 'during', { key: 'd' });
        expect(refused.status).toBe(503);
        expect((await json(refused)).error).toBe('store_unavailable');
        // Someone the cache does not know cannot be checked: 503, not 401.
        const unknown = await fetch(`${server.base}/chat/outage/lines`, { method: 'POST', headers: { cookie: dave.cookie, 'content-type': 'application/json' }, body: '{"text":"x"}' });
        expect(unknown.status).toBe(503);
        // Live delivery goes on: forum events and HTTP publishes reach the room.
        await server.bus.publish('forum', { id: server.hub.createMessage('forum', null).id, channel: 'forum', time: Date.now(), data: { type: 'user.registered', who: 'eve', room: 'outage' } });
        expect((await fetch(`${server.base}/comet/chat.outage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"note"}' })).status).toBe(200);
        await feed.waitFor(() => feed.messages().length === 2, 'live messages during the outage');
        expect(feed.messages().map((m) => m.data.type)).toEqual(['line', 'note']);
        const { page } = await openPage(server.base, '/chat/outage');
        expect(page.historyError).toBe(true);
        expect(page.olderLines).toBe(true); // unknown, so the widget offers to look
        // The page still shows what this process saw published.
        expect(page.lines.map((l) => l.text)).toEqual(['before', 'eve joined the forum. Welcome!']);
        expect(await (await fetch(`${server.base}/status`)).text()).toMatch(/mysql down/);
        expect((await fetch(`${server.base}/chat/outage/history`)).status).toBe(503);
      } finally {
        await db.admin.query(`ALTER USER '${user}'@'%' ACCOUNT UNLOCK; ALTER USER '${user}'@'localhost' ACCOUNT UNLOCK`);
        feed.close();
      }
      const retried = await carol.post('outage', 'during', { key: 'd' });
      expect(retried.status).toBe(201);
      const history = await json(await fetch(`${server.base}/chat/outage/history`));
      expect(history.lines.map((l: { text: string }) => l.text)).toEqual(['before', 'during']);
      const [pending] = await db.admin.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM evcomet_lines WHERE pending = 1');
      expect(Number(pending[0]!.n)).toBe(0);
    });
  });
});

// Last: the tests above count every line in the table.
describe('chat on MySQL: the forum\'s "remember me" key', () => {
  it('signs a page in by the forum\'s "remember me" key when the session has ended, and it posts', async () => {
    await withServer({}, async (server) => {
      const ivy = await addForumUser(db, 'Ivy', { sessionAgeSeconds: 7200 });
      const remembered = await rememberForumUser(db, ivy.userId);
      const session = await chatSession(server.base, `phpbb3_u=${ivy.userId}; ${remembered.cookie}`);
      expect(session.page.user).toEqual({ id: String(ivy.userId), nick: 'Ivy', moderator: false });
      const res = await session.post('lobby', 'remembered');
      expect(res.status).toBe(201);
      expect((await json(res)).line).toMatchObject({ nick: 'Ivy', text: 'remembered' });
    });
  });
});
