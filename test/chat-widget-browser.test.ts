// The chat widget (static/chat.js over comet.js) in headless Chromium, on the
// embedded store: two people sign in through the form in two browser contexts
// and chat; hostile text shows as text and runs nothing; the page shows its
// history before any request of its own has completed; a restart loses nothing;
// "Older lines" reads further back, each line once, in order, escaped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { localSignIn, chatSession } from './helpers/chat-client.ts';

let browser: TestBrowser;
let server: AppServer;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startApp()]);
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signedIn(nick: string, room: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.context();
  const page = await context.newPage();
  await page.goto(`${server.base}/chat/sign-in?room=${room}`);
  await page.fill('#nick', nick);
  await Promise.all([page.waitForURL(`**/chat/${room}`), page.click('button[type=submit]')]);
  await page.locator('.evchat-status.evchat-connected').waitFor({ timeout: 10_000 });
  return { context, page };
}

const lineTexts = (page: Page) => page.locator('.evchat-log .evchat-text').allTextContents();

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#evchat-text', text);
  await page.keyboard.press('Enter');
}

describe('the chat widget in Chromium', () => {
  it('lets two people chat; hostile text is shown as text and runs nothing', async () => {
    const alice = await signedIn('alice', 'widget');
    const bob = await signedIn('bob', 'widget');
    const alerts: string[] = [];
    for (const { page } of [alice, bob]) page.on('dialog', (d) => { alerts.push(d.message()); void d.dismiss(); });

    await say(alice.page, 'hi bob');
    await bob.page.locator('.evchat-text', { hasText: 'hi bob' }).waitFor({ timeout: 5000 });
    const hostile = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', 'a\u2028b <!-- x'];
    for (const text of hostile) await say(bob.page, text);
    for (const { page } of [alice, bob]) {
      await page.locator('.evchat-text', { hasText: '<!-- x' }).waitFor({ timeout: 5000 });
      expect(await lineTexts(page)).toEqual(['hi bob', ...hostile]);
      expect(await page.locator('.evchat-log img, .evchat-log script').count()).toBe(0);
    }
    // Who is in the room: each person once, with the nick the server gave them.
    await alice.page.locator('.evchat-who li', { hasText: 'bob' }).waitFor({ timeout: 5000 });
    expect((await alice.page.locator('.evchat-who li').allTextContents()).sort()).toEqual(['alice', 'bob']);

    // A later page shows the same lines from its embedded history, escaped the same way.
    const later = await (await browser.context()).newPage();
    await later.goto(`${server.base}/chat/widget`);
    expect(await lineTexts(later)).toEqual(['hi bob', ...hostile]);
    expect(alerts).toEqual([]);
    await Promise.all([alice.context.close(), bob.context.close(), later.context().close()]);
  }, 40_000);

  it('shows the embedded history before any request of its own completes', async () => {
    const cookie = await localSignIn(server.base, 'carol');
    const session = await chatSession(server.base, cookie, 'early');
    for (const text of ['one', 'two', 'three']) expect((await session.post('early', text)).status).toBe(201);

    const page = await (await browser.context()).newPage();
    // Every request the page makes after its HTML is held: no script, no stylesheet, no subscription answers.
    await page.route((url) => url.pathname !== '/chat/early', () => { /* held */ });
    await page.goto(`${server.base}/chat/early`, { waitUntil: 'commit' });
    await page.locator('.evchat-log li').nth(2).waitFor({ state: 'attached', timeout: 5000 });
    expect(await lineTexts(page)).toEqual(['one', 'two', 'three']);
    await page.context().close();
  }, 20_000);

  it('keeps working across a server restart: the session holds, lines posted after it arrive once', async () => {
    // A server of this test's own, on a data directory that outlives it.
    const dataDir = mkdtempSync(join(tmpdir(), 'evcomet-widget-'));
    const shared = server;
    server = await startApp({ DATA_DIR: dataDir });
    try {
      const dora = await signedIn('dora', 'restart');
      await say(dora.page, 'before');
      await dora.page.locator('.evchat-text', { hasText: 'before' }).waitFor({ timeout: 5000 });

      const { port } = server;
      await server.close();
      server = await startApp({ DATA_DIR: dataDir }, port);
      await dora.page.locator('.evchat-status.evchat-connected').waitFor({ timeout: 15_000 });
      await say(dora.page, 'after');
      await dora.page.locator('.evchat-text', { hasText: 'after' }).waitFor({ timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 300)); // a repeat would show by now
      expect(await lineTexts(dora.page)).toEqual(['before', 'after']);
      await dora.context.close();
    } finally {
      await server.close();
      server = shared;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('"Older lines" in Chromium', () => {
  // A server of its own that lets one person post a long history at once.
  let history: AppServer;
  beforeAll(async () => { history = await startApp({ CHAT_RATE_LINES: '1000' }); });
  afterAll(async () => { await history?.close(); });

  async function postAll(room: string, texts: string[]): Promise<void> {
    const session = await chatSession(history.base, await localSignIn(history.base, `poster-${room}`), room);
    for (const text of texts) expect((await session.post(room, text)).status).toBe(201);
  }

  async function openRoom(room: string): Promise<Page> {
    const page = await (await browser.context()).newPage();
    await page.goto(`${history.base}/chat/${room}`);
    await page.locator('.evchat-status.evchat-connected').waitFor({ timeout: 10_000 });
    return page;
  }

  const older = (page: Page) => page.locator('.evchat-older > button');
  const lineIds = (page: Page) => page.locator('.evchat-log [data-id]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id')));

  it('loads the lines before the page\'s 30, in order, once, keeping the reader\'s place; then says there are none older', async () => {
    const texts = Array.from({ length: 45 }, (_, n) => `line ${n + 1}`);
    await postAll('long', texts);
    const page = await openRoom('long');
    await page.setViewportSize({ width: 500, height: 300 });
    expect(await lineTexts(page)).toEqual(texts.slice(15));

    // The reader scrolls to the top; the line they see first stays where it is.
    await page.locator('.evchat-log').evaluate((log) => { log.scrollTop = 0; });
    const line16 = page.locator('.evchat-text', { hasText: /^line 16$/ });
    const topBefore = (await line16.boundingBox())!.y;
    await older(page).focus();
    await page.keyboard.press('Enter');
    await older(page).filter({ hasText: 'No older lines' }).waitFor({ timeout: 5000 });

    expect(await lineTexts(page)).toEqual(texts);
    const ids = await lineIds(page);
    expect(new Set(ids).size).toBe(45);
    expect(Math.abs((await line16.boundingBox())!.y - topBefore)).toBeLessThanOrEqual(1);
    expect(await older(page).isDisabled()).toBe(true);
    // The loaded lines sit outside the log's live announcements.
    expect(await page.locator('.evchat-older').getAttribute('aria-live')).toBe('off');
    expect(await page.locator('.evchat-older .evchat-text').allTextContents()).toEqual(texts.slice(0, 15));
    // The focus went to the log, not to nowhere.
    expect(await page.locator('.evchat-log:focus').count()).toBe(1);
    await page.context().close();
  }, 30_000);

  it('shows a hostile older line as text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const filler = Array.from({ length: 30 }, (_, n) => `filler ${n + 1}`);
    await postAll('hostile', [hostile, ...filler]);
    const page = await openRoom('hostile');
    const alerts: string[] = [];
    page.on('dialog', (d) => { alerts.push(d.message()); void d.dismiss(); });
    expect(await lineTexts(page)).toEqual(filler);

    await older(page).click();
    await older(page).filter({ hasText: 'No older lines' }).waitFor({ timeout: 5000 });
    expect(await lineTexts(page)).toEqual([hostile, ...filler]);
    expect(await page.locator('.evchat-log img').count()).toBe(0);
    expect(alerts).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('offers no older lines in a room whose whole history is on the page', async () => {
    await postAll('young', ['first', 'second']);
    const page = await openRoom('young');
    expect(await lineTexts(page)).toEqual(['first', 'second']);
    expect(await older(page).isVisible()).toBe(false);
    await page.context().close();
  }, 30_000);

  it('keeps the page\'s "history is unavailable" notice, and offers to look further back', async () => {
    // The page as a server whose store is down makes it (test/chat-mysql.test.ts checks that server side).
    const page = await (await browser.context()).newPage();
    await page.route('**/chat/outage', async (route) => {
      const html = await (await route.fetch()).text();
      const asIfDown = html.replace('"historyError":false', '"historyError":true').replace('"olderLines":false', '"olderLines":true');
      await route.fulfill({ contentType: 'text/html', body: asIfDown });
    });
    await page.goto(`${history.base}/chat/outage`);
    await page.locator('.evchat-status.evchat-connected').waitFor({ timeout: 10_000 });
    expect(await page.locator('.evchat-log .evchat-event').allTextContents()).toEqual(['History is unavailable right now.']);
    expect(await older(page).isVisible()).toBe(true);
    await page.context().close();
  }, 30_000);

  it('says so when the history cannot be fetched, and fetches it when asked again', async () => {
    const texts = Array.from({ length: 35 }, (_, n) => `again ${n + 1}`);
    await postAll('flaky', texts);
    const page = await openRoom('flaky');
    await page.route('**/chat/flaky/history?*', (route) => route.abort());
    await older(page).click();
    await older(page).filter({ hasText: 'try again' }).waitFor({ timeout: 5000 });
    expect(await older(page).isEnabled()).toBe(true);
    expect(await lineTexts(page)).toEqual(texts.slice(5));

    await page.unroute('**/chat/flaky/history?*');
    await older(page).click();
    await older(page).filter({ hasText: 'No older lines' }).waitFor({ timeout: 5000 });
    expect(await lineTexts(page)).toEqual(texts);
    await page.context().close();
  }, 30_000);
});
