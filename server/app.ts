// The assembly: the one place that decides what the server is made of.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import fastifyCompress from '@fastify/compress';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { exampleUrls } from '../examples/urls.ts';
import { transportNames, type TransportName } from '../transports/encoder.ts';
import { createAddressLimiter, type AddressLimiter } from './address-limiter.ts';
import type { Bus } from './bus.ts';
import { createChatLines } from './chat-lines.ts';
import { chatUrls } from './chat-urls.ts';
import { createHeartbeats, createPollHolds } from './comet-stream.ts';
import { cometLane, type CometLane } from './comet-lane.ts';
import { cometChannelRouteName, cometUrls } from './comet-urls.ts';
import type { CometContext } from './comet-stream.ts';
import type { Settings } from './config.ts';
import { prepareConnection } from './connection.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { httpError } from './errors.ts';
import { createHub, messageFromEnvelope, type Hub } from './hub.ts';
import { createFileStore } from './file-store.ts';
import { createForumEvents } from './forum-events.ts';
import { createMemoryBus } from './memory-bus.ts';
import { takeSnapshot } from './metrics.ts';
import { mountViews } from './mount-views.ts';
import { createPresence, type Presence } from './presence.ts';
import { createPublisher } from './publisher.ts';
import { createRateLimiter, createSharedRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { statusUrls } from './status-urls.ts';
import { createStreamer } from './stream.ts';
import type { Store } from './store.ts';
import { flatten } from './urls.ts';

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Log a line as each request comes and goes (fastify's request logging); off by default. */
  logRequests?: boolean;
}

export interface App {
  fastify: FastifyInstance;
  hub: Hub;
  bus: Bus;
  store: Store;
  presence: Presence;
  comet: CometContext;
  limiter: AddressLimiter;
}

export async function buildApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  // Subscribe GETs take the Comet lane (server/comet-lane.ts), in front of
  // fastify, once the views are mounted.
  let lane: CometLane | null = null;
  // Requests that arrive on kept-alive connections while we stop get our own 503.
  // Request logging is off unless asked for: every long-poll is a request, and a
  // thousand pollers would write tens of thousands of lines a second.
  const app = Fastify({
    serverFactory: (handler, serverOptions) => laneServer(handler, serverOptions, (req, res) => lane?.(req, res) ?? false),
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    frameworkErrors: errorHandler,
    return503OnClosing: false,
    trustProxy: settings.trustProxy ?? false,
  });
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
    holds: createPollHolds(settings.longPollHoldMs),
    counters: { messagesOut: 0, bytesOut: 0 },
    open: Object.fromEntries(transportNames.map((name) => [name, 0])) as Record<TransportName, number>,
  };
  const limiter = createAddressLimiter(settings.maxSubscribersPerAddress);
  const { store, rate } = await createStore(settings);
  const bus = await createBus(settings, app.log);
  const secret = settings.chat.sessionSecret ?? (await store.secret());
  const publish = createPublisher(hub, bus);
  const lines = createChatLines({ hub, publish, store, rate, log: app.log });
  const presence = createPresence({
    self: randomBytes(6).toString('hex'),
    graceMs: settings.chat.presenceGraceMs,
    refreshMs: PRESENCE_REFRESH_MS,
    announce: (channel, data) => void lines.send(channel, data).catch((err: unknown) => app.log.warn({ err, channel }, 'could not announce presence')),
  });
  const forumEvents = createForumEvents({ store, deliver: (message) => hub.deliver(message), defaultRoom: settings.chat.forumEventsRoom, log: app.log });

  // Every message reaches the hub through the bus, even one published here, so
  // that each process's subscribers see the same messages with the same ids.
  await bus.consume('chat', (envelope) => {
    const message = messageFromEnvelope(envelope);
    if (!message) return void app.log.warn({ id: envelope.id, channel: envelope.channel }, 'dropped a bus message with a bad id or channel');
    hub.deliver(message);
    presence.observe(message.channel, message.data);
  });
  // Every process gets every forum event and makes the same line of it.
  await bus.consume('forum', forumEvents.handle);
  const services = () => ({ bus: describeBus(bus), store: store.state() });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Ending the subscriptions lets every Comet stream say `reconnect` and end
    // cleanly, and answers held polls, before the streams are cut.
    hub.close();
    await new Promise((resolve) => setImmediate(resolve));
  });
  app.addHook('onClose', async () => {
    comet.heartbeats.stop();
    comet.holds.stop();
    presence.close();
    rate.close();
    limiter.close();
    await bus.close();
    await store.close();
  });
  // Requests on the Comet lane never reach fastify's hooks. While closing, the
  // lane leaves every request to fastify, so that this hook answers it. A new
  // hook that subscribes must pass through would need the lane to do the same.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done(); // a callback hook: no promise per request
    reply.header('connection', 'close');
    done(httpError('shutting_down'));
  });

  // The embedded store's sign-in form posts an ordinary HTML form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // comet.js and the chat widget; revalidated by ETag after an hour, and
  // compressed (comet.js: 33 KB, 10 KB gzipped). Compression is scoped to these
  // files: the other answers are small, and streams (written to the socket
  // directly) must never wait in zlib's buffers.
  await app.register(async (assets) => {
    await assets.register(fastifyCompress, { threshold: 1024 });
    await assets.register(fastifyStatic, { root: staticRoot(), prefix: '/static/', index: false, list: false, maxAge: '1h', serveDotFiles: false });
  });
  // Healthy while it can serve its subscribers, broker or not; the bus's state is told.
  app.get('/healthz', async () => ({ ok: true, uptime: Math.round(process.uptime()), pid: process.pid, bus: bus.state().state }));
  const streamer = createStreamer(app.log);
  const comets = cometUrls({ hub, publish, comet, limiter, publishToken: settings.publishToken });
  await app.register(mountViews, {
    streamer,
    urls: [
      ...comets,
      ...statusUrls(() => takeSnapshot(hub, comet, services(), bus.state(), forumEvents.counters)),
      ...chatUrls({ hub, store, lines, presence, comet, limiter, settings: settings.chat, secret }),
    ],
  });
  await app.register(mountViews, {
    urls: exampleUrls({ publish: (channel, data) => publish('chat', channel, data), recent: (channel, limit) => hub.recent(channel, limit), comet }),
    prefix: '/examples',
  });
  // Not with request logging on: fastify logs only the requests it routes. Not
  // behind a trusted proxy either: the lane knows only the connection's peer,
  // and fastify reads the client's address from X-Forwarded-For.
  if (!options.logRequests && settings.trustProxy === undefined) {
    lane = cometLane({ route: flatten(comets).find((route) => route.options.name === cometChannelRouteName)!, streamer, closing: () => closing, log: app.log });
  }
  return { fastify: app, hub, bus, store, presence, comet, limiter };
}

