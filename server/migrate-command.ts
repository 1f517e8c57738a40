// `evcomet migrate`: brings MYSQL_URL's database to the current schema, as the
// server does when it starts. Exported for the CLI dispatcher (server/cli.ts).
import mysql from 'mysql2/promise';
import type { Settings } from './config.ts';
import { runMigrations } from './mysql-migrations.ts';

/** Runs the migrations MYSQL_URL's database lacks and returns their versions; throws without MYSQL_URL. */
export async function migrate(settings: Settings): Promise<number[]> {
  if (!settings.mysqlUrl) throw new Error('MYSQL_URL is not set: the embedded store needs no migrations');
  const pool = mysql.createPool({ uri: settings.mysqlUrl, connectionLimit: 1, connectTimeout: settings.chat.mysqlTimeoutMs });
  try {
    return await runMigrations(pool);
  } finally {
    await pool.end();
  }
}
