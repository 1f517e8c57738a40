// The entry point of `npm start`: settings, the app, listen, and a clean stop;
// with `--workers N`, a primary that runs N of those on one port.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { buildApp } from './app.ts';
import { loadSettings } from './config.ts';
import { runPrimary, workerCount } from './workers.ts';

const SHUTDOWN_DEADLINE_MS = 5000;

if (existsSync('.env')) process.loadEnvFile('.env');
let settings: ReturnType<typeof loadSettings>;
let workers: number;
try {
  settings = loadSettings();
  workers = workerCount(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`evcomet: ${(err as Error).message}`);
  process.exit(1);
}

if (cluster.isPrimary && workers > 1) {
  if (!settings.amqpUrl) {
    console.error(`evcomet: --workers ${workers} needs AMQP_URL: separate processes reach each other's subscribers only through RabbitMQ`);
    process.exit(1);
  }
  if (!settings.mysqlUrl) {
    console.error(`evcomet: --workers ${workers} needs MYSQL_URL: the embedded store is a file of one process`);
    process.exit(1);
  }
  runPrimary(workers, (message) => console.log(`evcomet: ${message}`));
} else {
  const logging = { logger: { level: process.env.LOG_LEVEL ?? 'info' }, logRequests: process.env.LOG_REQUESTS === '1' };
  const { fastify: app } = await buildApp(settings, logging).catch(cannotStart);

  // `on`, not `once`: under --workers a Ctrl-C reaches a worker twice (from the
  // terminal and from the primary), and the second must not cut the clean stop.
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal }, 'stopping: no new connections, ending open streams');
      setTimeout(() => {
        app.log.error('streams did not end in time; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      app.close().then(() => process.exit(0), (err: unknown) => {
        app.log.error({ err }, 'error while stopping');
        process.exit(1);
      });
    });
  }

  const address = await app.listen({ port: settings.port, host: settings.host }).catch(async (err: unknown) => {
    await app.close();
    return cannotStart(err);
  });
  // One line a newcomer can act on: where to click, and what the server runs on.
  const bus = settings.amqpUrl ? 'RabbitMQ' : 'in-process bus';
  const store = settings.mysqlUrl ? 'MySQL' : `history in ${settings.chat.dataDir}`;
  app.log.info(`chat at ${address}/ and status at ${address}/status (${bus}, ${store})`);
}

/** Says in one line why the server could not start (a busy port, MySQL away), and exits. */
function cannotStart(err: unknown): never {
  const { code, message } = err as { code?: string; message?: string };
  const hint = code === 'EADDRINUSE' ? ` (another server has port ${settings.port}: stop it, or set PORT)`
    : code === 'EACCES' ? ` (port ${settings.port} needs privileges: set PORT above 1023)`
    : code === 'ECONNREFUSED' && settings.mysqlUrl ? ' (is MySQL running at MYSQL_URL?)'
    : '';
  console.error(`evcomet: could not start: ${message ?? String(err)}${hint}`);
  process.exit(1);
}
