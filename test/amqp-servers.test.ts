// Server processes sharing the machine's real RabbitMQ: a message published to
// the chat exchange (as a forum would, with amqplib) reaches the subscribers of
// every process with one id; a client resumes on another process losing and
// repeating nothing; a dropped broker connection leaves subscribers connected
// and loses nothing; and with no broker, publishing answers 503.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from './bus-contract.ts';
import { startApp } from './helpers/app-server.ts';
import { messagesOf, parseItems, parseSse } from './helpers/comet-client.ts';
import { closeConnections, deleteExchanges, publishRaw, uniqueExchanges } from './helpers/rabbitmq.ts';
import { get, openConnection, rawRequest, waitFor, type RawConnection, type RawResponse } from './helpers/raw-http.ts';
import { busUp, publishHttp, spawnServer, stopServer, type ServerProcess } from './helpers/spawn-server.ts';

async function subscribe(port: number, channel: string): Promise<{ conn: RawConnection; res: RawResponse }> {
  const conn = await openConnection(port);
  const res = await conn.request(get(`/comet/${channel}?transport=sse`));
  return { conn, res };
}

const received = (res: RawResponse) => messagesOf(parseSse(res.chunks.map((c) => c.data).join('')));

describe('server processes on one RabbitMQ', () => {
  const exchanges = uniqueExchanges();
  let one: ServerProcess;
  let two: ServerProcess;

  beforeAll(async () => {
    [one, two] = await Promise.all([spawnServer(exchanges.env), spawnServer(exchanges.env)]);
    await Promise.all([busUp(one), busUp(two)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([one && stopServer(one), two && stopServer(two)]);
    await deleteExchanges(exchanges.chat, exchanges.forum);
  });

  it('delivers a message published straight to the exchange to the subscribers of both, with one id', async () => {
    const [a, b] = await Promise.all([subscribe(one.port, 'direct'), subscribe(two.port, 'direct')]);
    const sent = [envelope('direct', { n: 1 }), envelope('direct', { n: 2 }), envelope('direct', { n: 3 })];
    await publishRaw(exchanges.chat, sent.map((e) => JSON.stringify(e)));
    await waitFor(() => received(a.res).length === 3 && received(b.res).length === 3, 5000, 'three messages on each');
    for (const res of [a.res, b.res]) {
      expect(received(res).map((m) => [m.id, m.data])).toEqual(sent.map((e) => [e.id, e.data]));
    }
    a.conn.close();
    b.conn.close();
  });

  it('lets a client resume on the other process with its last id, losing and repeating nothing', async () => {
    const a = await subscribe(one.port, 'resume');
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await publishHttp(one, 'resume', { n }));
    await waitFor(() => received(a.res).length === 3, 5000, 'three on process one');
    const lastSeen = received(a.res).at(-1)!.id!;
    a.conn.close();
    for (let n = 4; n <= 6; n++) ids.push(await publishHttp(n % 2 ? one : two, 'resume', { n })); // while it is away

    const resumed = await rawRequest(two.port, get(`/comet/resume?transport=longpoll&since=${lastSeen}`));
    const items = parseItems('longpoll', resumed.body);
    expect(items.filter((i) => i.kind === 'control')).toEqual([]);
    expect(messagesOf(items).map((m) => [m.id, m.data])).toEqual([[ids[3], { n: 4 }], [ids[4], { n: 5 }], [ids[5], { n: 6 }]]);
  });

  it('keeps subscribers connected when the broker drops its connection, and delivers what was published meanwhile', async () => {
    const a = await subscribe(one.port, 'fault');
    await publishHttp(two, 'fault', { n: 1 });
    await waitFor(() => received(a.res).length === 1, 5000, 'the first message');

    expect(await closeConnections(`evcomet.${hostname()}.${one.child.pid}.`)).toBe(1);
    await publishHttp(two, 'fault', { n: 2 }); // lands in process one's queue while it reconnects
    await busUp(one);
    await publishHttp(one, 'fault', { n: 3 });
    await waitFor(() => received(a.res).length === 3, 10_000, 'messages 2 and 3');
    expect(received(a.res).map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(a.res.complete).toBe(false); // the stream stayed open throughout
    const metrics = await (await fetch(`${one.base}/metrics`)).text();
    expect(metrics).toMatch(/^evcomet_bus_reconnects_total 1$/m);
    a.conn.close();
  }, 30_000);
});

describe('a server whose broker is unreachable', () => {
  it('serves, says so on /healthz, /status and /metrics, and answers a publish with 503 bus_unavailable', async () => {
    const server = await startApp({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' });
    try {
      const health = (await (await fetch(`${server.base}/healthz`)).json()) as { ok: boolean; bus: string };
      expect(health).toMatchObject({ ok: true, bus: expect.stringMatching(/connecting/) });
      const res = await fetch(`${server.base}/comet/room`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'bus_unavailable' });
      expect(await (await fetch(`${server.base}/metrics`)).text()).toMatch(/^evcomet_service_up\{service="bus",state="(re)?connecting"\} 0$/m);
      expect(await (await fetch(`${server.base}/status`)).text()).toContain('ECONNREFUSED');
    } finally {
      await server.close();
    }
  }, 15_000);
});
