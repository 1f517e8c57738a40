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
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    amqpUrl: env.AMQP_URL || undefined,
    mysqlUrl: env.MYSQL_URL || undefined,
    publishToken: env.PUBLISH_TOKEN || undefined,
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
