// The chat's schema in MySQL, as versioned migrations. Each runs once, in order,
// recorded in `evcomet_migrations`; a named lock (GET_LOCK) makes two processes
// that start at once take turns, so the second finds the work done.
import { randomBytes } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

interface Migration {
  version: number;
  name: string;
  statements: () => string[];
}

// Append only: a migration that has run anywhere is never edited.
const migrations: Migration[] = [
  {
    version: 1,
    name: 'chat lines',
    statements: () => [`
      CREATE TABLE evcomet_lines (
        id VARCHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        sort_key CHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        room VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        user_id VARCHAR(64) NOT NULL,
        nick VARCHAR(255) NOT NULL,
        text TEXT NOT NULL,
        time BIGINT NOT NULL,
        kind ENUM('user', 'event') NOT NULL,
        event_type VARCHAR(64) NULL,
        event_url VARCHAR(2000) NULL,
        idem_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
        pending TINYINT NOT NULL DEFAULT 0,
        deleted TINYINT NOT NULL DEFAULT 0,
        UNIQUE KEY by_idempotency_key (user_id, idem_key),
        KEY by_room (room, sort_key)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`],
  },
  {
    version: 2,
    name: 'shared secret',
    statements: () => [
      `CREATE TABLE evcomet_secrets (name VARCHAR(32) NOT NULL PRIMARY KEY, value VARCHAR(128) NOT NULL) ENGINE=InnoDB`,
      `INSERT INTO evcomet_secrets (name, value) VALUES ('session', '${randomBytes(32).toString('hex')}')`,
    ],
  },
  {
    version: 3,
    name: 'lines by user and time, for the shared rate limit',
    statements: () => ['ALTER TABLE evcomet_lines ADD KEY by_user_time (user_id, time)'],
  },
];

const LOCK_TIMEOUT_SECONDS = 60;

/** Runs the migrations this database lacks; returns the versions it ran. */
export async function runMigrations(pool: Pool): Promise<number[]> {
  const conn = await pool.getConnection();
  try {
    const [[lock]] = await conn.query<RowDataPacket[]>(`SELECT GET_LOCK(CONCAT('evcomet_migrate:', DATABASE()), ?) AS got`, [LOCK_TIMEOUT_SECONDS]);
    if (lock?.got !== 1) throw new Error('another process held the migration lock too long');
    try {
      return await migrateLocked(conn);
    } finally {
      await conn.query(`SELECT RELEASE_LOCK(CONCAT('evcomet_migrate:', DATABASE()))`);
    }
  } finally {
    conn.release();
  }
}

async function migrateLocked(conn: PoolConnection): Promise<number[]> {
  await conn.query(`CREATE TABLE IF NOT EXISTS evcomet_migrations (
    version INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB`);
  const [rows] = await conn.query<RowDataPacket[]>('SELECT version FROM evcomet_migrations');
  const done = new Set(rows.map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    // MySQL commits DDL on its own, so a migration is not a transaction: the lock
    // keeps others out, and its record is written only once every statement ran.
    for (const statement of migration.statements()) await conn.query(statement);
    await conn.query('INSERT INTO evcomet_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, Date.now()]);
    ran.push(migration.version);
  }
  return ran;
}
