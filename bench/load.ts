// A load-generator process, driven by bench/run.ts over IPC. It holds raw TCP
// sockets (no HTTP client library, so the client costs little CPU), parses SSE
// and long-poll answers minimally, and measures each message's latency from the
// publish time it carries. Every loop here is bounded in count and time.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

// 'bare' (bench/bare-poll-server.ts) speaks the reference's protocol.
export type ServerKind = 'evcomet' | 'reference' | 'bare';

export type Command =
  | { cmd: 'subscribe'; kind: ServerKind; port: number; count: number; addresses: string[]; path?: string }
  | { cmd: 'poll'; kind: ServerKind; port: number; count: number; addresses: string[]; repollAfterWave?: boolean }
  | { cmd: 'reset' }
  | { cmd: 'count' }
  | { cmd: 'report'; expected: number }
  | { cmd: 'close' };

export interface Report {
  subscribers: number;
  received: number;
  lost: number;
  repeated: number;
  latencies: number[];
  /** The seq of the message each latency is of, in the same order. */
  seqs: number[];
  firstAt: number;
  lastAt: number;
}

const now = () => performance.timeOrigin + performance.now();

// Concurrent publishers may be delivered in any order, so a repeat is a seq seen before, not a lower one.
interface Tally { seen: Set<number>; repeated: number }

const sockets = new Set<Socket>();
let tallies: Tally[] = [];
let latencies: number[] = [];
let seqs: number[] = [];
let firstAt = 0;
let lastAt = 0;
let pollingStopped = false;

function record(tally: Tally, data: unknown, at: number): void {
  const { t, seq } = payloadOf(data as Parameters<typeof payloadOf>[0]);
  if (seq === undefined) return;
  if (tally.seen.has(seq)) {
    tally.repeated++;
    return;
  }
  tally.seen.add(seq);
  latencies.push(at - t);
  seqs.push(seq);
  if (!firstAt) firstAt = at;
  lastAt = at;
}

// A bench message is `{ t, seq, pad }`; in a chat room it is the text of a line
// (`{ type: 'line', line: { text } }`), and other room messages (join, leave) are not counted.
function payloadOf(data: { t?: number; seq?: number; type?: string; line?: { text: string } }): { t: number; seq?: number } {
  if (data.type === undefined) return data as { t: number; seq: number };
  return data.type === 'line' && data.line ? JSON.parse(data.line.text) : { t: 0 };
}

function open(port: number, address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: address });
    socket.setNoDelay(true);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Opens `count` SSE subscribers to `path` (the bench channel by default); resolves with how many got a 200. */
async function subscribe(kind: ServerKind, port: number, count: number, addresses: string[], path = kind === 'evcomet' ? '/comet/bench?transport=sse' : '/sse'): Promise<number> {
  let ok = 0;
  const batch = 200; // connect in waves so the accept queue never overflows
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
      const socket = await open(port, addresses[(i + j) % addresses.length]!).catch(() => null);
      if (!socket) return;
      sockets.add(socket);
      const tally: Tally = { seen: new Set(), repeated: 0 };
      tallies.push(tally);
      socket.setEncoding('latin1');
      let buffer = '';
      let headed = false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        socket.on('data', (text: string) => {
          const at = now();
          buffer += text;
          if (!headed) {
            const end = buffer.indexOf('\r\n\r\n');
            if (end < 0) return;
            headed = true;
            if (buffer.startsWith('HTTP/1.1 200')) ok++;
            buffer = buffer.slice(end + 4);
            clearTimeout(timer);
            resolve();
          }
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = event.indexOf('data: ');
            if (data < 0) continue;
            const eol = event.indexOf('\n', data);
            record(tally, JSON.parse(event.slice(data + 6, eol < 0 ? undefined : eol)), at);
          }
        });
        socket.on('error', () => resolve());
        socket.on('close', () => { sockets.delete(socket); resolve(); });
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      });
    }));
  }
  return ok;
}

/** Starts `count` long-pollers that re-poll at once with their cursor; resolves when each has sent its first poll. */
async function poll(kind: ServerKind, port: number, count: number, addresses: string[], repollAfterWave = false): Promise<number> {
  const url = (since: string | null) => (kind === 'evcomet'
    ? `/comet/bench?transport=longpoll${since ? `&since=${since}` : ''}`
    : `/poll${since ? `?since=${since}` : ''}`);
  pollingStopped = false;
  let started = 0;
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const socket = await open(port, addresses[i % addresses.length]!).catch(() => null);
    if (!socket) return;
    sockets.add(socket);
    const tally: Tally = { seen: new Set(), repeated: 0 };
    tallies.push(tally);
    let cursor: string | null = null;
    let buffer: Buffer = Buffer.alloc(0);
    const send = () => socket.write(`GET ${url(cursor)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    socket.on('data', (data: Buffer) => {
      const at = now();
      buffer = buffer.length ? Buffer.concat([buffer, data]) : data;
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (Number.isNaN(length)) throw new Error(`long-poll answer without content-length:\n${head}`);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        for (const item of JSON.parse(body) as Array<{ id?: string; data?: unknown; control?: string }>) {
          if (item.id === undefined) continue;
          cursor = item.id;
          record(tally, item.data, at);
        }
        if (pollingStopped) continue;
        if (repollAfterWave) repollSoon(send);
        else send();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    send();
    started++;
  }));
  return started;
}

// With `--repoll-after-wave`, re-polls wait until the answers stop coming (none
// for 1 ms). This one process stands for a thousand browsers, each of which
// would read its answer while the server writes the others'. Re-polling at
// once, each re-poll's write (whose loopback delivery is most of this process's
// CPU per answer) holds up the reading of every answer after it, so a message's
// later latencies are this process's pace more than the server's (BENCHMARKS.md,
// session 9). Waiting shows the server's own pace, at a cost: once a server falls
// behind, answers keep trickling and the re-polls keep waiting.
let repolls: Array<() => void> = [];
let repollTimer: NodeJS.Timeout | null = null;

function repollSoon(send: () => void): void {
  repolls.push(send);
  if (repollTimer) repollTimer.refresh();
  else repollTimer = setTimeout(sendRepolls, 1);
}

function sendRepolls(): void {
  repollTimer = null;
  const due = repolls;
  repolls = [];
  if (!pollingStopped) for (const send of due) send();
}

function report(expected: number): Report {
  let received = 0;
  let lost = 0;
  let repeated = 0;
  for (const tally of tallies) {
    received += tally.seen.size;
    repeated += tally.repeated;
    lost += Math.max(0, expected - tally.seen.size);
  }
  return { subscribers: tallies.length, received, lost, repeated, latencies, seqs, firstAt, lastAt };
}

process.on('message', async (command: Command) => {
  switch (command.cmd) {
    case 'subscribe':
      process.send!({ connected: await subscribe(command.kind, command.port, command.count, command.addresses, command.path) });
      break;
    case 'poll':
      process.send!({ connected: await poll(command.kind, command.port, command.count, command.addresses, command.repollAfterWave) });
      break;
    case 'reset':
      for (const tally of tallies) {
        tally.seen.clear();
        tally.repeated = 0;
      }
      latencies = [];
      seqs = [];
      firstAt = 0;
      lastAt = 0;
      process.send!({ ok: true });
      break;
    case 'count':
      process.send!({ received: tallies.reduce((n, t) => n + t.seen.size, 0) });
      break;
    case 'report':
      pollingStopped = true;
      process.send!(report(command.expected));
      break;
    case 'close':
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      tallies = [];
      latencies = [];
      seqs = [];
      process.send!({ ok: true });
      break;
  }
});
