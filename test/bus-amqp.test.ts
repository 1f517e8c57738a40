// The RabbitMQ bus against the machine's real broker: the shared contract, then
// what only a broker brings: it being unreachable, garbage on an exchange, and a
// dropped connection (closed from the broker's side with rabbitmqctl).
import { afterAll, describe, expect, it } from 'vitest';
import { createAmqpBus, type AmqpBus, type AmqpBusOptions } from '../server/amqp-bus.ts';
import { BusUnavailableError, type Envelope } from '../server/bus.ts';
import { busContract, envelope } from './bus-contract.ts';
import { AMQP_URL, closeConnections, deleteExchanges, publishRaw, uniqueExchanges } from './helpers/rabbitmq.ts';
import { waitFor } from './helpers/raw-http.ts';

const quiet = { info() {}, warn() {} };
const exchangesUsed: string[] = [];

function makeBus(exchanges: { chat: string; forum: string }, extra: Partial<AmqpBusOptions> = {}): AmqpBus {
  return createAmqpBus({
    url: AMQP_URL, exchanges, queueExpiresMs: 60_000, prefetch: 100, maxMessageBytes: 64 * 1024, log: quiet,
    backoff: { initialMs: 50, maxMs: 500 }, ...extra,
  });
}

async function connectedSite(n: number) {
  const { chat, forum } = uniqueExchanges();
  exchangesUsed.push(chat, forum);
  const buses = Array.from({ length: n }, () => makeBus({ chat, forum }));
  for (const bus of buses) {
    // A test that needs RabbitMQ fails, loudly, when it is not there.
    if (!(await bus.ready(5000))) throw new Error(`RabbitMQ at ${AMQP_URL} is not reachable: ${bus.state().lastError}`);
  }
  return { buses, chat, forum };
}

busContract('RabbitMQ', async (n) => (await connectedSite(n)).buses);

describe('RabbitMQ bus', () => {
  afterAll(async () => {
    await deleteExchanges(...exchangesUsed);
  });

  it('rejects publishing with BusUnavailableError at once while the broker is unreachable, and says so', async () => {
    const bus = makeBus({ chat: 'x', forum: 'y' }, { url: 'amqp://guest:guest@127.0.0.1:1' });
    try {
      expect(await bus.ready(300)).toBe(false);
      const started = Date.now();
      await expect(bus.publish('chat', envelope('room', 1))).rejects.toBeInstanceOf(BusUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(bus.state().state).toMatch(/connecting|reconnecting/);
      expect(bus.state().lastError).toBeTruthy();
    } finally {
      await bus.close();
    }
  });

  it('counts and drops garbage on an exchange (not JSON, wrong shape, bad id, huge) and delivers what follows', async () => {
    const { buses: [bus], chat } = await connectedSite(1);
    const got: Envelope[] = [];
    await bus!.consume('chat', (e) => got.push(e));
    const good = envelope('room', { ok: true });
    await publishRaw(chat, [
      'not json {',
      '[1,2,3]',
      JSON.stringify({ id: 'nope', channel: 'room', time: 1, data: 1 }),
      JSON.stringify({ id: good.id, channel: 'room', time: 'soon', data: 1 }),
      JSON.stringify({ id: good.id, channel: 'room', time: 1 }),
      JSON.stringify({ ...good, data: 'x'.repeat(70 * 1024) }),
      Buffer.from([0xff, 0xfe, 0x00]),
      JSON.stringify(good),
    ]);
    await waitFor(() => got.length === 1, 5000, 'the good message');
    expect(got[0]).toEqual(good);
    expect(bus!.state().malformed).toBe(7);
    await bus!.close();
  });

  it('survives its connection being closed by the broker: reconnects, and what was published meanwhile waits in its queue', async () => {
    const { buses: [subscriber, publisher] } = await connectedSite(2);
    const got: number[] = [];
    await subscriber!.consume('chat', (e) => got.push(e.data as number));
    await publisher!.publish('chat', envelope('room', 1));
    await waitFor(() => got.length === 1, 5000, 'the first message');

    expect(await closeConnections(subscriber!.connectionName)).toBe(1);
    await waitFor(() => subscriber!.state().state !== 'up', 5000, 'the subscriber to notice');
    await expect(subscriber!.publish('chat', envelope('room', 0))).rejects.toBeInstanceOf(BusUnavailableError);
    await publisher!.publish('chat', envelope('room', 2)); // while the subscriber is away
    expect(await subscriber!.ready(10_000)).toBe(true);
    await publisher!.publish('chat', envelope('room', 3));
    await waitFor(() => got.length === 3, 10_000, 'messages 2 and 3');
    expect(got).toEqual([1, 2, 3]);
    expect(subscriber!.state().reconnects).toBe(1);
    await Promise.all([subscriber!.close(), publisher!.close()]);
  }, 30_000);
});
