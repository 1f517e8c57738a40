// `npm run bench`: runs evcomet and the hand-written reference (and bare fastify
// for the hello scenario) as separate processes on 127.0.0.1, drives them from
// load-generator processes (bench/load.ts), and prints one table. Results go to
// bench/results.json and the latency chart to bench/latency.svg. Everything runs
// compiled (dist/), as a deployment would: no TypeScript loader in the way.
//   npm run bench                 everything (about twenty-five minutes)
//   npm run bench -- --quick      smaller sizes, for a quick look
//   npm run bench -- --only=hold,fanout   (hold, fanout, longpoll, throughput, hello, wire, amqp, chat)
//   npm run bench -- --cpu-prof        servers write V8 CPU profiles to bench/profiles/
//   npm run bench -- --only=longpoll --rounds=5       long-poll rounds per server (default 20)
//   npm run bench -- --only=longpoll --same-server    the reference against itself: the machine's noise
//   npm run bench -- --only=longpoll --bare           the reference against the least a Node `http` server can do
//   npm run bench -- --only=longpoll --repoll-after-wave  pollers re-poll once a message's answers stop coming
//   npm run bench -- --only=longpoll --rate=40        long-poll messages per second (default 20): past what the machine keeps up with
//   npm run bench -- --only=callgrind   long-poll work per answer, counted by valgrind (only when asked)
//   npm run bench -- --only=callgrind --callgrind-dir=DIR   keeps the counts for bench/callgrind-functions.ts
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import autocannon from 'autocannon';
import mysql from 'mysql2/promise';
import { transportNames, type TransportName } from '../transports/encoder.ts';
import { encoders } from '../transports/index.ts';
import type { Command, Report, ServerKind } from './load.ts';
import { latencyChart } from './chart.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const LONGPOLL_SECONDS = quick ? 3 : 10;
const LONGPOLL_ROUNDS = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 20));
// The long-poll scenario with the reference in both places: how far two runs of one server differ.
const sameServerTwice = args.includes('--same-server');
// The long-poll scenario with bench/bare-poll-server.ts in evcomet's place: the floor under any server on Node's `http`.
const bareRival = args.includes('--bare');
// Long-pollers re-poll once a message's answers stop coming, not the moment each is read (bench/load.ts).
const repollAfterWave = args.includes('--repoll-after-wave');
// Long-poll messages per second: the issue's 20 by default; more puts the pollers behind, catching up.
const LONGPOLL_RATE = Number(args.find((a) => a.startsWith('--rate='))?.slice(7) ?? 20);
const cpuProf = args.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [];
// Where the callgrind scenario keeps each server's counts, perf map and answer count, if asked.
const callgrindDir = args.find((a) => a.startsWith('--callgrind-dir='))?.slice(16);
const wanted = (name: string) => (!only && name !== 'callgrind') || (only?.includes(name) ?? false);

const HOLD_TIERS = quick ? [1000, 2000] : [1000, 5000, 10_000, 19_000];
const FANOUT_SIZES = quick ? [1000] : [1000, 2500, 5000, 10_000];
const AMQP_SIZES = quick ? [100] : [100, 2000];
// Rounds of the RabbitMQ scenario: the p50 it adds is the difference of two p50s that each move by milliseconds between runs.
const AMQP_ROUNDS = quick ? 1 : 3;
const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const CHAT_SIZES = quick ? [100] : [100, 1000];
// An account that may create and drop a database of the bench's own.
const MYSQL_ADMIN_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const WARM_UP_SEQ = 1_000_000; // warm-up messages' seqs, apart from the measured ones
const PER_WORKER = 10_000; // each process stays under the 20,000 open-files limit
const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const here = new URL('.', import.meta.url); // dist/bench/
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- processes -------------------------------------------------------------------

interface Server {
  kind: ServerKind | 'fastify';
  port: number;
  child: ChildProcess;
  /** Full (mark-compact) collections so far, counted when started with `traceGc`. */
  fullGcs: number;
  /** The longest pause of any collection since this was last set to 0, in ms, when started with `traceGc`. */
  longestGcMs: number;
}

async function startServer(kind: Server['kind'], env: Record<string, string> = {}, { traceGc = false } = {}): Promise<Server> {
  const script = { evcomet: 'evcomet-server.js', reference: 'reference-server.js', fastify: 'fastify-hello-server.js', bare: 'bare-poll-server.js' }[kind];
  const child = fork(new URL(script, here), {
    execArgv: ['--expose-gc', ...(traceGc ? ['--trace-gc'] : []), ...cpuProf],
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', traceGc ? 'pipe' : 'ignore', 'inherit', 'ipc'],
  });
  const started = Promise.race([once(child, 'message'), sleep(20_000).then(() => { throw new Error(`${kind} did not start`); })]);
  // A server that never said it started is killed, or it would outlive the bench and hold its output open.
  const [message] = (await started.catch((err: unknown) => { child.kill('SIGKILL'); throw err; })) as [{ port: number }];
  const server: Server = { kind, port: message.port, child, fullGcs: 0, longestGcMs: 0 };
  // --trace-gc prints a line per collection, with its pause after the sizes
  // ("… -> 9.8 (13.0) MB, 2.31 / 0.00 ms …"); a full one says Mark-Compact.
  if (traceGc) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('Mark-Compact')) server.fullGcs++;
      const pause = / MB, ([\d.]+) \//.exec(line);
      if (pause) server.longestGcMs = Math.max(server.longestGcMs, Number(pause[1]));
    });
  }
  return server;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  // SIGINT lets a profiled server write its profile; the rest are killed outright.
  child.kill(cpuProf.length > 0 ? 'SIGINT' : 'SIGKILL');
  await exited;
}

interface Worker { child: ChildProcess; send<T>(command: Command): Promise<T> }

