// fastify's error and not-found handlers, answering in the shape of server/errors.ts.
// `errorHandler` also serves as fastify's `frameworkErrors` option, which answers
// URLs that fastify cannot even route (bad percent-encoding).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorHeaders } from './errors.ts';

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = errorBody(err);
  if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
  void reply.headers(errorHeaders(body)).code(status).type('application/json; charset=utf-8').send(body);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?', 1)[0];
  void reply.code(404).send({ error: 'not_found', message: `No such path: ${request.method} ${path}` });
}
