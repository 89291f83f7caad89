// GET /metrics: the registry in Prometheus's text format, on WS_PORT or, with WS_METRICS_PORT, on a
// port of its own; behind Basic credentials when WS_METRICS_LOGIN/WS_METRICS_PASSWORD are set.
//
// The separate port is a node:http server rather than a second uWS app. It serves one request every
// few seconds, so uWS's speed buys nothing there, while node:http gives it ordinary request and
// abort handling, and stays plain HTTP whatever WS_PORT serves (a scrape port is internal, and
// Prometheus scrapes it without the gateway's certificate). It shares the event loop with the
// gateway, so a scrape of a busy node measures the same process.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TemplatedApp } from 'uWebSockets.js';
import type { Registry } from 'prom-client';
import { isOctowayError, OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CredentialCheck } from '../http/credentials.js';
import { begin, replyError, type RefusalCount } from '../http/exchange.js';

export const METRICS_PATH = '/metrics';

export interface EndpointOptions {
  readonly registry: Registry;
  readonly checkCredentials: CredentialCheck;
  /** Errors answered here count as refused requests. */
  readonly refused: RefusalCount;
  readonly log: Logger;
}

/** Serves /metrics on the gateway's own app; other paths stay the API's (a more specific route
 * wins in uWS, whatever the order of registration). */
export function serveOnApp(app: TemplatedApp, options: EndpointOptions): void {
  const { registry, log } = options;
  app.any(METRICS_PATH, (res, req) => {
    const exchange = begin(res, false, options.refused);
    const refusal = refusalOf(req.getMethod().toUpperCase(), req.getHeader('authorization'), options);
    if (refusal !== undefined) return replyError(exchange, refusal, log);
    registry.metrics().then(
      (text) => {
        if (exchange.aborted) return;
        res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', registry.contentType).end(text));
      },
      (err: unknown) => replyError(exchange, err, log, { later: true }),
    );
  });
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on `host`:`port` (0 picks a free one) for /metrics alone. Rejects when it cannot listen. */
export async function listenMetrics(host: string, port: number, options: EndpointOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => void answer(req, res, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(host, port, err)));
    server.listen({ host, port, exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  server.on('error', (err) => options.log.error({ err }, 'metrics server error'));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** A start-up error naming the setting to change (exit code 2, as for WS_PORT). */
function listenError(host: string, port: number, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EADDRINUSE') return new OctowayError('PORT_IN_USE', `WS_METRICS_PORT ${port} is already in use on WS_HOST ${host}: choose another WS_METRICS_PORT`);
  if (err.code === 'EACCES') return new OctowayError('CONFIG_INVALID', `WS_METRICS_PORT=${JSON.stringify(String(port))}: this user may not listen on it (ports below 1024 need privileges)`);
  return err;
}

async function answer(req: IncomingMessage, res: ServerResponse, options: EndpointOptions): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  let error: OctowayError | undefined = path === METRICS_PATH
    ? refusalOf(req.method ?? '', req.headers.authorization ?? '', options)
    : new OctowayError('NOT_FOUND');
  if (error === undefined) {
    try {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text);
      return;
    } catch (err) {
      options.log.error({ err }, 'unexpected error while collecting metrics');
      error = isOctowayError(err) ? err : new OctowayError('INTERNAL_ERROR');
    }
  }
  options.refused(error.code);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (error.allow !== undefined) headers['Allow'] = error.allow;
  if (error.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="octoway", charset="UTF-8"';
  res.writeHead(error.status, headers).end(JSON.stringify(error.toJSON()));
}

/** Why a request for /metrics is refused, or undefined to serve it. */
function refusalOf(method: string, authorization: string, options: EndpointOptions): OctowayError | undefined {
  if (method !== 'GET') return new OctowayError('METHOD_NOT_ALLOWED', 'method not allowed; allowed: GET', { allow: 'GET' });
  if (!options.checkCredentials(authorization)) return new OctowayError('UNAUTHORIZED', 'missing or wrong Basic credentials for /metrics (WS_METRICS_LOGIN)');
  return undefined;
}
