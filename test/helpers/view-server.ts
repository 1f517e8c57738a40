// Starts a real fastify server on port 0 with a URL table mounted, for tests.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { errorHandler, notFoundHandler } from '../../server/error-handler.ts';
import { mountViews } from '../../server/mount-views.ts';
import { createStreamer, type Streamer } from '../../server/stream.ts';
import type { UrlEntry } from '../../server/urls.ts';

export interface ViewServer { app: FastifyInstance; port: number; base: string; streamer: Streamer }

export async function startViewServer(urls: UrlEntry[], configure?: (app: FastifyInstance) => void): Promise<ViewServer> {
  const app = Fastify({ logger: false, frameworkErrors: errorHandler });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const streamer = createStreamer(app.log);
  configure?.(app);
  await app.register(mountViews, { urls, streamer });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, base: `http://127.0.0.1:${port}`, streamer };
}
