// A database of this test file's own on the shared MariaDB, created and dropped,
// so that parallel test files (and other engineers' runs) never meet.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const MYSQL_ROOT_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  name: string;
  /** MYSQL_URL for the app: the database, as root. */
  url: string;
  /** A root connection to the database, for setting up tables and checking rows. */
  admin: mysql.Connection;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `evcomet_t_${label}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_ROOT_URL, multipleStatements: true });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${name}\``);
  const url = new URL(MYSQL_ROOT_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    admin,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/** The phpBB tables the forum sign-in reads, in their phpBB 3 shape (the columns it needs and a few more). */
export async function createPhpbbTables(db: TestDatabase): Promise<void> {
  await db.admin.query(`
    CREATE TABLE phpbb_users (user_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, user_type TINYINT NOT NULL DEFAULT 0,
      username VARCHAR(255) NOT NULL, username_clean VARCHAR(255) NOT NULL DEFAULT '', user_email VARCHAR(100) NOT NULL DEFAULT '');
    CREATE TABLE phpbb_sessions (session_id CHAR(32) NOT NULL PRIMARY KEY, session_user_id INT UNSIGNED NOT NULL,
      session_time INT UNSIGNED NOT NULL, session_ip VARCHAR(40) NOT NULL DEFAULT '', session_autologin TINYINT NOT NULL DEFAULT 0);
    CREATE TABLE phpbb_user_group (group_id INT UNSIGNED NOT NULL, user_id INT UNSIGNED NOT NULL, group_leader TINYINT NOT NULL DEFAULT 0,
      user_pending TINYINT NOT NULL DEFAULT 1);
    CREATE TABLE phpbb_sessions_keys (key_id CHAR(32) NOT NULL DEFAULT '', user_id INT UNSIGNED NOT NULL DEFAULT 0,
      last_ip VARCHAR(40) NOT NULL DEFAULT '', last_login INT UNSIGNED NOT NULL DEFAULT 0, PRIMARY KEY (key_id, user_id));
    INSERT INTO phpbb_users (user_id, user_type, username) VALUES (1, 2, 'Anonymous');`);
}

/** Adds a forum user with a fresh session; returns the cookies that sign them in. */
export async function addForumUser(db: TestDatabase, username: string, options: { groups?: number[]; sessionAgeSeconds?: number } = {}): Promise<{ userId: number; sid: string; cookie: string }> {
  const [result] = await db.admin.query<mysql.ResultSetHeader>('INSERT INTO phpbb_users (username, username_clean) VALUES (?, ?)', [username, username.toLowerCase()]);
  const userId = result.insertId;
  const sid = randomBytes(16).toString('hex');
  await db.admin.query('INSERT INTO phpbb_sessions (session_id, session_user_id, session_time) VALUES (?, ?, ?)',
    [sid, userId, Math.floor(Date.now() / 1000) - (options.sessionAgeSeconds ?? 0)]);
  for (const group of options.groups ?? [2]) {
    await db.admin.query('INSERT INTO phpbb_user_group (group_id, user_id, user_pending) VALUES (?, ?, 0)', [group, userId]);
  }
  return { userId, sid, cookie: `phpbb3_sid=${sid}; phpbb3_u=${userId}` };
}

/** Gives a forum user a "remember me" key, stored as phpBB stores it (its MD5); returns the key cookie. */
export async function rememberForumUser(db: TestDatabase, userId: number, options: { ageDays?: number } = {}): Promise<{ key: string; cookie: string }> {
  const key = randomBytes(8).toString('hex');
  await db.admin.query('INSERT INTO phpbb_sessions_keys (key_id, user_id, last_login) VALUES (MD5(?), ?, ?)',
    [key, userId, Math.floor(Date.now() / 1000) - (options.ageDays ?? 0) * 86400]);
  return { key, cookie: `phpbb3_k=${key}` };
}
