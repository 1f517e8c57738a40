// `npm start -- --workers N`: N server processes on one port (node:cluster), each
// with its own hub, sharing RabbitMQ, which is what makes them one site. The
// primary only forks, restarts a worker that dies, and passes on SIGTERM/SIGINT.
import cluster from 'node:cluster';

const RESTART_DELAY_MS = 1000;

/** The worker count from `--workers N` / `--workers=N`, else the WORKERS setting, else 1. */
export function workerCount(argv: string[], env: NodeJS.ProcessEnv): number {
  const at = argv.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  const raw = at < 0 ? env.WORKERS : argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
  if (raw === undefined || raw === '') return 1;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--workers must be an integer from 1 to 64, not "${raw}"`);
  return count;
}

/** Runs the primary: forks `count` workers and keeps them running until a signal stops them all. */
export function runPrimary(count: number, log: (message: string) => void): void {
  let stopping = false;
  let listening = 0;
  const fork = () => cluster.fork();
  // One line once every worker accepts connections, so whoever started us (a
  // supervisor, a test) knows the whole set is serving, not just the first.
  cluster.on('listening', (worker, address) => {
    listening++;
    if (listening === count) log(`all ${count} workers listening on port ${address.port}`);
    else if (listening > count) log(`worker ${worker.process.pid} listening again on port ${address.port}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(fork, RESTART_DELAY_MS);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      log(`stopping ${count} workers`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    });
  }
  for (let i = 0; i < count; i++) fork();
}
