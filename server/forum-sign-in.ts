// Sign-in through the forum: phpBB's session cookies (`<name>_sid`, the session
// id, and `<name>_u`, the user id) checked against the forum's own tables. The
// nick is the user name the database holds; nothing the client sends names it.
// Answers, valid or not, are cached briefly: a long-polling page asks on every
// poll, and SAX's lesson was that each poll must not cost a MySQL query.
import type { ForumSettings } from './config.ts';
import type { Cookies, User } from './store.ts';

/** Runs one SELECT with `?` placeholders and returns its rows. */
export type Select = (sql: string, values: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** Who a request is, by the forum's session cookies. */
export interface ForumSignIn {
  /** The user the cookies sign in, or null (no cookies, unknown, expired or forged session). */
  identify(cookies: Cookies): Promise<User | null>;
}

// phpBB's user_type values that cannot chat: inactive (1) and ignored (2: guests and bots).
const BLOCKED_USER_TYPES = [1, 2];
const ANONYMOUS_USER_ID = '1';
const MAX_CACHED = 10_000;

/** Reads `schema` (settings' forum.schema) and answers from `select`, caching for `cacheMs`. */
export function createForumSignIn(select: Select, settings: ForumSettings, now: () => number = Date.now): ForumSignIn {
  const t = (key: string) => `\`${settings.schema[key]}\``;
  const sessionSql = `SELECT u.${t('users.id')} AS id, u.${t('users.name')} AS nick, s.${t('sessions.time')} AS time
    FROM ${t('sessions')} s JOIN ${t('users')} u ON u.${t('users.id')} = s.${t('sessions.user')}
    WHERE s.${t('sessions.id')} = ? AND s.${t('sessions.user')} = ? AND u.${t('users.type')} NOT IN (${BLOCKED_USER_TYPES.join(',')})`;
  const moderatorSql = `SELECT 1 FROM ${t('user_group')} WHERE ${t('user_group.user')} = ? AND ${t('user_group.pending')} = 0
    AND ${t('user_group.group')} IN (${settings.moderatorGroups.map(Number).join(',') || 'NULL'}) LIMIT 1`;
  const cache = new Map<string, { user: User | null; until: number; sessionTime: number }>();

  async function lookUp(sid: string, userId: string): Promise<{ user: User | null; sessionTime: number }> {
    const [row] = await select(sessionSql, [sid, userId]);
    if (!row) return { user: null, sessionTime: 0 };
    const moderator = (await select(moderatorSql, [row.id])).length > 0;
    return { user: { id: String(row.id), nick: String(row.nick), moderator, sessionId: sid }, sessionTime: Number(row.time) };
  }

  return {
    async identify(cookies) {
      const sid = cookies[`${settings.cookieName}_sid`];
      const userId = cookies[`${settings.cookieName}_u`];
      if (!sid || !userId || !/^[0-9a-f]{32}$/i.test(sid) || !/^[0-9]{1,20}$/.test(userId) || userId === ANONYMOUS_USER_ID) return null;
      const key = `${sid}:${userId}`;
      let entry = cache.get(key);
      if (!entry || entry.until <= now()) {
        const found = await lookUp(sid, userId);
        if (cache.size >= MAX_CACHED) cache.clear(); // crude but bounded: a flood of forged cookies cannot grow it
        cache.set(key, (entry = { ...found, until: now() + settings.cacheMs }));
      }
      // Expiry is checked on every call, so a cached session still ends on time.
      const expired = entry.sessionTime + settings.sessionMaxAgeSeconds < now() / 1000;
      return expired ? null : entry.user;
    },
  };
}
