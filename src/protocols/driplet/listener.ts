// Driplet's listener (WS_DRIPLET_*): one port serving every endpoint of the config.toml, each
// endpoint an app of its own (`driplet-<name>`: its topics never reach another endpoint's sockets).
// WebSocket `GET /ws/{endpoint}?token=` (token.ts) with subscribe/unsubscribe client frames and no
// reply (frame.ts); `POST /api/{endpoint}/message` checked as Driplet checks it (signature.ts: HMAC,
// timestamp, nonce shared across nodes through Redis), then published to the topic's subscribers on
// this node and, through Redis, every other: live only (never held), each socket admitted by the
// target's include/exclude rules on its token's `custom` claim (delivery/filter.ts, applied per
// socket by the hub); `GET /` and `GET /api/{endpoint}/ping`; every refusal in Driplet's words
// (answers.ts). Driplet sends no pings and drops no silent client: neither does this listener.
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { topicAddress } from '../../delivery/address.js';
import { encodeFrame } from '../../delivery/conditions.js';
import { compileFilter, type Filter } from '../../delivery/filter.js';
import { payloadText, type Framer } from '../../delivery/framer.js';
import { frameOf, newMessageId, type Message } from '../../delivery/message.js';
import type { DripletListener } from '../../config-seeds.js';
import { MemoryReplayGuard } from '../../http/memory-replay-guard.js';
import { RedisReplayGuard } from '../../http/redis-replay-guard.js';
import type { ReplayGuard } from '../../http/replay-guard.js';
import { statusLine } from '../../http/exchange.js';
import type { Identity } from '../../identity/identity.js';
import type { Socket } from '../../socket/connection.js';
import { stateOf } from '../../socket/native.js';
import { acceptUpgrade, peerText, readRawBody, seedBehavior, type ListenerContext, type ListenerSpec } from '../listener.js';
import { DRIPLET_ANSWERS, DRIPLET_BODY_LIMIT, DRIPLET_NOT_FOUND, DRIPLET_STATUS, NOT_WEBSOCKET, methodNotAllowed, pingAnswer, type DripletAnswer } from './answers.js';
import type { DripletEndpoint } from './config.js';
import { parseClientFrame, parsePublish } from './frame.js';
import { DRIPLET_WINDOW_S, verifyPublish } from './signature.js';
import { verifyDripletToken } from './token.js';

export const DRIPLET_LISTENER = 'driplet';

/** Topics one Driplet socket may hold (Driplet had no bound): each is client-chosen memory. Past it,
 * a subscribe is ignored, as Driplet ignores every frame it cannot use. */
const MAX_TOPICS_PER_SOCKET = 1000;

/** The app of an endpoint: topics are addressed per endpoint, as Driplet matched `client.endpoint`. */
export function dripletApp(endpoint: string): string {
  return `driplet-${endpoint}`;
}

/** The Driplet server frame, built once per publish (frame.ts) and carried as the message's
 * payload: written as it is, once per message and topic, for every subscriber. */
export const DRIPLET: Framer = Object.freeze({
  name: 'driplet',
  tag: '\u0001driplet\u0000',
  frame(_address: string, id: string, frame: string): string {
    const text = JSON.parse(payloadText(frame, JSON.stringify(id))) as unknown;
    return typeof text === 'string' ? text : '';
  },
});

const NO_GRANTS = Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) });
/** A token without `custom`: one shared identity (targeting rules match nothing in it). */
const NO_CUSTOM: Identity = Object.freeze({ subject: undefined, session: undefined, keys: Object.freeze([]), claims: undefined, grants: NO_GRANTS, expiresAt: undefined });

