// Starts the whole app (server/app.ts) on port 0 with test settings.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type App } from '../../server/app.ts';
import { loadSettings } from '../../server/config.ts';

export interface AppServer extends App {
  port: number;
  base: string;
  /** Publishes over HTTP and returns the new message's id. */
  publish(channel: string, data: unknown): Promise<string>;
  close(): Promise<void>;
}

/** Starts the app on `port` (0: a free one); the embedded store gets a fresh DATA_DIR unless `env` names one. */
export async function startApp(env: Record<string, string> = {}, port = 0): Promise<AppServer> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'evcomet-app-'));
  const app = await buildApp(loadSettings({ ...env, DATA_DIR: dataDir }));
  await app.fastify.listen({ port, host: '127.0.0.1' });
  const listening = (app.fastify.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${listening}`;
  return {
    ...app,
    port: listening,
    base,
    async publish(channel, data) {
      const res = await fetch(`${base}/comet/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(data),
      });
      if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async close() {
      await app.fastify.close();
      if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
