// Starts the whole app (server/app.ts) on port 0 with test settings.
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../server/app.ts';
import { loadSettings } from '../../server/config.ts';

export interface AppServer extends App {
  port: number;
  base: string;
  /** Publishes over HTTP and returns the new message's id. */
  publish(channel: string, data: unknown): Promise<string>;
  close(): Promise<void>;
}

export async function startApp(env: Record<string, string> = {}): Promise<AppServer> {
  const app = await buildApp(loadSettings(env));
  await app.fastify.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.fastify.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    ...app,
    port,
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
    close: () => app.fastify.close(),
  };
}
