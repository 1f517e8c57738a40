// The chat's endpoints (docs/chat.md):
//   GET    /  and  /chat/<room>          the widget page, history already in it
//   GET    /chat/<room>/events            the room's Comet subscription (any transport); tracks presence
//   POST   /chat/<room>/lines             post a line: JSON { text, key }
//   GET    /chat/<room>/history           ?before=<id> | ?after=<id>, &limit=
//   GET    /chat/<room>/who               the room's users
//   DELETE /chat/<room>/lines/<id>        moderators: delete a line
//   GET    /chat/sign-in, POST            the embedded store's local sign-in
import { randomUUID } from 'node:crypto';
import type { AddressLimiter } from './address-limiter.ts';
import type { ChatLines } from './chat-lines.ts';
import { renderChatPage, renderSignInPage } from './chat-page.ts';
import type { CometContext } from './comet-stream.ts';
import { channelFeed } from './channel-feed.ts';
import { cometView } from './comet-view.ts';
import { roomPattern, type ChatSettings } from './config.ts';
import { parseCookies } from './cookies.ts';
import { checkCsrf, checkOrigin, csrfToken } from './csrf.ts';
import { httpError } from './errors.ts';
import type { FileStore } from './file-store.ts';
import type { Hub, Message } from './hub.ts';
import { LOCAL_SESSION_COOKIE, nickPattern } from './local-sign-in.ts';
import { formatMessageId, parseMessageId, sortableMessageId } from './message-id.ts';
import { intParam } from './params.ts';
import type { Presence } from './presence.ts';
import { StoreUnavailableError, type Line, type Store, type User } from './store.ts';
import { path } from './urls.ts';
import { respond, type ViewRequest } from './views.ts';

/** What the chat views are made of; server/app.ts assembles it. */
export interface ChatUrlsOptions {
  hub: Hub;
  store: Store;
  lines: ChatLines;
  presence: Presence;
  comet: CometContext;
  limiter: AddressLimiter;
  settings: ChatSettings;
  /** The store's shared secret (CSRF tokens). */
  secret: string;
}

