// The MySQL store on the machine's real MariaDB, in a database of this file's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../server/config.ts';
import { migrate } from '../server/migrate-command.ts';
import { createMysqlStore } from '../server/mysql-store.ts';
import type { Store } from '../server/store.ts';
import { createTestDatabase, type TestDatabase } from './helpers/mysql-db.ts';
import { storeContract } from './store-contract.ts';

let db: TestDatabase;
const stores: Store[] = [];
beforeAll(async () => { db = await createTestDatabase('store'); });
afterAll(async () => {
  for (const store of stores) await store.close().catch(() => undefined);
  await db.drop();
});

async function open(): Promise<Store> {
  const store = await createMysqlStore(loadSettings({ MYSQL_URL: db.url }));
  stores.push(store);
  return store;
}

storeContract('mysql', async () => {
  const store = await open();
  return { store, reopen: async () => { await store.close(); return open(); } };
});

describe('mysql migrations', () => {
  it('run each migration once, even with several processes starting at once', async () => {
    const other = await createTestDatabase('migrate');
    try {
      const settings = loadSettings({ MYSQL_URL: other.url });
      const runs = await Promise.all([migrate(settings), migrate(settings), migrate(settings), migrate(settings)]);
      expect(runs.flat().sort()).toEqual([1, 2, 3]);
      expect(await migrate(settings)).toEqual([]);
      const [rows] = await other.admin.query('SELECT version FROM evcomet_migrations ORDER BY version');
      expect(rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    } finally {
      await other.drop();
    }
  });

  it('refuses to migrate without MYSQL_URL', async () => {
    await expect(migrate(loadSettings({}))).rejects.toThrow(/MYSQL_URL/);
  });
});
