// evcomet as the bench runs it: the real app with bench settings, plus a
// three-chunk streaming view for the hello scenario and a /__gc hook so both
// servers' memory is read after a full collection.
import { buildApp } from '../server/app.ts';
import { loadSettings } from '../server/config.ts';
import { mountViews } from '../server/mount-views.ts';
import { path } from '../server/urls.ts';
import { respond } from '../server/views.ts';

const app = await buildApp(loadSettings({
  ...process.env,
  MAX_SUBSCRIBERS_PER_ADDRESS: '1000000',
  SUBSCRIBER_QUEUE_LIMIT: '100000',
  // The reference has no byte limit and the load generator does not reconnect.
  STREAM_BYTE_LIMIT: String(1024 ** 3),
}));
async function* hello() {
  yield 'hello ';
  yield 'streaming ';
  yield 'world\n';
}
await app.fastify.register(mountViews, {
  urls: [
    path('hello', () => respond(hello(), { headers: { 'content-type': 'text/plain' } })),
    path('__gc', () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    }),
  ],
});
await app.fastify.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.send?.({ port: (app.fastify.server.address() as { port: number }).port });
process.on('SIGINT', () => process.exit(0)); // --cpu-prof writes its profile on a clean exit
