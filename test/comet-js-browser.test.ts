// static/comet.js in headless Chromium against the real server: every transport
// the browser can run, forced, across server-side closes (a small byte limit)
// and a server restart, with nothing lost or repeated; tabs sharing one
// connection; and falling back when a transport fails or is buffered.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { launchBrowser, testPage, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/raw-http.ts';

let browser: TestBrowser;
let server: AppServer;
const env = { STREAM_BYTE_LIMIT: '4096', HEARTBEAT_MS: '1000', LONGPOLL_HOLD_MS: '2000' };

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startApp(env)]);
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openPage(context?: Awaited<ReturnType<TestBrowser['context']>>): Promise<Page> {
  const page = await (context ?? (await browser.context())).newPage();
  await page.route(`${server.base}/__test`, (route) => route.fulfill({ contentType: 'text/html', body: testPage() }));
  await page.goto(`${server.base}/__test`);
  return page;
}

/** Connects in the page; messages, gaps and states collect in window.got, .gaps, .states. */
async function connect(page: Page, channel: string, options: Record<string, unknown>): Promise<void> {
  await page.evaluate(({ channel, options }) => {
    const w = globalThis as unknown as Record<string, unknown> & { evcomet: { connect(u: string, o: unknown): unknown } };
    w.got = [];
    w.gaps = [];
    w.states = [];
    w.handle = w.evcomet.connect(`/comet/${channel}`, {
      ...options,
      onMessage: (data: unknown, id: string) => (w.got as unknown[]).push({ data, id }),
      onGap: (info: unknown) => (w.gaps as unknown[]).push(info),
      onStatus: (state: string) => (w.states as unknown[]).push(state),
    });
  }, { channel, options });
}

/** A fresh context whose tabs elect their leader with Web Locks, or (hidden from the pages) with the localStorage lease. */
async function sharingContext(election: 'web-locks' | 'lease') {
  const context = await browser.context();
  if (election === 'lease') {
    await context.addInitScript(() => {
      delete (Object.getPrototypeOf((globalThis as unknown as { navigator: object }).navigator) as { locks?: unknown }).locks;
    });
  }
  return context;
}

const got = (page: Page) => page.evaluate(() => (globalThis as unknown as { got: Array<{ data: { n: number }; id: string }> }).got);

async function publishMany(channel: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < to; n++) ids.push(await server.publish(channel, { n, pad: 'x'.repeat(300) }));
  return ids;
}

