// The assembly: the one place that decides what the server is made of.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { exampleUrls } from '../examples/urls.ts';
import { transportNames, type TransportName } from '../transports/encoder.ts';
import { createAddressLimiter, type AddressLimiter } from './address-limiter.ts';
import { createHeartbeats } from './comet-stream.ts';
import { cometUrls } from './comet-urls.ts';
import type { CometContext } from './comet-stream.ts';
import type { Settings } from './config.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { httpError } from './errors.ts';
import { createHub, type Hub } from './hub.ts';
import { takeSnapshot } from './metrics.ts';
import { mountViews } from './mount-views.ts';
import { statusUrls } from './status-urls.ts';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
}

export interface App {
  fastify: FastifyInstance;
  hub: Hub;
  comet: CometContext;
  limiter: AddressLimiter;
}

export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  // Requests that arrive on kept-alive connections while we stop get our own 503.
  const app = Fastify({ logger: options.logger ?? false, frameworkErrors: errorHandler, return503OnClosing: false });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  const hub = createHub({
    bufferSize: settings.channelBufferSize,
    bufferAgeMs: settings.channelBufferAgeMs,
    maxQueued: settings.subscriberQueueLimit,
  });
  const comet: CometContext = {
    heartbeats: createHeartbeats(settings.heartbeatMs),
    byteLimit: settings.streamByteLimit,
    longPollHoldMs: settings.longPollHoldMs,
    counters: { messagesOut: 0, bytesOut: 0 },
    open: Object.fromEntries(transportNames.map((name) => [name, 0])) as Record<TransportName, number>,
  };
  const limiter = createAddressLimiter(settings.maxSubscribersPerAddress);
  const services = { bus: 'in-process', store: 'embedded' };

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Ending the subscriptions lets every Comet stream say `reconnect` and end
    // cleanly, and answers held polls, before the streams are cut.
    hub.close();
    await new Promise((resolve) => setImmediate(resolve));
  });
  app.addHook('onClose', async () => comet.heartbeats.stop());
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done(); // a callback hook: no promise per request
    reply.header('connection', 'close');
    done(httpError('shutting_down'));
  });

  app.get('/healthz', async () => ({ ok: true, uptime: Math.round(process.uptime()) }));
  await app.register(mountViews, {
    urls: [
      ...cometUrls({ hub, comet, limiter, publishToken: settings.publishToken }),
      ...statusUrls(() => takeSnapshot(hub, comet, services)),
    ],
  });
  await app.register(mountViews, { urls: exampleUrls(), prefix: '/examples' });
  return { fastify: app, hub, comet, limiter };
}
