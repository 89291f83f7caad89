// The main port of a deployment running only seed listeners (config.seedOnly): health, readiness
// and version, as every app serves them (http/api.ts), and 404 NOT_FOUND for anything else (no
// publish API, no sockets: there is no app to publish to or authenticate for). /metrics is
// registered beside it by metrics/endpoint.ts unless WS_METRICS_PORT moves it.
import type { TemplatedApp } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { VersionInfo } from '../version.js';
import { begin, methodNotAllowed, reply, replyError, type RefusalCount } from './exchange.js';

export interface ProbeOptions {
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly version: VersionInfo;
  readonly refused: RefusalCount;
  readonly log: Logger;
}

export function registerProbesOnly(app: TemplatedApp, options: ProbeOptions): void {
  app.any('/*', (res, req) => {
    const method = req.getMethod();
    const head = method === 'head';
    const path = req.getUrl();
    const exchange = begin(res, head, options.refused);
    // A body is never read here: close after answering a request that may carry one.
    const close = method !== 'get' && !head;
    if (path !== '/healthz' && path !== '/readyz' && path !== '/version') {
      return replyError(exchange, new OctowayError('NOT_FOUND', 'this gateway runs seed listeners only: its main port serves /healthz, /readyz, /version and /metrics'), options.log, { close });
    }
    if (method !== 'get' && !head) return replyError(exchange, methodNotAllowed('GET, HEAD'), options.log, { close });
    if (path === '/healthz') return reply(exchange, 200, { status: 'ok' });
    if (path === '/version') return reply(exchange, 200, options.version);
    const { ready, reason } = options.readiness();
    return reply(exchange, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'not ready', reason });
  });
}
