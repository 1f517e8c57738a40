// Settings, read once from the environment (README lists them). Unset services
// fall back to the embedded defaults, so `npm start` needs nothing installed.

export interface Settings {
  port: number;
  host: string;
  /** RabbitMQ; unset means the in-process bus. */
  amqpUrl: string | undefined;
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
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    amqpUrl: env.AMQP_URL || undefined,
    mysqlUrl: env.MYSQL_URL || undefined,
    publishToken: env.PUBLISH_TOKEN || undefined,
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 20_000, 100, 25_000),
    streamByteLimit: integer(env, 'STREAM_BYTE_LIMIT', 128 * 1024, 4096, 1024 ** 3),
    longPollHoldMs: integer(env, 'LONGPOLL_HOLD_MS', 25_000, 0, 25_000),
    channelBufferSize: integer(env, 'CHANNEL_BUFFER_SIZE', 1000, 1, 1_000_000),
    channelBufferAgeMs: integer(env, 'CHANNEL_BUFFER_AGE_MS', 10 * 60_000, 1000, 7 * 24 * 3600_000),
    subscriberQueueLimit: integer(env, 'SUBSCRIBER_QUEUE_LIMIT', 1000, 1, 1_000_000),
    maxSubscribersPerAddress: integer(env, 'MAX_SUBSCRIBERS_PER_ADDRESS', 256, 1, 10_000_000),
  };
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