// How often each process repeats who is in its rooms, for the other processes.
const PRESENCE_REFRESH_MS = 60_000;
// How long start-up waits for RabbitMQ before serving anyway (the bus keeps trying).
const BUS_START_WAIT_MS = 2000;
// Larger messages on an exchange are dropped: POST bodies are at most 64 KiB.
const MAX_BUS_MESSAGE_BYTES = 256 * 1024;

/** static/ of the project, from server/ (tsx) or dist/server/ (compiled). */
function staticRoot(): string {
  const beside = fileURLToPath(new URL('../static/', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../static/', import.meta.url));
}

// RabbitMQ's and MySQL's modules are loaded only when the settings ask for them:
// amqplib and mysql2 are 4 MB of heap that the embedded default never uses, and
// every full collection marks the whole old heap again (BENCHMARKS.md, session 5).

/** The one place that picks the bus from the settings: RabbitMQ with AMQP_URL, else in-process. */
async function createBus(settings: Settings, log: FastifyBaseLogger): Promise<Bus> {
  if (!settings.amqpUrl) return createMemoryBus();
  const { createAmqpBus } = await import('./amqp-bus.ts');
  const bus = createAmqpBus({
    url: settings.amqpUrl,
    exchanges: settings.amqpExchanges,
    queueExpiresMs: settings.amqpQueueExpiresMs,
    prefetch: settings.amqpPrefetch,
    backoff: { initialMs: 200, maxMs: settings.amqpReconnectMaxMs },
    maxMessageBytes: MAX_BUS_MESSAGE_BYTES,
    log,
  });
  if (!(await bus.ready(BUS_START_WAIT_MS))) log.warn('RabbitMQ is not reachable yet; serving, and retrying');
  return bus;
}

/** The one place that picks the store, MySQL (the forum's database) with MYSQL_URL, else the embedded file store, and the rate limit that fits it. */
async function createStore(settings: Settings): Promise<{ store: Store; rate: RateLimiter }> {
  const { rateLines, rateWindowMs } = settings.chat;
  if (settings.mysqlUrl) {
    const { createMysqlStore } = await import('./mysql-store.ts');
    const store = await createMysqlStore(settings);
    // Every process writes its lines to this one table: counting there is what
    // keeps N processes from allowing a user N times the limit.
    return { store, rate: createSharedRateLimiter(rateLines, rateWindowMs, store.earlierPostTimes) };
  }
  return { store: await createFileStore(settings.chat.dataDir, settings.chat.sessionSecret), rate: createRateLimiter(rateLines, rateWindowMs) };
}

/** The HTTP server fastify would make, asking `lane` first about each request. */
function laneServer(handler: (req: IncomingMessage, res: ServerResponse) => void, options: FastifyServerOptions, lane: CometLane): Server {
  const server = createServer((req, res) => {
    if (!lane(req, res)) handler(req, res);
  });
  server.on('connection', prepareConnection);
  // What fastify sets on a server it makes itself.
  server.keepAliveTimeout = options.keepAliveTimeout!;
  server.requestTimeout = options.requestTimeout!;
  server.setTimeout(options.connectionTimeout!);
  return server;
}

function describeBus(bus: Bus): string {
  const { kind, state } = bus.state();
  return kind === 'in-process' ? kind : state === 'up' ? 'connected' : state;
}
