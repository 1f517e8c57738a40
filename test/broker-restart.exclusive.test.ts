// The machine's RabbitMQ stopped and started again under two server processes
// (issue 5's broker fault). This takes the broker away from every other test,
// so it runs in the `exclusive` group, after the rest (vitest.config.ts).
// Subscribers stay connected through the outage; a publish during it answers
// 503; the first publishes acknowledged after it, one straight to the exchange
// before either process is back and one over HTTP as soon as one process is
// back, reach the subscribers of both: their queues are durable and kept their
// bindings, so messages wait there for them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from './bus-contract.ts';
import { messagesOf, parseSse } from './helpers/comet-client.ts';
import { deleteExchanges, publishRaw, uniqueExchanges } from './helpers/rabbitmq.ts';
import { get, openConnection, waitFor, type RawConnection, type RawResponse } from './helpers/raw-http.ts';
import { busUp, publishHttp, spawnServer, stopServer, type ServerProcess } from './helpers/spawn-server.ts';

const run = promisify(execFile);
const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', args, { timeout: 60_000 });

const text = (res: RawResponse) => res.chunks.map((c) => c.data).join('');
const received = (res: RawResponse) => messagesOf(parseSse(text(res)));
const heartbeats = (res: RawResponse) => text(res).split('event: heartbeat\n').length - 1;
const busState = async (server: ServerProcess) => ((await (await fetch(`${server.base}/healthz`)).json()) as { bus: string }).bus;

describe('a RabbitMQ stop and start under two server processes', () => {
  const exchanges = uniqueExchanges();
  const env = { ...exchanges.env, AMQP_RECONNECT_MAX_MS: '1000', HEARTBEAT_MS: '300' };
  let one: ServerProcess;
  let two: ServerProcess;
  let brokerStopped = false;

  beforeAll(async () => {
    [one, two] = await Promise.all([spawnServer(env), spawnServer(env)]);
    await Promise.all([busUp(one), busUp(two)]);
  }, 30_000);
  afterAll(async () => {
    // Whatever failed, the broker goes back up for everyone else.
    if (brokerStopped) await rabbitmqctl('start_app');
    await Promise.all([one && stopServer(one), two && stopServer(two)]);
    await deleteExchanges(exchanges.chat, exchanges.forum);
  }, 90_000);

  it('keeps subscribers, refuses publishes meanwhile, and delivers the first acknowledged publishes after it to every process', async () => {
    const subscribers: Array<{ conn: RawConnection; res: RawResponse }> = [];
    for (const server of [one, two]) {
      const conn = await openConnection(server.port);
      subscribers.push({ conn, res: await conn.request(get('/comet/restart?transport=sse')) });
    }
    const before = await publishHttp(one, 'restart', { n: 1 });
    await waitFor(() => subscribers.every((s) => received(s.res).length === 1), 5000, 'the first message');

    brokerStopped = true;
    await rabbitmqctl('stop_app');
    for (const server of [one, two]) {
      const deadline = Date.now() + 10_000;
      while ((await busState(server)) === 'up' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await busState(server)).toBe('reconnecting');
    }
    const refused = await fetch(`${one.base}/comet/restart`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":"lost"}' });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'bus_unavailable' });
    // Still connected: the streams go on beating while the broker is away.
    const beats = subscribers.map((s) => heartbeats(s.res));
    await waitFor(() => subscribers.every((s, i) => heartbeats(s.res) >= beats[i]! + 2), 5000, 'heartbeats during the outage');

    await rabbitmqctl('start_app');
    brokerStopped = false;
    // A forum publishing straight to the exchange before either process is back.
    const direct = envelope('restart', { n: 2 });
    await publishRaw(exchanges.chat, [JSON.stringify(direct)]);
    // The first publish through a process that is back, while the other may not be.
    await busUp(one, 30_000);
    const after = await publishHttp(one, 'restart', { n: 3 });

    await waitFor(() => subscribers.every((s) => received(s.res).length === 3), 30_000, 'both messages after the restart');
    for (const s of subscribers) {
      expect(received(s.res).map((m) => [m.id, m.data])).toEqual([[before, { n: 1 }], [direct.id, { n: 2 }], [after, { n: 3 }]]);
      expect(s.res.complete).toBe(false); // the same stream throughout
      s.conn.close();
    }
    await busUp(two, 30_000);
    for (const server of [one, two]) {
      expect(await (await fetch(`${server.base}/metrics`)).text()).toMatch(/^evcomet_bus_reconnects_total [1-9]\d*$/m);
    }
  }, 120_000);
});
