// The forum side's publishers: the `evcomet publish` CLI (to RabbitMQ, or over
// HTTP without it), the PHP snippet with php-amqp, and POST /forum/events.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../server/bus.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { messagesOf, parseSse } from './helpers/comet-client.ts';
import { deleteExchanges, uniqueExchanges } from './helpers/rabbitmq.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/evcomet.js', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

async function sseOf(server: AppServer, channel: string) {
  const conn = await openConnection(server.port);
  const res = await conn.request(get(`/comet/${channel}?transport=sse`));
  return { conn, messages: () => messagesOf(parseSse(res.chunks.map((c) => c.data).join(''))) };
}

describe('publishers through RabbitMQ', () => {
  const exchanges = uniqueExchanges();
  const servers: AppServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await deleteExchanges(exchanges.chat, exchanges.forum);
  });

  it('`evcomet publish <channel> <json>` reaches a subscriber with the id it printed', async () => {
    const server = await startApp(exchanges.env);
    servers.push(server);
    const sub = await sseOf(server, 'news');
    const out = await cli(['publish', 'news', '{"headline":"Z80 <tricks>"}'], exchanges.env);
    expect(out).toMatchObject({ code: 0 });
    const printed = JSON.parse(out.stdout) as { id: string; channel: string };
    expect(printed.channel).toBe('news');
    await waitFor(() => sub.messages().length === 1, 5000, 'the message');
    expect(sub.messages()[0]).toMatchObject({ id: printed.id, data: { headline: 'Z80 <tricks>' } });
    sub.conn.close();
  }, 20_000);

  it('the PHP snippet (php-amqp) and `evcomet publish --forum` put forum events on the forum exchange', async () => {
    const server = servers[0]!;
    const events: Envelope[] = [];
    await server.bus.consume('forum', (e) => events.push(e));

    const event = { type: 'thread.created', who: 'alice', what: 'Ünïcode & <b>tags</b>', where: 'Programming', url: 'https://forum.example/t/1' };
    const php = await run('php', ['examples/publishers/forum-events.php', JSON.stringify(event)], {
      env: { ...process.env, AMQP_URL: exchanges.env.AMQP_URL!, AMQP_FORUM_EXCHANGE: exchanges.forum },
    });
    expect(php.stderr).toBe('');
    const phpId = php.stdout.trim();
    const viaCli = await cli(['publish', '--forum', '{"type":"user.registered","who":"bob"}'], exchanges.env);
    expect(viaCli.code).toBe(0);

    await waitFor(() => events.length === 2, 5000, 'both events');
    expect(events[0]).toMatchObject({ id: phpId, channel: 'forum', data: event });
    expect(events[0]!.time).toBe(parseInt(phpId.split('-')[0]!, 36)); // the id carries the time
    expect(events[1]).toMatchObject({ id: JSON.parse(viaCli.stdout).id, channel: 'forum', data: { type: 'user.registered', who: 'bob' } });
  }, 20_000);

  it('the CLI says what is wrong and exits non-zero', async () => {
    expect(await cli(['publish', 'news', '{not json'], exchanges.env)).toMatchObject({ code: 1, stderr: expect.stringContaining('not valid JSON') });
    expect(await cli(['publish', 'bad channel!', '{}'], exchanges.env)).toMatchObject({ code: 1, stderr: expect.stringContaining('not a channel name') });
    expect(await cli(['frobnicate'], exchanges.env)).toMatchObject({ code: 2, stderr: expect.stringContaining('no command "frobnicate"') });
    expect(await cli(['publish', 'news', '{}'], { ...exchanges.env, AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' }))
      .toMatchObject({ code: 1, stderr: expect.stringContaining('cannot reach RabbitMQ') });
  }, 30_000);
});

describe('publishers over HTTP (no RabbitMQ)', () => {
  it('`evcomet publish` posts to the local server, with the token when one is set', async () => {
    const server = await startApp({ PUBLISH_TOKEN: 's3cret' });
    try {
      const sub = await sseOf(server, 'news');
      const env = { PORT: String(server.port), PUBLISH_TOKEN: 's3cret', AMQP_URL: '' };
      const out = await cli(['publish', 'news', '[1,2,3]'], env);
      expect(out.code).toBe(0);
      await waitFor(() => sub.messages().length === 1, 5000, 'the message');
      expect(sub.messages()[0]).toMatchObject({ id: JSON.parse(out.stdout).id, data: [1, 2, 3] });
      expect(await cli(['publish', 'news', '1'], { ...env, PUBLISH_TOKEN: 'wrong' }))
        .toMatchObject({ code: 1, stderr: expect.stringContaining('answered 401') });
      sub.conn.close();
    } finally {
      await server.close();
    }
  }, 20_000);

  it('POST /forum/events puts an event on the forum topic, and refuses what is not one', async () => {
    const server = await startApp();
    try {
      const events: Envelope[] = [];
      await server.bus.consume('forum', (e) => events.push(e));
      const post = (body: string) => fetch(`${server.base}/forum/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const ok = await post('{"type":"post.replied","who":"carol","what":"Z80 tricks"}');
      expect(ok.status).toBe(200);
      const { id } = (await ok.json()) as { id: string };
      expect(events).toEqual([expect.objectContaining({ id, channel: 'forum', data: { type: 'post.replied', who: 'carol', what: 'Z80 tricks' } })]);
      for (const bad of ['[1]', '{"type":"x"}', '{"type":1,"who":"a"}', '"text"']) {
        const res = await post(bad);
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: 'bad_event' });
      }
      expect(events).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
