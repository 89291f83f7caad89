// dSock's listener (WS_DSOCK_*): its API (`POST /claim`, `POST /send`, `POST /disconnect`,
// `GET /info`, token from the `token` query or Authorization; api.ts) and its worker
// (`GET /connect?claim=|?jwt=`) on one port. A socket is in the hub, listed by /info (this node
// answers the control plane from the hub) and on its user's and session's topics before its 101 is
// written: uWS runs `open` inside res.upgrade, and nothing else runs on this node meanwhile; other
// nodes ask this one live. Server frames are /send bodies, raw; client frames are ignored.
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { payloadText, type Framer } from '../../delivery/framer.js';
import type { Identity } from '../../identity/identity.js';
import type { DsockListener } from '../../config-seeds.js';
import { statusLine } from '../../http/exchange.js';
import type { Connection } from '../../socket/connection.js';
import { upgradeOutsideCallback } from '../../socket/upgrade.js';
import { acceptUpgrade, NO_SUBPROTOCOL, peerText, seedBehavior, type ListenerContext, type ListenerSpec } from '../listener.js';
import { authorized, dsockError, parseConnect, verifyConnectJwt, type DsockAnswer } from './answers.js';
import { createDsockApi, DSOCK_APP, sessionTopic, userTopic } from './api.js';

/** The /send body as posted (api.ts publishes text as the payload string; binary needs no framer). */
export const DSOCK: Framer = Object.freeze({
  name: 'dsock',
  tag: '\u0001dsock\u0000',
  frame(_address: string, id: string, frame: string): string {
    const text = JSON.parse(payloadText(frame, JSON.stringify(id))) as unknown;
    return typeof text === 'string' ? text : '';
  },
});

const JSON_TYPE = 'application/json; charset=utf-8';
const UNAUTHORIZED = dsockError('INVALID_AUTHORIZATION');
/** gin's answer to a path or method it has no route for (after the token check). */
const NOT_FOUND = '404 page not found';
/** dSock pings every 60 s. uWS pings a socket silent for about two thirds of its idle timeout and
 * drops one silent for all of it: a client answering pings, as every one does, is never dropped. */
const IDLE_TIMEOUT_S = 96;

const NO_GRANTS = Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) });

/** A dSock socket's identity: its user as subject (the control plane finds it by user and session),
 * no keys, no expiry (dSock never closes a socket at its JWT's `exp`). */
function identityOf(user: string, session: string | undefined): Identity {
  return Object.freeze({ subject: user, session, keys: Object.freeze([]), claims: undefined, grants: NO_GRANTS, expiresAt: undefined });
}

/** An answer written now or later; `close` ends the connection after it (a refused handshake). */
function reply(res: HttpResponse, answer: DsockAnswer, close = false): void {
  res.cork(() => {
    res.writeStatus(statusLine(answer.status)).writeHeader('Content-Type', JSON_TYPE);
    res.end(answer.body, close);
  });
}

function notFound(res: HttpResponse): void {
  res.cork(() => {
    res.writeStatus(statusLine(404)).writeHeader('Content-Type', 'text/plain');
    res.end(NOT_FOUND);
  });
}

