// `npx evcomet <command>`: the commands an operator or a forum's scripts run.
//   publish <channel> <json>      a message on a Comet channel
//   publish --forum <event-json>  a forum event (docs/forum-events.md)
//   migrate                       bring MYSQL_URL's database to the current schema
// Settings come from the environment and .env, as for the server. With AMQP_URL
// set the message goes straight to RabbitMQ (confirmed); without it, to the local
// server's POST endpoint (PUBLISH_TOKEN if set).
import { existsSync } from 'node:fs';
import { createAmqpBus } from './amqp-bus.ts';
import type { Topic } from './bus.ts';
import { loadSettings, type Settings } from './config.ts';
import { isValidChannelName } from './hub.ts';
import { createIdGenerator, formatMessageId } from './message-id.ts';
import { migrate as runMigrate } from './migrate-command.ts';

type Command = (args: string[], settings: Settings) => Promise<void>;

const usage = `usage:
  evcomet publish <channel> <json>       publish a message on a Comet channel
  evcomet publish --forum <event-json>   publish a forum event ({"type":"thread.created","who":…})
  evcomet migrate                        bring MYSQL_URL's database to the current schema`;

const commands: Record<string, Command> = { publish, migrate };

async function migrate(args: string[], settings: Settings): Promise<void> {
  if (args.length > 0) throw new Error(`takes no arguments\n${usage}`);
  const ran = await runMigrate(settings);
  console.log(ran.length > 0 ? `applied migrations ${ran.join(', ')}` : 'the schema is up to date');
}

/** Runs one command line; resolves with the process's exit code. */
async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    console.error(name === undefined || name === '--help' ? usage : `evcomet: no command "${name}"\n${usage}`);
    return name === '--help' ? 0 : 2;
  }
  try {
    await command(args, loadSettings(env));
    return 0;
  } catch (err) {
    console.error(`evcomet ${name}: ${(err as Error).message}`);
    return 1;
  }
}

async function publish(args: string[], settings: Settings): Promise<void> {
  const forum = args[0] === '--forum';
  const [channel, json] = forum ? ['forum', args[1]] : args;
  if (channel === undefined || json === undefined || args.length !== 2) throw new Error(`needs two arguments\n${usage}`);
  if (!isValidChannelName(channel)) throw new Error(`"${channel}" is not a channel name`);
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new Error('the message is not valid JSON');
  }
  const topic: Topic = forum ? 'forum' : 'chat';
  const sent = settings.amqpUrl ? await publishToRabbitMq(settings, topic, channel, data) : await publishOverHttp(settings, topic, channel, data);
  console.log(JSON.stringify(sent));
}

async function publishToRabbitMq(settings: Settings, topic: Topic, channel: string, data: unknown) {
  const silent = { info() {}, warn() {} };
  // A bus that only publishes: it declares the exchanges and no queue, so the
  // consumer settings (prefetch, message size) do not come into play.
  const bus = createAmqpBus({
    url: settings.amqpUrl!, exchanges: settings.amqpExchanges, queueExpiresMs: settings.amqpQueueExpiresMs,
    prefetch: 1, maxMessageBytes: 0, log: silent, name: `evcomet-cli.${process.pid}`,
  });
  try {
    if (!(await bus.ready(5000))) throw new Error(`cannot reach RabbitMQ: ${bus.state().lastError}`);
    const parts = createIdGenerator()();
    const envelope = { id: formatMessageId(parts), channel, time: parts.ms, data };
    await bus.publish(topic, envelope);
    return { id: envelope.id, channel, time: envelope.time };
  } finally {
    await bus.close();
  }
}

async function publishOverHttp(settings: Settings, topic: Topic, channel: string, data: unknown) {
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${settings.port}${topic === 'forum' ? '/forum/events' : `/comet/${channel}`}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (settings.publishToken) headers.authorization = `Bearer ${settings.publishToken}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(data) }).catch((err: Error) => {
    throw new Error(`cannot reach the server at ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`the server answered ${res.status}: ${String(body.message ?? body.error ?? '')}`);
  return body;
}

if (existsSync('.env')) process.loadEnvFile('.env');
process.exitCode = await runCli(process.argv.slice(2));
