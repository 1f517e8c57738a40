// server/stream.ts over real sockets: timing, disconnects, backpressure, HTTP/1.0,
// keep-alive, errors, HEAD, idle timeout and shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import { httpError } from '../server/errors.ts';
import { sleep } from '../server/sleep.ts';
import { path } from '../server/urls.ts';
import { pushBody, respond, type PushBody, type PushSink, type ViewRequest } from '../server/views.ts';
import { get, openConnection, rawRequest, waitFor } from './helpers/raw-http.ts';
import { startViewServer, type ViewServer } from './helpers/view-server.ts';

let server: ViewServer | undefined;
afterEach(async () => {
  await server?.app.close();
  server = undefined;
});

/** A view whose life the test can watch: how far it was pulled and whether its finally ran. */
function tracked() {
  const state = { pulled: 0, finallyAt: 0 };
  return state;
}

describe('streaming a view', () => {
  it('writes each chunk when it is yielded, not at the end', async () => {
    server = await startViewServer([path('ticks', () => (async function* () {
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(250);
        yield `tick ${i}\n`;
      }
    })())]);
    const res = await rawRequest(server.port, get('/ticks'));
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.complete).toBe(true);
    expect(res.body).toBe('tick 0\ntick 1\ntick 2\n');
    const times = res.chunks.map((c) => c.at);
    expect(res.chunks.map((c) => c.data)).toEqual(['tick 0\n', 'tick 1\n', 'tick 2\n']);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(200);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(200);
  });

  it("ends the view's iterator within a second when the client goes away", async () => {
    const state = tracked();
    server = await startViewServer([path('forever', (req: ViewRequest) => (async function* () {
      try {
        for (;;) {
          yield 'x\n';
          await sleep(60_000, req.signal);
        }
      } finally {
        state.finallyAt = Date.now();
      }
    })())]);
    const conn = await openConnection(server.port);
    await conn.request(get('/forever'));
    await waitFor(() => server!.streamer.openCount === 1, 2000, 'the stream to open');
    const leftAt = Date.now();
    conn.close();
    await waitFor(() => state.finallyAt > 0, 1000, "the view's finally");
    expect(state.finallyAt - leftAt).toBeLessThan(1000);
    await waitFor(() => server!.streamer.openCount === 0, 1000, 'the stream to be forgotten');
  });

  it('runs finally even for a view that ignores the signal, once its wait ends', async () => {
    const state = tracked();
    server = await startViewServer([path('deaf', () => (async function* () {
      try {
        for (;;) {
          yield 'x\n';
          await sleep(300); // no signal: the stream must not wait on it to let go
        }
      } finally {
        state.finallyAt = Date.now();
      }
    })())]);
    const conn = await openConnection(server.port);
    await conn.request(get('/deaf'));
    await waitFor(() => server!.streamer.openCount === 1);
    const leftAt = Date.now();
    conn.close();
    await waitFor(() => server!.streamer.openCount === 0, 200, 'the stream to be released at once');
    await waitFor(() => state.finallyAt > 0, 1000, "the view's finally");
    expect(state.finallyAt - leftAt).toBeLessThan(1000);
  });

  it('does not pull a view further while a paused reader lets the socket fill', async () => {
    const state = tracked();
    const piece = 'y'.repeat(64 * 1024);
    server = await startViewServer([path('firehose', () => (async function* () {
      try {
        for (;;) {
          state.pulled++;
          yield piece;
        }
      } finally {
        state.finallyAt = Date.now();
      }
    })())]);
    const conn = await openConnection(server.port);
    conn.socket.pause(); // read nothing: kernel buffers fill, then Node's, then the view must wait
    conn.socket.write(get('/firehose'));
    await sleep(1000);
    const settled = state.pulled;
    await sleep(700);
    expect(state.pulled).toBe(settled); // it stopped being pulled
    // Bounded by socket buffers on loopback (a few MiB), far from unbounded.
    expect(settled * piece.length).toBeLessThan(48 * 1024 * 1024);
    conn.close();
    await waitFor(() => state.finallyAt > 0, 1000, "the view's finally");
  });

  it('answers an HTTP/1.0 client with a raw body and Connection: close', async () => {
    server = await startViewServer([path('ticks', () => (async function* () {
      yield 'one\n';
      await sleep(50);
      yield 'two\n';
    })())]);
    const res = await rawRequest(server.port, get('/ticks', { version: '1.0' }));
    expect(res.statusLine).toMatch(/^HTTP\/1\.1 200/);
    expect(res.headers['connection']).toBe('close');
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.body).toBe('one\ntwo\n');
    expect(res.complete).toBe(true);
  });

  it('sends a raw, close-delimited body when the view says Connection: close', async () => {
    server = await startViewServer([path('raw', () => respond((async function* () {
      yield 'one\n';
      await sleep(20);
      yield 'two\n';
    })(), { headers: { connection: 'close' } }))]);
    const res = await rawRequest(server.port, get('/raw'));
    expect(res.headers['connection']).toBe('close');
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.chunks.map((c) => c.data)).toEqual(['one\n', 'two\n']);
  });

  it('keeps the connection alive across streamed responses', async () => {
    server = await startViewServer([path('ticks', () => (async function* () {
      yield 'a';
      await sleep(20);
      yield 'b';
    })())]);
    const conn = await openConnection(server.port);
    for (let i = 0; i < 3; i++) {
      await conn.request(get('/ticks'));
      const res = await conn.finished();
      expect(res.complete).toBe(true);
      expect(res.body).toBe('ab');
      expect(res.headers['connection']).toBe('keep-alive');
    }
    expect(conn.socket.destroyed).toBe(false);
    conn.close();
  });

  it('answers 500 with a JSON error when the view fails before its first chunk', async () => {
    server = await startViewServer([
      path('boom', () => (async function* () {
        await sleep(10);
        throw new Error('secret internals');
      })()),
      path('refuse', () => (async function* () {
        throw httpError('bad_parameter', 'no such thing', { parameter: 'x' });
      })()),
    ]);
    const res = await rawRequest(server.port, get('/boom'));
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal', message: 'The server failed to answer.' });
    const refused = await rawRequest(server.port, get('/refuse'));
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({ error: 'bad_parameter', message: 'no such thing', parameter: 'x' });
  });

  it('keeps the connection open after such an error, as after any answer, and says a wait the error names', async () => {
    server = await startViewServer([
      path('wait', () => (async function* () {
        throw httpError('rate_limited', undefined, { retryAfter: 7 });
      })()),
    ]);
    const conn = await openConnection(server.port);
    const first = await conn.request(get('/wait'));
    await conn.finished();
    expect(first.status).toBe(429);
    expect(first.headers['content-length']).toBe(String(Buffer.byteLength(first.body)));
    expect(first.headers['retry-after']).toBe('7');
    expect(first.headers['connection']).toBe('keep-alive');
    const second = await conn.request(get('/wait'));
    await conn.finished();
    expect(second.status).toBe(429);
    expect(conn.socket.destroyed).toBe(false);
    conn.close();
  });

  it('cuts the connection when the view fails after its first chunk', async () => {
    server = await startViewServer([path('half', () => (async function* () {
      yield 'first\n';
      await sleep(20);
      throw new Error('mid-stream failure');
    })())]);
    const res = await rawRequest(server.port, get('/half'));
    expect(res.status).toBe(200);
    expect(res.body).toBe('first\n');
    expect(res.complete).toBe(false); // no terminating chunk: the client knows it was cut
  });

  it('answers HEAD with the headers only and never runs the stream', async () => {
    let started = false;
    server = await startViewServer([path('ticks', () => respond((async function* () {
      started = true;
      yield 'never';
    })(), { headers: { 'content-type': 'text/csv' } }))]);
    const res = await rawRequest(server.port, 'HEAD /ticks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv');
    expect(res.body).toBe('');
    expect(started).toBe(false);
  });

  it('ends a stream cleanly after its idle timeout and runs its finally', async () => {
    const state = tracked();
    server = await startViewServer([path('quiet', (req: ViewRequest) => (async function* () {
      try {
        yield 'hello\n';
        await sleep(60_000, req.signal);
        yield 'never\n';
      } finally {
        state.finallyAt = Date.now();
      }
    })(), { idleTimeoutMs: 200 })]);
    const started = Date.now();
    const res = await rawRequest(server.port, get('/quiet'));
    expect(res.body).toBe('hello\n');
    expect(res.complete).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(Date.now() - started).toBeLessThan(2000);
    await waitFor(() => state.finallyAt > 0, 1000, "the view's finally");
  });

  it('ends open streams cleanly when the server closes', async () => {
    const state = tracked();
    server = await startViewServer([path('forever', (req: ViewRequest) => (async function* () {
      try {
        for (;;) {
          yield 'x\n';
          await sleep(60_000, req.signal);
        }
      } finally {
        state.finallyAt = Date.now();
      }
    })())]);
    const conn = await openConnection(server.port);
    await conn.request(get('/forever'));
    await waitFor(() => server!.streamer.openCount === 1);
    const closing = Date.now();
    await server.app.close();
    server = undefined;
    const res = await conn.finished();
    expect(res.complete).toBe(true);
    expect(Date.now() - closing).toBeLessThan(2000);
    expect(state.finallyAt).toBeGreaterThan(0);
  });

  it('releases every listener and timer after many short-lived streams', async () => {
    server = await startViewServer([path('quick', (req: ViewRequest) => (async function* () {
      yield 'a';
      await sleep(5_000, req.signal);
    })(), { idleTimeoutMs: 10_000 })]);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 50; i++) {
      const conn = await openConnection(server.port);
      await conn.request(get('/quick'));
      await waitFor(() => server!.streamer.openCount === 1);
      conn.close();
      await waitFor(() => server!.streamer.openCount === 0);
    }
    await sleep(50);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});

