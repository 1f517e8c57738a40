// Settings, read once from the environment (README lists them). Unset services
// fall back to the embedded defaults, so `npm start` needs nothing installed.
import { isIP } from 'node:net';

export interface Settings {
  port: number;
  host: string;
  /** RabbitMQ; unset means the in-process bus. */
  amqpUrl: string | undefined;
  /** The fanout exchange of each bus topic (RabbitMQ). */
  amqpExchanges: { chat: string; forum: string };
  /** How long a process's RabbitMQ queue outlives its connection. */
  amqpQueueExpiresMs: number;
  /** Unacknowledged RabbitMQ deliveries in flight per queue. */
  amqpPrefetch: number;
  /** The longest wait between two attempts to reach RabbitMQ again. */
  amqpReconnectMaxMs: number;
  /** The forum's MySQL; unset means the embedded store. */
  mysqlUrl: string | undefined;
  /** Bearer token for HTTP publishing; unset means loopback only. */
  publishToken: string | undefined;
  /** No stream is silent longer than this (≤ 25 s). */
  heartbeatMs: number;
  /** A streaming response ends after this many bytes; the client reconnects. */
  streamByteLimit: number;
  /** How long a long-poll is held open waiting for a message (≤ 25 s). */
  longPollHoldMs: number;
  /** Recent messages kept per channel for resumes, by count and by age. */
  channelBufferSize: number;
  channelBufferAgeMs: number;
  /** Messages queued for a subscriber that is not reading before it is cut off. */
  subscriberQueueLimit: number;
  /** Open subscriptions allowed from one client address. */
  maxSubscribersPerAddress: number;
  /**
   * The reverse proxies whose X-Forwarded-For names the client: their
   * addresses, CIDRs or `loopback`. Unset: the connection's peer is the client.
   */
  trustProxy: string[] | undefined;
  /** The chat (server/chat-*.ts). */
  chat: ChatSettings;
  /** The forum's sign-in tables (MySQL store only). */
  forum: ForumSettings;
}

export interface ChatSettings {
  /** The room of `GET /`. */
  defaultRoom: string;
  /** Lines embedded in the page. */
  pageLines: number;
  /** Longest line, in characters. */
  maxLineLength: number;
  /** Each user may post `rateLines` lines per `rateWindowMs`. */
  rateLines: number;
  rateWindowMs: number;
  /** Origins besides the server's own that may post (e.g. the forum's, for a script-tag embed). */
  allowedOrigins: string[];
  /** Signs session cookies and CSRF tokens; unset: a random one kept by the store. */
  sessionSecret: string | undefined;
  /** The embedded store's directory. */
  dataDir: string;
  /** The room forum events go to when they name none. */
  forumEventsRoom: string;
  /** A user whose last connection closed leaves the room after this long (a long-poll re-polls in between). */
  presenceGraceMs: number;
  /** MySQL connect and query timeout. */
  mysqlTimeoutMs: number;
}

