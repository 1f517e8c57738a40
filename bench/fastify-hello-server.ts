// Bare fastify streaming the same three chunks as evcomet's hello view: the
// reference for the hello scenario.
import { Readable } from 'node:stream';
import Fastify from 'fastify';

const app = Fastify();
app.get('/hello', (_request, reply) => {
  reply.type('text/plain').send(Readable.from(['hello ', 'streaming ', 'world\n'], { objectMode: false }));
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.send?.({ port: (app.server.address() as { port: number }).port });
process.on('SIGINT', () => process.exit(0)); // --cpu-prof writes its profile on a clean exit