async function startWorker(): Promise<Worker> {
  const child = fork(new URL('load.js', here), { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    child,
    async send<T>(command: Command) {
      child.send(command);
      const [reply] = await once(child, 'message');
      return reply as T;
    },
  };
}

/** Workers enough for `count` sockets, each given its share. */
async function withWorkers<T>(count: number, fn: (workers: Worker[], shares: number[]) => Promise<T>): Promise<T> {
  const n = Math.max(1, Math.ceil(count / PER_WORKER));
  const workers = await Promise.all(Array.from({ length: n }, startWorker));
  const shares = workers.map((_, i) => Math.min(PER_WORKER, count - i * PER_WORKER));
  try {
    return await fn(workers, shares);
  } finally {
    await Promise.all(workers.map((w) => stop(w.child)));
  }
}

// --- helpers ---------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function publish(server: Server, seq: number, extra = ''): Promise<void> {
  const body = payload(seq, extra);
  const path = server.kind === 'evcomet' ? '/comet/bench' : '/publish';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`publish answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A 66-byte JSON message carrying its publish time, like an OPRA quote in EvServer's write-up. */
function payload(seq: number, extra = ''): string {
  const head = `{"t":${now().toFixed(3)},"seq":${seq},"pad":"`;
  return head + extra + 'x'.repeat(Math.max(0, 66 - head.length - extra.length - 2)) + '"}';
}

async function rssAfterGc(server: Server): Promise<number> {
  await fetch(`http://127.0.0.1:${server.port}/__gc`);
  await sleep(200);
  await fetch(`http://127.0.0.1:${server.port}/__gc`);
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** P(X ≥ k) for X the number of heads in n fair coin tosses. */
function binomialTail(n: number, k: number): number {
  let term = 0.5 ** n; // P(X = 0)
  let tail = k <= 0 ? term : 0;
  for (let i = 1; i <= n; i++) {
    term = (term * (n - i + 1)) / i;
    if (i >= k) tail += term;
  }
  return tail;
}

function merge(reports: Report[]): Report {
  return reports.reduce((a, b) => ({
    subscribers: a.subscribers + b.subscribers, received: a.received + b.received, lost: a.lost + b.lost,
    repeated: a.repeated + b.repeated, latencies: a.latencies.concat(b.latencies), seqs: a.seqs.concat(b.seqs),
    firstAt: Math.min(a.firstAt || Infinity, b.firstAt || Infinity), lastAt: Math.max(a.lastAt, b.lastAt),
  }));
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (ours: number, ref: number) => (ref > 0 ? `${(ours / ref).toFixed(2)}×` : '-');

// --- scenarios -------------------------------------------------------------------

interface HoldRow { server: ServerKind; subscribers: number; connected: number; rssMiB: number; perSubscriberKiB: number }

async function hold(kind: ServerKind): Promise<HoldRow[]> {
  const server = await startServer(kind);
  const rows: HoldRow[] = [];
  try {
    const top = HOLD_TIERS.at(-1)!;
    await withWorkers(top, async (workers) => {
      const base = await rssAfterGc(server);
      let held = 0;
      let connected = 0;
      for (const tier of HOLD_TIERS) {
        // fill the workers in order, each up to its share
        let need = tier - held;
        for (let i = 0; i < workers.length && need > 0; i++) {
          const room = PER_WORKER - Math.max(0, Math.min(PER_WORKER, held - i * PER_WORKER));
          const take = Math.min(room, need);
          if (take <= 0) continue;
          connected += (await workers[i]!.send<{ connected: number }>({ cmd: 'subscribe', kind, port: server.port, count: take, addresses: ADDRESSES })).connected;
          need -= take;
          held += take;
        }
        await sleep(1000);
        const rss = await rssAfterGc(server);
        rows.push({ server: kind, subscribers: tier, connected, rssMiB: rss / 1048576, perSubscriberKiB: (rss - base) / connected / 1024 });
      }
    });
  } finally {
    await stop(server.child);
  }
  return rows;
}

interface LatencyRow { server: ServerKind; subscribers: number; messages: number; p50: number; p99: number; max: number; lost: number; repeated: number }

async function fanout(kind: ServerKind, subscribers: number): Promise<LatencyRow> {
  const server = await startServer(kind);
  const messages = 50;
  try {
    return await withWorkers(subscribers, async (workers, shares) => {
      await Promise.all(workers.map((w, i) => w.send({ cmd: 'subscribe', kind, port: server.port, count: shares[i]!, addresses: ADDRESSES })));
      await sleep(1000);
      await Promise.all(workers.map((w) => w.send({ cmd: 'reset' })));
      for (let seq = 0; seq < messages; seq++) {
        await publish(server, seq);
        await sleep(200);
      }
      await settle(workers);
      const r = merge(await Promise.all(workers.map((w) => w.send<Report>({ cmd: 'report', expected: messages }))));
      const sorted = r.latencies.sort((a, b) => a - b);
      return { server: kind, subscribers: r.subscribers, messages, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, lost: r.lost, repeated: r.repeated };
    });
  } finally {
    await stop(server.child);
  }
}

interface PollRow extends LatencyRow {
  delivered: number;
  expected: number;
  cpuUsPerAnswer: number;
  /** Full collections in the server during the measured seconds: what a bad round usually has (BENCHMARKS.md, session 5). */
  fullGcs: number;
  /** The server's longest collection pause during the measured seconds, in ms. */
  longestGcMs: number;
  /** The median, over messages, of a message's last answer's latency: how long a thousand polls take to be answered and read. */
  lastAnswer: number;
}
/** One server's long-poll round: its row and what pooling rounds needs. */
interface PollRound { row: PollRow; latencies: number[]; lastAnswers: number[]; cpuUs: number }

/** Each message's latest answer, in ms, sorted. */
function lastAnswers(r: Report): number[] {
  const latest = new Map<number, number>();
  r.latencies.forEach((latency, i) => latest.set(r.seqs[i]!, Math.max(latency, latest.get(r.seqs[i]!) ?? 0)));
  return [...latest.values()].sort((a, b) => a - b);
}

/** The CPU time a process has used, user and system, in microseconds (Linux /proc). */
function cpuTimeUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux the bench runs on

async function longPoll(kind: ServerKind): Promise<PollRound> {
  const server = await startServer(kind, {}, { traceGc: true });
  const pollers = quick ? 200 : 1000;
  const rate = LONGPOLL_RATE;
  const messages = rate * LONGPOLL_SECONDS;
  try {
    return await withWorkers(pollers, async (workers, shares) => {
      await Promise.all(workers.map((w, i) => w.send({ cmd: 'poll', kind, port: server.port, count: shares[i]!, addresses: ADDRESSES, repollAfterWave })));
      await sleep(1500);
      // A second of messages first, not counted: both servers are measured with
      // their code compiled, as a server that has run a while is.
      for (let n = 0; n < rate; n++) {
        await publish(server, WARM_UP_SEQ + n);
        await sleep(1000 / rate);
      }
      await sleep(500);
      await Promise.all(workers.map((w) => w.send({ cmd: 'reset' })));
      const started = now();
      const cpuBefore = cpuTimeUs(server.child.pid!);
      const fullGcsBefore = server.fullGcs;
      server.longestGcMs = 0;
      for (let seq = 0; seq < messages; seq++) {
        await publish(server, seq);
        const next = started + ((seq + 1) * 1000) / rate;
        await sleep(Math.max(0, next - now()));
      }
      await settle(workers);
      const cpuUs = cpuTimeUs(server.child.pid!) - cpuBefore;
      const fullGcs = server.fullGcs - fullGcsBefore;
      const { longestGcMs } = server;
      const r = merge(await Promise.all(workers.map((w) => w.send<Report>({ cmd: 'report', expected: messages }))));
      if (process.env.BENCH_SLOW_MS) console.log(kind, slowMessages(r, Number(process.env.BENCH_SLOW_MS)));
      const lasts = lastAnswers(r);
      const sorted = r.latencies.sort((a, b) => a - b);
      if (process.env.BENCH_HISTOGRAM) {
        const edges = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
        console.log(kind, edges.map((e, i) => `≤${e}:${sorted.filter((v) => v <= e && v > (edges[i - 1] ?? -1)).length}`).join(' '));
      }
      const row = { server: kind, subscribers: r.subscribers, messages, delivered: r.received, expected: messages * r.subscribers,
        p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, lost: r.lost, repeated: r.repeated,
        cpuUsPerAnswer: cpuUs / r.received, fullGcs, longestGcMs, lastAnswer: percentile(lasts, 50) };
      return { row, latencies: sorted, lastAnswers: lasts, cpuUs };
    });
  } finally {
    await stop(server.child);
  }
}

/** One row for all of a server's rounds: the percentiles of every answer they got, the CPU of all of them. */
function pooled(rounds: PollRound[]): PollRow {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const sum = (pick: (row: PollRow) => number) => rounds.reduce((total, r) => total + pick(r.row), 0);
  const first = rounds[0]!.row;
  return { server: first.server, subscribers: first.subscribers, messages: sum((row) => row.messages),
    delivered: sum((row) => row.delivered), expected: sum((row) => row.expected), lost: sum((row) => row.lost), repeated: sum((row) => row.repeated),
    p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN,
    cpuUsPerAnswer: rounds.reduce((total, r) => total + r.cpuUs, 0) / sum((row) => row.delivered), fullGcs: sum((row) => row.fullGcs),
    longestGcMs: Math.max(...rounds.map((r) => r.row.longestGcMs)),
    lastAnswer: percentile(rounds.flatMap((r) => r.lastAnswers).sort((a, b) => a - b), 50) };
}

/** Which messages arrived late, and where in the run: `seq:late answers/max ms` for each message with a latency over `overMs`. */
function slowMessages(r: Report, overMs: number): string {
  const bySeq = new Map<number, { late: number; max: number }>();
  r.latencies.forEach((latency, i) => {
    if (latency <= overMs) return;
    const seq = r.seqs[i]!;
    const slow = bySeq.get(seq) ?? { late: 0, max: 0 };
    slow.late++;
    slow.max = Math.max(slow.max, latency);
    bySeq.set(seq, slow);
  });
  const rows = [...bySeq].sort(([a], [b]) => a - b).map(([seq, { late, max }]) => `${seq}:${late}/${max.toFixed(0)}`);
  return `answers over ${overMs} ms, by message (seq:answers/max ms): ${rows.join(' ') || 'none'}`;
}

interface ThroughputRow { server: ServerKind; subscribers: number; published: number; deliveries: number; perSecond: number; lost: number }

async function throughput(kind: ServerKind): Promise<ThroughputRow> {
  const server = await startServer(kind);
  const subscribers = 100;
  const seconds = quick ? 3 : 10;
  try {
    return await withWorkers(subscribers, async ([worker]) => {
      await worker!.send({ cmd: 'subscribe', kind, port: server.port, count: subscribers, addresses: ADDRESSES });
      await sleep(500);
      await worker!.send({ cmd: 'reset' });
      let seq = 0;
      const until = now() + seconds * 1000;
      // as fast as the server accepts: 8 publishers in flight, each waiting for its answer
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (now() < until) await publish(server, seq++);
      }));
      await settle([worker!]);
      const r = await worker!.send<Report>({ cmd: 'report', expected: seq });
      return { server: kind, subscribers, published: seq, deliveries: r.received, perSecond: r.received / ((r.lastAt - r.firstAt) / 1000), lost: r.lost };
    });
  } finally {
    await stop(server.child);
  }
}

