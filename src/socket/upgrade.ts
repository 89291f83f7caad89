// The WebSocket upgrade: cheap refusals first (handshake, shutdown, connection limit, origin), then
// the Authenticator, then uWS's upgrade (see upgradeLater). A client that goes away during auth aborts its call.
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { AbortListener, AuthResult, Authenticator, CancelSignal, UpgradeRequest } from '../identity/authenticator.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { peerAddress, replyError, type RefusalCount } from '../http/exchange.js';
import { createConnections, DEFAULT_APP, type Connections, type Socket } from './connection.js';
import { handshakeError } from './handshake.js';
import { selectedProtocol } from '../identity/modes.js';
import { framerOf, GOCTOPUS, type Framer } from '../delivery/framer.js';
import { keysSinceOf } from './since.js';
import type { RateLimit } from '../http/rate-limit.js';

export interface UpgradeOptions {
  readonly authenticator: Authenticator;
  /** Lower-cased origins; empty allows every origin. */
  readonly allowedOrigins: readonly string[];
  /** 0 = no limit. */
  readonly maxConnections: number;
  readonly openSockets: () => number;
  readonly shuttingDown: () => boolean;
  /** Any socket already open on this node, or undefined (see upgradeLater). */
  readonly anyOpenSocket: () => Socket | undefined;
  /** WS_RATE_LIMIT's per-address budget, or undefined when it is off. */
  readonly rateLimit?: RateLimit | undefined;
  /** Counts refused upgrades by code (the metrics). */
  readonly refused: RefusalCount;
  /** Runs res.upgrade so that the socket it opens speaks the framer's protocol (hub.opening). */
  readonly opening?: ((framer: Framer, upgrade: () => void, since?: ReadonlyMap<string, number>) => void) | undefined;
  readonly log: Logger;
  /** The app its sockets belong to (src/apps.ts), and the gateway's one record builder, shared by
   * every app so ids share the node; a builder of its own and the default app when undefined. */
  readonly app?: string | undefined;
  readonly connections?: Connections | undefined;
}

export interface UpgradeHandler {
  (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void;
  /** Upgrades waiting for their auth answer: they count against WS_MAX_CONNECTIONS too. */
  readonly pending: () => number;
}

export function createUpgradeHandler(options: UpgradeOptions): UpgradeHandler {
  const { authenticator, allowedOrigins, maxConnections, refused, log } = options;
  const origins = new Set(allowedOrigins);
  const connections = options.connections ?? createConnections();
  const app = options.app ?? DEFAULT_APP;
  const opening = options.opening ?? ((_framer: Framer, upgrade: () => void) => upgrade());
  let pending = 0;

  const handler = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // uWS invalidates req when this function returns: copy everything first.
    const secKey = req.getHeader('sec-websocket-key');
    // The 101 never echoes an `octoway.token.<jwt>` subprotocol (see selectedProtocol).
    const protocol = selectedProtocol(req.getHeader('sec-websocket-protocol'));
    const extensions = req.getHeader('sec-websocket-extensions');
    const { request, repeated } = copyRequest(res, req);

    // The rate limit first: the cheapest refusal, and one that any request, valid or not, counts against.
    const refusal = options.rateLimit?.take(request.remoteAddress, request.headers['x-forwarded-for'])
      ?? handshakeError(request.headers, repeated) ?? precheck(request);
    if (refusal !== undefined) return refuse(res, refusal, request, log, refused);

    // One object is this upgrade's whole state while its auth call is in flight (its cancel signal
    // too): what an in-flight upgrade keeps alive is what a burst of them promotes to the old space.
    const upgrade = new PendingUpgrade(res, request, secKey, protocol, extensions, context);
    res.onAborted(() => upgrade.abort());
    pending++;
    authenticator.authenticate(request, upgrade).then((result) => complete(upgrade, result), (err: unknown) => rejected(upgrade, err));
  };

  /** Every path ends here or in rejected: a throw (a bug) costs this one upgrade, never the process
   * (Node ends it on an unhandled rejection). */
  const complete = (upgrade: PendingUpgrade, result: AuthResult): void => {
    pending--;
    if (upgrade.aborted) {
      log.debug({ path: upgrade.request.path, code: 'CLIENT_GONE' }, 'client went away during auth');
      return;
    }
    try {
      if (!result.ok) return refuse(upgrade.res, result.error, upgrade.request, log, refused);
      const data = connections.open(result.identity, upgrade.request.remoteAddress, app);
      const { res, secKey, protocol, extensions, context } = upgrade;
      const framer = framerOf(protocol);
      // A v2 client's keys to recover (delivery/recovery.ts); Goctopus clients have no positions.
      const since = framer === GOCTOPUS ? undefined : keysSinceOf(upgrade.request.query, result.identity.keys, data.keys);
      if (since instanceof OctowayError) return refuse(res, since, upgrade.request, log, refused);
      upgradeLater(res, () => opening(framer, () => res.upgrade(data, secKey, protocol, extensions, context), since));
    } catch (err) {
      failed(upgrade, err);
    }
  };

  /** A bug while answering: the response may be half written or gone (uWS throws on writes to an
   * aborted one), so the connection is closed. */
  const failed = (upgrade: PendingUpgrade, err: unknown): void => {
    log.error({ err }, 'unexpected error while completing an upgrade');
    if (upgrade.aborted) return;
    try {
      upgrade.res.close();
    } catch (closeErr) {
      log.debug({ err: closeErr }, 'could not close the failed upgrade');
    }
  };

