// The WebSocket upgrade: cheap refusals first (shutdown, connection limit, origin), then the
// Authenticator, then uWS's upgrade, corked. A client that goes away during auth aborts its call.
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { Authenticator, UpgradeRequest } from '../auth/authenticator.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SocketData } from '../delivery/hub.js';
import { statusLine } from '../http/exchange.js';

export interface UpgradeOptions {
  readonly authenticator: Authenticator;
  /** Lower-cased origins; empty allows every origin. */
  readonly allowedOrigins: readonly string[];
  /** 0 = no limit. */
  readonly maxConnections: number;
  readonly openSockets: () => number;
  readonly shuttingDown: () => boolean;
  readonly log: Logger;
}

export interface UpgradeHandler {
  (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void;
  /** Upgrades waiting for their auth answer: they count against WS_MAX_CONNECTIONS too. */
  readonly pending: () => number;
}

export function createUpgradeHandler(options: UpgradeOptions): UpgradeHandler {
  const { authenticator, allowedOrigins, maxConnections, log } = options;
  const origins = new Set(allowedOrigins);
  let pending = 0;
  let connections = 0;
  const prefix = process.pid.toString(36);

  const handler = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // uWS invalidates req when this function returns: copy everything first.
    const secKey = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const request = copyRequest(res, req);

    const refusal = precheck(request);
    if (refusal !== undefined) return refuse(res, refusal, request, log);

    const abort = new AbortController();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
      abort.abort();
    });
    pending++;
    void authenticator.authenticate(request, abort.signal).then((result) => {
      pending--;
      if (aborted) {
        log.debug({ path: request.path }, 'client went away during auth');
        return;
      }
      if (!result.ok) return refuse(res, result.error, request, log);
      const data: SocketData = {
        conn: `${prefix}-${(++connections).toString(36)}`,
        keys: result.keys,
        claims: result.claims,
        remoteAddress: request.remoteAddress,
        openedAt: Date.now(),
        pending: undefined,
        closed: false,
      };
      res.cork(() => res.upgrade(data, secKey, protocol, extensions, context));
    });
  };

  const precheck = (request: UpgradeRequest): OctowayError | undefined => {
    if (options.shuttingDown()) return new OctowayError('SHUTTING_DOWN', undefined, { retryAfter: 1 });
    if (maxConnections > 0 && options.openSockets() + pending >= maxConnections) {
      return new OctowayError('TOO_MANY_CONNECTIONS', undefined, { retryAfter: 5 });
    }
    const origin = request.headers.origin;
    // No Origin header: not a browser, so there is no cross-site request to stop.
    if (origins.size > 0 && origin !== undefined && !origins.has(origin.toLowerCase())) {
      return new OctowayError('ORIGIN_NOT_ALLOWED');
    }
    return undefined;
  };

  return Object.assign(handler, { pending: () => pending });
}

function copyRequest(res: HttpResponse, req: HttpRequest): UpgradeRequest {
  const headers: Record<string, string> = {};
  req.forEach((name, value) => {
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  });
  const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
  return {
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remoteAddress: remote.startsWith('::ffff:') ? remote.slice(7) : remote,
  };
}

function refuse(res: HttpResponse, error: OctowayError, request: UpgradeRequest, log: Logger): void {
  log.info({ code: error.code, status: error.status, remote: request.remoteAddress }, 'upgrade refused');
  res.cork(() => {
    res.writeStatus(statusLine(error.status)).writeHeader('Content-Type', 'application/json');
    if (error.retryAfter !== undefined) res.writeHeader('Retry-After', String(error.retryAfter));
    res.end(JSON.stringify(error.toJSON()), true);
  });
}
