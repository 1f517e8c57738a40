// The MySQL store: history in `evcomet_lines` (server/mysql-migrations.ts makes
// it), sign-in through the forum's tables (server/forum-sign-in.ts), one pool.
// Every failure to reach the database becomes a StoreUnavailableError.
import mysql, { type Pool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { Settings } from './config.ts';
import { createForumSignIn } from './forum-sign-in.ts';
import { sortableMessageId } from './message-id.ts';
import { runMigrations } from './mysql-migrations.ts';
import type { EarlierPostTimes } from './rate-limiter.ts';
import { StoreUnavailableError, type Line, type Store } from './store.ts';

// Pending lines older than this were left by a crash between storing and
// publishing; they were never shown, and the start of a process clears them.
const PENDING_KEPT_MS = 24 * 3600_000;

/** The MySQL store, with what the shared rate limit counts (server/rate-limiter.ts). */
export interface MysqlStore extends Store {
  earlierPostTimes: EarlierPostTimes;
}

/** Connects, runs the migrations, and returns the store; rejects if MySQL cannot be reached. */
export async function createMysqlStore(settings: Settings): Promise<MysqlStore> {
  const pool = mysql.createPool({
    uri: settings.mysqlUrl!,
    connectionLimit: 10,
    connectTimeout: settings.chat.mysqlTimeoutMs,
    enableKeepAlive: true,
    charset: 'utf8mb4_unicode_ci',
  });
  let lastError: string | undefined;
  let secret = settings.chat.sessionSecret;

  async function run<T extends RowDataPacket[] | ResultSetHeader>(sql: string, values: unknown[] = []): Promise<T> {
    try {
      const [result] = await pool.query<T>({ sql, values, timeout: settings.chat.mysqlTimeoutMs });
      lastError = undefined;
      return result;
    } catch (err) {
      if (isOutage(err)) {
        lastError = (err as Error).message;
        throw new StoreUnavailableError(`MySQL: ${lastError}`);
      }
      throw err;
    }
  }

  try {
    await runMigrations(pool);
    await run('DELETE FROM evcomet_lines WHERE pending = 1 AND time < ?', [Date.now() - PENDING_KEPT_MS]);
    if (!secret) secret = String((await run<RowDataPacket[]>(`SELECT value FROM evcomet_secrets WHERE name = 'session'`))[0]!.value);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const forum = createForumSignIn((sql, values) => run<RowDataPacket[]>(sql, values), settings.forum);

  const columns = 'id, room, user_id, nick, text, time, kind, event_type, event_url, pending';
  const insertSql = `INSERT INTO evcomet_lines (id, sort_key, room, user_id, nick, text, time, kind, event_type, event_url, idem_key, pending)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  const insertValues = (line: Line, key: string | null, pending: boolean) => [
    line.id, sortKey(line.id), line.room, line.userId, line.nick, line.text, line.time, line.kind,
    line.event?.type ?? null, line.event?.url ?? null, key, pending ? 1 : 0,
  ];

  return {
    kind: 'mysql',
    async reserve(line, key) {
      try {
        await run(insertSql, insertValues(line, key, true));
        return { line, state: 'new' };
      } catch (err) {
        if ((err as { code?: string }).code !== 'ER_DUP_ENTRY') throw err;
      }
      const [row] = await run<RowDataPacket[]>(`SELECT ${columns} FROM evcomet_lines WHERE user_id = ? AND idem_key = ?`, [line.userId, key]);
      if (!row) throw new Error(`line ${line.id} collides with another id`);
      return { line: lineOf(row), state: row.pending ? 'pending' : 'shown' };
    },
    async confirm(id) {
      const result = await run<ResultSetHeader>('UPDATE evcomet_lines SET pending = 0 WHERE id = ? AND pending = 1', [id]);
      return result.affectedRows === 1;
    },
    async discard(id) {
      await run('DELETE FROM evcomet_lines WHERE id = ? AND pending = 1', [id]);
    },
    async insert(line) {
      const result = await run<ResultSetHeader>(insertSql.replace('INSERT', 'INSERT IGNORE'), insertValues(line, null, false));
      return result.affectedRows === 1;
    },
    async remove(room, id) {
      const result = await run<ResultSetHeader>('UPDATE evcomet_lines SET deleted = 1 WHERE room = ? AND id = ? AND pending = 0', [room, id]);
      return result.affectedRows === 1 || (await run<RowDataPacket[]>('SELECT 1 FROM evcomet_lines WHERE room = ? AND id = ? AND pending = 0', [room, id])).length > 0;
    },
    async history(room, { before, after, limit }) {
      const where = ['room = ?', 'pending = 0', 'deleted = 0'];
      const values: unknown[] = [room];
      if (before !== undefined) { where.push('sort_key < ?'); values.push(sortKey(before)); }
      if (after !== undefined) { where.push('sort_key > ?'); values.push(sortKey(after)); }
      // Newest first unless reading forward from `after`; always returned oldest first.
      const order = after !== undefined && before === undefined ? 'ASC' : 'DESC';
      const rows = await run<RowDataPacket[]>(`SELECT ${columns} FROM evcomet_lines WHERE ${where.join(' AND ')} ORDER BY sort_key ${order} LIMIT ?`, [...values, limit]);
      const lines = rows.map(lineOf);
      return order === 'DESC' ? lines.reverse() : lines;
    },
    async earlierPostTimes(userId, beforeId, since) {
      const rows = await run<RowDataPacket[]>(
        `SELECT time FROM evcomet_lines WHERE user_id = ? AND kind = 'user' AND time > ? AND sort_key < ? ORDER BY time LIMIT 1000`,
        [userId, since, sortKey(beforeId)]);
      return rows.map((row) => Number(row.time));
    },
    identify: (cookies) => forum.identify(cookies),
    secret: async () => secret!,
    state: () => (lastError ? `mysql down: ${lastError}` : 'mysql up'),
    close: () => pool.end(),
  };
}

function sortKey(id: string): string {
  const key = sortableMessageId(id);
  if (!key) throw new Error(`not a message id: ${id}`);
  return key;
}

function lineOf(row: RowDataPacket): Line {
  const line: Line = {
    id: row.id, room: row.room, userId: row.user_id, nick: row.nick, text: row.text, time: Number(row.time), kind: row.kind,
  };
  if (row.event_type) line.event = row.event_url ? { type: row.event_type, url: row.event_url } : { type: row.event_type };
  return line;
}

// Errors that mean "the database cannot be used now", as opposed to a bug in a query.
const outageCodes = /^(E[A-Z]+$|PROTOCOL_|POOL_|ER_ACCESS_DENIED|ER_DBACCESS_DENIED|ER_ACCOUNT_HAS_BEEN_LOCKED|ER_CON_COUNT|ER_SERVER_SHUTDOWN|ER_CONNECTION_KILLED|ER_QUERY_INTERRUPTED|ER_LOCK_WAIT_TIMEOUT|ER_TABLEACCESS_DENIED|ER_COLUMNACCESS_DENIED)/;

// By number too: mysql2 names MariaDB's numbers after MySQL's (its 4151, "account
// is locked", comes out as ER_BULK_PARSER_INCOMPLETE_ESCAPE_SEQUENCE).
const outageErrnos = new Set([1044, 1045, 1142, 1143, 1203, 1205, 1927, 3118, 4151]);

function isOutage(err: unknown): boolean {
  const { code, errno, fatal, sqlState } = (err ?? {}) as { code?: string; errno?: number; fatal?: boolean; sqlState?: string };
  if (fatal === true) return true;
  // SQL states 08 (connection exception) and 28 (invalid authorization).
  if (typeof sqlState === 'string' && /^(08|28)/.test(sqlState)) return true;
  if (typeof errno === 'number' && outageErrnos.has(errno)) return true;
  return typeof code === 'string' && outageCodes.test(code);
}
