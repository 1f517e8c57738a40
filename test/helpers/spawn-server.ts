// Runs the real entry point (server/main.ts) as a child process on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServerProcess { child: ChildProcess; base: string; port: number; output: () => string }

export async function spawnServer(env: Record<string, string> = {}, args: string[] = []): Promise<ServerProcess> {
  // The embedded store's files go to a directory of this server's own, removed when it exits.
  const dataDir = mkdtempSync(join(tmpdir(), 'evcomet-spawn-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const onData = () => {
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) { clearTimeout(timer); child.stdout!.off('data', onData); resolve(Number(m[1])); }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${output}`)); });
  });
  return { child, port, base: `http://127.0.0.1:${port}`, output: () => output };
}

/** Sends `signal` and resolves with the exit code and how long the exit took. */
export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  if (server.child.exitCode !== null) return { code: server.child.exitCode, ms: 0 };
  const exited = once(server.child, 'exit');
  server.child.kill(signal);
  const [code] = await exited;
  return { code: code as number | null, ms: Date.now() - started };
}

/** Resolves once the server's /healthz says its bus is up; throws after `timeoutMs`. */
export async function busUp(server: ServerProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${server.base}/healthz`)).json()) as { bus: string };
    if (health.bus === 'up') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server's bus did not come up:\n${server.output()}`);
}

/** Publishes over HTTP and resolves with the message id; throws unless answered 200. */
export async function publishHttp(server: ServerProcess, channel: string, data: unknown): Promise<string> {
  const res = await fetch(`${server.base}/comet/${channel}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) });
  if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
