// A chat client for tests, over real HTTP: signs in, reads the page's embedded
// data, posts lines with the page's CSRF token, and follows a room's events.
import { parseItems, type Item } from './comet-client.ts';
import type { PageData } from '../../server/chat-page.ts';

export interface ChatSession {
  cookie: string;
  base: string;
  /** The page's embedded data, read when the session began. */
  page: PageData;
  html: string;
  /** POSTs a line; `extra` overrides headers (Origin, token) or adds body fields. */
  post(room: string, text: string, options?: { key?: string; headers?: Record<string, string>; body?: Record<string, unknown> }): Promise<Response>;
  remove(room: string, id: string, headers?: Record<string, string>): Promise<Response>;
}

/** The JSON a chat page embeds for its script. */
export function pageData(html: string): PageData {
  const m = /<script type="application\/json" id="evchat-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error(`no embedded data in the page:\n${html}`);
  return JSON.parse(m[1]!) as PageData;
}

export async function openPage(base: string, path: string, cookie = ''): Promise<{ html: string; page: PageData; response: Response }> {
  const response = await fetch(`${base}${path}`, { headers: cookie ? { cookie } : {} });
  const html = await response.text();
  return { html, page: pageData(html), response };
}

/** A session for `cookie` (forum cookies, or a local session), opened on `room`'s page. */
export async function chatSession(base: string, cookie: string, room = 'lobby'): Promise<ChatSession> {
  const { html, page } = await openPage(base, `/chat/${room}`, cookie);
  const host = new URL(base).host;
  const headersOf = (extra: Record<string, string> = {}) => ({
    'content-type': 'application/json', cookie, origin: `http://${host}`, 'x-csrf-token': page.csrf ?? '', ...extra,
  });
  return {
    cookie, base, page, html,
    post: (r, text, options = {}) => fetch(`${base}/chat/${r}/lines`, {
      method: 'POST',
      headers: headersOf(options.headers),
      body: JSON.stringify({ text, ...(options.key === undefined ? {} : { key: options.key }), ...options.body }),
    }),
    remove: (r, id, headers) => {
      const { 'content-type': _, ...noBody } = headersOf(headers);
      return fetch(`${base}/chat/${r}/lines/${id}`, { method: 'DELETE', headers: noBody });
    },
  };
}

/** Signs in on the embedded store's form; returns the session cookie. */
export async function localSignIn(base: string, nick: string): Promise<string> {
  const res = await fetch(`${base}/chat/sign-in`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ nick, room: 'lobby' }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

export interface RoomFeed {
  items: Item[];
  /** The message data received, in order. */
  messages(): Array<{ id: string | undefined; data: any }>;
  waitFor(check: (items: Item[]) => boolean, what?: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Follows a room's events on the chunked transport (NDJSON), as `cookie`'s user. */
export async function followRoom(base: string, room: string, options: { since?: string; cookie?: string } = {}): Promise<RoomFeed> {
  const controller = new AbortController();
  const query = new URLSearchParams({ transport: 'chunked', ...(options.since ? { since: options.since } : {}) });
  const res = await fetch(`${base}/chat/${room}/events?${query}`, { signal: controller.signal, headers: options.cookie ? { cookie: options.cookie } : {} });
  if (res.status !== 200) throw new Error(`subscribe failed: ${res.status} ${await res.text()}`);
  const items: Item[] = [];
  let text = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        const end = text.lastIndexOf('\n');
        if (end < 0) continue;
        items.push(...parseItems('chunked', text.slice(0, end + 1)).filter((i) => !(i.kind === 'control' && i.control === 'heartbeat')));
        text = text.slice(end + 1);
      }
    } catch {
      // aborted
    }
  })();
  return {
    items,
    messages: () => items.filter((i) => i.kind === 'message').map((i) => ({ id: (i as { id?: string }).id, data: (i as { data: unknown }).data as any })),
    async waitFor(check, what = 'items', timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(items)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(items)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => controller.abort(),
  };
}
