// The store contract (server/store.ts), one suite run on every implementation:
// test/store-file.test.ts and test/store-mysql.test.ts.
import { describe, expect, it } from 'vitest';
import { formatMessageId } from '../server/message-id.ts';
import type { Line, Store } from '../server/store.ts';

let clock = Date.now();

/** A user line with a fresh id; `seq` lets a test make ids whose seq part differs in length. */
export function makeLine(room: string, text: string, fields: Partial<Line> & { seq?: number } = {}): Line {
  const { seq = 0, ...rest } = fields;
  const ms = (clock += 7);
  return { id: formatMessageId({ ms, seq, origin: 'tst' }), room, userId: '42', nick: 'alice', text, time: ms, kind: 'user', ...rest };
}

/** `open` gives a fresh store on fresh storage; `reopen` a second store on the same storage, after closing the first. */
export function storeContract(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store> }>) {
  describe(`store contract: ${name}`, () => {
    it('keeps a reserved line hidden until confirmed, then shows it once', async () => {
      const { store } = await open();
      const line = makeLine('r1', 'hello <b>world</b> & “quotes” 🎉');
      expect(await store.reserve(line, 'k1')).toEqual({ line, state: 'new' });
      expect(await store.history('r1', { limit: 10 })).toEqual([]);
      expect(await store.confirm(line.id)).toBe(true);
      expect(await store.history('r1', { limit: 10 })).toEqual([line]);
      expect(await store.confirm(line.id)).toBe(false);
    });

    it('returns the first line for a repeated key, pending or shown, and per user', async () => {
      const { store } = await open();
      const first = makeLine('r2', 'first');
      await store.reserve(first, 'same');
      const again = await store.reserve(makeLine('r2', 'second try'), 'same');
      expect(again).toEqual({ line: first, state: 'pending' });
      await store.confirm(first.id);
      expect(await store.reserve(makeLine('r2', 'third'), 'same')).toEqual({ line: first, state: 'shown' });
      const bob = makeLine('r2', 'bob', { userId: '43', nick: 'bob' });
      expect((await store.reserve(bob, 'same')).state).toBe('new');
    });

    it('discards a reserved line and frees its key', async () => {
      const { store } = await open();
      const line = makeLine('r3', 'never shown');
      await store.reserve(line, 'k');
      await store.discard(line.id);
      expect(await store.confirm(line.id)).toBe(false);
      expect(await store.history('r3', { limit: 10 })).toEqual([]);
      const retry = makeLine('r3', 'retried');
      expect(await store.reserve(retry, 'k')).toEqual({ line: retry, state: 'new' });
    });

    it('inserts an event line once per id', async () => {
      const { store } = await open();
      const line = makeLine('r4', 'alice started a thread', { kind: 'event', userId: 'forum', event: { type: 'thread.created', url: 'https://f/t/1' } });
      expect(await store.insert(line)).toBe(true);
      expect(await store.insert({ ...line, text: 'changed' })).toBe(false);
      expect(await store.history('r4', { limit: 10 })).toEqual([line]);
    });

    it('orders history by message id, not by string, with before, after and limit', async () => {
      const { store } = await open();
      const ms = (clock += 100);
      const lines = [0, 9, 10, 35, 36, 1295].map((seq, i) => ({ ...makeLine('r5', `n${i}`), id: formatMessageId({ ms, seq, origin: 'tst' }), time: ms }));
      for (const line of [...lines].reverse()) await store.insert(line);
      expect(await store.history('r5', { limit: 100 })).toEqual(lines);
      expect(await store.history('r5', { limit: 2 })).toEqual(lines.slice(4));
      expect(await store.history('r5', { before: lines[4]!.id, limit: 2 })).toEqual(lines.slice(2, 4));
      expect(await store.history('r5', { after: lines[1]!.id, limit: 2 })).toEqual(lines.slice(2, 4));
      expect(await store.history('r5', { after: lines[5]!.id, limit: 2 })).toEqual([]);
      expect(await store.history('other-room', { limit: 10 })).toEqual([]);
    });

    it('removes a line from history, only in its own room', async () => {
      const { store } = await open();
      const keep = makeLine('r6', 'keep');
      const gone = makeLine('r6', 'gone');
      await store.insert(keep);
      await store.insert(gone);
      expect(await store.remove('elsewhere', gone.id)).toBe(false);
      expect(await store.remove('r6', gone.id)).toBe(true);
      expect(await store.remove('r6', gone.id)).toBe(true);
      expect(await store.remove('r6', makeLine('r6', 'never stored').id)).toBe(false);
      expect(await store.history('r6', { limit: 10 })).toEqual([keep]);
    });

    it('has a stable secret and signs in nobody without cookies', async () => {
      const { store } = await open();
      const secret = await store.secret();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(await store.secret()).toBe(secret);
      expect(await store.identify({})).toBeNull();
      expect(await store.identify({ phpbb3_sid: 'x', phpbb3_u: '2', evcomet_session: 'forged.value' })).toBeNull();
    });

    it('keeps shown lines, and never shows pending or deleted ones, across a reopen', async () => {
      const opened = await open();
      const shown = makeLine('r7', 'survives');
      const pending = makeLine('r7', 'crashed before publish');
      const deleted = makeLine('r7', 'deleted');
      await opened.store.reserve(shown, 'a');
      await opened.store.confirm(shown.id);
      await opened.store.reserve(pending, 'b');
      await opened.store.insert(deleted);
      await opened.store.remove('r7', deleted.id);
      const store = await opened.reopen();
      expect(await store.history('r7', { limit: 10 })).toEqual([shown]);
      expect(await store.reserve(makeLine('r7', 'retry'), 'a')).toEqual({ line: shown, state: 'shown' });
    });
  });
}
