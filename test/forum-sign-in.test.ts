// Sign-in through phpBB's session cookies, against phpBB tables in a database
// of this file's own on the real MariaDB.
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../server/config.ts';
import { createMysqlStore } from '../server/mysql-store.ts';
import type { Cookies, Store } from '../server/store.ts';
import { addForumUser, createPhpbbTables, createTestDatabase, rememberForumUser, type TestDatabase } from './helpers/mysql-db.ts';

let db: TestDatabase;
const stores: Store[] = [];
beforeAll(async () => {
  db = await createTestDatabase('forum');
  await createPhpbbTables(db);
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await db.drop();
});

async function open(env: Record<string, string> = {}): Promise<Store> {
  const store = await createMysqlStore(loadSettings({ MYSQL_URL: db.url, ...env }));
  stores.push(store);
  return store;
}

const cookiesOf = (header: string): Cookies => Object.fromEntries(header.split('; ').map((c) => c.split('=') as [string, string]));

describe('forum sign-in', () => {
  it('signs in a valid session with the forum user name', async () => {
    const store = await open();
    const alice = await addForumUser(db, 'Alice <script>');
    expect(await store.identify(cookiesOf(alice.cookie))).toEqual({ id: String(alice.userId), nick: 'Alice <script>', moderator: false, sessionId: alice.sid });
  });

  it('refuses an expired session, a forged one, another user id, and the anonymous user', async () => {
    const store = await open({ FORUM_SESSION_MAX_AGE: '600' });
    const old = await addForumUser(db, 'old', { sessionAgeSeconds: 601 });
    const bob = await addForumUser(db, 'bob');
    expect(await store.identify(cookiesOf(old.cookie))).toBeNull();
    expect(await store.identify({ phpbb3_sid: 'f'.repeat(32), phpbb3_u: String(bob.userId) })).toBeNull();
    expect(await store.identify({ phpbb3_sid: bob.sid, phpbb3_u: String(old.userId) })).toBeNull();
    expect(await store.identify({ phpbb3_sid: bob.sid, phpbb3_u: '1' })).toBeNull();
    expect(await store.identify({ phpbb3_sid: "' OR 1=1 --", phpbb3_u: String(bob.userId) })).toBeNull();
    expect(await store.identify({ phpbb3_sid: bob.sid })).toBeNull();
    expect((await store.identify(cookiesOf(bob.cookie)))?.nick).toBe('bob');
  });

  it('signs in by the "remember me" key once the session has ended, as phpBB does', async () => {
    const store = await open({ FORUM_SESSION_MAX_AGE: '600' });
    const erin = await addForumUser(db, 'Erin', { sessionAgeSeconds: 601 });
    const { key } = await rememberForumUser(db, erin.userId);
    const keyId = (await db.admin.query<RowDataPacket[]>('SELECT MD5(?) AS id', [key]))[0][0]!.id as string;
    const signedIn = { id: String(erin.userId), nick: 'Erin', moderator: false, sessionId: `k:${keyId}` };
    expect(await store.identify(cookiesOf(erin.cookie))).toBeNull();
    expect(await store.identify({ ...cookiesOf(erin.cookie), phpbb3_k: key })).toEqual(signedIn);
    expect(await store.identify({ phpbb3_u: String(erin.userId), phpbb3_k: key })).toEqual(signedIn); // no session cookie at all
  });

  it('refuses a forged key, another user\'s, one older than FORUM_AUTOLOGIN_MAX_AGE, an inactive user\'s, and any with FORUM_AUTOLOGIN=0', async () => {
    const store = await open({ FORUM_AUTOLOGIN_MAX_AGE: '30' });
    const frank = await addForumUser(db, 'frank');
    const grace = await addForumUser(db, 'grace');
    const { key } = await rememberForumUser(db, frank.userId, { ageDays: 29 });
    const stale = await rememberForumUser(db, grace.userId, { ageDays: 31 });
    const as = (userId: number, k: string) => ({ phpbb3_u: String(userId), phpbb3_k: k });
    expect((await store.identify(as(frank.userId, key)))?.nick).toBe('frank');
    expect(await store.identify(as(frank.userId, 'f'.repeat(16)))).toBeNull();
    expect(await store.identify(as(grace.userId, key))).toBeNull();
    expect(await store.identify(as(frank.userId, `${key}' OR '1'='1`))).toBeNull();
    expect(await store.identify(as(grace.userId, stale.key))).toBeNull();
    expect(await store.identify({ phpbb3_k: key })).toBeNull();
    const off = await open({ FORUM_AUTOLOGIN: '0' });
    expect(await off.identify(as(frank.userId, key))).toBeNull();
    const inactive = await addForumUser(db, 'heidi');
    const heidis = await rememberForumUser(db, inactive.userId);
    await db.admin.query('UPDATE phpbb_users SET user_type = 1 WHERE user_id = ?', [inactive.userId]);
    expect(await store.identify(as(inactive.userId, heidis.key))).toBeNull();
  });

  it('makes members of the moderator groups moderators', async () => {
    const store = await open();
    const mod = await addForumUser(db, 'mod', { groups: [2, 4] });
    const admin = await addForumUser(db, 'admin', { groups: [5] });
    expect((await store.identify(cookiesOf(mod.cookie)))?.moderator).toBe(true);
    expect((await store.identify(cookiesOf(admin.cookie)))?.moderator).toBe(true);
    const onlyAdmins = await open({ FORUM_MODERATOR_GROUPS: '5' });
    expect((await onlyAdmins.identify(cookiesOf(mod.cookie)))?.moderator).toBe(false);
  });

  it('caches lookups for FORUM_CACHE_MS, then asks the database again', async () => {
    const cached = await open({ FORUM_CACHE_MS: '60000' });
    const uncached = await open({ FORUM_CACHE_MS: '0' });
    const carol = await addForumUser(db, 'carol');
    const cookies = cookiesOf(carol.cookie);
    expect((await cached.identify(cookies))?.nick).toBe('carol');
    expect((await uncached.identify(cookies))?.nick).toBe('carol');
    await db.admin.query('DELETE FROM phpbb_sessions WHERE session_id = ?', [carol.sid]);
    expect((await cached.identify(cookies))?.nick).toBe('carol');
    expect(await uncached.identify(cookies)).toBeNull();
  });

  it('reads renamed tables and columns from the settings', async () => {
    await db.admin.query(`CREATE TABLE f_sess (sid CHAR(32) PRIMARY KEY, uid INT, seen INT);
      CREATE TABLE f_users (user_id INT PRIMARY KEY, login VARCHAR(50), user_type INT DEFAULT 0);
      CREATE TABLE f_user_group (group_id INT, user_id INT, user_pending INT);
      INSERT INTO f_users VALUES (7, 'dave', 0);
      INSERT INTO f_sess VALUES ('${'a'.repeat(32)}', 7, UNIX_TIMESTAMP())`);
    const store = await open({ FORUM_TABLE_PREFIX: 'f_', FORUM_COOKIE_NAME: 'site', FORUM_SCHEMA: JSON.stringify({ 'sessions': 'f_sess', 'sessions.id': 'sid', 'sessions.user': 'uid', 'sessions.time': 'seen', 'users.name': 'login' }) });
    expect((await store.identify({ site_sid: 'a'.repeat(32), site_u: '7' }))?.nick).toBe('dave');
    expect(() => loadSettings({ FORUM_SCHEMA: '{"users": "x; DROP TABLE y"}' })).toThrow(/identifier/);
  });
});
