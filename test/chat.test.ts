// The chat over real sockets on the embedded store: sign-in, posting with its
// checks and limits, idempotent retries, history in the page and a resume that
// continues exactly after it, deletion, who is in the room, and a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../server/store.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { chatSession, followRoom, localSignIn, openPage, type RoomFeed } from './helpers/chat-client.ts';
import { parseItems } from './helpers/comet-client.ts';

let server: AppServer | undefined;
const feeds: RoomFeed[] = [];
afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.close();
  await server?.close();
  server = undefined;
});

async function follow(room: string, options: { since?: string; cookie?: string } = {}): Promise<RoomFeed> {
  const feed = await followRoom(server!.base, room, options);
  feeds.push(feed);
  return feed;
}

// Response bodies are read loosely: the assertions check their shape.
const json = (res: Response): Promise<any> => res.json() as Promise<any>;
const linesOf = (feed: RoomFeed) => feed.messages().filter((m) => m.data.type === 'line').map((m) => m.data.line);

describe('chat: signing in and posting', () => {
  it('posts a line under the signed-in nick, whatever nick the client sends', async () => {
    server = await startApp();
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    expect(alice.page.user).toMatchObject({ nick: 'alice', moderator: false });
    const feed = await follow('lobby');
    const res = await alice.post('lobby', 'hello', { key: 'k1', body: { nick: 'mallory', userId: 'local:mallory' } });
    expect(res.status).toBe(201);
    const { line } = await json(res);
    expect(line).toMatchObject({ room: 'lobby', userId: 'local:alice', nick: 'alice', text: 'hello', kind: 'user' });
    await feed.waitFor(() => linesOf(feed).length === 1, 'the line');
    expect(feed.messages()[0]!.id).toBe(line.id);
    expect(linesOf(feed)[0]).toEqual(line);
  });

  it('refuses posts from nobody (401) and forged sessions', async () => {
    server = await startApp();
    const anonymous = await chatSession(server.base, '');
    expect(anonymous.page.user).toBeNull();
    expect(anonymous.page.signIn).toBe('/chat/sign-in?room=lobby');
    const res = await anonymous.post('lobby', 'hi');
    expect(res.status).toBe(401);
    expect((await json(res)).error).toBe('not_signed_in');
    const cookie = await localSignIn(server.base, 'bob');
    const forged = cookie.replace(/\.[^.]+$/, '.AAAA');
    expect((await (await chatSession(server.base, forged)).post('lobby', 'hi')).status).toBe(401);
    // A cookie signed by another server's secret (another data dir) is forged too.
    const other = await startApp();
    const foreign = await localSignIn(other.base, 'carol');
    await other.close();
    expect((await (await chatSession(server.base, foreign)).post('lobby', 'hi')).status).toBe(401);
  });

  it('checks the origin and the session-bound CSRF token', async () => {
    server = await startApp({ CHAT_ALLOWED_ORIGINS: 'https://forum.example' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const bob = await chatSession(server.base, await localSignIn(server.base, 'bob'));
    const refused = async (res: Response) => { expect(res.status).toBe(403); expect((await json(res)).error).toBe('bad_csrf'); };
    await refused(await alice.post('lobby', 'x', { headers: { origin: 'https://evil.example' } }));
    await refused(await alice.post('lobby', 'x', { headers: { origin: 'null' } }));
    await refused(await alice.post('lobby', 'x', { headers: { 'x-csrf-token': '' } }));
    await refused(await alice.post('lobby', 'x', { headers: { 'x-csrf-token': bob.page.csrf! } }));
    await refused(await alice.post('lobby', 'x', { headers: { origin: '', referer: 'https://evil.example/page' } }));
    expect((await alice.post('lobby', 'x', { headers: { origin: 'https://forum.example' } })).status).toBe(201);
    expect((await alice.post('lobby', 'y', { headers: { origin: '', referer: `${server.base}/chat/lobby` } })).status).toBe(201);
  });

  it('limits a line\'s length (413), refuses empty lines and bad keys (400)', async () => {
    server = await startApp({ CHAT_MAX_LINE_LENGTH: '10' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const long = await alice.post('lobby', 'x'.repeat(11));
    expect(long.status).toBe(413);
    expect(await json(long)).toMatchObject({ error: 'line_too_long', limit: 10 });
    expect((await alice.post('lobby', '🎉'.repeat(10))).status).toBe(201); // characters, not UTF-16 units
    expect((await alice.post('lobby', '  \n\t ')).status).toBe(400);
    expect((await alice.post('lobby', 'ok', { key: 'has space' })).status).toBe(400);
    expect((await alice.post('bad.room', 'ok')).status).toBe(400);
    const notJson = await fetch(`${server.base}/chat/lobby/lines`, { method: 'POST', headers: { cookie: alice.cookie, 'content-type': 'application/json', 'x-csrf-token': alice.page.csrf! }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('rate-limits each user (429 with Retry-After), not everyone', async () => {
    server = await startApp({ CHAT_RATE_LINES: '3', CHAT_RATE_WINDOW_MS: '60000' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const bob = await chatSession(server.base, await localSignIn(server.base, 'bob'));
    for (let i = 0; i < 3; i++) expect((await alice.post('lobby', `a${i}`, { key: `a${i}` })).status).toBe(201);
    const limited = await alice.post('lobby', 'a3', { key: 'a3' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect((await json(limited)).error).toBe('rate_limited');
    // A retry of a line already posted is not a new line: it is answered, not limited.
    expect((await alice.post('lobby', 'a0', { key: 'a0' })).status).toBe(200);
    expect((await bob.post('lobby', 'b0')).status).toBe(201);
    const history = await (await fetch(`${server.base}/chat/lobby/history`)).json() as any;
    expect(history.lines.map((l: { text: string }) => l.text)).toEqual(['a0', 'a1', 'a2', 'b0']);
  });

  it('stores and shows a retried post once (same key, same user)', async () => {
    server = await startApp();
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const bob = await chatSession(server.base, await localSignIn(server.base, 'bob'));
    const feed = await follow('lobby');
    const first = await alice.post('lobby', 'once', { key: 'retry-me' });
    const again = await alice.post('lobby', 'once', { key: 'retry-me' });
    const both = await Promise.all([alice.post('lobby', 'once', { key: 'retry-me' }), alice.post('lobby', 'once', { key: 'retry-me' })]);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    const line = (await json(first)).line;
    expect((await json(again)).line).toEqual(line);
    for (const res of both) expect((await json(res)).line).toEqual(line);
    // The same key from another user is another line.
    expect((await bob.post('lobby', 'mine', { key: 'retry-me' })).status).toBe(201);
    await feed.waitFor(() => linesOf(feed).length === 2, 'two lines');
    await new Promise((r) => setTimeout(r, 100));
    expect(linesOf(feed).map((l) => l.text)).toEqual(['once', 'mine']);
    const history = await (await fetch(`${server.base}/chat/lobby/history`)).json() as any;
    expect(history.lines.map((l: { text: string }) => l.text)).toEqual(['once', 'mine']);
  });
});

describe('chat: nothing half-done', () => {
  it('answers 503 and leaves no line when the bus cannot take it', async () => {
    server = await startApp();
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    await server.bus.close();
    const res = await alice.post('lobby', 'lost?', { key: 'k' });
    expect(res.status).toBe(503);
    expect((await json(res)).error).toBe('bus_unavailable');
    expect((await (await fetch(`${server.base}/chat/lobby/history`)).json() as any).lines).toEqual([]);
  });

  it('withdraws a published line whose confirmation failed, and a retry posts it once', async () => {
    server = await startApp();
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const feed = await follow('lobby');
    // The store fails once, between publishing and confirming.
    const confirm = server.store.confirm.bind(server.store);
    let fail = true;
    server.store.confirm = async (id) => {
      if (fail) { fail = false; throw new StoreUnavailableError('injected'); }
      return confirm(id);
    };
    const res = await alice.post('lobby', 'flaky', { key: 'k' });
    expect(res.status).toBe(503);
    expect((await json(res)).error).toBe('store_unavailable');
    await feed.waitFor((items) => items.filter((i) => i.kind === 'message').length === 2, 'the line and its withdrawal');
    const [shown, withdrawn] = feed.messages();
    expect(withdrawn!.data).toEqual({ type: 'delete', id: shown!.data.line.id });
    expect((await (await fetch(`${server.base}/chat/lobby/history`)).json() as any).lines).toEqual([]);
    const retry = await alice.post('lobby', 'flaky', { key: 'k' });
    expect(retry.status).toBe(201);
    const { line } = await json(retry);
    expect(line.id).not.toBe(shown!.data.line.id);
    expect((await (await fetch(`${server.base}/chat/lobby/history`)).json() as any).lines).toEqual([line]);
  });
});

describe('chat: a post left pending by a crash', () => {
  it('is never shown, and the retry with its key replaces it with one fresh line', async () => {
    server = await startApp();
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const stale = { id: server.hub.createMessage('chat.lobby', null).id, room: 'lobby', userId: 'local:alice', nick: 'alice', text: 'half done', time: Date.now(), kind: 'user' as const };
    await server.store.reserve(stale, 'crashed');
    expect((await openPage(server.base, '/')).page.lines).toEqual([]);
    const res = await alice.post('lobby', 'half done', { key: 'crashed' });
    expect(res.status).toBe(201);
    const { line } = await json(res);
    expect(line.id).not.toBe(stale.id);
    expect((await json(await fetch(`${server.base}/chat/lobby/history`))).lines).toEqual([line]);
  });
});

describe('chat: history on join', () => {
  it('embeds the last lines in the page, escaped, and a resume continues after them with no gap and no repeat', async () => {
    server = await startApp({ CHAT_PAGE_LINES: '3', CHAT_RATE_LINES: '100' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const texts = ['one', '<b>two</b> & </script><!--', 'three \u2028 line', 'four'];
    for (const text of texts) expect((await alice.post('lobby', text)).status).toBe(201);
    const { html, page } = await openPage(server.base, '/');
    expect(page.room).toBe('lobby');
    expect(page.lines.map((l) => l.text)).toEqual(texts.slice(1));
    expect(page.since).toBe(page.lines[2]!.id);
    expect(page.olderLines).toBe(true); // a full page: 'one' lies before it
    expect((await openPage(server.base, '/chat/young')).page.olderLines).toBe(false);
    expect(html).toContain('&#60;b&#62;two&#60;/b&#62; &#38; &#60;/script&#62;&#60;!--');
    expect(html).not.toContain('<b>two');
    expect(html.match(/<\/script>/g)!.length).toBe(3); // the data, comet.js, chat.js: no line closes a script
    expect(/id="evchat-data">([^<]*)/.exec(html)![1]).not.toContain('\u2028'); // a line break to old JavaScript
    // Lines posted after the page was made arrive on the resumed subscription, once.
    await alice.post('lobby', 'five');
    const feed = await follow('lobby', { since: page.since });
    await alice.post('lobby', 'six');
    await feed.waitFor(() => linesOf(feed).length === 2, 'five and six');
    await new Promise((r) => setTimeout(r, 100));
    expect(feed.items.some((i) => i.kind === 'control' && i.control === 'gap')).toBe(false);
    expect(linesOf(feed).map((l) => l.text)).toEqual(['five', 'six']);
  });

  it('pages history before and after an id', async () => {
    server = await startApp({ CHAT_RATE_LINES: '100' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await (await alice.post('lobby', `n${i}`)).json() as any).line.id);
    const get = async (q: string) => (await (await fetch(`${server!.base}/chat/lobby/history?${q}`)).json() as any).lines.map((l: { text: string }) => l.text);
    expect(await get('limit=2')).toEqual(['n4', 'n5']);
    expect(await get(`before=${ids[4]}&limit=2`)).toEqual(['n2', 'n3']);
    expect(await get(`after=${ids[1]}&limit=3`)).toEqual(['n2', 'n3', 'n4']);
    expect((await fetch(`${server.base}/chat/lobby/history?before=nope`)).status).toBe(400);
    expect((await fetch(`${server.base}/chat/lobby/history?limit=0`)).status).toBe(400);
  });

  it('keeps history across a restart; a client resuming from before it gets a gap and catches up with ?after=', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'evcomet-restart-'));
    try {
      server = await startApp({ DATA_DIR: dataDir });
      const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
      const { line: before } = await (await alice.post('lobby', 'before the restart')).json() as any;
      const { page } = await openPage(server.base, '/');
      await server.close();
      server = await startApp({ DATA_DIR: dataDir });
      const again = await chatSession(server.base, alice.cookie);
      expect(again.page.user?.nick).toBe('alice'); // the cookie outlives the process
      expect(again.page.lines).toEqual([before]);
      const { line: after } = await (await again.post('lobby', 'after the restart')).json() as any;
      const feed = await follow('lobby', { since: page.since });
      await feed.waitFor((items) => items.some((i) => i.kind === 'control'), 'a gap');
      expect(feed.items[0]).toMatchObject({ kind: 'control', control: 'gap', since: page.since });
      const caught = await (await fetch(`${server.base}/chat/lobby/history?after=${page.since}`)).json() as any;
      expect(caught.lines).toEqual([after]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('chat: the room on every transport', () => {
  it('serves the room\'s events on each transport, resuming after the page\'s id', async () => {
    server = await startApp({ LONGPOLL_HOLD_MS: '200' });
    const alice = await chatSession(server.base, await localSignIn(server.base, 'alice'));
    const { page } = await openPage(server.base, '/');
    const { line } = await json(await alice.post('lobby', '</script><script>alert(1)</script>'));
    for (const transport of ['sse', 'xhr-stream', 'iframe', 'multipart', 'longpoll', 'jsonp', 'chunked'] as const) {
      const controller = new AbortController();
      const query = new URLSearchParams({ transport, since: page.since, ...(transport === 'jsonp' || transport === 'iframe' ? { callback: 'cb' } : {}) });
      const res = await fetch(`${server.base}/chat/lobby/events?${query}`, { signal: controller.signal });
      expect(res.status, transport).toBe(200);
      let text = '';
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      while (!text.includes(line.id)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      controller.abort();
      const parsed = parseItems(transport, transport === 'iframe' ? text.replace(/<script>cb\(/g, '<script>p(') : text);
      const messages = parsed.filter((i) => i.kind === 'message');
      expect(messages, transport).toEqual([{ kind: 'message', id: line.id, data: { type: 'line', line } }]);
    }
  });
});

describe('chat: sign-in form', () => {
  it('gives a nick to one active session at a time', async () => {
    server = await startApp();
    const form = await fetch(`${server.base}/chat/sign-in?room=lobby`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<form class="evchat-sign-in" method="post" action="/chat/sign-in">');
    const first = await localSignIn(server.base, 'Alice');
    await expect(localSignIn(server.base, 'alice')).rejects.toThrow(/409/);
    await expect(localSignIn(server.base, '<script>')).rejects.toThrow(/400/);
    const crossSite = await fetch(`${server.base}/chat/sign-in`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'nick=victim&room=lobby',
    });
    expect(crossSite.status).toBe(403);
    expect(first).toMatch(/^evcomet_session=/);
  });

  it('marks the session cookie Secure when the browser came over HTTPS to a trusted proxy', async () => {
    server = await startApp({ TRUST_PROXY: 'loopback' });
    const cookieOf = async (nick: string, proto?: string) => (await fetch(`${server!.base}/chat/sign-in`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(proto ? { 'x-forwarded-proto': proto } : {}) },
      body: `nick=${nick}&room=lobby`,
    })).headers.get('set-cookie');
    expect(await cookieOf('overTls', 'https')).toMatch(/^evcomet_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    expect(await cookieOf('inClear')).not.toContain('Secure');
  });
});
