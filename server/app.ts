// The assembly: the one place that decides what the server is made of.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { exampleUrls } from '../examples/urls.ts';
import type { Settings } from './config.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { httpError } from './errors.ts';
import { mountViews } from './mount-views.ts';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<FastifyInstance> {
  // Requests that arrive on kept-alive connections while we stop get our own 503.
  const app = Fastify({ logger: options.logger ?? false, frameworkErrors: errorHandler, return503OnClosing: false });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw httpError('shutting_down');
  });

  app.get('/healthz', async () => ({ ok: true, uptime: Math.round(process.uptime()) }));
  await app.register(mountViews, { urls: exampleUrls(), prefix: '/examples' });

  void settings; // the bus, store and chat settings come with their issues
  return app;
}
