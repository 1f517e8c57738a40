// The least a long-poll server on Node's `http` can do, speaking the
// reference's protocol (GET /poll?since=<n>, POST /publish). No URL object, no
// filter over the recent messages, no closure or timer per poll: a message
// finds its held polls in one array, and their answer, head and body, is made
// once and written to each socket as evcomet writes it (server/raw-answer.ts).
// No hold limit and no sweep of gone clients: the bench's messages come every
// 50 ms and its pollers stay.
//
// It is not a product. A server on Node's `http` can hardly pay less per poll,
// so `--bare` (bench/run.ts) shows about how far below the reference any of
// them can get in the long-poll scenario (BENCHMARKS.md, session 11).
import http from 'node:http';
import { writeRawAnswer } from '../server/raw-answer.ts';

const port = Number(process.env.PORT ?? 0);
const headers = ['content-type', 'application/json', 'cache-control', 'no-cache'];
let held: http.ServerResponse[] = [];
// Message n's body part is recent[n - firstId]; at most 1,000 kept, as the reference keeps.
const recent: string[] = [];
let firstId = 1;
let lastId = 0;

function send(res: http.ServerResponse, body: Buffer): void {
  if (!writeRawAnswer(res, headers, body)) res.writeHead(200, [...headers, 'content-length', String(body.length)]).end(body);
}

function answer(res: http.ServerResponse, since: number): void {
  const from = Math.max(since + 1, firstId);
  send(res, Buffer.from(`[${recent.slice(from - firstId).join(',')}]`));
}

const server = http.createServer((req, res) => {
  const url = req.url!;
  if (req.method === 'GET' && url.startsWith('/poll')) {
    const at = url.indexOf('since=');
    const since = at < 0 ? lastId : Number(url.slice(at + 6));
    if (since < lastId) return answer(res, since);
    held.push(res);
  } else if (req.method === 'POST' && url === '/publish') {
    let json = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { json += d; });
    req.on('end', () => {
      const id = ++lastId;
      recent.push(`{"id":"${id}","data":${json}}`);
      if (recent.length > 1000) {
        recent.shift();
        firstId++;
      }
      const body = Buffer.from(`[${recent[recent.length - 1]}]`);
      const waiting = held;
      held = [];
      for (const poll of waiting) if (!poll.writableEnded && !poll.destroyed) send(poll, body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":${id}}`);
    });
  } else if (url === '/__gc') {
    (globalThis as { gc?: () => void }).gc?.();
    res.end(JSON.stringify(process.memoryUsage()));
  } else {
    res.writeHead(404).end();
  }
});

server.keepAliveTimeout = 72_000; // as the other two servers
server.listen(port, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('SIGINT', () => process.exit(0));
