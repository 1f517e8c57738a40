// The fan-out loop of long-poll answers alone: 1,000 kept-alive loopback
// connections each hold a poll, and one message answers them all in one
// synchronous loop. The loop is timed for each way of writing an answer, each in a
// process of its own, and printed as a table (BENCHMARKS.md, session 9):
//   node dist/bench/answer-loop.js
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeRawAnswer } from '../server/raw-answer.ts';

const POLLS = 1000;
const WAVES = 30; // the first 10 warm up and are not counted

const ways = {
  'writeHead(200, {…}) and end(body), as the reference': (res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache, no-store', 'content-length': bodyText.length });
    res.end(bodyText, 'latin1');
  },
  'writeHead(200, [flat list]) and end(body)': (res: http.ServerResponse) => {
    res.writeHead(200, sizedList);
    res.end(bodyText, 'latin1');
  },
  'writeRawAnswer(): one buffer per message': (res: http.ServerResponse) => {
    if (!writeRawAnswer(res, list, body)) throw new Error('not the plain case');
  },
};
type Way = keyof typeof ways;

const body = Buffer.from('[{"id":"mx9vg9l8-0re0","data":{"t":1796442449804,"seq":1,"pad":"xxxxxxxxxxxxxxxxxx"}}]');
const bodyText = body.toString('latin1');
const list = ['content-type', 'application/json; charset=utf-8', 'x-content-type-options', 'nosniff', 'cache-control', 'no-cache, no-store'];
const sizedList = [...list, 'content-length', String(body.length)];

/** Runs `way` for WAVES waves; resolves with the median loop, in ms, of the counted ones. */
async function measure(way: Way): Promise<number> {
  const answer = ways[way];
  let held: http.ServerResponse[] = [];
  const loops: number[] = [];
  let finished: () => void = () => {};
  const server = http.createServer((_req, res) => {
    held.push(res);
    if (held.length < POLLS) return;
    // The next wave once every poll is held again, after its socket settles.
    setTimeout(() => {
      const wave = held;
      held = [];
      const started = performance.now();
      for (const res of wave) answer(res);
      loops.push(performance.now() - started);
      if (loops.length === WAVES) finished();
    }, 5);
  });
  server.keepAliveTimeout = 72_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const sockets: Socket[] = [];
  for (let i = 0; i < POLLS; i++) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      text += data;
      if (!text.endsWith(bodyText)) return;
      text = '';
      if (loops.length < WAVES) socket.write('GET /poll HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    socket.write('GET /poll HTTP/1.1\r\nHost: x\r\n\r\n');
  }
  await new Promise<void>((resolve) => { finished = resolve; });
  for (const socket of sockets) socket.destroy();
  server.close();
  const counted = loops.slice(10).sort((a, b) => a - b);
  return counted[Math.floor(counted.length / 2)]!;
}

const way = process.argv[2] as Way | undefined;
if (way) {
  const ms = await measure(way);
  process.send!(ms, () => process.exit(0));
} else {
  console.log(`| how each of ${POLLS} answers is written | ms per loop, median of ${WAVES - 10} waves | ÷ the reference's way |`);
  console.log('|---|---|---|');
  let reference = NaN;
  for (const name of Object.keys(ways) as Way[]) {
    const child = fork(fileURLToPath(import.meta.url), [name]);
    const [ms] = (await once(child, 'message')) as [number];
    await once(child, 'exit');
    if (Number.isNaN(reference)) reference = ms;
    console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / reference).toFixed(2)}× |`);
  }
}
