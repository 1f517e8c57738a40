// The chat widget's page: the room's recent lines already rendered (escaped) and
// also embedded as JSON for static/chat.js, with the id the subscription resumes
// from, the CSRF token and who the reader is, so a fresh page shows history with
// no extra round trip and the live feed continues exactly after it.
// Text is stored as text; this is one of the places where HTML is made, so every
// value placed here is escaped for where it goes.
import type { RoomUser } from './presence.ts';
import { escapeHtml } from './status-page.ts';
import type { Line, User } from './store.ts';

/** What the widget script reads from the page (`#evchat-data`). */
export interface PageData {
  room: string;
  lines: Line[];
  /** Resume the room's subscription after this id. */
  since: string;
  who: RoomUser[];
  user: { id: string; nick: string; moderator: boolean } | null;
  csrf: string | null;
  maxLength: number;
  /** Where to sign in (the embedded store's form), or null when the forum signs people in. */
  signIn: string | null;
  /** Set when the history could not be read (the store is down). */
  historyError: boolean;
  /** Whether lines older than these may exist: the page holds a full page of history, or could not read it. */
  olderLines: boolean;
}

/** JSON safe inside a `<script>` element: no `<` (so no `</script>` or `<!--`), no U+2028/2029. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function renderLine(line: Line): string {
  const time = new Date(line.time);
  const hhmm = time.toISOString().slice(11, 16);
  const cls = line.kind === 'event' ? 'evchat-line evchat-event' : 'evchat-line';
  const text = line.event?.url && /^https?:\/\//i.test(line.event.url)
    ? `<a href="${escapeHtml(line.event.url)}" target="_top" rel="noopener">${escapeHtml(line.text)}</a>`
    : escapeHtml(line.text);
  const nick = line.kind === 'event' ? '' : `<span class="evchat-nick">${escapeHtml(line.nick)}</span> `;
  return `<li class="${cls}" data-id="${escapeHtml(line.id)}"><time datetime="${time.toISOString()}">${hhmm}</time> ${nick}<span class="evchat-text">${text}</span></li>`;
}

/** The whole page. */
export function renderChatPage(data: PageData): string {
  const room = escapeHtml(data.room);
  const who = data.who.map((u) => `<li>${escapeHtml(u.nick)}</li>`).join('');
  const form = data.user
    ? `<form class="evchat-post" autocomplete="off">
  <label for="evchat-text">Message as <strong>${escapeHtml(data.user.nick)}</strong></label>
  <input id="evchat-text" name="text" maxlength="${data.maxLength}" required>
  <button type="submit">Send</button>
  <span class="evchat-error" role="alert"></span>
</form>`
    : `<p class="evchat-post">${data.signIn ? `<a href="${escapeHtml(data.signIn)}">Sign in to chat</a>` : 'Sign in to the forum to chat.'}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat: ${room}</title>
<link rel="stylesheet" href="/static/chat.css">
</head>
<body>
<div class="evchat" id="evchat">
<header class="evchat-head"><h1>#${room}</h1> <span class="evchat-status" role="status">connecting…</span></header>
<div class="evchat-body">
<ol class="evchat-log" role="log" aria-live="polite" aria-label="Messages in ${room}" tabindex="0">${data.historyError ? '<li class="evchat-line evchat-event">History is unavailable right now.</li>' : ''}${data.lines.map(renderLine).join('')}</ol>
<aside class="evchat-who-box" aria-label="In the room"><h2>In the room</h2><ul class="evchat-who">${who}</ul></aside>
</div>
${form}
</div>
<script type="application/json" id="evchat-data">${scriptJson(data)}</script>
<script src="/static/comet.js"></script>
<script src="/static/chat.js"></script>
</body>
</html>
`;
}

/** The embedded store's sign-in form. */
export function renderSignInPage(room: string, error?: string, nick = ''): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in to chat</title>
<link rel="stylesheet" href="/static/chat.css"></head>
<body><form class="evchat-sign-in" method="post" action="/chat/sign-in">
<h1>Pick a nick</h1>
${error ? `<p class="evchat-error" role="alert">${escapeHtml(error)}</p>` : ''}
<label for="nick">Nick (1–24 letters, digits, _ . -)</label>
<input id="nick" name="nick" value="${escapeHtml(nick)}" maxlength="24" required autofocus>
<input type="hidden" name="room" value="${escapeHtml(room)}">
<button type="submit">Chat</button>
</form></body></html>
`;
}
