// Forum events on the bus's `forum` topic become chat lines, one template per
// type; unknown and bad events are counted on /status and /metrics.
import { afterEach, describe, expect, it } from 'vitest';
import { templates } from '../server/forum-events.ts';
import { formatMessageId } from '../server/message-id.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { followRoom, openPage, type RoomFeed } from './helpers/chat-client.ts';

let server: AppServer | undefined;
let feed: RoomFeed | undefined;
afterEach(async () => {
  feed?.close();
  await server?.close();
  server = undefined;
});

let seq = 0;
const envelope = (data: unknown) => {
  const ms = Date.now();
  return { id: formatMessageId({ ms, seq: seq++, origin: 'frm' }), channel: 'forum', time: ms, data };
};

// What each type says, for the same event.
const expected: Record<string, string> = {
  'thread.created': 'alice started a thread: Z80 tricks in Programming',
  'post.replied': 'alice replied to Z80 tricks in Programming',
  'post.edited': 'alice edited a post in Z80 tricks',
  'post.deleted': 'alice deleted a post in Z80 tricks',
  'topic.moved': 'alice moved Z80 tricks to Programming',
  'topic.locked': 'alice locked Z80 tricks',
  'topic.unlocked': 'alice unlocked Z80 tricks',
  'topic.deleted': 'alice deleted the thread Z80 tricks in Programming',
  'user.registered': 'alice joined the forum. Welcome!',
  'user.banned': 'alice was banned: Z80 tricks',
  'news.posted': 'News from alice: Z80 tricks',
  'file.uploaded': 'alice uploaded Z80 tricks in Programming',
  'message.relayed': '[Programming] <alice> Z80 tricks',
};

describe('forum events', () => {
  it('renders every type through its template, stores it under the envelope id, and delivers it', async () => {
    expect(Object.keys(templates).sort()).toEqual(Object.keys(expected).sort());
    server = await startApp();
    feed = await followRoom(server.base, 'lobby');
    const sent = Object.keys(expected).map((type) => envelope({ type, who: 'alice', what: 'Z80 tricks', where: 'Programming', url: 'https://forum.example/t/1' }));
    for (const e of sent) await server.bus.publish('forum', e);
    await feed.waitFor(() => feed!.messages().length === sent.length, 'every event');
    const lines = feed.messages().map((m) => m.data.line);
    expect(lines.map((l) => l.text)).toEqual(Object.values(expected));
    expect(feed.messages().map((m) => m.id)).toEqual(sent.map((e) => e.id));
    expect(lines[0]).toEqual({
      id: sent[0]!.id, room: 'lobby', userId: 'forum', nick: 'alice', text: expected['thread.created'], time: sent[0]!.time,
      kind: 'event', event: { type: 'thread.created', url: 'https://forum.example/t/1' },
    });
    // Stored once, even when the event arrives twice (every process, or a redelivery).
    await server.bus.publish('forum', sent[0]!);
    await new Promise((r) => setTimeout(r, 50));
    const history = (await (await fetch(`${server.base}/chat/lobby/history?limit=100`)).json()) as { lines: unknown[] };
    expect(history.lines).toEqual(lines);
    // The page links the event and escapes it.
    const { html } = await openPage(server.base, '/');
    expect(html).toContain('<a href="https://forum.example/t/1" target="_top" rel="noopener">alice started a thread: Z80 tricks in Programming</a>');
  });

  it('sends an event to the room it names, and text stays text', async () => {
    server = await startApp({ FORUM_EVENTS_ROOM: 'forum-news' });
    await server.bus.publish('forum', envelope({ type: 'thread.created', who: '<img src=x onerror=alert(1)>', what: 'a & b' }));
    await server.bus.publish('forum', envelope({ type: 'user.registered', who: 'bob', room: 'welcome', url: 'javascript:alert(1)' }));
    await new Promise((r) => setTimeout(r, 50));
    const news = await openPage(server.base, '/chat/forum-news');
    expect(news.page.lines[0]!.text).toBe('<img src=x onerror=alert(1)> started a thread: a & b');
    expect(news.html).toContain('&#60;img src=x onerror=alert(1)&#62; started a thread: a &#38; b');
    const welcome = await openPage(server.base, '/chat/welcome');
    expect(welcome.page.lines[0]).toMatchObject({ text: 'bob joined the forum. Welcome!', event: { type: 'user.registered' } });
    expect(welcome.page.lines[0]!.event!.url).toBeUndefined();
  });

  it('counts and drops unknown types and bad events, on /status and /metrics', async () => {
    server = await startApp();
    const bad = [null, 'text', [], { who: 'x' }, { type: 'thread.created' }, { type: 'thread.created', who: 'x' },
      { type: 'topic.moved', who: 'x', what: 'y' }, { type: 'user.registered', who: 5 }, { type: 'user.registered', who: 'x', room: 'no.dots' },
      { type: 'user.registered', who: 'x'.repeat(1001) }];
    for (const data of bad) await server.bus.publish('forum', envelope(data));
    await server.bus.publish('forum', { ...envelope({ type: 'user.registered', who: 'x' }), id: 'not-an-id' });
    await server.bus.publish('forum', envelope({ type: 'forum.exploded', who: 'x' }));
    await server.bus.publish('forum', envelope({ type: 'toString', who: 'x' }));
    await server.bus.publish('forum', envelope({ type: 'user.registered', who: 'fine' }));
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toContain('evcomet_forum_events_total{outcome="line"} 1');
    expect(metrics).toContain('evcomet_forum_events_total{outcome="unknown"} 2');
    expect(metrics).toContain(`evcomet_forum_events_total{outcome="bad"} ${bad.length + 1}`);
    const status = await (await fetch(`${server.base}/status`)).text();
    expect(status).toContain(`<td>1</td><td>2</td><td>${bad.length + 1}</td><td>0</td>`);
  });
});
