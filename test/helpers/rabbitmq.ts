// The machine's real RabbitMQ, for tests: unique exchange names per test, raw
// publishing with amqplib (as a forum would), and closing exactly one of our own
// connections to inject a fault without touching anyone else's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);

/** Exchange names no other test uses, as settings and as names. */
export function uniqueExchanges(): { chat: string; forum: string; env: Record<string, string> } {
  const tag = randomBytes(4).toString('hex');
  const chat = `test.chat.${tag}`;
  const forum = `test.forum.${tag}`;
  return { chat, forum, env: { AMQP_URL, AMQP_CHAT_EXCHANGE: chat, AMQP_FORUM_EXCHANGE: forum } };
}

/** Publishes raw bytes to `exchange` (declared as the server declares it). */
export async function publishRaw(exchange: string, bodies: Array<Buffer | string>): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'fanout', { durable: true });
    for (const body of bodies) channel.publish(exchange, '', Buffer.from(body), { contentType: 'application/json' });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Deletes test exchanges (their queues expire on their own). */
export async function deleteExchanges(...names: string[]): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteExchange(name);
  } finally {
    await connection.close();
  }
}

/** Closes the broker side of each connection whose connection_name starts with `prefix`; resolves with how many it closed. */
export async function closeConnections(prefix: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers']);
  // Lines of `<pid>\t[{"connection_name","…"},…]`.
  const pids = stdout.split('\n').flatMap((line) => {
    const [pid, properties] = line.split('\t');
    const name = /\{"connection_name","([^"]*)"\}/.exec(properties ?? '')?.[1];
    return pid && name?.startsWith(prefix) ? [pid] : [];
  });
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'evcomet test: injected fault']);
  return pids.length;
}
