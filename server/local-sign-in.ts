// The embedded store's sign-in, for trying the chat with nothing installed: a
// person picks a nick on a small form and gets a signed session cookie. A nick
// belongs to one session while that session is active, so two windows with two
// nicks are two people and nobody can take a nick that is in use.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cookies, User } from './store.ts';

/** The cookie that carries a local session. */
export const LOCAL_SESSION_COOKIE = 'evcomet_session';

/** A nick: 1–24 letters, digits, `_ . -`. */
export const nickPattern = /^[\p{L}\p{N}_.-]{1,24}$/u;

const SESSION_MAX_AGE_MS = 30 * 86400_000;
// A nick stays held this long after its session was last seen (signing in,
// opening a page or a subscription), which covers a day of an open tab.
const HOLD_MS = 12 * 3600_000;

/** Local sessions: nicks picked on a form, held in signed cookies. */
export interface LocalSignIn {
  /** Signs in as `nick`: the cookie's value, or `taken` if another active session holds the nick. */
  signIn(nick: string, currentSessionId?: string): { cookie: string; user: User } | 'taken';
  identify(cookies: Cookies): User | null;
}

/** Local sessions signed with `secret`; which session holds which nick is kept in memory and rebuilt from returning cookies. */
export function createLocalSignIn(secret: string, now: () => number = Date.now): LocalSignIn {
  const holders = new Map<string, { sessionId: string; seen: number }>();

  const sign = (payload: string) => createHmac('sha256', secret).update(`local-session:${payload}`).digest('base64url');

  function hold(nick: string, sessionId: string): boolean {
    const key = nick.toLowerCase();
    const holder = holders.get(key);
    if (holder && holder.sessionId !== sessionId && holder.seen + HOLD_MS > now()) return false;
    if (holders.size > 100_000) sweep();
    holders.set(key, { sessionId, seen: now() });
    return true;
  }

  function sweep(): void {
    for (const [key, holder] of holders) if (holder.seen + HOLD_MS <= now()) holders.delete(key);
  }

  const userOf = (nick: string, sessionId: string): User => ({ id: `local:${nick.toLowerCase()}`, nick, moderator: false, sessionId });

  return {
    signIn(nick, currentSessionId) {
      if (!nickPattern.test(nick)) throw new Error('not a nick');
      const sessionId = currentSessionId ?? randomBytes(16).toString('hex');
      if (!hold(nick, sessionId)) return 'taken';
      const payload = Buffer.from(JSON.stringify({ n: nick, s: sessionId, t: now() })).toString('base64url');
      return { cookie: `${payload}.${sign(payload)}`, user: userOf(nick, sessionId) };
    },
    identify(cookies) {
      const value = cookies[LOCAL_SESSION_COOKIE];
      if (!value) return null;
      const [payload, signature] = value.split('.');
      if (!payload || !signature) return null;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
      let session: { n?: unknown; s?: unknown; t?: unknown };
      try {
        session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return null;
      }
      const { n: nick, s: sessionId, t: issued } = session;
      if (typeof nick !== 'string' || typeof sessionId !== 'string' || typeof issued !== 'number') return null;
      if (issued + SESSION_MAX_AGE_MS < now() || !nickPattern.test(nick)) return null;
      // After a restart the holders are rebuilt from the cookies that come back.
      return hold(nick, sessionId) ? userOf(nick, sessionId) : null;
    },
  };
}
