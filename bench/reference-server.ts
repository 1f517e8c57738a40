// The reference: a minimal hand-written Node `http` SSE and long-poll
// broadcaster, as someone would write it without evcomet. Every figure in the
// bench is also a ratio against this, measured in the same run.
//   GET /sse                 SSE, `id:` and `data:` per message
//   GET /poll?since=<n>      long-poll: messages after n, or held until one comes
//   POST /publish            JSON body → every subscriber; answers {"id":n}
import http from 'node:http';

const port = Number(process.env.PORT ?? 0);
const sse = new Set<http.ServerResponse>();
let polls: Array<{ since: number; res: http.ServerResponse }> = [];
const recent: Array<{ id: number; json: string }> = [];
let lastId = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('retry: 3000\n\n');
    sse.add(res);
    req.on('close', () => sse.delete(res));
  } else if (req.method === 'GET' && url.pathname === '/poll') {
    const since = Number(url.searchParams.get('since') ?? lastId);
    const ready = recent.filter((m) => m.id > since);
    if (ready.length > 0) return answerPoll(res, ready);
    const poll = { since, res };
    polls.push(poll);
    const timer = setTimeout(() => answerPoll(res, []), 25_000);
    req.on('close', () => { clearTimeout(timer); polls = polls.filter((p) => p !== poll); });
  } else if (req.method === 'POST' && url.pathname === '/publish') {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const id = ++lastId;
      recent.push({ id, json: body });
      if (recent.length > 1000) recent.shift();
      for (const client of sse) client.write(`id: ${id}\ndata: ${body}\n\n`);
      const waiting = polls;
      polls = [];
      for (const p of waiting) answerPoll(p.res, recent.filter((m) => m.id > p.since));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id }));
    });
  } else if (url.pathname === '/__gc') {
    (globalThis as { gc?: () => void }).gc?.();
    res.end(JSON.stringify(process.memoryUsage()));
  } else {
    res.writeHead(404).end();
  }
});

function answerPoll(res: http.ServerResponse, messages: Array<{ id: number; json: string }>) {
  if (res.writableEnded) return;
  const body = `[${messages.map((m) => `{"id":"${m.id}","data":${m.json}}`).join(',')}]`;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// fastify's default, which evcomet keeps: both servers hold an idle connection
// equally long. Node's own 5 s is shorter than one fan-out under valgrind (the
// callgrind scenario), and cut pollers' connections before their next poll was read.
server.keepAliveTimeout = 72_000;

server.listen(port, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('SIGINT', () => process.exit(0)); // --cpu-prof writes its profile on a clean exit