async function waitForCount(page: Page, count: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await got(page)).length < count) {
    if (Date.now() > until) throw new Error(`timed out: ${(await got(page)).length} of ${count}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** waitFor, for a check that asks the pages. */
async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const subscribersOf = (channel: string) => server.hub.stats().byChannel.find((c) => c.channel === channel)?.subscribers ?? 0;
const transportOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { handle: { transport(): string } }).handle.transport());
const closeHandle = (page: Page) => page.evaluate(() => (globalThis as unknown as { handle: { close(): void } }).handle.close());

interface WelcomeHold { welcomes: Array<() => void>; BroadcastChannel: { prototype: { postMessage(m: unknown): void } } }

/** Fault injection in a leading tab: the welcomes it sends to joining tabs wait until releaseWelcomes. */
async function holdWelcomes(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as WelcomeHold;
    const post = w.BroadcastChannel.prototype.postMessage;
    w.welcomes = [];
    w.BroadcastChannel.prototype.postMessage = function (this: unknown, m: unknown) {
      if ((m as { type?: string } | null)?.type === 'welcome') w.welcomes.push(() => post.call(this, m));
      else post.call(this, m);
    };
  });
}

/** A tab leading on `channel` (Web Locks) that has passed on `count` messages and holds back its welcomes from now on. */
async function leaderHoldingWelcomes(channel: string, count: number) {
  const context = await sharingContext('web-locks');
  const leader = await openPage(context);
  await connect(leader, channel, {});
  await waitForAsync(async () => (await transportOf(leader)) === 'leader', 5000, 'the leader');
  await waitFor(() => subscribersOf(channel) === 1, 10_000, 'the connection');
  const ids = await publishMany(channel, 0, count);
  await waitForCount(leader, count);
  await holdWelcomes(leader);
  return { context, leader, ids };
}

const heldWelcomes = (page: Page) => page.evaluate(() => (globalThis as unknown as WelcomeHold).welcomes.length);
const releaseWelcomes = (page: Page) => page.evaluate(() => { for (const send of (globalThis as unknown as WelcomeHold).welcomes.splice(0)) send(); });

describe('comet.js in Chromium', () => {
  for (const transport of ['sse', 'xhr-stream', 'iframe', 'longpoll', 'jsonp']) {
    it(`${transport}: every message once, in order, across server-side closes and a server restart`, async () => {
      const channel = `t-${transport}`;
      const page = await openPage();
      await connect(page, channel, { transport });
      await waitFor(() => server.hub.stats().byChannel.some((c) => c.channel === channel && c.subscribers === 1), 10_000, 'the subscription');
      // 300-byte messages against a 4 KiB limit: the server ends each stream every dozen messages.
      const ids = await publishMany(channel, 0, 30);
      await waitForCount(page, 30);

      // A restart on the same port: the client reconnects and resumes.
      const { port } = server;
      await server.close();
      server = await startApp(env, port);
      await waitFor(() => server.hub.stats().byChannel.some((c) => c.channel === channel && c.subscribers === 1), 20_000, 'the client to come back');
      ids.push(...await publishMany(channel, 30, 35));
      await waitForCount(page, 35);
      await new Promise((r) => setTimeout(r, 300)); // a repeat would arrive by now

      const received = await got(page);
      expect(received.map((m) => m.data.n)).toEqual(Array.from({ length: 35 }, (_, n) => n));
      expect(received.map((m) => m.id)).toEqual(ids);
      const gaps = await page.evaluate(() => (globalThis as unknown as { gaps: unknown[] }).gaps);
      expect(gaps).toEqual([expect.objectContaining({ reason: 'unknown' })]); // the new process has no history
      await page.context().close();
    }, 60_000);
  }

  // Tabs elect their leader with Web Locks where the browser has them, else with
  // a lease in localStorage: both paths, the second by hiding navigator.locks.
  const elections = ['web-locks', 'lease'] as const;
  for (const election of elections) {
    it(`${election}: tabs of one browser share one connection, and another tab takes over when the leader closes`, async () => {
      const context = await sharingContext(election);
      const channel = `tabs-${election}`;
      const pages = [await openPage(context), await openPage(context), await openPage(context)];
      expect(await pages[0]!.evaluate(() => 'locks' in (globalThis as unknown as { navigator: object }).navigator)).toBe(election === 'web-locks');
      for (const page of pages) await connect(page, channel, {});
      await waitFor(() => server.hub.stats().byChannel.some((c) => c.channel === channel && c.subscribers === 1), 10_000, 'one connection');
      await new Promise((r) => setTimeout(r, 1000));
      expect(server.hub.stats().byChannel.find((c) => c.channel === channel)!.subscribers).toBe(1);

      await publishMany(channel, 0, 3);
      for (const page of pages) await waitForCount(page, 3);
      const leader: string[] = [];
      for (const page of pages) leader.push(await transportOf(page));
      expect(leader.filter((t) => t === 'leader')).toHaveLength(1);

      // A tab that joins later without an id starts from now, as a direct connection would.
      const late = await openPage(context);
      await connect(late, channel, {});
      await new Promise((r) => setTimeout(r, 500));
      expect(await got(late)).toEqual([]);

      await pages[leader.indexOf('leader')]!.close();
      const rest = pages.filter((_, i) => i !== leader.indexOf('leader'));
      await waitFor(() => server.hub.stats().byChannel.some((c) => c.channel === channel && c.subscribers === 1), 10_000, 'a new leader');
      await publishMany(channel, 3, 6);
      for (const page of rest) {
        await waitForCount(page, 6);
        expect((await got(page)).map((m) => m.data.n)).toEqual([0, 1, 2, 3, 4, 5]);
      }
      await waitForCount(late, 3);
      expect((await got(late)).map((m) => m.data.n)).toEqual([3, 4, 5]);
      await context.close();
    }, 40_000);
  }

  it('web-locks: a leader whose lease is tampered with keeps the lead: one connection, nothing lost or repeated', async () => {
    const context = await sharingContext('web-locks');
    const pages = [await openPage(context), await openPage(context), await openPage(context)];
    for (const page of pages) await connect(page, 'locks', {});
    const subscribers = () => subscribersOf('locks');
    await waitFor(() => subscribers() === 1, 10_000, 'one connection');
    const transports = () => Promise.all(pages.map(transportOf));
    const before = await transports();
    expect(before.filter((t) => t === 'leader')).toHaveLength(1);

    // What a leader hidden for minutes (timers throttled) would leave behind: a
    // lease that has run out, or one another tab seems to hold. A lease-elected
    // group would change leaders here; the lock holder keeps the lead.
    const key = `evcomet:/comet/locks.lease`;
    const seen = new Set<number>();
    const sampler = setInterval(() => seen.add(subscribers()), 20);
    let n = 0;
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      await pages[n % 3]!.evaluate(({ key, n }) => {
        const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void; removeItem(k: string): void } }).localStorage;
        if (n % 2) storage.removeItem(key);
        else storage.setItem(key, JSON.stringify({ by: 'a tab long gone', until: 0 }));
      }, { key, n });
      await publishMany('locks', n, n + 1);
      n++;
      await new Promise((r) => setTimeout(r, 250));
    }
    clearInterval(sampler);
    // Never a second connection (none when the leader reconnects after the byte limit), and the same leader.
    expect(Math.max(...seen)).toBe(1);
    expect(await transports()).toEqual(before);
    await waitFor(() => subscribers() === 1, 5000, 'one connection');
    for (const page of pages) {
      await waitForCount(page, n);
      await new Promise((r) => setTimeout(r, 200)); // a repeat would arrive by now
      expect((await got(page)).map((m) => m.data.n)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    await context.close();
  }, 40_000);

  it('web-locks: close() lets go of the lock, held or still asked for, and the lead passes on with the pages still open', async () => {
    const context = await sharingContext('web-locks');
    const pages = [await openPage(context), await openPage(context), await openPage(context)];
    for (const page of pages) await connect(page, 'unlock', {});
    const subscribers = () => subscribersOf('unlock');
    await waitFor(() => subscribers() === 1, 10_000, 'one connection');
    const lockState = () => pages[0]!.evaluate(async () => {
      const { locks } = (globalThis as unknown as { navigator: { locks: { query(): Promise<{ held: unknown[]; pending: unknown[] }> } } }).navigator;
      const { held, pending } = await locks.query();
      return { held: held.length, pending: pending.length };
    });
    // Each page's request reaches the browser's lock manager in its own time.
    await waitForAsync(async () => (await lockState()).pending === 2, 5000, 'both followers to ask for the lock');
    expect(await lockState()).toEqual({ held: 1, pending: 2 });
    const leader = pages[(await Promise.all(pages.map(transportOf))).indexOf('leader')]!;
    const [follower, other] = pages.filter((page) => page !== leader) as [Page, Page];

    await closeHandle(follower); // its request, still waiting, is withdrawn
    await waitForAsync(async () => (await lockState()).pending === 1, 5000, 'the request to be withdrawn');
    await closeHandle(leader); // the lock it holds goes to the one tab still asking
    await waitForAsync(async () => (await transportOf(other)) === 'leader', 5000, 'a new leader');
    expect(await lockState()).toEqual({ held: 1, pending: 0 });
    await waitFor(() => subscribers() === 1, 5000, 'one connection');
    await publishMany('unlock', 0, 2);
    await waitForCount(other, 2);
    await new Promise((r) => setTimeout(r, 300)); // nothing reaches the closed tabs
    expect((await got(leader)).length + (await got(follower)).length).toBe(0);
    await context.close();
  }, 30_000);

  // A tab that joins with an id gets the backlog after it before any live
  // message, whether the leader's welcome carries it or the server must.
  // The leader's welcome is held back so that live messages reach the joiner first.
  for (const ringReaches of [true, false]) {
    it(`a tab joining with an id while messages flow gets the backlog first, then the live ones (${ringReaches ? 'from the leader\'s ring' : 'from the server'})`, async () => {
      const context = await sharingContext('web-locks');
      const channel = `join-${ringReaches ? 'ring' : 'server'}`;
      const leader = await openPage(context);
      let ids: string[] = [];
      // Published before the leader connects, the backlog is not in its ring: the joiner must ask the server.
      if (!ringReaches) ids = await publishMany(channel, 0, 5);
      await connect(leader, channel, {});
      await waitForAsync(async () => (await transportOf(leader)) === 'leader', 5000, 'the leader');
      await waitFor(() => subscribersOf(channel) === 1, 10_000, 'the connection');
      if (ringReaches) ids = await publishMany(channel, 0, 5);
      await waitForCount(leader, ringReaches ? 5 : 0);
      await holdWelcomes(leader);

      const joiner = await openPage(context);
      await connect(joiner, channel, { since: ids[1] });
      await waitForAsync(async () => (await heldWelcomes(leader)) === 1, 5000, 'the joiner\'s hello');
      await publishMany(channel, 5, 7);
      await waitForCount(leader, ringReaches ? 7 : 2);
      await new Promise((r) => setTimeout(r, 300)); // the live messages reach the joiner
      await releaseWelcomes(leader);
      await waitForCount(joiner, 5);
      await new Promise((r) => setTimeout(r, 300)); // a repeat would arrive by now
      expect((await got(joiner)).map((m) => m.data.n)).toEqual([2, 3, 4, 5, 6]);
      await context.close();
    }, 30_000);
  }

  it('a leader whose ring was trimmed past a joiner\'s id sends it to the server for what was trimmed', async () => {
    const context = await sharingContext('web-locks');
    const leader = await openPage(context);
    const first = await server.publish('trimmed', { n: 0 });
    // The leader resumes from the first id: its ring would cover everything after it, were it not trimmed at 300.
    await connect(leader, 'trimmed', { since: first });
    await waitFor(() => subscribersOf('trimmed') === 1, 10_000, 'the connection');
    const ids = [first];
    for (let n = 1; n <= 320; n++) ids.push(await server.publish('trimmed', { n }));
    await waitForCount(leader, 320);

    const joiner = await openPage(context);
    await connect(joiner, 'trimmed', { since: ids[3] });
    await waitForCount(joiner, 317);
    await new Promise((r) => setTimeout(r, 300));
    expect((await got(joiner)).map((m) => m.data.n)).toEqual(Array.from({ length: 317 }, (_, i) => i + 4));
    await context.close();
  }, 40_000);

  it('a leader whose own resume met a gap does not vouch for it: a joiner from before the gap hears of it', async () => {
    const context = await sharingContext('web-locks');
    const leader = await openPage(context);
    const lost = `${(Date.now() - 3600_000).toString(36)}-0abc`; // an hour old: before this server's buffer
    await connect(leader, 'gapped', { since: lost });
    await waitFor(() => subscribersOf('gapped') === 1, 10_000, 'the connection');
    await publishMany('gapped', 0, 2);
    await waitForCount(leader, 2);
    expect(await leader.evaluate(() => (globalThis as unknown as { gaps: unknown[] }).gaps.length)).toBe(1);

    const joiner = await openPage(context);
    await connect(joiner, 'gapped', { since: lost });
    await waitForCount(joiner, 2);
    expect(await joiner.evaluate(() => (globalThis as unknown as { gaps: Array<{ since: string }> }).gaps)).toMatchObject([{ since: lost }]);
    expect((await got(joiner)).map((m) => m.data.n)).toEqual([0, 1]);
    await context.close();
  }, 30_000);

  it('a joiner whose welcome never comes catches up from the server after welcomeTimeout', async () => {
    const { context, leader, ids } = await leaderHoldingWelcomes('unwelcome', 5); // and never lets them go

    const joiner = await openPage(context);
    await connect(joiner, 'unwelcome', { since: ids[1], welcomeTimeout: 500 });
    await waitForAsync(async () => (await heldWelcomes(leader)) === 1, 5000, 'the joiner\'s hello');
    await publishMany('unwelcome', 5, 7);
    await waitForCount(joiner, 5);
    await publishMany('unwelcome', 7, 8);
    await waitForCount(joiner, 6);
    await new Promise((r) => setTimeout(r, 300));
    expect((await got(joiner)).map((m) => m.data.n)).toEqual([2, 3, 4, 5, 6, 7]);
    await context.close();
  }, 30_000);

  it('a joiner whose leader goes before welcoming it leads, resuming from its own id', async () => {
    const { context, leader, ids } = await leaderHoldingWelcomes('orphan', 5);

    const joiner = await openPage(context);
    // Long enough that taking the lead, not the timeout, is what catches it up.
    await connect(joiner, 'orphan', { since: ids[1], welcomeTimeout: 60_000 });
    await waitForAsync(async () => (await heldWelcomes(leader)) === 1, 5000, 'the joiner\'s hello');
    await publishMany('orphan', 5, 7);
    await waitForCount(leader, 7);
    await new Promise((r) => setTimeout(r, 300)); // the live messages reach the joiner
    await leader.close();
    await waitForAsync(async () => (await transportOf(joiner)) === 'leader', 5000, 'the joiner to lead');
    await waitForCount(joiner, 5);
    await new Promise((r) => setTimeout(r, 300));
    expect((await got(joiner)).map((m) => m.data.n)).toEqual([2, 3, 4, 5, 6]);
    await context.close();
  }, 30_000);

  it('close() while a joiner catches up leaves nothing behind: no timer fires, no request stays open', async () => {
    const { context, leader, ids } = await leaderHoldingWelcomes('quit', 2);

    const joiner = await openPage(context);
    const polls: string[] = [];
    joiner.on('request', (request) => { if (request.url().includes('/comet/quit?')) polls.push(request.url()); });
    // Closed while it waits for its welcome: the timeout must not fire after.
    await connect(joiner, 'quit', { since: ids[1], welcomeTimeout: 300 });
    await closeHandle(joiner);
    await new Promise((r) => setTimeout(r, 800));
    expect(polls).toEqual([]);

    // Closed while its long-poll to the server is held: the poll goes.
    await connect(joiner, 'quit', { since: ids[1], welcomeTimeout: 300 });
    await waitFor(() => polls.length === 1, 5000, 'the catch-up poll');
    await waitFor(() => subscribersOf('quit') === 2, 5000, 'the poll to be held');
    await closeHandle(joiner);
    await waitFor(() => subscribersOf('quit') === 1, 5000, 'the poll to end');
    await publishMany('quit', 2, 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(polls).toHaveLength(1);
    expect(await got(joiner)).toEqual([]);
    await context.close();
  }, 30_000);

  it('falls back when a transport fails (SSE answered 503) or is buffered (no bytes from xhr-stream)', async () => {
    const page = await openPage();
    await page.route(/\/comet\/fallback\?transport=sse/, (route) => route.fulfill({ status: 503, body: '{}' }));
    await page.route(/\/comet\/fallback\?transport=xhr-stream/, () => { /* held: a proxy that buffers everything */ });
    await connect(page, 'fallback', { share: false, aliveTimeout: 1500 });
    await waitFor(() => server.hub.stats().byChannel.some((c) => c.channel === 'fallback' && c.subscribers === 1), 15_000, 'the long-poll');
    await publishMany('fallback', 0, 3);
    await waitForCount(page, 3);
    expect(await transportOf(page)).toBe('longpoll');
    await page.context().close();
  }, 30_000);

  it('the clock and agentpush pages show live data through comet.js, text as text', async () => {
    const clock = await (await browser.context()).newPage();
    await clock.goto(`${server.base}/examples/clock/page`);
    await clock.waitForFunction(() => /\d/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('time').textContent), undefined, { timeout: 10_000 });

    const watcher = await (await browser.context()).newPage();
    await watcher.goto(`${server.base}/examples/agentpush/`);
    await watcher.waitForFunction(() => /connected/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('state').textContent), undefined, { timeout: 10_000 });
    const visitor = await browser.browser.newContext({ userAgent: 'Visitor/1.0 <img src=x onerror=alert(1)>' });
    const visit = await visitor.newPage();
    await visit.goto(`${server.base}/examples/agentpush/`);
    const row = watcher.locator('#views tr', { hasText: 'Visitor/1.0' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td').nth(1).textContent()).toBe('Visitor/1.0 <img src=x onerror=alert(1)>');
    expect(await watcher.locator('#views img').count()).toBe(0);
    await Promise.all([clock.context().close(), watcher.context().close(), visitor.close()]);
  }, 40_000);

  it('lets go when the page is hidden, and a page restored from the back/forward cache resumes with nothing lost', async () => {
    const page = await openPage();
    await connect(page, 'bfcache', {});
    const subscribers = () => subscribersOf('bfcache');
    await waitFor(() => subscribers() === 1, 10_000, 'the connection');
    await publishMany('bfcache', 0, 2);
    await waitForCount(page, 2);

    const transition = (type: string) => page.evaluate((type) => {
      const w = globalThis as unknown as { dispatchEvent(e: unknown): void; PageTransitionEvent: new (t: string, i: object) => unknown };
      w.dispatchEvent(new w.PageTransitionEvent(type, { persisted: true }));
    }, type);
    await transition('pagehide');
    await waitFor(() => subscribers() === 0, 5000, 'the connection to close');
    await publishMany('bfcache', 2, 4); // while the page sleeps in the cache
    await transition('pageshow');
    await waitForCount(page, 4);
    await publishMany('bfcache', 4, 5);
    await waitForCount(page, 5);
    expect((await got(page)).map((m) => m.data.n)).toEqual([0, 1, 2, 3, 4]);
    await page.context().close();
  }, 30_000);
});
