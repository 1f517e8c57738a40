// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core (which cannot download a browser here). A test that needs the
// browser fails, loudly, when it is missing.
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (its own storage, like a separate browser profile). */
  context(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // Playwright gives each launch a fresh, temporary profile of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    context: () => browser.newContext(),
    close: () => browser.close(),
  };
}

/** A blank page of the server's own origin that loads comet.js: served by intercepting one URL. */
export function testPage(extraHead = ''): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>test</title><script src="/static/comet.js"></script>${extraHead}</head><body></body></html>`;
}