interface HelloRow { server: 'evcomet' | 'fastify'; requestsPerSecond: number; errors: number }

async function hello(kind: 'evcomet' | 'fastify'): Promise<HelloRow> {
  const server = await startServer(kind);
  try {
    const url = `http://127.0.0.1:${server.port}/hello`;
    await autocannon({ url, connections: 50, duration: 2 }); // warm up
    const result = await autocannon({ url, connections: 50, duration: quick ? 3 : 8 });
    return { server: kind, requestsPerSecond: result.requests.average, errors: result.errors + result.non2xx };
  } finally {
    await stop(server.child);
  }
}

interface WireRow { transport: TransportName; oneAtATime: number; underLoad: number }

/** Bytes a client receives (and, for polls, sends) per 66-byte message on each transport. */
async function wire(): Promise<WireRow[]> {
  const server = await startServer('evcomet');
  const rows: WireRow[] = [];
  const count = 20;
  try {
    for (const transport of transportNames) {
      const streaming = transport !== 'longpoll' && transport !== 'jsonp';
      const measure = streaming ? streamBytes : pollBytes;
      const oneAtATime = await measure(server, transport, count, false);
      const underLoad = await measure(server, transport, count, true);
      rows.push({ transport, oneAtATime, underLoad });
    }
  } finally {
    await stop(server.child);
  }
  return rows;
}

