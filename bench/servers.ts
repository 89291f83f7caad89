// Spawning, pinning, readiness and clean-up of every process the harness starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from './scenarios/types.js';
import { coreBusyUs } from './proc.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = path.join(REPO, 'bench', 'results');
export const SERVER_CORE = 1;
export const CLIENT_CORE = 0;
const FD_LIMIT = 20000;

const children = new Set<ChildProcess>();

/** Every child dies with the harness, whatever way it ends. */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface Spawned {
  proc: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
}

/**
 * Runs `node <args>` pinned to `core` with the fd soft limit raised. bash and taskset both exec, so the pid we get
 * is node's own (what /proc accounting needs).
 */
export function spawnNode(core: number, args: string[], env: Record<string, string>, logName: string, stdout: 'log' | 'pipe' = 'log'): Spawned {
  mkdirSync(path.join(RESULTS_DIR, 'logs'), { recursive: true });
  const logFile = path.join(RESULTS_DIR, 'logs', `${logName}.log`);
  const log = createWriteStream(logFile);
  const proc = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec taskset -c ${core} node "$@"`, 'bash', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    // A piped client can be told things (a restarted server's pid) on its stdin.
    stdio: [stdout === 'pipe' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
  children.add(proc);
  if (stdout === 'log') proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      children.delete(proc);
      resolve(code);
    }),
  );
  return { proc, pid: proc.pid, logFile, exited };
}

export async function stop(s: Spawned): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 3000);
  await s.exited;
  clearTimeout(t);
}

let nextPort = 21000 + Math.floor(Math.random() * 400) * 20;
/** A fresh port per server: no TIME_WAIT from an earlier run can collide, and it stays below the ephemeral range. */
export function freshPort(): number {
  nextPort = nextPort >= 32000 ? 21000 : nextPort + 1;
  return nextPort;
}

/** Octoway runs as `npm start` runs it (node flags included), read from package.json so the two
 * cannot drift apart. */
function octowayNodeArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
  // `exec` (so npm's signals reach node) is the shell's, not a node argument.
  const [node, ...args] = pkg.scripts.start.replace(/^exec\s+/, '').split(/\s+/);
  if (node !== 'node' || !args.includes('dist/src/main.js')) throw new Error(`package.json "start" is not "node … dist/src/main.js": ${pkg.scripts.start}`);
  return args;
}

export function serverArgs(target: Target): string[] {
  switch (target) {
    case 'octoway':
      return octowayNodeArgs();
    case 'bare':
      return ['dist/bench/reference/bare.js'];
    case 'ws':
      return ['dist/bench/reference/ws.js'];
  }
}

export function serverEnv(target: Target, port: number, authPort: number, extra: Readonly<Record<string, string>>): Record<string, string> {
  if (target !== 'octoway') return { PORT: String(port) };
  return {
    WS_HOST: '127.0.0.1',
    WS_PORT: String(port),
    WS_AUTH_URL: `http://127.0.0.1:${authPort}/auth`,
    WS_LOGIN: 'bench',
    WS_PASSWORD: 'bench',
    LOG_LEVEL: 'warn',
    WS_AUTH_CACHE_TTL: '0',
    WS_MAX_CONNECTIONS: '20000',
    ...extra,
  };
}

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

/** Polls until `path` answers 200; fails early if the process dies. */
export async function waitReady(s: Spawned, port: number, p: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`exited (${s.proc.exitCode ?? s.proc.signalCode}) before ready; see ${s.logFile}`);
    if ((await get(port, p)) === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not ready on :${port}${p} within ${timeoutMs} ms; see ${s.logFile}`);
}

/** The forward-auth mock, on the client's core; one for the whole session (its CPU is read as deltas). */
export async function startAuthMock(): Promise<{ spawned: Spawned; port: number }> {
  const port = freshPort();
  const spawned = spawnNode(CLIENT_CORE, ['dist/bench/auth-mock.js'], { PORT: String(port) }, 'auth-mock');
  await waitReady(spawned, port, '/__stats');
  return { spawned, port };
}

/** BENCH_QUIET_WAIT_S=0 skips the wait: for quick local checks while the machine is known to be busy. */
function quietWaitMs(): number {
  const s = Number(process.env.BENCH_QUIET_WAIT_S ?? 120);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 120_000;
}

/**
 * Waits (bounded) until both cores are nearly idle for a second: other sessions' builds and tests share this
 * machine, and a run started under them measures them. Returns how long it waited, or -1 when it gave up.
 */
export async function waitQuiet(maxMs = quietWaitMs(), limit = 0.1): Promise<number> {
  const start = Date.now();
  if (maxMs === 0) return 0;
  while (Date.now() - start < maxMs) {
    const a = [coreBusyUs(0), coreBusyUs(1)];
    await new Promise((r) => setTimeout(r, 1000));
    if (coreBusyUs(0) - a[0]! < limit * 1e6 && coreBusyUs(1) - a[1]! < limit * 1e6) return Date.now() - start;
  }
  return -1;
}
