// Philote's listener (WS_PHILOTE_*): one WebSocket handler on every path, the access key from the
// Authorization header or `auth` query (token.ts), `GET /api/info` for an `api` key (api.ts), the
// origin check and MAX_CONNECTIONS. A client frame (frame.ts) on a channel of the sender's `write`
// is published to the topic of that channel in the `philote` app: delivered live (never held) to
// every socket whose `read` lists it, on this node and, through Redis, on every other; never to the
// sender (the hub's exclude). Reads are subscribed as the socket opens and last as long as it.
import { availableParallelism } from 'node:os';
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { parseAddress, topicAddress } from '../../delivery/address.js';
import { payloadText, type Framer } from '../../delivery/framer.js';
import { frameOf, newMessageId, type Message } from '../../delivery/message.js';
import type { Identity } from '../../identity/identity.js';
import type { PhiloteListener } from '../../config-seeds.js';
import { connectionId, type Socket } from '../../socket/connection.js';
import { stateOf } from '../../socket/native.js';
import { acceptUpgrade, answer, peerText, seedBehavior, type ListenerContext, type ListenerSpec } from '../listener.js';
import { API_OTHER, apiRoute, infoBody } from './api.js';
import { parseClientFrame, serverFrame } from './frame.js';
import { ORIGIN_REFUSED, originAllowed, philoteToken, verifyPhiloteToken, type PhiloteAccess } from './token.js';

export const PHILOTE_APP = 'philote';

/** `{"issuer","channel","data"}\n` per channel and message, built once for all its readers. */
export const PHILOTE: Framer = Object.freeze({
  name: 'philote',
  tag: '\u0001philote\u0000',
  frame(address: string, id: string, frame: string, from: string | undefined): string {
    const data = JSON.parse(payloadText(frame, JSON.stringify(id))) as unknown;
    return serverFrame(from ?? '', parseAddress(address).name, typeof data === 'string' ? data : '');
  },
});

/** gorilla/websocket's answer to a request without `Connection: upgrade`, then Philote's copy of the error. */
const NOT_WEBSOCKET = 'Bad Request\nwebsocket: the client is not using the websocket protocol: \'upgrade\' token not found in \'Connection\' header';
/** gorilla's Upgrader buffer sizes as Philote sets them, reported by /api/info. */
const BUFFER_SIZE = 1024;
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };

/** The identity of a socket accepted past MAX_CONNECTIONS: Philote upgrades it, then drops it. */
const OVER_LIMIT: Identity = Object.freeze({
  subject: undefined, session: undefined, keys: Object.freeze([]), claims: undefined,
  grants: Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) }), expiresAt: undefined,
});

export function philoteListener(settings: PhiloteListener, context: ListenerContext): ListenerSpec {
  const { hub, dispatcher, connections, log } = context;
  const started = Date.now();
  let open = 0;
  let port = settings.port;

  /** The key, or the answer that refuses it (sent here). */
  const accessOf = (res: HttpResponse, req: HttpRequest): PhiloteAccess | undefined => {
    const authorization = req.getHeader('authorization');
    const access = verifyPhiloteToken(philoteToken(authorization === '' ? undefined : authorization, req.getQuery() ?? ''), settings.secret);
    if (access.ok) return access;
    answer(res, 200, access.text);
    return undefined;
  };

  /** An `api` key on an /api path: answered here (true); otherwise false (upgrade). */
  const servedApi = (res: HttpResponse, req: HttpRequest, access: PhiloteAccess): boolean => {
    const route = access.api ? apiRoute(req.getMethod().toUpperCase(), req.getUrl()) : undefined;
    if (route === undefined) return false;
    if (route === 'other') answer(res, API_OTHER.status, API_OTHER.body, '');
    else {
      answer(res, 200, infoBody({
        version: context.version.version, goArch: GO_ARCH[process.arch] ?? process.arch, goOs: process.platform, goVersion: `node ${process.version}`,
        numCpu: availableParallelism(), uptimeSeconds: Math.floor((Date.now() - started) / 1000), tcpPort: String(port), pid: process.pid,
        connections: open, maxConnections: settings.maxConnections, readBufferSize: BUFFER_SIZE, writeBufferSize: BUFFER_SIZE, checkOrigin: settings.checkOrigin,
      }), 'application/json');
    }
    return true;
  };

  const upgrade = (res: HttpResponse, req: HttpRequest, socketContext: us_socket_context_t): void => {
    if (context.shuttingDown()) return answer(res, 503, 'shutting down');
    const access = accessOf(res, req);
    if (access === undefined || servedApi(res, req, access)) return;
    if (settings.checkOrigin) {
      const origin = req.getHeader('origin');
      if (!originAllowed(origin === '' ? undefined : origin, req.getHeader('host'))) return answer(res, ORIGIN_REFUSED.status, ORIGIN_REFUSED.body);
    }
    const identity: Identity = open >= settings.maxConnections ? OVER_LIMIT : Object.freeze({
      subject: undefined, session: undefined, keys: Object.freeze([]), claims: undefined,
      grants: Object.freeze({ subscribe: access.read, publish: access.write }), expiresAt: undefined,
    });
    acceptUpgrade(hub, PHILOTE, res, req, socketContext, connections.open(identity, peerText(res), PHILOTE_APP));
  };

  const receive = (ws: Socket, message: ArrayBuffer): void => {
    const data = ws.getUserData();
    const frame = parseClientFrame(Buffer.from(message).toString('utf8'));
    if (frame.type === 'close') {
      // Philote drops the connection on a frame it cannot decode, without a close frame.
      data.closed = true;
      ws.close();
      return;
    }
    if (!data.identity.grants.publish.includes(frame.channel)) return;
    const id = newMessageId();
    const published: Message = {
      id, keys: [], topics: [topicAddress(PHILOTE_APP, frame.channel)], frame: frameOf(id, frame.data), createdAt: Date.now(),
      expireMs: 0, expire: '0', idempotent: false, from: connectionId(data), exclude: ws,
    };
    // Philote answers nothing: a publish the store refuses (Redis down) is dropped, and logged.
    if (dispatcher.publishNow(published) !== undefined) return;
    dispatcher.publish(published).catch((err: unknown) => log.warn({ err, listener: PHILOTE_APP }, 'could not publish a Philote message'));
  };

  const { behavior, sockets } = seedBehavior(context, upgrade, {
    idleTimeoutS: 0,
    sendPings: false,
    admit: (ws) => {
      if (ws.getUserData().identity === OVER_LIMIT) {
        log.warn({ listener: PHILOTE_APP, maxConnections: settings.maxConnections }, 'WS_PHILOTE_MAX_CONNECTIONS reached, dropping new connection');
        return false;
      }
      open++;
      return true;
    },
    opened: (ws) => {
      const data = ws.getUserData();
      for (const channel of data.identity.grants.subscribe) hub.subscribe(ws, topicAddress(PHILOTE_APP, channel));
    },
    message: receive,
    closed: (ws) => {
      if (ws.getUserData().identity !== OVER_LIMIT) open--;
    },
  });

  return {
    name: PHILOTE_APP,
    port: settings.port,
    portVariable: 'WS_PHILOTE_PORT',
    framer: PHILOTE,
    sockets,
    mount(app: TemplatedApp) {
      app.ws('/*', behavior);
      // Requests without an upgrade: the key first, then /api, then gorilla's refusal.
      app.any('/*', (res, req) => {
        const access = accessOf(res, req);
        if (access === undefined || servedApi(res, req, access)) return;
        answer(res, 400, NOT_WEBSOCKET);
      });
    },
    listening(actual) {
      port = actual;
    },
  };
}
