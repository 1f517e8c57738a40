// Sign-in through the forum: phpBB's session cookies (`<name>_sid`, the session
// id, and `<name>_u`, the user id) checked against the forum's own tables, and,
// once that session has ended, its "remember me" key (`<name>_k`), checked as
// phpBB checks it: by its MD5 in the sessions_keys table. The nick is the user
// name the database holds; nothing the client sends names it.
// Answers, valid or not, are cached briefly: a long-polling page asks on every
// poll, and SAX's lesson was that each poll must not cost a MySQL query.
import { createHash } from 'node:crypto';
import type { ForumSettings } from './config.ts';
import type { Cookies, User } from './store.ts';

/** Runs one SELECT with `?` placeholders and returns its rows. */
export type Select = (sql: string, values: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** Who a request is, by the forum's session cookies. */
export interface ForumSignIn {
  /** The user the cookies sign in, or null (no cookies, unknown, expired or forged session or key). */
  identify(cookies: Cookies): Promise<User | null>;
}

// phpBB's user_type values that cannot chat: inactive (1) and ignored (2: guests and bots).
const BLOCKED_USER_TYPES = [1, 2];
const ANONYMOUS_USER_ID = '1';
const MAX_CACHED = 10_000;

interface Found { user: User | null; lastUsed: number }

/** Reads `schema` (settings' forum.schema) and answers from `select`, caching for `cacheMs`. */
export function createForumSignIn(select: Select, settings: ForumSettings, now: () => number = Date.now): ForumSignIn {
  const t = (key: string) => `\`${settings.schema[key]}\``;
  const userOk = `u.${t('users.type')} NOT IN (${BLOCKED_USER_TYPES.join(',')})`;
  const sessionSql = `SELECT u.${t('users.id')} AS id, u.${t('users.name')} AS nick, s.${t('sessions.time')} AS time
    FROM ${t('sessions')} s JOIN ${t('users')} u ON u.${t('users.id')} = s.${t('sessions.user')}
    WHERE s.${t('sessions.id')} = ? AND s.${t('sessions.user')} = ? AND ${userOk}`;
  const keySql = `SELECT u.${t('users.id')} AS id, u.${t('users.name')} AS nick, k.${t('sessions_keys.time')} AS time
    FROM ${t('sessions_keys')} k JOIN ${t('users')} u ON u.${t('users.id')} = k.${t('sessions_keys.user')}
    WHERE k.${t('sessions_keys.key')} = ? AND k.${t('sessions_keys.user')} = ? AND ${userOk}`;
  const moderatorSql = `SELECT 1 FROM ${t('user_group')} WHERE ${t('user_group.user')} = ? AND ${t('user_group.pending')} = 0
    AND ${t('user_group.group')} IN (${settings.moderatorGroups.map(Number).join(',') || 'NULL'}) LIMIT 1`;
  const cache = new Map<string, Found & { until: number }>();

  // `sessionId` is what the page's CSRF token is bound to: the session id, or for a key, its MD5.
  async function lookUp(sql: string, secret: string, userId: string, sessionId: string): Promise<Found> {
    const [row] = await select(sql, [secret, userId]);
    if (!row) return { user: null, lastUsed: 0 };
    const moderator = (await select(moderatorSql, [row.id])).length > 0;
    return { user: { id: String(row.id), nick: String(row.nick), moderator, sessionId }, lastUsed: Number(row.time) };
  }

  async function cached(cacheKey: string, find: () => Promise<Found>): Promise<Found> {
    let entry = cache.get(cacheKey);
    if (!entry || entry.until <= now()) {
      const found = await find();
      if (cache.size >= MAX_CACHED) cache.clear(); // crude but bounded: a flood of forged cookies cannot grow it
      cache.set(cacheKey, (entry = { ...found, until: now() + settings.cacheMs }));
    }
    return entry;
  }

  // Expiry is checked on every call, so a cached session or key still ends on time.
  const fresh = (found: Found, maxAgeSeconds: number) => found.user !== null && (maxAgeSeconds === 0 || found.lastUsed + maxAgeSeconds >= now() / 1000);

  return {
    async identify(cookies) {
      const userId = cookies[`${settings.cookieName}_u`];
      if (!userId || !/^[0-9]{1,20}$/.test(userId) || userId === ANONYMOUS_USER_ID) return null;
      const sid = cookies[`${settings.cookieName}_sid`];
      if (sid && /^[0-9a-f]{32}$/i.test(sid)) {
        const session = await cached(`s:${sid}:${userId}`, () => lookUp(sessionSql, sid, userId, sid));
        if (fresh(session, settings.sessionMaxAgeSeconds)) return session.user;
      }
      const key = cookies[`${settings.cookieName}_k`];
      if (!settings.autologin || !key || !/^[0-9a-z]{8,64}$/i.test(key)) return null;
      const keyId = createHash('md5').update(key).digest('hex');
      const remembered = await cached(`k:${keyId}:${userId}`, () => lookUp(keySql, keyId, userId, `k:${keyId}`));
      return fresh(remembered, settings.autologinMaxAgeDays * 86400) ? remembered.user : null;
    },
  };
}
