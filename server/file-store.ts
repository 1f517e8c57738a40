// The embedded store: history in one append-only file of JSON lines in the data
// directory (DATA_DIR), replayed into memory at start and compacted then, so a
// restart loses nothing; sign-in by the local form (server/local-sign-in.ts).
// One process owns the file: this is the store for `npm start`, not for a farm.
//
// The file's records, one JSON object a line:
//   {"put": Line, "key": "…" | null, "pending": true|false}
//   {"confirm": id}   {"discard": id}   {"delete": id}
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalSignIn, type LocalSignIn } from './local-sign-in.ts';
import { sortableMessageId } from './message-id.ts';
import { StoreUnavailableError, type Line, type Store } from './store.ts';

/** The embedded store, with its local sign-in for the sign-in form. */
export interface FileStore extends Store {
  readonly local: LocalSignIn;
}

interface Entry { line: Line; sort: string; key: string | null; pending: boolean }

type Record_ =
  | { put: Line; key: string | null; pending: boolean }
  | { confirm: string } | { discard: string } | { delete: string };

// Compaction keeps this many of each room's newest lines.
const KEEP_PER_ROOM = 10_000;

/** Opens (creating) the store in `dataDir`; `secret` signs sessions, else one is kept in the directory. */
export async function createFileStore(dataDir: string, secret?: string): Promise<FileStore> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, 'history.jsonl');
  const entries = new Map<string, Entry>();
  const rooms = new Map<string, Entry[]>(); // shown lines, in id order
  const keys = new Map<string, string>(); // `${userId}\n${key}` → line id

  function apply(record: Record_): void {
    if ('put' in record) {
      const entry: Entry = { line: record.put, sort: sortableMessageId(record.put.id) ?? '', key: record.key, pending: record.pending };
      entries.set(entry.line.id, entry);
      if (entry.key !== null) keys.set(`${entry.line.userId}\n${entry.key}`, entry.line.id);
      if (!entry.pending) show(entry);
    } else if ('confirm' in record) {
      const entry = entries.get(record.confirm);
      if (entry?.pending) { entry.pending = false; show(entry); }
    } else if ('discard' in record) {
      const entry = entries.get(record.discard);
      if (entry?.pending) forget(entry);
    } else if ('delete' in record) {
      const entry = entries.get(record.delete);
      if (entry && !entry.pending) hide(entry);
    }
  }

  function show(entry: Entry): void {
    let list = rooms.get(entry.line.room);
    if (!list) rooms.set(entry.line.room, (list = []));
    let at = list.length;
    while (at > 0 && list[at - 1]!.sort > entry.sort) at--;
    list.splice(at, 0, entry);
  }

  function hide(entry: Entry): void {
    const list = rooms.get(entry.line.room);
    const at = list ? list.indexOf(entry) : -1;
    if (at >= 0) list!.splice(at, 1);
  }

  function forget(entry: Entry): void {
    entries.delete(entry.line.id);
    if (entry.key !== null) keys.delete(`${entry.line.userId}\n${entry.key}`);
  }

  // Replay, then compact: rewrite the file with only what is shown.
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      apply(JSON.parse(raw) as Record_);
    } catch {
      // A torn last line from a crash mid-write: the records before it stand.
    }
  }
  for (const entry of [...entries.values()]) if (entry.pending) forget(entry);
  const kept: string[] = [];
  for (const [room, list] of rooms) {
    const dropped = list.splice(0, Math.max(0, list.length - KEEP_PER_ROOM));
    for (const entry of dropped) forget(entry);
    for (const entry of list) kept.push(JSON.stringify({ put: entry.line, key: entry.key, pending: false }));
    if (list.length === 0) rooms.delete(room);
  }
  for (const entry of [...entries.values()]) if (!rooms.get(entry.line.room)?.includes(entry)) forget(entry);
  await writeFile(`${path}.tmp`, kept.length ? kept.join('\n') + '\n' : '');
  await rename(`${path}.tmp`, path);

  const file: FileHandle = await open(path, 'a');
  let writing: Promise<unknown> = Promise.resolve();
  let lastError: string | undefined;
  let closed = false;

  /** Runs `fn` after every earlier call has finished: each check-then-write is atomic. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const done = writing.then(fn);
    writing = done.catch(() => undefined);
    return done;
  }

  /** Appends a record, then applies it: memory never holds what the file lacks. Call inside serial(). */
  async function write(record: Record_): Promise<void> {
    if (closed) throw new StoreUnavailableError('the store is closed');
    try {
      await file.appendFile(JSON.stringify(record) + '\n');
      lastError = undefined;
    } catch (err) {
      lastError = (err as Error).message;
      throw new StoreUnavailableError(`history file: ${lastError}`);
    }
    apply(record);
  }

  const local = createLocalSignIn(secret ?? (await keptSecret(dataDir)));

  return {
    kind: 'embedded',
    local,
    reserve: (line, key) => serial(async () => {
      const existing = entries.get(keys.get(`${line.userId}\n${key}`) ?? '');
      if (existing) return { line: existing.line, state: existing.pending ? 'pending' : 'shown' } as const;
      await write({ put: line, key, pending: true });
      return { line, state: 'new' } as const;
    }),
    confirm: (id) => serial(async () => {
      if (!entries.get(id)?.pending) return false;
      await write({ confirm: id });
      return true;
    }),
    discard: (id) => serial(async () => {
      if (entries.get(id)?.pending) await write({ discard: id });
    }),
    insert: (line) => serial(async () => {
      if (entries.has(line.id)) return false;
      await write({ put: line, key: null, pending: false });
      return true;
    }),
    remove: (room, id) => serial(async () => {
      const entry = entries.get(id);
      if (!entry || entry.pending || entry.line.room !== room) return false;
      await write({ delete: id });
      return true;
    }),
    async history(room, { before, after, limit }) {
      await writing;
      const list = rooms.get(room) ?? [];
      const low = after === undefined ? '' : sortableMessageId(after) ?? '';
      const high = before === undefined ? null : sortableMessageId(before) ?? '';
      const inRange = list.filter((e) => e.sort > low && (high === null || e.sort < high));
      const picked = after !== undefined && before === undefined ? inRange.slice(0, limit) : inRange.slice(Math.max(0, inRange.length - limit));
      return picked.map((e) => e.line);
    },
    identify: async (cookies) => local.identify(cookies),
    secret: async () => secret ?? keptSecret(dataDir),
    state: () => (lastError ? `embedded down: ${lastError}` : 'embedded'),
    async close() {
      closed = true;
      await writing;
      await file.close();
    },
  };
}

/** The secret kept in the data directory, made on first use. */
async function keptSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, 'secret');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('hex');
  await writeFile(path, secret, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return (await readFile(path, 'utf8')).trim();
}
