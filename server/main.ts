// The entry point of `npm start`: settings, the app, listen, and a clean stop.
import { existsSync } from 'node:fs';
import { buildApp } from './app.ts';
import { loadSettings } from './config.ts';

const SHUTDOWN_DEADLINE_MS = 5000;

if (existsSync('.env')) process.loadEnvFile('.env');
const settings = loadSettings();
const { fastify: app } = await buildApp(settings, { logger: { level: process.env.LOG_LEVEL ?? 'info' } });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
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

await app.listen({ port: settings.port, host: settings.host });