export function dripletListener(settings: DripletListener, context: ListenerContext): ListenerSpec {
  const { hub, dispatcher, connections, log } = context;
  const endpoints = settings.config.endpoints;
  // Nonces for 60 s: on this node, or on every node sharing Redis (one SET NX each).
  const guard: ReplayGuard = context.redis === undefined
    ? new MemoryReplayGuard(DRIPLET_WINDOW_S * 1000)
    : new RedisReplayGuard(context.redis.client, context.keyspace, DRIPLET_WINDOW_S * 1000);

  /** The configured endpoint a path segment names (Go's PathValue: percent-decoded). */
  const endpointOf = (segment: string): DripletEndpoint | undefined => {
    let name = segment;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    return endpoints.get(name);
  };

  /** The socket's identity, or the answer refusing the upgrade: Driplet's order, endpoint then token. */
  const admit = (segment: string, query: string): Identity | DripletAnswer => {
    const endpoint = endpointOf(segment);
    if (endpoint === undefined) return DRIPLET_ANSWERS.invalidEndpoint;
    const client = verifyDripletToken(new URLSearchParams(query).get('token') ?? '', endpoint.jwtSecret);
    if (!('ok' in client)) return client;
    if (client.custom === undefined) return NO_CUSTOM;
    return Object.freeze({ subject: undefined, session: undefined, keys: Object.freeze([]), claims: client.custom, grants: NO_GRANTS, expiresAt: undefined });
  };

  const upgrade = (res: HttpResponse, req: HttpRequest, socketContext: us_socket_context_t): void => {
    if (context.shuttingDown()) return send(res, { status: 503, body: 'Shutting down\n' });
    const identity = admit(req.getParameter(0) ?? '', req.getQuery() ?? '');
    if (!('grants' in identity)) return send(res, identity);
    const endpoint = endpointOf(req.getParameter(0) ?? '') as DripletEndpoint;
    acceptUpgrade(hub, DRIPLET, res, req, socketContext, connections.open(identity, peerText(res), dripletApp(endpoint.name)));
  };

  const receive = (ws: Socket, message: ArrayBuffer): void => {
    // Text or binary alike, as Driplet's ReadPump reads both; anything else is ignored, silently.
    const frame = parseClientFrame(Buffer.from(message).toString('utf8'));
    if (frame.type === 'ignored' || frame.topic.includes('\u0000')) return;
    const address = topicAddress(ws.getUserData().app, frame.topic);
    if (frame.type === 'unsubscribe') {
      hub.unsubscribe(ws, address);
      return;
    }
    if (stateOf(hub, ws).subscribed.size >= MAX_TOPICS_PER_SOCKET) return;
    hub.subscribe(ws, address);
  };

  const publish = (res: HttpResponse, req: HttpRequest): void => {
    const endpoint = endpointOf(req.getParameter(0) ?? '');
    const header = req.getHeader('x-driplet-signature');
    const aborted = readRawBody(res, DRIPLET_BODY_LIMIT, (body) => {
      if (body === undefined) return endpoint === undefined ? send(res, DRIPLET_ANSWERS.invalidEndpoint, true) : send(res, DRIPLET_ANSWERS.bodyTooLarge, true);
      void accept(endpoint, header, body).then((result) => {
        if (!aborted()) send(res, result);
      }, (err: unknown) => {
        log.warn({ err, listener: DRIPLET_LISTENER }, 'could not publish a Driplet message');
        if (!aborted()) send(res, DRIPLET_ANSWERS.broadcastError);
      });
    });
  };

  /** A publish, in Driplet's order: signature, timestamp and nonce, the body's format, the topic and
   * target; then delivered (answered once the message is on its way to every node). */
  const accept = async (endpoint: DripletEndpoint | undefined, signature: string, body: Buffer): Promise<DripletAnswer> => {
    const verified = await verifyPublish(endpoint, signature === '' ? undefined : signature, body, guard);
    if (!('ok' in verified)) return verified;
    const parsed = parsePublish(verified.text, (endpoint as DripletEndpoint).name);
    if (!('ok' in parsed)) return parsed;
    let filter: Filter | undefined;
    try {
      filter = compileFilter(parsed.target);
    } catch {
      // Past Octoway's bounds on a filter (32 rules, an empty path segment, deep or long arrays):
      // Driplet's answer to a target it cannot use.
      return DRIPLET_ANSWERS.broadcastError;
    }
    // No socket can be subscribed to a topic holding NUL (receive ignores them): nobody to deliver to.
    if (parsed.topic.includes('\u0000')) return DRIPLET_ANSWERS.ok;
    const id = newMessageId();
    const message: Message = {
      id, keys: [], topics: [topicAddress(dripletApp((endpoint as DripletEndpoint).name), parsed.topic)],
      frame: encodeFrame(frameOf(id, parsed.frame), { filter: filter?.spec }), createdAt: Date.now(),
      expireMs: 0, expire: '0', idempotent: false,
    };
    if (dispatcher.publishNow(message) === undefined) await dispatcher.publish(message);
    return DRIPLET_ANSWERS.ok;
  };

  const pingOf = (segment: string): DripletAnswer => {
    const endpoint = endpointOf(segment);
    return endpoint === undefined ? DRIPLET_ANSWERS.invalidEndpoint : pingAnswer(endpoint.name);
  };

  /** A HEAD request's answer: the GET routes' (Go's ServeMux routes HEAD as GET). */
  const headAnswer = (url: string, query: string): DripletAnswer => {
    if (url === '/') return DRIPLET_STATUS;
    const ws = /^\/ws\/([^/]+)$/.exec(url);
    if (ws !== null) {
      const identity = admit(ws[1] as string, query);
      return 'grants' in identity ? NOT_WEBSOCKET : identity;
    }
    const ping = /^\/api\/([^/]+)\/ping$/.exec(url);
    return ping === null ? DRIPLET_NOT_FOUND : pingOf(ping[1] as string);
  };

  const { behavior, sockets } = seedBehavior(context, upgrade, { idleTimeoutS: 0, sendPings: false, message: receive });

  return {
    name: DRIPLET_LISTENER,
    port: settings.port,
    portVariable: 'WS_DRIPLET_PORT',
    framer: DRIPLET,
    sockets,
    mount(app: TemplatedApp) {
      app.ws('/ws/:name', behavior);
      // The same checks without a handshake, then gorilla's refusal and Driplet's own after it.
      app.get('/ws/:name', (res, req) => {
        const identity = admit(req.getParameter(0) ?? '', req.getQuery() ?? '');
        send(res, 'grants' in identity ? NOT_WEBSOCKET : identity);
      });
      app.post('/api/:name/message', publish);
      app.get('/api/:name/ping', (res, req) => send(res, pingOf(req.getParameter(0) ?? '')));
      app.get('/', (res) => send(res, DRIPLET_STATUS));
      // Go's ServeMux: "GET /" takes every other GET path (Front answers 404 for them); any other
      // method is 405 naming the methods the path has.
      app.any('/*', (res, req) => {
        const method = req.getCaseSensitiveMethod();
        // HEAD: what GET answers, without its body (Go's server writes the headers only).
        if (method === 'HEAD') return send(res, headAnswer(req.getUrl(), req.getQuery() ?? ''), false, true);
        if (method === 'GET') return send(res, DRIPLET_NOT_FOUND);
        send(res, methodNotAllowed(/^\/api\/[^/]+\/message$/.test(req.getUrl()) ? 'GET, HEAD, POST' : 'GET, HEAD'));
      });
    },
  };
}

/** Writes a Driplet answer: Go's http.Error headers for plain text, JSON for the status routes,
 * nothing but the status for a 200 publish. `close`: the body was left unread. */
function send(res: HttpResponse, answer: DripletAnswer, close = false, head = false): void {
  res.cork(() => {
    res.writeStatus(statusLine(answer.status));
    if (answer.contentType !== '') {
      res.writeHeader('Content-Type', answer.contentType ?? 'text/plain; charset=utf-8');
      if (answer.contentType === undefined) res.writeHeader('X-Content-Type-Options', 'nosniff');
    }
    if (answer.allow !== undefined) res.writeHeader('Allow', answer.allow);
    if (answer.retryAfter !== undefined) res.writeHeader('Retry-After', String(answer.retryAfter));
    if (answer.websocketVersion === true) res.writeHeader('Sec-Websocket-Version', '13');
    // HEAD: the GET answer's length, no body (as http/exchange.ts: endWithoutBody(length) would
    // leave the request unanswered, so the header is written and endWithoutBody called bare).
    if (head) res.writeHeader('Content-Length', String(Buffer.byteLength(answer.body))).endWithoutBody();
    else res.end(answer.body, close);
  });
}
