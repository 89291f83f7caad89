// Starts the real compiled gateway (dist/src/main.js) as a child process and talks to it over
// loopback HTTP, the way a backend and an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { json, startAuthBackend, type AuthBackend } from './auth-backend.js';
import { connect, type TestSocket } from './client.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
/** The node flags `npm start` runs the gateway with, so tests run it as production does. */
const NODE_FLAGS = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } })
  .scripts.start.split(/\s+/).filter((word) => word.startsWith('--'));
export const LOGIN = 'backend';
export const PASSWORD = 'pa55-w0rd-secret';
export const BASIC = `Basic ${Buffer.from(`${LOGIN}:${PASSWORD}`).toString('base64')}`;

export interface LogLine { level: number; msg: string; [field: string]: unknown }

export interface GatewayProcess {
  readonly port: number;
  readonly http: string;
  readonly child: ChildProcess;
  /** Parsed stdout lines so far. */
  readonly logs: LogLine[];
  /** Raw stdout and stderr, to check that secrets never appear. */
  output(): string;
  ws(pathAndQuery: string): string;
  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  request(method: string, path: string, init?: { body?: string; headers?: Record<string, string>; auth?: boolean }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  publish(body: unknown): Promise<{ status: number; json: any }>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartResult { readonly exitCode: number | null; readonly stderr: string }

/** Runs the gateway and expects it to refuse to start; resolves with its exit code and stderr.
 * A gateway that starts after all is killed once it logs "listening" (exit code null), so a test
 * of a refusal fails rather than waits forever when the refusal is missing. */
export async function startExpectingFailure(env: Record<string, string>, args: readonly string[] = []): Promise<StartResult> {
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('"msg":"listening"')) child.kill('SIGKILL'); });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { exitCode: code, stderr };
}

/** `args`: command-line flags (Goctopus's), after the script. */
export async function startGateway(env: Record<string, string>, args: readonly string[] = []): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN, ...args], { env: cleanEnv({ WS_LOGIN: LOGIN, WS_PASSWORD: PASSWORD, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const watchers: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let raw = '';
  let buffered = '';
  child.stderr!.on('data', (d: Buffer) => { raw += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => {
    raw += d.toString();
    buffered += d.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as LogLine;
      buffered = buffered.slice(newline + 1);
      logs.push(line);
      for (const w of watchers.filter((x) => x.match(line))) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;

  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms; output:\n${raw}`)), timeoutMs);
      watchers.push({ match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void exited.then(([code]) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code} before the log line; output:\n${raw}`)); });
    });
  };

  // A gateway that never says it listens is killed: left running, its pipes would keep the test
  // process alive after the failure is reported.
  const listening = await waitForLog((l) => l.msg === 'listening').catch(async (err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  });
  const port = listening.port as number;
  const http = `http://127.0.0.1:${port}`;

  const request: GatewayProcess['request'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...(init.auth === false ? {} : { authorization: BASIC }), ...init.headers };
    const res = await fetch(`${http}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };

  return {
    port, http, child, logs, waitForLog, request,
    output: () => raw,
    ws: (pathAndQuery) => `ws://127.0.0.1:${port}${pathAndQuery}`,
    publish: async (body) => {
      const r = await request('POST', '/', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: r.status, json: r.json };
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

/** The test runner's environment minus anything Octoway reads, so a developer's .env or shell
 * exports cannot change a test; the gateway also runs from a directory with no .env file. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('WS_') && name !== 'LOG_LEVEL') base[name] = value;
  }
  return { ...base, WS_HOST: '127.0.0.1', WS_PORT: '0', LOG_LEVEL: 'debug', ...env };
}

/** Runs `body` against a fresh auth backend (default handler) and a gateway pointed at it;
 * stops both afterwards, whatever happens. */
export async function withGateway(env: Record<string, string>, body: (gw: GatewayProcess, auth: AuthBackend) => Promise<void>): Promise<void> {
  const auth = await startAuthBackend();
  try {
    const gw = await startGateway({ WS_AUTH_URL: auth.url, ...env });
    try {
      await body(gw, auth);
    } finally {
      await gw.stop();
    }
  } finally {
    await auth.close();
  }
}

export interface AcceptingGateway {
  readonly gw: GatewayProcess;
  readonly auth: AuthBackend;
  /** A socket under `key`, opened before anything else (see startAcceptingGateway). */
  readonly bystander: TestSocket;
  /** Closes everything; rejects if the gateway did not exit 0 (a crash exits with a signal). */
  stop(): Promise<void>;
}

/** A gateway whose auth backend accepts every upgrade under `key`, with one socket already open:
 * later upgrades then run inside its cork (see upgradeLater), as in production, and it shows at the
 * end whether the gateway kept serving. */
export async function startAcceptingGateway(key: string, env: Record<string, string> = {}): Promise<AcceptingGateway> {
  const auth = await startAuthBackend((_req, res) => json(res, 200, { user: { email: key } }));
  const gw = await startGateway({ WS_AUTH_URL: auth.url, ...env });
  const bystander = await connect(gw.ws('/ws'));
  return {
    gw, auth, bystander,
    async stop() {
      try {
        await bystander.close();
        const code = await gw.stop();
        if (code !== 0) throw new Error(`the gateway exited with ${code} (signal ${gw.child.signalCode})`);
      } finally {
        await auth.close();
      }
    },
  };
}

export interface SuiteGateway { readonly gw: GatewayProcess; readonly auth: AuthBackend }

/** Inside a describe(): starts an auth backend and a gateway pointed at it before the suite's
 * tests and stops both after them, checking the gateway exits 0. Read the fields in tests. */
export function gatewayForSuite(env: Record<string, string> = {}): SuiteGateway {
  let started: { gw: GatewayProcess; auth: AuthBackend } | undefined;
  const running = (): { gw: GatewayProcess; auth: AuthBackend } => {
    if (started === undefined) throw new Error('gatewayForSuite: read the gateway inside a test');
    return started;
  };
  before(async () => {
    const auth = await startAuthBackend();
    started = { auth, gw: await startGateway({ WS_AUTH_URL: auth.url, ...env }) };
    if (env.WS_REDIS_URL !== undefined) await untilRedisLive(started.gw);
  });
  after(async () => {
    if (started === undefined) return;
    const { gw, auth } = started;
    assert.equal(await gw.stop(), 0, 'the gateway exits 0');
    await auth.close();
  });
  return { get gw() { return running().gw; }, get auth() { return running().auth; } };
}

/** Resolves once a gateway started with WS_REDIS_URL takes publishes: until then it answers 503
 * (its script load and bus subscription race the first request). */
export function untilRedisLive(gw: GatewayProcess): Promise<LogLine> {
  return gw.waitForLog((l) => l.msg.startsWith('redis delivery live'));
}
