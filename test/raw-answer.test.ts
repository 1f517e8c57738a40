// A poll's whole answer written below Node's response API (server/raw-answer.ts):
// the same bytes Node writes for the same answer, a response Node's server then
// finishes as any other, and no raw write wherever Node would write something else.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRawAnswer } from '../server/raw-answer.ts';
import { get } from './helpers/raw-http.ts';

const headers = ['content-type', 'application/json; charset=utf-8', 'x-content-type-options', 'nosniff', 'cache-control', 'no-cache, no-store'];

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  }));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, setup: (server: Server) => void = () => {}): Promise<number> {
  const server = createServer(handler);
  server.keepAliveTimeout = 72_000; // as evcomet's
  setup(server);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Writes `requests` on one connection, each once the one before is answered; resolves with every byte that came back and how many whole answers it holds, once `answers` answers are whole or the connection closed. */
function exchange(port: number, requests: string[], { answers = requests.length, readAfterMs = 0 } = {}): Promise<{ text: string; whole: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const pending = [...requests];
    let text = '';
    let whole = 0;
    let answerAt = 0; // where the answer being read starts
    let bodyEnd = -1; // where it ends, once its head is read
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no ${answers} whole answers: ${JSON.stringify(text.slice(0, 2000))}`)); }, 5000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, whole, closed });
    };
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      text += data;
      for (;;) {
        if (bodyEnd < 0) {
          const headEnd = text.indexOf('\r\n\r\n', answerAt);
          const length = headEnd < 0 ? null : /content-length: *(\d+)/i.exec(text.slice(answerAt, headEnd));
          if (!length) break;
          bodyEnd = headEnd + 4 + Number(length[1]);
        }
        if (text.length < bodyEnd) break;
        whole++;
        answerAt = bodyEnd;
        bodyEnd = -1;
      }
      if (whole >= answers) return done(false);
      if (pending.length > 0 && whole === requests.length - pending.length) socket.write(pending.shift()!);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => {});
    socket.write(pending.shift()!);
    if (readAfterMs > 0) {
      socket.pause();
      setTimeout(() => socket.resume(), readAfterMs);
    }
  });
}

const withoutDate = (text: string) => text.replace(/\r\nDate: [^\r]+/g, '\r\nDate: -');

describe('a raw answer', () => {
  it('is the bytes Node writes for the same answer, but for the date, and the connection serves the next request', async () => {
    const bodies = ['[{"id":"1","data":{"text":"héllo"}}]', '[]'];
    let n = 0;
    const finished: string[] = [];
    const raw = await listen((req, res) => {
      const body = Buffer.from(bodies[n++ % 2]!);
      res.on('finish', () => finished.push('finish'));
      res.on('close', () => finished.push('close'));
      expect(writeRawAnswer(res, headers, body)).toBe(true);
    });
    const node = await listen((req, res) => {
      const body = Buffer.from(bodies[n++ % 2]!);
      res.writeHead(200, [...headers, 'content-length', String(body.length)]);
      res.end(body);
    });
    n = 0;
    const ours = await exchange(raw, [get('/a'), get('/b')]);
    n = 0;
    const nodes = await exchange(node, [get('/a'), get('/b')]);
    expect(withoutDate(ours.text)).toBe(withoutDate(nodes.text));
    expect(ours.text).toMatch(/\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=72\r\n/);
    expect(ours.closed).toBe(false);
    expect(finished).toEqual(['finish', 'close', 'finish', 'close']);
  });

  it('finishes its response only once a body too big for one write has gone out', async () => {
    const body = Buffer.alloc(32 * 1024 * 1024, 'x'); // far more than a socket's send buffer takes in one write (at most 4 MB here)
    const unsentAtFinish: number[] = [];
    const port = await listen((req, res) => {
      const { socket } = req;
      res.on('finish', () => unsentAtFinish.push(socket.writableLength));
      expect(writeRawAnswer(res, headers, body)).toBe(true);
      expect(socket.writableLength).toBeGreaterThan(0); // the client is not reading yet
    });
    const { text, closed } = await exchange(port, [get('/big'), get('/big')], { readAfterMs: 100 });
    expect(closed).toBe(false);
    expect(text.length).toBeGreaterThan(2 * body.length);
    expect(unsentAtFinish).toEqual([0, 0]);
  });

  describe('is not written, and Node answers, where Node would write something else', () => {
    async function taken(request: string, options: { setup?: (server: Server) => void; before?: (res: ServerResponse) => void; list?: string[] } = {}) {
      const answers: boolean[] = [];
      const port = await listen((req, res) => {
        options.before?.(res);
        const body = Buffer.from('[]');
        const wrote = writeRawAnswer(res, options.list ?? headers, body);
        answers.push(wrote);
        if (!wrote) res.writeHead(200, [...(options.list ?? headers), 'content-length', '2']).end(body);
      }, options.setup);
      const result = await exchange(port, [request]);
      expect(result.whole).toBe(1);
      return { wrote: answers[0], ...result };
    }

    it('an HTTP/1.0 request the connection closes after', async () => {
      const { wrote, text } = await taken('GET /a HTTP/1.0\r\n\r\n');
      expect(wrote).toBe(false);
      expect(text).toMatch(/\r\nConnection: close\r\n/);
    });

    it('a response with a header of its own', async () => {
      const { wrote, text } = await taken(get('/a'), { before: (res) => res.setHeader('x-trace', 'abc') });
      expect(wrote).toBe(false);
      expect(text).toMatch(/\r\nx-trace: abc\r\n/);
    });

    it('a header list that names the connection or the length', async () => {
      const closing = await taken(get('/a'), { list: [...headers, 'Connection', 'close'] });
      expect(closing.wrote).toBe(false);
      expect(closing.text).toMatch(/\r\nConnection: close\r\n/);
    });

    it('a server that limits requests per connection', async () => {
      const { wrote, text } = await taken(get('/a'), { setup: (server) => { server.maxRequestsPerSocket = 1; } });
      expect(wrote).toBe(false);
      expect(text).toMatch(/\r\nConnection: close\r\n/);
    });

    it('a header list with a name Node would refuse, which throws as writeHead() does', async () => {
      const thrown: string[] = [];
      const port = await listen((req, res) => {
        for (const write of [() => writeRawAnswer(res, ['bad name', 'x'], Buffer.from('[]')), () => res.writeHead(200, ['bad name', 'x'])]) {
          try {
            write();
          } catch (err) {
            thrown.push((err as { code: string }).code);
          }
        }
        res.end();
      });
      await exchange(port, [get('/a')]);
      expect(thrown).toEqual(['ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_HTTP_TOKEN']);
    });
  });

  it('leaves a pipelined request, whose response waits its turn, to Node, in order', async () => {
    const wrote: boolean[] = [];
    let n = 0;
    const port = await listen((req, res) => {
      const body = Buffer.from(`["${n++}"]`);
      const raw = writeRawAnswer(res, headers, body);
      wrote.push(raw);
      if (!raw) res.writeHead(200, [...headers, 'content-length', String(body.length)]).end(body);
    });
    const all = await exchange(port, [get('/a') + get('/b') + get('/c')], { answers: 3 });
    expect(all.text.match(/\["\d+"\]/g)).toEqual(['["0"]', '["1"]', '["2"]']);
    expect(wrote).toEqual([true, false, false]);
  });
});
