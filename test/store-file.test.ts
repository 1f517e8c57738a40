// The embedded store: the store contract, and what is its own (the file).
import { mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../server/file-store.ts';
import type { Store } from '../server/store.ts';
import { makeLine, storeContract } from './store-contract.ts';

const dirs: string[] = [];
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close().catch(() => undefined);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'evcomet-store-'));
  dirs.push(dir);
  return dir;
}

async function openIn(dir: string): Promise<Store> {
  const store = await createFileStore(dir);
  stores.push(store);
  return store;
}

storeContract('embedded file', async () => {
  const dir = await freshDir();
  const store = await openIn(dir);
  return { store, reopen: async () => { await store.close(); return openIn(dir); } };
});

describe('embedded store file', () => {
  it('compacts on start: only shown lines remain, and a torn last record is ignored', async () => {
    const dir = await freshDir();
    const store = await openIn(dir);
    const kept = makeLine('c', 'kept');
    await store.insert(kept);
    const gone = makeLine('c', 'gone');
    await store.insert(gone);
    await store.remove('c', gone.id);
    await store.reserve(makeLine('c', 'pending'), 'k');
    await store.close();
    await appendFile(join(dir, 'history.jsonl'), '{"put": {"id": "torn');
    const again = await openIn(dir);
    expect(await again.history('c', { limit: 10 })).toEqual([kept]);
    const file = (await readFile(join(dir, 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(file.map((l) => JSON.parse(l).put.id)).toEqual([kept.id]);
  });

  it('keeps its session secret across a restart', async () => {
    const dir = await freshDir();
    const first = await openIn(dir);
    const secret = await first.secret();
    await first.close();
    expect(await (await openIn(dir)).secret()).toBe(secret);
  });
});