async function streamBytes(server: Server, transport: TransportName, count: number, burst: boolean): Promise<number> {
  const socket = connect({ port: server.port, host: '127.0.0.1' });
  await once(socket, 'connect');
  let bytes = 0;
  let text = '';
  socket.on('data', (d: Buffer) => { bytes += d.length; text += d.toString('latin1'); });
  const channel = `wire-${transport}-${burst}`;
  socket.write(`GET /comet/${channel}?transport=${transport} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await waitUntil(() => text.includes('\r\n\r\n') && bytes >= text.indexOf('\r\n\r\n') + 4 + openLength(transport), 'the opening');
  const before = bytes;
  const seen = () => (text.match(/"seq"/g) ?? []).length;
  if (burst) {
    await Promise.all(Array.from({ length: count }, (_, i) => publishTo(server, channel, i)));
    await waitUntil(() => seen() >= count, 'every message');
  } else {
    for (let i = 0; i < count; i++) {
      await publishTo(server, channel, i);
      await waitUntil(() => seen() >= i + 1, 'the message');
    }
  }
  socket.destroy();
  return (bytes - before) / count - 66;
}

function openLength(transport: TransportName): number {
  return encoders[transport].open({ callback: 'cb' }).length;
}

async function pollBytes(server: Server, transport: TransportName, count: number, burst: boolean): Promise<number> {
  const channel = `wire-${transport}-${burst}`;
  const socket = connect({ port: server.port, host: '127.0.0.1' });
  await once(socket, 'connect');
  let bytes = 0;
  let buffer = '';
  socket.on('data', (d: Buffer) => { bytes += d.length; buffer += d.toString('latin1'); });
  let cursor: string | null = null;
  let got = 0;
  let sent = 0;
  const request = () => {
    const line = `GET /comet/${channel}?transport=${transport}${transport === 'jsonp' ? '&callback=cb' : ''}${cursor ? `&since=${cursor}` : ''} HTTP/1.1\r\nHost: x\r\n\r\n`;
    sent += line.length;
    socket.write(line);
  };
  const answer = async (): Promise<void> => {
    await waitUntil(() => /content-length: (\d+)/i.test(buffer) && buffer.length >= buffer.indexOf('\r\n\r\n') + 4 + Number(/content-length: (\d+)/i.exec(buffer)![1]), 'an answer');
    const end = buffer.indexOf('\r\n\r\n') + 4;
    const length = Number(/content-length: (\d+)/i.exec(buffer)![1]);
    const body = buffer.slice(end, end + length);
    buffer = buffer.slice(end + length);
    const ids = [...body.matchAll(/"id":"([^"]+)"/g)].map((m) => m[1]!);
    got += ids.length;
    cursor = ids.at(-1) ?? cursor;
  };
  if (burst) {
    for (let i = 0; i < count; i++) await publishTo(server, channel, i);
    // the first poll with no cursor waits for new messages, so start from the channel's first id
    cursor = '0-0000';
    while (got < count) {
      request();
      await answer();
    }
  } else {
    for (let i = 0; i < count; i++) {
      request();
      await sleep(20);
      await publishTo(server, channel, i);
      await answer();
    }
  }
  socket.destroy();
  return (bytes + sent) / count - 66;
}

interface BusRow { setup: string; subscribers: number; p50: number; p99: number; max: number; lost: number; repeated: number }

/**
 * Fan-out through a bus: `processes` evcomet servers (subscribers split evenly
 * among them), messages published to the first, on the in-process bus (one
 * process) or through RabbitMQ with fresh exchanges.
 */
async function busFanout(bus: 'in-process' | 'rabbitmq', processes: number, subscribers: number): Promise<BusRow> {
  const exchanges = bus === 'rabbitmq' ? freshExchanges() : null;
  const servers = await Promise.all(Array.from({ length: processes }, () => startServer('evcomet', exchanges?.env)));
  const messages = 50;
  try {
    return await withWorkers(subscribers, async (workers) => {
      const share = subscribers / processes;
      for (const server of servers) await workers[0]!.send({ cmd: 'subscribe', kind: 'evcomet', port: server.port, count: share, addresses: ADDRESSES });
      await sleep(1000);
      await workers[0]!.send({ cmd: 'reset' });
      for (let seq = 0; seq < messages; seq++) {
        await publish(servers[0]!, seq);
        await sleep(200);
      }
      await settle(workers);
      const r = await workers[0]!.send<Report>({ cmd: 'report', expected: messages });
      const sorted = r.latencies.sort((a, b) => a - b);
      const setup = bus === 'in-process' ? 'in-process bus, 1 process' : `RabbitMQ, ${processes} process${processes > 1 ? 'es' : ''}`;
      return { setup, subscribers: r.subscribers, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, lost: r.lost, repeated: r.repeated };
    });
  } finally {
    await Promise.all(servers.map((s) => stop(s.child)));
    await exchanges?.remove();
  }
}

/** Exchanges of one scenario's own: the servers' settings for them, and their removal. */
function freshExchanges(): { env: Record<string, string>; remove(): Promise<void> } {
  const tag = randomBytes(4).toString('hex');
  const names = { chat: `bench.chat.${tag}`, forum: `bench.forum.${tag}` };
  return {
    env: { AMQP_URL, AMQP_CHAT_EXCHANGE: names.chat, AMQP_FORUM_EXCHANGE: names.forum },
    async remove() {
      const connection = await amqp.connect(AMQP_URL);
      const channel = await connection.createChannel();
      for (const name of Object.values(names)) await channel.deleteExchange(name);
      await connection.close();
    },
  };
}

interface ChatRow { setup: string; subscribers: number; postP50: number; postP99: number; p50: number; p99: number; max: number; lost: number; repeated: number }

/** A signed-in poster: its cookie and the CSRF token of its page. */
interface Poster { cookie: string; csrf: string }

async function pageCsrf(server: Server, cookie: string): Promise<string> {
  const html = await (await fetch(`http://127.0.0.1:${server.port}/chat/lobby`, { headers: { cookie } })).text();
  const data = JSON.parse(/id="evchat-data">([^<]*)</.exec(html)![1]!) as { csrf: string | null };
  if (!data.csrf) throw new Error('the bench poster is not signed in');
  return data.csrf;
}

/** Signs in on the embedded store's nick form. */
async function localPoster(server: Server): Promise<Poster> {
  const res = await fetch(`http://127.0.0.1:${server.port}/chat/sign-in`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'nick=bench&room=lobby',
  });
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: await pageCsrf(server, cookie) };
}