/** A push body that holds its response open and records how it was started and stopped. */
function holdingBody(events: string[], name: string): PushBody {
  return {
    [pushBody]: true,
    start(sink: PushSink) {
      events.push(`${name} started`);
      sink.write('');
    },
    resume() {},
    stop(reason: string) {
      events.push(`${name} stopped: ${reason}`);
    },
  };
}

describe('push bodies and their connection', () => {
  it('stops every push body on a connection when its client leaves, pipelined ones too', async () => {
    const events: string[] = [];
    server = await startViewServer([path('hold/<str:name>', (req: ViewRequest) => respond(holdingBody(events, req.params.name as string)))]);
    const conn = await openConnection(server.port);
    // The second request waits behind the first's open response, with no socket of its own yet.
    conn.socket.write(get('/hold/first') + get('/hold/second'));
    await waitFor(() => server!.streamer.openCount === 2, 2000, 'both bodies to start');
    conn.close();
    await waitFor(() => server!.streamer.openCount === 0, 2000, 'both bodies to stop');
    expect(events.sort()).toEqual(['first started', 'first stopped: client-gone', 'second started', 'second stopped: client-gone']);
  });

  it("returns a pull stream's iterator, pulling nothing, when its client left while the view awaited", async () => {
    let entered = false;
    let pulled = 0;
    const chunks = (async function* () {
      for (;;) {
        pulled++;
        yield 'x\n';
      }
    })();
    server = await startViewServer([path('late', async (req: ViewRequest) => {
      entered = true;
      await new Promise((resolve) => req.signal.addEventListener('abort', resolve));
      return respond(chunks);
    })]);
    const conn = await openConnection(server.port);
    conn.socket.write(get('/late'));
    await waitFor(() => entered, 2000, 'the view to run');
    conn.close();
    await waitFor(() => server!.streamer.openCount === 0, 2000, 'the stream to end');
    await sleep(20); // return() runs a tick after the stream ends
    // Returned before it began: it is done without ever having run.
    expect(await chunks.next()).toEqual({ value: undefined, done: true });
    expect(pulled).toBe(0);
  });

  it('only stops a push body whose client left while the view awaited', async () => {
    const events: string[] = [];
    let entered = false;
    server = await startViewServer([path('late', async (req: ViewRequest) => {
      entered = true;
      await new Promise((resolve) => req.signal.addEventListener('abort', resolve));
      return respond(holdingBody(events, 'late'));
    })]);
    const conn = await openConnection(server.port);
    conn.socket.write(get('/late'));
    await waitFor(() => entered, 2000, 'the view to run');
    conn.close();
    await waitFor(() => events.length > 0, 2000, 'the body to be stopped');
    expect(events).toEqual(['late stopped: client-gone']);
    expect(server.streamer.openCount).toBe(0);
  });
});
