// A real node:http auth backend on 127.0.0.1 for tests: records every request, answers by a handler.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { UpgradeRequest } from '../../src/identity/authenticator.js';
import { loadExporter } from '../../src/identity/exporters.js';
import type { ForwardPipelineOptions } from '../../src/identity/pipeline.js';
import type { AuthResult } from '../../src/identity/authenticator.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface AuthBackend {
  /** e.g. http://127.0.0.1:PORT/auth */
  url: string;
  /** Every request, in arrival order, recorded before the handler runs. */
  requests: RecordedRequest[];
  /** undefined restores the default handler. */
  setHandler(h: Handler | undefined): void;
  /** Resolves once `count` requests in all have arrived (at once if they have). */
  waitForRequests(count: number): Promise<void>;
  /** Also drops keep-alive connections and requests left hanging, so tests never wait on them. */
  close(): Promise<void>;
}

/** `?status=N` in X-Forwarded-Uri answers N; `?email=&org=` answers a Goctopus user; otherwise 401. */
export const defaultHandler: Handler = (req, res) => {
  const uri = req.headers['x-forwarded-uri'];
  const query = new URL(typeof uri === 'string' ? uri : '/', 'http://x').searchParams;
  const status = query.get('status');
  if (status !== null) return json(res, Number(status), { detail: `status ${status}` });
  const email = query.get('email');
  const org = query.get('org');
  if (email === null && org === null) return json(res, 401, { detail: 'no credentials' });
  const user: Record<string, string> = {};
  if (email !== null) user['email'] = email;
  if (org !== null) user['organization_name'] = org;
  return json(res, 200, { user });
};

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startAuthBackend(handler?: Handler): Promise<AuthBackend> {
  let current: Handler = handler ?? defaultHandler;
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    current(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth`,
    requests,
    setHandler(h) { current = h ?? defaultHandler; },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

/** Options for createForwardPipeline pointing at `url`: small, fast, cache off, Goctopus exporter. */
export async function forwardOptions(url: string, overrides: Partial<ForwardPipelineOptions> = {}): Promise<ForwardPipelineOptions> {
  return {
    url: new URL(url),
    timeoutMs: 2000,
    workers: 4,
    queueLimit: 16,
    forwardHeaders: [],
    trustedProxies: ['127.0.0.1', '::1'],
    cacheTtlMs: 0,
    cacheNegativeTtlMs: 0,
    cacheMax: 100,
    exporter: await loadExporter('goctopus'),
    ...overrides,
  };
}

/** A result as `{ ok: true, keys[, claims] }` (the identity's routing keys and claims) or the failure
 * itself, for assertions that do not care about the rest of the identity. */
export function summary(result: AuthResult): AuthResult | { ok: true; keys: string[]; claims?: Record<string, unknown> } {
  if (!result.ok) return result;
  const { keys, claims } = result.identity;
  return claims === undefined ? { ok: true, keys: [...keys] } : { ok: true, keys: [...keys], claims: { ...claims } };
}

/** An upgrade from a browser at 203.0.113.7 (not a trusted proxy) for `/ws?query`. */
export function upgradeRequest(query = '', headers: Record<string, string> = {}, remoteAddress = '203.0.113.7'): UpgradeRequest {
  return { path: '/ws', query, headers: { host: 'gateway.example', ...headers }, remoteAddress };
}

export interface LogLine { level: number; msg: string; [field: string]: unknown }

/** A pino logger at debug whose lines land in `lines`, parsed, so tests can check what is (not) logged. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { logger, lines, raw };
}