  const rejected = (upgrade: PendingUpgrade, err: unknown): void => {
    pending--;
    log.error({ err }, 'authenticator rejected instead of answering; upgrade refused');
    if (upgrade.aborted) return;
    try {
      refuse(upgrade.res, new OctowayError('INTERNAL_ERROR'), upgrade.request, log, refused);
    } catch (refuseErr) {
      failed(upgrade, refuseErr);
    }
  };

  const upgradeLater = (res: HttpResponse, upgrade: () => void): void => upgradeOutsideCallback(options.anyOpenSocket(), res, upgrade);

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

/**
 * uWS hands a GET to the WebSocket route only when its first Sec-WebSocket-Key has 24 characters;
 * any other handshake would fall through to the HTTP API and read as 404 (401 on `/`). Registered
 * after app.ws on the same paths: a request with a key or asking for `websocket` gets the
 * handshake's own refusal; any other request (an admin GET, an h2c upgrade) passes on.
 */
export function createUnroutedHandshakeHandler(log: Logger, refused: RefusalCount): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    if (req.getHeader('sec-websocket-key') === '' && !/websocket/i.test(req.getHeader('upgrade'))) {
      req.setYield(true);
      return;
    }
    const { request, repeated } = copyRequest(res, req);
    refuse(res, handshakeError(request.headers, repeated) ?? new OctowayError('INVALID_HANDSHAKE'), request, log, refused);
  };
}

/** An upgrade waiting for its auth answer, with what completing it takes (uWS invalidates req when
 * the handler returns), and its cancel signal: aborted when uWS reports the client gone. Lighter
 * than an AbortController: its few listeners (the gate's and the authenticator's) sit in a small
 * array, and each fires at most once. */
class PendingUpgrade implements CancelSignal {
  aborted = false;
  private listeners: AbortListener[] | undefined;

  constructor(
    readonly res: HttpResponse,
    readonly request: UpgradeRequest,
    readonly secKey: string,
    readonly protocol: string,
    readonly extensions: string,
    readonly context: us_socket_context_t,
  ) {}

  addEventListener(_type: 'abort', listener: AbortListener): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners?.splice(at, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) {
      if (typeof listener === 'function') listener();
      else listener.handleEvent();
    }
  }
}

/** The request, with repeated headers joined; `repeated` names them (uWS reads only the first). */
function copyRequest(res: HttpResponse, req: HttpRequest): { request: UpgradeRequest; repeated: readonly string[] } {
  const headers: Record<string, string> = {};
  let repeated: string[] | undefined;
  req.forEach((name, value) => {
    if (!(name in headers)) headers[name] = value;
    else {
      headers[name] = `${headers[name]}, ${value}`;
      (repeated ??= []).push(name);
    }
  });
  const request = {
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remoteAddress: peerAddress(res),
  };
  return { request, repeated: repeated ?? NONE_REPEATED };
}

const NONE_REPEATED: readonly string[] = Object.freeze([]);

/** An origin is not a secret, but it is the client's text: logged only this long. */
const MAX_LOGGED_ORIGIN = 200;

/** Answers a refused upgrade through the one error writer (http/exchange.ts replyError) and closes
 * the connection, as the refusal leaves the handshake unfinished. */
function refuse(res: HttpResponse, error: OctowayError, request: UpgradeRequest, log: Logger, refused: RefusalCount): void {
  const fields: Record<string, unknown> = { code: error.code, status: error.status, remote: request.remoteAddress };
  // Tells an operator which site to add to WS_ALLOWED_ORIGINS, or which one is knocking.
  if (error.code === 'ORIGIN_NOT_ALLOWED') fields['origin'] = request.headers.origin?.slice(0, MAX_LOGGED_ORIGIN);
  // A flood being refused must not become a flood of log lines: rate-limit refusals log at debug.
  if (error.code === 'RATE_LIMITED') log.debug(fields, 'upgrade refused');
  else log.info(fields, 'upgrade refused');
  replyError({ res, head: false, aborted: false, refused }, error, log, { close: true, later: true });
}

/**
 * Runs an upgrade that completes after the upgrade handler returned, outside any cork of its own.
 * In the uWS build we depend on (20.30), res.cork() reads the freed HTTP state of a socket
 * upgraded within it and, depending on leftover bytes, closes the new WebSocket right after its
 * open event (uNetworking/uWebSockets#1928, fixed upstream by #1929); measured here, about one new
 * process in a hundred lost a socket that way. Upgrading uncorked is uWS's own workaround, but
 * then it prints a warning on stderr for every upgrade not made inside a cork callback. So while
 * another socket holds the loop's cork, res.cork cannot cork this response: it just runs the
 * callback (no warning, and none of the post-cork code that misreads the state). With no other
 * socket open the upgrade is made bare: safe, at the cost of that one warning line. Either way the
 * 101 goes out piece by piece rather than in one write: about 120 µs more CPU per upgrade (see
 * docs/benchmarks.md). An answer from the auth cache arrives inside uWS's own callback, where the
 * response is corked already and none of this costs anything.
 */
export function upgradeOutsideCallback(anyOpenSocket: Socket | undefined, res: HttpResponse, upgrade: () => void): void {
  if (anyOpenSocket === undefined) upgrade();
  else anyOpenSocket.cork(() => res.cork(upgrade));
}