/** A database of the bench's own with phpBB's three sign-in tables and one forum user with a session. */
async function forumDatabase(): Promise<{ url: string; cookie: string; drop: () => Promise<void> }> {
  const name = `evcomet_bench_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, multipleStatements: true });
  const sid = randomBytes(16).toString('hex');
  await admin.query(`CREATE DATABASE \`${name}\`; USE \`${name}\`;
    CREATE TABLE phpbb_users (user_id INT PRIMARY KEY, user_type TINYINT NOT NULL DEFAULT 0, username VARCHAR(255) NOT NULL);
    CREATE TABLE phpbb_sessions (session_id CHAR(32) PRIMARY KEY, session_user_id INT NOT NULL, session_time INT NOT NULL);
    CREATE TABLE phpbb_user_group (group_id INT NOT NULL, user_id INT NOT NULL, user_pending TINYINT NOT NULL DEFAULT 0);
    INSERT INTO phpbb_users VALUES (2, 0, 'bench');
    INSERT INTO phpbb_sessions VALUES ('${sid}', 2, UNIX_TIMESTAMP());`);
  return {
    url: `${MYSQL_ADMIN_URL.replace(/\/$/, '')}/${name}`,
    cookie: `phpbb3_sid=${sid}; phpbb3_u=2`,
    drop: async () => { await admin.query(`DROP DATABASE \`${name}\``); await admin.end(); },
  };
}

/**
 * The chat end to end: 50 lines, one every 200 ms, posted over HTTP by a
 * signed-in user to the first process, to `subscribers` SSE subscribers of the
 * room split among the processes. Embedded: the file store and the in-process
 * bus in one process (`npm start`); site: MySQL and RabbitMQ, two processes.
 * Measures how long a post takes to be answered (stored and published) and
 * how long each line takes to reach every subscriber.
 */
async function chatScenario(setup: 'embedded' | 'site', subscribers: number): Promise<ChatRow> {
  const tag = randomBytes(4).toString('hex'); // keeps this run's idempotency keys apart
  const dataDir = mkdtempSync(`${os.tmpdir()}/evcomet-bench-`);
  const db = setup === 'site' ? await forumDatabase() : null;
  const exchanges = db ? freshExchanges() : null;
  const env: Record<string, string> = { CHAT_RATE_LINES: '10000', DATA_DIR: dataDir, ...(db ? { MYSQL_URL: db.url, ...exchanges!.env } : {}) };
  const servers = await Promise.all(Array.from({ length: db ? 2 : 1 }, () => startServer('evcomet', env)));
  const messages = 50;
  try {
    const poster = db ? { cookie: db.cookie, csrf: await pageCsrf(servers[0]!, db.cookie) } : await localPoster(servers[0]!);
    return await withWorkers(subscribers, async (workers) => {
      const share = subscribers / servers.length;
      for (const server of servers) await workers[0]!.send({ cmd: 'subscribe', kind: 'evcomet', port: server.port, count: share, addresses: ADDRESSES, path: '/chat/lobby/events?transport=sse' });
      await sleep(1000);
      await workers[0]!.send({ cmd: 'reset' });
      const answered: number[] = [];
      const origin = `http://127.0.0.1:${servers[0]!.port}`;
      for (let seq = 0; seq < messages; seq++) {
        const started = now();
        const res = await fetch(`${origin}/chat/lobby/lines`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: poster.cookie, 'x-csrf-token': poster.csrf, origin },
          body: JSON.stringify({ text: payload(seq), key: `bench-${tag}-${seq}` }),
        });
        if (res.status !== 201) throw new Error(`a post answered ${res.status}: ${await res.text()}`);
        answered.push(now() - started);
        await sleep(200);
      }
      await settle(workers);
      const r = await workers[0]!.send<Report>({ cmd: 'report', expected: messages });
      const sorted = r.latencies.sort((a, b) => a - b);
      answered.sort((a, b) => a - b);
      return {
        setup: db ? 'MySQL and RabbitMQ, 2 processes' : 'embedded, 1 process', subscribers: r.subscribers,
        postP50: percentile(answered, 50), postP99: percentile(answered, 99),
        p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, lost: r.lost, repeated: r.repeated,
      };
    });
  } finally {
    await Promise.all(servers.map((s) => stop(s.child)));
    rmSync(dataDir, { recursive: true, force: true });
    await db?.drop();
    await exchanges?.remove();
  }
}

