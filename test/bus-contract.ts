// The bus contract (server/bus.ts), one set of cases for every implementation.
// `makeSite(n)` gives n buses that serve one site, as n server processes would.
import { afterEach, describe, expect, it } from 'vitest';
import { BusUnavailableError, type Bus, type Envelope } from '../server/bus.ts';
import { createIdGenerator, formatMessageId } from '../server/message-id.ts';
import { waitFor } from './helpers/raw-http.ts';

const nextId = createIdGenerator('tst');
export function envelope(channel: string, data: unknown): Envelope {
  const parts = nextId();
  return { id: formatMessageId(parts), channel, time: parts.ms, data };
}

export function busContract(name: string, makeSite: (n: number) => Promise<Bus[]>): void {
  describe(`bus contract: ${name}`, () => {
    let open: Bus[] = [];
    const site = async (n: number) => (open = await makeSite(n));
    afterEach(async () => {
      await Promise.all(open.map((bus) => bus.close()));
      open = [];
    });

    it('hands a published envelope, unchanged, to every handler of its topic on every bus, the publisher included', async () => {
      const buses = await site(2);
      const got: Envelope[][] = buses.map(() => []);
      await Promise.all(buses.map((bus, i) => bus.consume('chat', (e) => got[i]!.push(e))));
      const sent = envelope('room', { text: 'hello', n: [1, 2], nested: { ok: true } });
      await buses[0]!.publish('chat', sent);
      await waitFor(() => got.every((g) => g.length === 1), 5000, 'every bus to get it');
      for (const g of got) expect(g[0]).toMatchObject({ id: sent.id, channel: 'room', time: sent.time, data: sent.data });
    });

    it('keeps topics apart', async () => {
      const [bus] = await site(1);
      const chat: Envelope[] = [];
      const forum: Envelope[] = [];
      await bus!.consume('chat', (e) => chat.push(e));
      await bus!.consume('forum', (e) => forum.push(e));
      await bus!.publish('forum', envelope('forum', { type: 'thread.created', who: 'alice' }));
      await bus!.publish('chat', envelope('room', 'line'));
      await waitFor(() => chat.length === 1 && forum.length === 1, 5000, 'one on each topic');
      expect(chat[0]!.data).toBe('line');
      expect(forum[0]!.data).toMatchObject({ type: 'thread.created' });
    });

    it("keeps one publisher's order", async () => {
      const buses = await site(2);
      const got: number[] = [];
      await buses[1]!.consume('chat', (e) => got.push(e.data as number));
      await Promise.all(Array.from({ length: 200 }, (_, n) => buses[0]!.publish('chat', envelope('room', n))));
      await waitFor(() => got.length === 200, 10_000, 'all 200');
      expect(got).toEqual(Array.from({ length: 200 }, (_, n) => n));
    });

    it('says it is up, and refuses to publish once closed', async () => {
      const [bus] = await site(1);
      expect(bus!.state().state).toBe('up');
      await bus!.close();
      expect(bus!.state().state).toBe('closed');
      await expect(bus!.publish('chat', envelope('room', 1))).rejects.toBeInstanceOf(BusUnavailableError);
    });
  });
}