const MAX_HISTORY = 200;
const keyPattern = /^[\x21-\x7e]{1,128}$/;
// Control characters other than tab and newline never belong in a line.
const controls = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** The chat's URL table (listed above), to mount at the root. */
export function chatUrls({ hub, store, lines, presence, comet, limiter, settings, secret }: ChatUrlsOptions) {
  const local = 'local' in store ? (store as FileStore).local : null;

  function roomOf(req: ViewRequest): string {
    const room = req.params.room as string;
    if (!roomPattern.test(room)) throw httpError('bad_room');
    return room;
  }

  /** The signed-in user, or null; a store outage reads as nobody. */
  async function userOf(req: ViewRequest): Promise<User | null> {
    try {
      return await store.identify(parseCookies(req.headers.cookie));
    } catch (err) {
      if (err instanceof StoreUnavailableError) return null;
      throw err;
    }
  }

  async function signedIn(req: ViewRequest): Promise<User> {
    let user: User | null;
    try {
      user = await store.identify(parseCookies(req.headers.cookie));
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw httpError('store_unavailable', err.message);
      throw err;
    }
    if (!user) throw httpError('not_signed_in');
    checkCsrf(req.headers, secret, user.sessionId, settings.allowedOrigins);
    return user;
  }

  async function page(req: ViewRequest) {
    const room = req.params.room === undefined ? settings.defaultRoom : roomOf(req);
    const user = await userOf(req);
    let recent: Line[] = [];
    let historyError = false;
    try {
      recent = await store.history(room, { limit: settings.pageLines });
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      historyError = true;
    }
    recent = withBuffered(recent, hub.recent(`chat.${room}`), settings.pageLines);
    // With no line to resume after, resume from a moment ago: anything
    // published after the history was read is newer than that.
    const since = recent.at(-1)?.id ?? formatMessageId({ ms: Date.now() - 1000, seq: 0, origin: '000' });
    const html = renderChatPage({
      room, lines: recent, since, who: presence.who(room), historyError,
      olderLines: historyError || recent.length >= settings.pageLines,
      user: user && { id: user.id, nick: user.nick, moderator: user.moderator },
      csrf: user && csrfToken(secret, user.sessionId),
      maxLength: settings.maxLineLength,
      signIn: local ? `/chat/sign-in?room=${encodeURIComponent(room)}` : null,
    });
    return respond(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } });
  }

  const events = cometView(async (req) => {
    const room = roomOf(req);
    const user = await userOf(req);
    let leave: (() => void) | undefined;
    const feed = channelFeed(req, hub, limiter, `chat.${room}`, () => leave?.());
    // In the room only once the subscription holds (the address limit may refuse it).
    if (user) leave = presence.enter(room, user);
    return feed;
  }, comet);

  async function post(req: ViewRequest) {
    const room = roomOf(req);
    const user = await signedIn(req);
    const body = req.body as { text?: unknown; key?: unknown } | null;
    if (!body || typeof body !== 'object' || typeof body.text !== 'string') throw httpError('bad_line');
    const text = body.text.replace(/\r\n?/g, '\n').replace(controls, '').trim();
    if (text === '') throw httpError('bad_line');
    if ([...text].length > settings.maxLineLength) throw httpError('line_too_long', `A line has at most ${settings.maxLineLength} characters.`, { limit: settings.maxLineLength });
    if (body.key !== undefined && (typeof body.key !== 'string' || !keyPattern.test(body.key))) throw httpError('bad_line');
    // Without a key a post cannot be retried safely, but it still posts.
    const key = (body.key as string | undefined) ?? `auto:${randomUUID()}`;
    const { line, replayed } = await lines.post(user, room, text, key);
    return respond({ line }, { status: replayed ? 200 : 201 });
  }

  async function history(req: ViewRequest) {
    const room = roomOf(req);
    const query: { before?: string; after?: string; limit: number } = { limit: intParam(req.query, 'limit', { min: 1, max: MAX_HISTORY, fallback: settings.pageLines || 30 }) };
    for (const name of ['before', 'after'] as const) {
      const value = req.query.get(name);
      if (value === null) continue;
      if (!parseMessageId(value)) throw httpError('bad_parameter', `"${name}" must be a message id`, { parameter: name });
      query[name] = value;
    }
    try {
      return { room, lines: await store.history(room, query) };
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw httpError('store_unavailable', err.message);
      throw err;
    }
  }

  async function remove(req: ViewRequest) {
    const room = roomOf(req);
    const user = await signedIn(req);
    if (!user.moderator) throw httpError('not_moderator');
    const id = req.params.id as string;
    if (!parseMessageId(id)) throw httpError('not_found', 'No such line in this room.');
    await lines.remove(room, id);
    return respond(null, { status: 204 });
  }

  function signInForm(req: ViewRequest) {
    if (!local) throw httpError('not_found', 'Sign in on the forum: this chat uses its sessions.');
    const room = req.query.get('room') ?? settings.defaultRoom;
    return respond(renderSignInPage(roomPattern.test(room) ? room : settings.defaultRoom), { headers: { 'content-type': 'text/html; charset=utf-8' } });
  }

  function signIn(req: ViewRequest) {
    if (!local) throw httpError('not_found', 'Sign in on the forum: this chat uses its sessions.');
    checkOrigin(req.headers, settings.allowedOrigins); // no signing people in from another site's form
    const form = (req.body ?? {}) as { nick?: unknown; room?: unknown };
    const room = typeof form.room === 'string' && roomPattern.test(form.room) ? form.room : settings.defaultRoom;
    const nick = typeof form.nick === 'string' ? form.nick.trim() : '';
    const html = { 'content-type': 'text/html; charset=utf-8' };
    if (!nickPattern.test(nick)) return respond(renderSignInPage(room, 'A nick is 1–24 letters, digits, _ . and -.', nick), { status: 400, headers: html });
    const current = local.identify(parseCookies(req.headers.cookie));
    const result = local.signIn(nick, current?.sessionId);
    if (result === 'taken') return respond(renderSignInPage(room, 'Someone else is using this nick; pick another.', nick), { status: 409, headers: html });
    const location = room === settings.defaultRoom ? '/' : `/chat/${room}`;
    // Over HTTPS (here, or at a trusted proxy that says so in X-Forwarded-Proto) the cookie never travels in clear.
    const secure = req.raw?.protocol === 'https' ? '; Secure' : '';
    return respond('', { status: 303, headers: {
      location,
      'set-cookie': `${LOCAL_SESSION_COOKIE}=${result.cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${30 * 86400}${secure}`,
    } });
  }

  const lineBody = { bodyLimit: 16 * 1024 };
  return [
    path('', page, { name: 'chat-home' }),
    path('chat/sign-in', (req) => (req.method === 'POST' ? signIn(req) : signInForm(req)), { name: 'chat-sign-in', methods: ['GET', 'POST'], bodyLimit: 4096 }),
    path('chat/<str:room>', page, { name: 'chat-room' }),
    path('chat/<str:room>/events', events, { name: 'chat-events' }),
    path('chat/<str:room>/lines', post, { name: 'chat-lines', methods: ['POST'], ...lineBody }),
    path('chat/<str:room>/lines/<str:id>', remove, { name: 'chat-line', methods: ['DELETE'] }),
    path('chat/<str:room>/history', history, { name: 'chat-history' }),
    path('chat/<str:room>/who', (req) => ({ room: roomOf(req), users: presence.who(roomOf(req)) }), { name: 'chat-who' }),
  ];
}

/**
 * The page's lines: the store's history plus the lines this process has seen
 * published on the room's channel and not deleted, the newest `limit`. A line
 * is published before it is confirmed in the store, so one that is out but not
 * yet in history is still on the page (the subscription resumes after it); and
 * while the store is down the page still shows what the hub remembers.
 */
function withBuffered(history: Line[], buffered: readonly Message[], limit: number): Line[] {
  const byId = new Map(history.map((line) => [line.id, line]));
  const deleted = new Set<string>();
  for (const message of buffered) {
    const data = message.data as { type?: string; id?: string; line?: Line };
    if (data?.type === 'delete' && typeof data.id === 'string') deleted.add(data.id);
  }
  const oldest = history.length >= limit ? sortableMessageId(history[0]!.id)! : '';
  for (const message of buffered) {
    const data = message.data as { type?: string; line?: Line };
    if (data?.type !== 'line' || !data.line || data.line.id !== message.id || deleted.has(message.id)) continue;
    if (!byId.has(message.id) && sortableMessageId(message.id)! > oldest) byId.set(message.id, data.line);
  }
  for (const id of deleted) byId.delete(id);
  const lines = [...byId.values()].sort((a, b) => (sortableMessageId(a.id)! < sortableMessageId(b.id)! ? -1 : 1));
  return lines.slice(Math.max(0, lines.length - limit));
}