export interface ForumSettings {
  /** phpBB's cookie name: the session cookies are `<name>_sid` and `<name>_u`. */
  cookieName: string;
  /** A session not used for this long is expired (phpBB's session_length). */
  sessionMaxAgeSeconds: number;
  /** Whether the "remember me" key cookie (`<name>_k`) signs in when the session has ended. */
  autologin: boolean;
  /** A key not used for this many days no longer signs in; 0: no limit (phpBB's max_autologin_time). */
  autologinMaxAgeDays: number;
  /** Sign-in lookups are cached this long, so polling pages do not query MySQL each time. */
  cacheMs: number;
  /** Members of these forum groups are moderators (phpBB: 4 global moderators, 5 administrators). */
  moderatorGroups: number[];
  /** Table and column names: `sessions`, `sessions.id`, … (server/forum-sign-in.ts lists them). */
  schema: Record<string, string>;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    amqpUrl: env.AMQP_URL || undefined,
    amqpExchanges: { chat: env.AMQP_CHAT_EXCHANGE || 'chat', forum: env.AMQP_FORUM_EXCHANGE || 'forum.events' },
    amqpQueueExpiresMs: integer(env, 'AMQP_QUEUE_EXPIRES_MS', 5 * 60_000, 1000, 7 * 24 * 3600_000),
    amqpPrefetch: integer(env, 'AMQP_PREFETCH', 1000, 1, 65_535),
    amqpReconnectMaxMs: integer(env, 'AMQP_RECONNECT_MAX_MS', 15_000, 200, 10 * 60_000),
    mysqlUrl: env.MYSQL_URL || undefined,
    publishToken: env.PUBLISH_TOKEN || undefined,
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 20_000, 100, 25_000),
    streamByteLimit: integer(env, 'STREAM_BYTE_LIMIT', 128 * 1024, 4096, 1024 ** 3),
    longPollHoldMs: integer(env, 'LONGPOLL_HOLD_MS', 25_000, 0, 25_000),
    channelBufferSize: integer(env, 'CHANNEL_BUFFER_SIZE', 1000, 1, 1_000_000),
    channelBufferAgeMs: integer(env, 'CHANNEL_BUFFER_AGE_MS', 10 * 60_000, 1000, 7 * 24 * 3600_000),
    subscriberQueueLimit: integer(env, 'SUBSCRIBER_QUEUE_LIMIT', 1000, 1, 1_000_000),
    maxSubscribersPerAddress: integer(env, 'MAX_SUBSCRIBERS_PER_ADDRESS', 256, 1, 10_000_000),
    trustProxy: trustedProxies(env),
    chat: {
      defaultRoom: room(env, 'CHAT_DEFAULT_ROOM', 'lobby'),
      pageLines: integer(env, 'CHAT_PAGE_LINES', 30, 0, 200),
      maxLineLength: integer(env, 'CHAT_MAX_LINE_LENGTH', 500, 1, 10_000),
      rateLines: integer(env, 'CHAT_RATE_LINES', 5, 1, 10_000),
      rateWindowMs: integer(env, 'CHAT_RATE_WINDOW_MS', 10_000, 100, 3600_000),
      allowedOrigins: (env.CHAT_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
      sessionSecret: env.SESSION_SECRET || undefined,
      dataDir: env.DATA_DIR || './data',
      forumEventsRoom: room(env, 'FORUM_EVENTS_ROOM', room(env, 'CHAT_DEFAULT_ROOM', 'lobby')),
      presenceGraceMs: integer(env, 'PRESENCE_GRACE_MS', 15_000, 0, 600_000),
      mysqlTimeoutMs: integer(env, 'MYSQL_TIMEOUT_MS', 5000, 100, 120_000),
    },
    forum: {
      cookieName: env.FORUM_COOKIE_NAME || 'phpbb3',
      sessionMaxAgeSeconds: integer(env, 'FORUM_SESSION_MAX_AGE', 3600, 1, 365 * 86400),
      autologin: integer(env, 'FORUM_AUTOLOGIN', 1, 0, 1) === 1,
      autologinMaxAgeDays: integer(env, 'FORUM_AUTOLOGIN_MAX_AGE', 0, 0, 36_500),
      cacheMs: integer(env, 'FORUM_CACHE_MS', 30_000, 0, 3600_000),
      moderatorGroups: (env.FORUM_MODERATOR_GROUPS ?? '4,5').split(',').filter((g) => g.trim() !== '').map((g) => {
        if (!/^\s*[0-9]+\s*$/.test(g)) throw new Error(`setting FORUM_MODERATOR_GROUPS="${env.FORUM_MODERATOR_GROUPS}" must be group ids separated by commas`);
        return Number(g);
      }),
      schema: forumSchema(env),
    },
  };
}

/** A room name: 1–32 of letters, digits, `_` and `-`. */
export const roomPattern = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,31}$/;

function room(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] || fallback;
  if (!roomPattern.test(value)) throw new Error(`setting ${name}="${value}" must be a room name (1–32 of A-Z a-z 0-9 _ -)`);
  return value;
}

// FORUM_TABLE_PREFIX renames the four tables at once; FORUM_SCHEMA (JSON) renames
// any table or column, e.g. {"users.name": "login"}.
function forumSchema(env: NodeJS.ProcessEnv): Record<string, string> {
  const prefix = env.FORUM_TABLE_PREFIX ?? 'phpbb_';
  const schema: Record<string, string> = {
    'sessions': `${prefix}sessions`, 'sessions.id': 'session_id', 'sessions.user': 'session_user_id', 'sessions.time': 'session_time',
    'users': `${prefix}users`, 'users.id': 'user_id', 'users.name': 'username', 'users.type': 'user_type',
    'user_group': `${prefix}user_group`, 'user_group.user': 'user_id', 'user_group.group': 'group_id', 'user_group.pending': 'user_pending',
    'sessions_keys': `${prefix}sessions_keys`, 'sessions_keys.key': 'key_id', 'sessions_keys.user': 'user_id', 'sessions_keys.time': 'last_login',
  };
  let overrides: unknown = {};
  try {
    overrides = JSON.parse(env.FORUM_SCHEMA || '{}');
  } catch {
    throw new Error('setting FORUM_SCHEMA must be a JSON object');
  }
  for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
    if (!(key in schema)) throw new Error(`setting FORUM_SCHEMA: unknown name "${key}" (known: ${Object.keys(schema).join(', ')})`);
    schema[key] = String(value);
  }
  for (const [key, value] of Object.entries(schema)) {
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(value)) throw new Error(`setting FORUM_SCHEMA/FORUM_TABLE_PREFIX: "${key}" = "${value}" is not a plain identifier`);
  }
  return schema;
}

// What fastify's trustProxy takes (proxy-addr): addresses, CIDRs and three
// names for ranges. Not `true`, nor a count of hops: either lets a client that
// reaches the server directly choose its own address in X-Forwarded-For.
const proxyRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustedProxies(env: NodeJS.ProcessEnv): string[] | undefined {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const version = isIP(address);
    const valid = proxyRanges.has(entry) || (version !== 0 && extra === undefined
      && (bits === undefined || (/^[0-9]+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128))));
    if (!valid) {
      throw new Error(`setting TRUST_PROXY="${env.TRUST_PROXY}" must be the proxies' addresses or CIDRs (or loopback, linklocal, uniquelocal), separated by commas`);
    }
  }
  return entries;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`setting ${name}="${raw}" must be an integer from ${min} to ${max}`);
  }
  return value;
}