export function dsockListener(settings: DsockListener, context: ListenerContext): ListenerSpec {
  const { hub, connections, log } = context;
  const tickets = context.tickets(DSOCK_APP);
  const api = createDsockApi({ tickets, control: context.control, dispatcher: context.dispatcher, log: log.child({ listener: DSOCK_APP }) });

  /** An upgrade completing after its handler returned (a claim taken from the store): as the main
   * listener's, outside a cork of its own (socket/upgrade.ts says why). */
  const upgradeLater = (res: HttpResponse, upgrade: () => void): void => upgradeOutsideCallback(hub.sockets().next().value, res, upgrade);

  const upgrade = (res: HttpResponse, req: HttpRequest, socketContext: us_socket_context_t): void => {
    if (context.shuttingDown()) return reply(res, { status: 503, body: '{"success":false}' }, true);
    const auth = parseConnect(req.getQuery() ?? '', settings.jwtSecret !== undefined);
    if (!('kind' in auth)) return reply(res, auth, true);
    if (auth.kind === 'jwt') {
      const who = verifyConnectJwt(auth.token, settings.jwtSecret as string);
      if ('status' in who) return reply(res, who, true);
      return acceptUpgrade(hub, DSOCK, res, req, socketContext, connections.open(identityOf(who.user, who.session), peerText(res), DSOCK_APP));
    }
    // uWS invalidates req when this function returns: copy what the upgrade needs first.
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const peer = peerText(res);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    // Taken atomically (single use, on any node); a client gone meanwhile has used its claim.
    tickets.take(auth.id).then((taken) => {
      if (aborted) return;
      if (taken === undefined) return reply(res, dsockError('MISSING_CLAIM'), true);
      if (taken === 'expired') return reply(res, dsockError('EXPIRED_CLAIM'), true);
      const data: Connection = connections.open(identityOf(taken.user, taken.session), peer, DSOCK_APP);
      upgradeLater(res, () => hub.opening(DSOCK, () => res.upgrade(data, key, NO_SUBPROTOCOL, extensions, socketContext)));
    }, (err: unknown) => {
      log.warn({ err, listener: DSOCK_APP }, 'could not take a dSock claim');
      if (!aborted) reply(res, dsockError('ERROR_GETTING_CLAIM', 500), true);
    }).catch((err: unknown) => {
      // A bug while answering costs this upgrade, never the process.
      log.error({ err, listener: DSOCK_APP }, 'unexpected error while completing a dSock upgrade');
      if (!aborted) res.close();
    });
  };

  const { behavior, sockets } = seedBehavior(context, upgrade, {
    idleTimeoutS: IDLE_TIMEOUT_S,
    sendPings: true,
    opened: (ws) => {
      const { subject, session } = ws.getUserData().identity;
      const user = subject ?? '';
      hub.subscribe(ws, userTopic(user));
      if (session !== undefined) hub.subscribe(ws, sessionTopic(user, session));
    },
    // dSock reads client frames and ignores them.
    message: () => undefined,
  });

  /** An API route: the token first (also for unknown paths), then the answer, now or later. */
  const route = (handle: (query: string, res: HttpResponse, aborted: () => boolean) => void) => (res: HttpResponse, req: HttpRequest): void => {
    const query = req.getQuery() ?? '';
    const authorization = req.getHeader('authorization');
    if (!authorized(query, authorization === '' ? undefined : authorization, settings.token)) return reply(res, UNAUTHORIZED);
    let gone = false;
    res.onAborted(() => {
      gone = true;
    });
    handle(query, res, () => gone);
  };

  const later = (res: HttpResponse, aborted: () => boolean, answer: DsockAnswer | Promise<DsockAnswer>): void => {
    if (!(answer instanceof Promise)) return reply(res, answer);
    answer.then((a) => {
      if (!aborted()) reply(res, a);
    }, (err: unknown) => {
      log.error({ err, listener: DSOCK_APP }, 'unexpected error in the dSock API');
      if (!aborted()) reply(res, dsockError('ERROR_GETTING_USER', 500));
    });
  };

  /** /send's body, whole, up to WS_MAX_BODY (dSock has no bound: past it, 413 MESSAGE_TOO_LARGE). */
  const send = (query: string, res: HttpResponse, aborted: () => boolean): void => {
    const limit = context.limits.maxBodyBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, last) => {
      if (done || aborted()) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        // The rest is not read: the connection closes after the answer.
        return reply(res, dsockError('MESSAGE_TOO_LARGE', 413), true);
      }
      // uWS reuses the chunk's memory after the callback: copy it.
      chunks.push(Buffer.from(Buffer.from(chunk)));
      if (last) {
        done = true;
        later(res, aborted, api.send(query, Buffer.concat(chunks, size)));
      }
    });
  };

  return {
    name: DSOCK_APP,
    port: settings.port,
    portVariable: 'WS_DSOCK_PORT',
    framer: DSOCK,
    sockets,
    mount(app: TemplatedApp) {
      app.ws('/connect', behavior);
      // Not a WebSocket handshake: the credentials' refusal, else gorilla's 400. A claim is not
      // looked up, so not consumed (dSock burns it here).
      app.get('/connect', (res, req) => {
        const auth = parseConnect(req.getQuery() ?? '', settings.jwtSecret !== undefined);
        if (!('kind' in auth)) return reply(res, auth);
        if (auth.kind === 'jwt') {
          const who = verifyConnectJwt(auth.token, settings.jwtSecret as string);
          if ('status' in who) return reply(res, who);
        }
        res.cork(() => res.writeStatus(statusLine(400)).writeHeader('Content-Type', 'text/plain; charset=utf-8').end('Bad Request'));
      });
      app.post('/claim', route((query, res, aborted) => later(res, aborted, api.claim(query))));
      app.post('/send', route(send));
      app.post('/disconnect', route((query, res, aborted) => later(res, aborted, api.disconnect(query))));
      app.get('/info', route((query, res, aborted) => later(res, aborted, api.info(query))));
      app.any('/*', route((_query, res) => notFound(res)));
    },
  };
}