function publishTo(server: Server, channel: string, seq: number): Promise<void> {
  return fetch(`http://127.0.0.1:${server.port}/comet/${channel}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload(seq) })
    .then((r) => { if (r.status !== 200) throw new Error(`publish answered ${r.status}`); return r.body?.cancel(); });
}

interface CountedRow {
  server: ServerKind;
  answers: number;
  /** Per answer, in user space: instructions, simulated L1 data read and instruction misses, mispredicted branches. */
  instructions: number;
  dataReadMisses: number;
  instructionMisses: number;
  mispredicted: number;
}

/**
 * One server's long-poll answers counted under valgrind's callgrind, with its
 * cache and branch simulation: figures that do not move with the machine's load
 * as times do (BENCHMARKS.md, session 7). 1,000 pollers; 30 messages warm the
 * server up, then 10 are counted, each sent once every poller has the one before.
 */
async function countedLongPoll(kind: ServerKind): Promise<CountedRow> {
  const dir = callgrindDir ? `${callgrindDir}/${kind}` : mkdtempSync(`${os.tmpdir()}/evcomet-callgrind-`);
  if (callgrindDir) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const script = fileURLToPath(new URL(kind === 'evcomet' ? 'evcomet-server.js' : 'reference-server.js', here));
  // A kept run also names its compiled JavaScript, for callgrind-functions.ts.
  const perfMap = callgrindDir ? ['--perf-basic-prof'] : [];
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--cache-sim=yes', '--branch-sim=yes',
    `--callgrind-out-file=${dir}/callgrind.out`, process.execPath, '--expose-gc', ...perfMap, script],
  { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const callgrind = (...command: string[]) => execFileSync('callgrind_control', [...command, String(child.pid)], { stdio: 'ignore' });
  const pollers = 1000;
  try {
    // once() rejects if the child emits 'error', as it does when valgrind is not installed.
    const [message] = (await Promise.race([
      once(child, 'message').catch((err: Error) => { throw new Error(`valgrind could not run (${err.message}); the callgrind scenario needs it`); }),
      sleep(120_000).then(() => { throw new Error(`${kind} did not start under valgrind`); }),
    ])) as [{ port: number }];
    const server: Server = { kind, port: message.port, child, fullGcs: 0, longestGcMs: 0 };
    return await withWorkers(pollers, async ([worker]) => {
      await worker!.send({ cmd: 'poll', kind, port: server.port, count: pollers, addresses: ADDRESSES, repollAfterWave });
      let expected = 0;
      const wave = async (seq: number) => {
        await publish(server, seq);
        expected += pollers;
        const until = Date.now() + 60_000;
        while ((await worker!.send<{ received: number }>({ cmd: 'count' })).received < expected) {
          if (Date.now() > until) throw new Error(`${kind} under valgrind did not answer every poll`);
          await sleep(50);
        }
      };
      await sleep(3000);
      for (let n = 0; n < 30; n++) await wave(WARM_UP_SEQ + n);
      await worker!.send({ cmd: 'reset' });
      expected = 0;
      await sleep(2000); // every poller's next poll is held again
      callgrind('-i', 'on');
      const counted = 10;
      for (let seq = 0; seq < counted; seq++) await wave(seq);
      await sleep(2000);
      callgrind('-i', 'off');
      callgrind('-d');
      await sleep(1000);
      const answers = counted * pollers;
      const totals = new Map<string, number>();
      for (const file of readdirSync(dir).filter((f) => f.startsWith('callgrind.out'))) {
        const text = readFileSync(`${dir}/${file}`, 'utf8');
        const events = /^events: (.*)$/m.exec(text)?.[1]?.split(' ') ?? [];
        const values = /^totals: (.*)$/m.exec(text)?.[1]?.split(' ') ?? [];
        events.forEach((event, i) => totals.set(event, (totals.get(event) ?? 0) + Number(values[i] ?? 0)));
      }
      if (callgrindDir) writeFileSync(`${dir}/answers`, String(answers));
      const per = (event: string) => (totals.get(event) ?? NaN) / answers;
      return { server: kind, answers, instructions: per('Ir'), dataReadMisses: per('D1mr'), instructionMisses: per('I1mr'), mispredicted: per('Bcm') + per('Bim') };
    });
  } finally {
    if (child.pid !== undefined) await stop(child); // no pid: valgrind is not there
    if (!callgrindDir) rmSync(dir, { recursive: true, force: true });
    else if (existsSync(`/tmp/perf-${child.pid}.map`)) {
      // valgrind runs Node in its own process, so the map is named by the child's pid.
      copyFileSync(`/tmp/perf-${child.pid}.map`, `${dir}/perf.map`);
      rmSync(`/tmp/perf-${child.pid}.map`);
    }
  }
}

/** Waits until the workers' delivery count stops moving (they drained), at most `timeoutMs`. */
async function settle(workers: Worker[], timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const counts = await Promise.all(workers.map((w) => w.send<{ received: number }>({ cmd: 'count' })));
    const total = counts.reduce((n, c) => n + c.received, 0);
    if (total === last || Date.now() > until) return;
    last = total;
    await sleep(1000);
  }
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// --- the run ---------------------------------------------------------------------

const results: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() },
};
const lines: string[] = [];
const say = (line = '') => { console.log(line); lines.push(line); };
// The floors of issues 4 and 5, judged as their scenarios run and printed last.
const floors: Array<{ floor: string; result: string; met: boolean }> = [];
const judge = (floor: string, result: string, met: boolean) => floors.push({ floor, result, met });

say(`evcomet bench: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}${quick ? ' (quick)' : ''}`);

if (wanted('hold')) {
  const rows = [...await hold('reference'), ...await hold('evcomet')];
  results.hold = rows;
  say('\n1. Hold: SSE subscribers held open');
  say('| subscribers | reference connected | evcomet connected | reference RSS MiB | evcomet RSS MiB | reference KiB/sub | evcomet KiB/sub | evcomet/reference |');
  say('|---|---|---|---|---|---|---|---|');
  for (const tier of HOLD_TIERS) {
    const ref = rows.find((r) => r.server === 'reference' && r.subscribers === tier)!;
    const ours = rows.find((r) => r.server === 'evcomet' && r.subscribers === tier)!;
    say(`| ${tier} | ${ref.connected} | ${ours.connected} | ${fmt(ref.rssMiB)} | ${fmt(ours.rssMiB)} | ${fmt(ref.perSubscriberKiB, 2)} | ${fmt(ours.perSubscriberKiB, 2)} | ${ratio(ours.perSubscriberKiB, ref.perSubscriberKiB)} |`);
    if (tier === 10_000) {
      judge('memory per SSE subscriber at 10k ≤ reference', ratio(ours.perSubscriberKiB, ref.perSubscriberKiB),
        ours.connected === tier && ours.perSubscriberKiB <= ref.perSubscriberKiB);
    }
  }
}

if (wanted('fanout')) {
  const rows: LatencyRow[] = [];
  for (const size of FANOUT_SIZES) rows.push(await fanout('reference', size), await fanout('evcomet', size));
  results.fanout = rows;
  say('\n2. Fan-out: 50 messages, one every 200 ms, to N SSE subscribers (latency in ms)');
  say('| subscribers | server | p50 | p99 | max | lost | repeated | p99 evcomet/reference |');
  say('|---|---|---|---|---|---|---|---|');
  for (let i = 0; i < rows.length; i += 2) {
    const [ref, ours] = [rows[i]!, rows[i + 1]!];
    for (const r of [ref, ours]) {
      say(`| ${FANOUT_SIZES[i / 2]} | ${r.server} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${r.lost} | ${r.repeated} | ${r === ours ? ratio(ours.p99, ref.p99) : ''} |`);
    }
    if (FANOUT_SIZES[i / 2] === 5000) {
      judge('fan-out p99 at 5k ≤ reference; 0 lost, 0 repeated', `${ratio(ours.p99, ref.p99)}; ${ours.lost} lost, ${ours.repeated} repeated`,
        ours.subscribers === 5000 && ours.p99 <= ref.p99 && ours.lost === 0 && ours.repeated === 0);
    }
  }
  writeFileSync('bench/latency.svg', latencyChart(rows));
}

if (wanted('longpoll')) {
  // The tail of one ten-second run moves by up to a quarter between two runs of
  // the same server on this shared machine, and either server now and then has a
  // round of repeated full collections (BENCHMARKS.md, session 5). So the servers
  // take turns for several rounds, each going first in every other one, and each
  // server's row holds every answer of all its rounds. Each round's ratio is shown
  // too, and their median, which one disturbed round cannot move (session 7).
  // Twenty rounds: over five, even a server with a fifth less CPU per answer
  // than the reference came out at 0.72× and at 1.29× (session 11).
  const rivals: [ServerKind, ServerKind] = ['reference', sameServerTwice ? 'reference' : bareRival ? 'bare' : 'evcomet'];
  const rounds: Array<[PollRound, PollRound]> = [];
  for (let round = 0; round < LONGPOLL_ROUNDS; round++) {
    const [first, second] = round % 2 === 0 ? rivals : [rivals[1], rivals[0]];
    const a = await longPoll(first);
    const b = await longPoll(second);
    rounds.push(round % 2 === 0 ? [a, b] : [b, a]);
  }
  const rows = [pooled(rounds.map(([ref]) => ref)), pooled(rounds.map(([, ours]) => ours))];
  results.longpoll = rows;
  results.longpollRounds = rounds.map((pair) => pair.map((r) => r.row));
  const names = sameServerTwice ? ['reference', 'reference again'] : bareRival ? ['reference', 'bare Node http'] : rivals;
  const repolling = repollAfterWave ? 're-polling once the answers stop coming' : 're-polling at once';
  say(`\n3. Long-poll: ${rows[0]!.subscribers} pollers ${repolling}, with their cursor, ${LONGPOLL_RATE} messages/s, ${LONGPOLL_ROUNDS} rounds of ${LONGPOLL_SECONDS} s each (latency in ms)`);
  say('| server | delivered | expected | lost | repeated | p50 | p99 | max | last answer, median message | server CPU µs per answer | full GCs while measured | longest GC pause ms |');
  say('|---|---|---|---|---|---|---|---|---|---|---|---|');
  rows.forEach((r, i) => say(`| ${names[i]} | ${r.delivered} | ${r.expected} | ${r.lost} | ${r.repeated} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${fmt(r.lastAnswer, 2)} | ${fmt(r.cpuUsPerAnswer)} | ${r.fullGcs} | ${fmt(r.longestGcMs, 1)} |`));
  const byRound = rounds.map(([ref, ours]) => `${ratio(ours.row.p99, ref.row.p99)} (${ref.row.fullGcs}, ${ours.row.fullGcs}; ${fmt(ref.row.longestGcMs, 1)}, ${fmt(ours.row.longestGcMs, 1)} ms)`);
  const roundRatios = rounds.map(([ref, ours]) => ours.row.p99 / ref.row.p99).sort((a, b) => a - b);
  const medianRound = percentile(roundRatios, 50);
  const roundsOver = roundRatios.filter((r) => r > 1).length;
  // The sign test: how often a server no different from the reference would lose this many rounds or more.
  const chanceOfAsMany = binomialTail(rounds.length, roundsOver);
  say(`p99 ${names[1]}/${names[0]}: ${ratio(rows[1]!.p99, rows[0]!.p99)}; last answer: ${ratio(rows[1]!.lastAnswer, rows[0]!.lastAnswer)} (p99 by round, with each server's full GCs and longest GC pause: ${byRound.join(', ')}; median round ${medianRound.toFixed(2)}×, ${roundsOver} of ${rounds.length} rounds over 1.00×, which a server no different from the reference would match or pass with probability ${chanceOfAsMany.toFixed(2)}); server CPU per answer: ${ratio(rows[1]!.cpuUsPerAnswer, rows[0]!.cpuUsPerAnswer)}`);
  results.longpollSignTest = { rounds: rounds.length, roundsOver, chanceOfAsMany };
  if (rivals[1] === 'evcomet' && !sameServerTwice) {
    // "No worse": its pooled p99 is not above the reference's, and the rounds give
    // no sign that it is worse (one-sided sign test at 5 %).
    const ours = rows[1]!;
    judge('long-poll p99 no worse than reference; 0 lost, 0 repeated',
      `${ratio(ours.p99, rows[0]!.p99)} pooled, median round ${medianRound.toFixed(2)}×, ${roundsOver} of ${rounds.length} rounds over (p = ${chanceOfAsMany.toFixed(2)}); ${ours.lost} lost, ${ours.repeated} repeated`,
      ours.p99 <= rows[0]!.p99 && chanceOfAsMany >= 0.05 && ours.lost === 0 && ours.repeated === 0);
  }
}

if (wanted('throughput')) {
  const rows = [await throughput('reference'), await throughput('evcomet')];
  results.throughput = rows;
  say('\n4. Throughput: 100 SSE subscribers, publishing as fast as accepted');
  say('| server | published | deliveries | deliveries/s | lost |');
  say('|---|---|---|---|---|');
  for (const r of rows) say(`| ${r.server} | ${r.published} | ${r.deliveries} | ${fmt(r.perSecond, 0)} | ${r.lost} |`);
  say(`deliveries/s evcomet/reference: ${ratio(rows[1]!.perSecond, rows[0]!.perSecond)}`);
  judge('deliveries/s at 100 subscribers ≥ reference', ratio(rows[1]!.perSecond, rows[0]!.perSecond), rows[1]!.perSecond >= rows[0]!.perSecond && rows[1]!.lost === 0);
}

if (wanted('hello')) {
  const rows = [await hello('fastify'), await hello('evcomet')];
  results.hello = rows;
  say('\n5. Hello stream: three chunks per response, 50 keep-alive connections (autocannon)');
  say('| server | requests/s | errors |');
  say('|---|---|---|');
  for (const r of rows) say(`| ${r.server === 'fastify' ? 'bare fastify' : 'evcomet view'} | ${fmt(r.requestsPerSecond, 0)} | ${r.errors} |`);
  say(`evcomet/fastify: ${ratio(rows[1]!.requestsPerSecond, rows[0]!.requestsPerSecond)}`);
  judge('hello stream ≥ 0.9 × bare fastify', ratio(rows[1]!.requestsPerSecond, rows[0]!.requestsPerSecond),
    rows[1]!.requestsPerSecond >= 0.9 * rows[0]!.requestsPerSecond && rows[1]!.errors === 0);
}

if (wanted('wire')) {
  const rows = await wire();
  results.wire = rows;
  say('\n6. Bytes on the wire per 66-byte message, beyond the payload (polls count their request too)');
  say('| transport | one at a time | 20 at once |');
  say('|---|---|---|');
  for (const r of rows) say(`| ${r.transport} | ${fmt(r.oneAtATime)} | ${fmt(r.underLoad)} |`);
  const floored = rows.filter((r) => ['sse', 'chunked', 'xhr-stream'].includes(r.transport));
  judge('wire overhead per 66-byte message ≤ 32 B on sse, chunked, xhr-stream', floored.map((r) => `${r.transport} ${fmt(r.oneAtATime)} B`).join(', '),
    floored.length === 3 && floored.every((r) => r.oneAtATime <= 32));
}

if (wanted('amqp')) {
  const all: BusRow[] = [];
  const added: Array<{ subscribers: number; processes: number; median: number; rounds: number[] }> = [];
  say('\n7. Fan-out through RabbitMQ: 50 messages, one every 200 ms, to N SSE subscribers split among the processes (latency in ms)');
  say(`${AMQP_ROUNDS} rounds per size; each round runs the three setups, in an order turned by one each round, and compares RabbitMQ's p50 with the in-process bus's of the same round.`);
  say('| round | setup | subscribers | p50 | p99 | max | lost | repeated | p50 added over in-process |');
  say('|---|---|---|---|---|---|---|---|---|');
  const setups = [['in-process', 1], ['rabbitmq', 1], ['rabbitmq', 2]] as const;
  for (const size of AMQP_SIZES) {
    const addedBy: [number[], number[]] = [[], []];
    for (let round = 0; round < AMQP_ROUNDS; round++) {
      const rows: BusRow[] = [];
      for (let k = 0; k < setups.length; k++) {
        const at = (k + round) % setups.length;
        rows[at] = await busFanout(setups[at]![0], setups[at]![1], size);
      }
      all.push(...rows);
      for (const [i, r] of rows.entries()) {
        const over = i === 0 ? NaN : r.p50 - rows[0]!.p50;
        if (i > 0) addedBy[i - 1]!.push(over);
        say(`| ${round + 1} | ${r.setup} | ${r.subscribers} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${r.lost} | ${r.repeated} | ${i === 0 ? '' : fmt(over, 2)} |`);
      }
    }
    for (const [i, rounds] of addedBy.entries()) {
      const median = percentile([...rounds].sort((a, b) => a - b), 50);
      added.push({ subscribers: size, processes: i + 1, median, rounds });
      say(`RabbitMQ added at p50, ${size} subscribers, ${i + 1} process${i > 0 ? 'es' : ''}: median ${fmt(median, 2)} ms of rounds ${rounds.map((d) => fmt(d, 2)).join(', ')}`);
    }
  }
  const largest = added.filter((a) => a.subscribers === AMQP_SIZES.at(-1));
  judge(`RabbitMQ adds < 5 ms at p50, ${AMQP_SIZES.at(-1)} subscribers (issue 5)`, largest.map((a) => `${fmt(a.median, 2)} ms over ${a.processes} process${a.processes > 1 ? 'es' : ''}`).join(', '),
    largest.every((a) => a.median < 5) && all.every((r) => r.lost === 0 && r.repeated === 0));
  results.amqp = all;
  results.amqpAdded = added;
}

if (wanted('chat')) {
  const rows: ChatRow[] = [];
  say('\n8. Chat: 50 lines, one every 200 ms, posted over HTTP by a signed-in user, to N SSE subscribers of the room (ms)');
  say('| setup | subscribers | post answered p50 | post answered p99 | delivered p50 | delivered p99 | max | lost | repeated |');
  say('|---|---|---|---|---|---|---|---|---|');
  for (const size of CHAT_SIZES) {
    for (const setup of ['embedded', 'site'] as const) {
      const r = await chatScenario(setup, size);
      rows.push(r);
      say(`| ${r.setup} | ${r.subscribers} | ${fmt(r.postP50, 2)} | ${fmt(r.postP99, 2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${r.lost} | ${r.repeated} |`);
    }
  }
  results.chat = rows;
}

if (wanted('callgrind')) {
  const rows = [await countedLongPoll('reference'), await countedLongPoll('evcomet')];
  results.callgrind = rows;
  const [ref, ours] = rows as [CountedRow, CountedRow];
  say(`\n9. Long-poll work per answer, counted by callgrind: ${ref.answers} answers to 1000 pollers, user space only`);
  say('| server | instructions | L1 data read misses | L1 instruction misses | mispredicted branches |');
  say('|---|---|---|---|---|');
  for (const r of rows) say(`| ${r.server} | ${fmt(r.instructions, 0)} | ${fmt(r.dataReadMisses, 0)} | ${fmt(r.instructionMisses, 0)} | ${fmt(r.mispredicted, 0)} |`);
  say(`| evcomet/reference | ${ratio(ours.instructions, ref.instructions)} | ${ratio(ours.dataReadMisses, ref.dataReadMisses)} | ${ratio(ours.instructionMisses, ref.instructionMisses)} | ${ratio(ours.mispredicted, ref.mispredicted)} |`);
}

if (floors.length > 0) {
  say('\nFloors');
  say('| floor | this run | met |');
  say('|---|---|---|');
  for (const f of floors) say(`| ${f.floor} | ${f.result} | ${f.met ? 'yes' : 'NO'} |`);
  results.floors = floors;
}

writeFileSync('bench/results.json', JSON.stringify(results, null, 2) + '\n');
writeFileSync('bench/results.md', lines.join('\n') + '\n');
agent.destroy();
