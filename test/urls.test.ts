// The Django-like URL table: pure matching, and mounted on fastify over HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { flatten, include, path, resolve, reverse } from '../server/urls.ts';
import { rawRequest, get } from './helpers/raw-http.ts';
import { startViewServer, type ViewServer } from './helpers/view-server.ts';
import type { ViewRequest } from '../server/views.ts';

const echo = (req: ViewRequest) => ({ path: req.path, params: req.params });

describe('URL table', () => {
  const routes = flatten([
    path('', echo, { name: 'home' }),
    path('articles/<int:year>/', echo, { name: 'year' }),
    path('articles/<slug:title>/', echo, { name: 'title' }),
    path('files/<path:rest>', echo, { name: 'file' }),
    path('items/<uuid:id>', echo),
    include('shop/', [path('<str:sku>/buy', echo, { name: 'buy' }), include('admin/', [path('', echo, { name: 'shop-admin' })])]),
  ]);

  it('matches converters and converts their values', () => {
    expect(resolve(routes, '/articles/2009/')?.params).toEqual({ year: 2009 });
    expect(resolve(routes, '/articles/2009/')?.route.options.name).toBe('year');
    expect(resolve(routes, '/articles/evserver-intro/')?.params).toEqual({ title: 'evserver-intro' });
    expect(resolve(routes, '/files/a/b/c.txt')?.params).toEqual({ rest: 'a/b/c.txt' });
    expect(resolve(routes, '/items/123e4567-e89b-12d3-a456-426614174000')?.params).toEqual({ id: '123e4567-e89b-12d3-a456-426614174000' });
  });

  it('follows includes, prefixing their patterns', () => {
    expect(resolve(routes, '/shop/x1/buy')?.params).toEqual({ sku: 'x1' });
    expect(resolve(routes, '/shop/admin/')?.route.options.name).toBe('shop-admin');
    expect(resolve(routes, '/')?.route.options.name).toBe('home');
  });

  it('matches whole paths only and rejects values a converter does not take', () => {
    expect(resolve(routes, '/articles/2009')).toBeNull();
    expect(resolve(routes, '/articles/2009/extra/')).toBeNull();
    expect(resolve(routes, '/articles/not a slug/')).toBeNull();
    expect(resolve(routes, '/items/not-a-uuid')).toBeNull();
    expect(resolve(routes, '/shop/a/b/buy')).toBeNull();
  });

  it('reverses named routes', () => {
    expect(reverse(routes, 'year', { year: 2026 })).toBe('/articles/2026/');
    expect(reverse(routes, 'buy', { sku: 'a b' })).toBe('/shop/a%20b/buy');
    expect(reverse(routes, 'file', { rest: 'x/y z' })).toBe('/files/x/y%20z');
    expect(() => reverse(routes, 'year')).toThrow(/missing parameter/);
    expect(() => reverse(routes, 'nope')).toThrow(/no URL named/);
  });

  it('refuses malformed patterns when the table is built', () => {
    expect(() => path('/leading', echo)).toThrow(/must not start/);
    expect(() => path('<float:x>', echo)).toThrow(/unknown converter/);
    expect(() => path('<int:a>/<int:a>', echo)).toThrow(/twice/);
    expect(() => path('a/<int:b', echo)).toThrow(/malformed/);
  });
});

describe('URL table mounted on fastify', () => {
  let server: ViewServer;
  afterEach(() => server.app.close());

  async function start() {
    server = await startViewServer([
      path('articles/<int:year>/', echo),
      path('articles/<slug:title>/', echo),
      path('post', (req) => ({ got: req.body }), { methods: ['POST'] }),
      path('nothing', () => undefined),
    ], (app) => app.get('/plain', async () => ({ plain: true })));
  }

  it('serves views and leaves fastify routes working beside them', async () => {
    await start();
    expect(await (await fetch(`${server.base}/articles/2009/`)).json()).toEqual({ path: '/articles/2009/', params: { year: 2009 } });
    expect(await (await fetch(`${server.base}/articles/hello/`)).json()).toEqual({ path: '/articles/hello/', params: { title: 'hello' } });
    expect(await (await fetch(`${server.base}/plain`)).json()).toEqual({ plain: true });
    const posted = await fetch(`${server.base}/post`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await posted.json()).toEqual({ got: { a: 1 } });
    expect((await fetch(`${server.base}/nothing`)).status).toBe(204);
  });

  it('answers bad paths and methods with JSON errors', async () => {
    await start();
    const unknown = await fetch(`${server.base}/no/such/thing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });

    const badParam = await fetch(`${server.base}/articles/not%20a%20slug/`);
    expect(badParam.status).toBe(404);
    expect(await badParam.json()).toMatchObject({ error: 'not_found' });

    const badMethod = await fetch(`${server.base}/post`);
    expect(badMethod.status).toBe(404); // fastify has no GET route there at all

    const badEncoding = await rawRequest(server.port, get('/articles/%E0%A4%A/'));
    expect(badEncoding.status).toBe(400);
    expect(JSON.parse(badEncoding.body)).toMatchObject({ error: 'bad_request' });

    // fastify's router refuses parameters over 100 characters before any view sees them.
    const longParam = await fetch(`${server.base}/articles/${'a'.repeat(150)}/`);
    expect(longParam.status).toBe(400);
    expect(await longParam.json()).toMatchObject({ error: 'bad_parameter' });

    const badJson = await fetch(`${server.base}/post`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: 'bad_json' });
  });

  it('answers 405 with Allow when a sibling pattern takes the method but the match does not', async () => {
    server = await startViewServer([
      path('things/<int:id>', echo, { methods: ['POST'] }),
      path('things/<slug:name>', echo),
    ]);
    const res = await fetch(`${server.base}/things/7`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toMatchObject({ error: 'method_not_allowed', allow: ['POST'] });
    expect(await (await fetch(`${server.base}/things/seven`)).json()).toMatchObject({ params: { name: 'seven' } });
  });
});
