// comet.js and the widget's files as a browser gets them: compressed when the
// browser accepts it, cacheable for an hour, byte for byte the files in static/;
// and compression stays out of the Comet streams, where zlib would hold bytes back.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

let server: AppServer;
beforeAll(async () => { server = await startApp(); });
afterAll(async () => { await server?.close(); });

function fetchBytes(path: string, acceptEncoding?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path, headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('static files', () => {
  const cometJs = readFileSync(new URL('../static/comet.js', import.meta.url));

  for (const [encoding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]] as const) {
    it(`serves comet.js ${encoding}-compressed to a browser that accepts it, the same bytes once decoded`, async () => {
      const res = await fetchBytes('/static/comet.js', encoding);
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      expect(res.headers['cache-control']).toBe('public, max-age=3600');
      expect(res.body.length).toBeLessThan(cometJs.length / 2);
      expect(decode(res.body).equals(cometJs)).toBe(true);
    });
  }

  it('serves the file as it is to a client that accepts no encoding', async () => {
    const res = await fetchBytes('/static/comet.js');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.equals(cometJs)).toBe(true);
  });

  it('never compresses a Comet stream, even for a client that accepts gzip', async () => {
    const conn = await openConnection(server.port);
    const res = await conn.request(get('/comet/static-test?transport=sse', { headers: { 'accept-encoding': 'gzip, br' } }));
    expect(res.headers['content-encoding']).toBeUndefined();
    await server.publish('static-test', { n: 1 });
    await waitFor(() => res.chunks.map((c) => c.data).join('').includes('data: {"n":1}'), 2000, 'the message, uncompressed');
    conn.close();
  });
});
