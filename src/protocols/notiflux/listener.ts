// notiflux's listener (WS_NOTIFLUX_*): WebSocket `/ws` with no auth at connect and slash commands
// (commands.ts) whose subscribe token grants the topic (token.ts); `POST /broadcast` answered 200 at
// once, its token checked afterwards and a bad one dropping the message silently (broadcast.ts);
// `GET /health`. A broadcast is published to the topic in the `notiflux` app: live only (never
// held), to this node's subscribers and, through Redis, every other node's, as a text frame holding
// the message as posted. Pings about every 16 s; a socket silent for 24 s is dropped (uWS's idle timer).
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { topicAddress } from '../../delivery/address.js';
import { payloadText, type Framer } from '../../delivery/framer.js';
import { frameOf, newMessageId, type Message } from '../../delivery/message.js';
import type { Identity } from '../../identity/identity.js';
import type { NotifluxListener } from '../../config-seeds.js';
import { CLOSE_CODES } from '../../errors.js';
import { nowSeconds, type Socket } from '../../socket/connection.js';
import { takeInboundFrame } from '../../socket/inbound-budget.js';
import { stateOf } from '../../socket/native.js';

/** Topics one notiflux socket may hold (notiflux itself has no bound; refused ones are ignored silently, as every refused subscribe is). */
const MAX_TOPICS_PER_SOCKET = 1000;
import { acceptUpgrade, answer, answerAndClose, peerText, readRawBody, replyText, seedBehavior, type ListenerContext, type ListenerSpec } from '../listener.js';
import { NOTIFLUX_BODY_LIMIT, parseBroadcast } from './broadcast.js';
import { parseCommand } from './commands.js';
import { grants, verifyNotifluxToken } from './token.js';

export const NOTIFLUX_APP = 'notiflux';

/** The message as posted, once per topic and message. */
export const NOTIFLUX: Framer = Object.freeze({
  name: 'notiflux',
  tag: '\u0001notiflux\u0000',
  frame(_address: string, id: string, frame: string): string {
    const message = JSON.parse(payloadText(frame, JSON.stringify(id))) as unknown;
    return typeof message === 'string' ? message : '';
  },
});

/** notiflux pings every 15 s and drops a client silent for 30 s (checked every 15 s: 30 to 45 s).
 * uWS has one idle timer, in whole seconds with a 4 s granularity: at 24 s it pings a socket silent
 * for about 16 s (measured 15.7 s, then every 16 s) and drops one silent for 24 s (measured 23.7 s;
 * at 30 s the first ping came only after 23.7 s). A client that answers pings, as every WebSocket
 * client does, is never dropped. */
const IDLE_TIMEOUT_S = 24;

/** Every notiflux socket is anonymous until it subscribes: one shared identity, no keys. */
const ANONYMOUS: Identity = Object.freeze({
  subject: undefined, session: undefined, keys: Object.freeze([]), claims: undefined,
  grants: Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) }), expiresAt: undefined,
});

export function notifluxListener(settings: NotifluxListener, context: ListenerContext): ListenerSpec {
  const { hub, dispatcher, connections, log, limits } = context;

  const upgrade = (res: HttpResponse, req: HttpRequest, socketContext: us_socket_context_t): void => {
    if (context.shuttingDown()) return answer(res, 503, '');
    acceptUpgrade(hub, NOTIFLUX, res, req, socketContext, connections.open(ANONYMOUS, peerText(res), NOTIFLUX_APP));
  };

  const receive = (ws: Socket, message: ArrayBuffer, isBinary: boolean): void => {
    const data = ws.getUserData();
    // Each frame may cost a signature check: bounded per socket as the main listener's frames are.
    if (!takeInboundFrame(data, limits.inbound, nowSeconds())) {
      data.closed = true;
      ws.end(CLOSE_CODES.POLICY_VIOLATION.code, 'inbound frame rate exceeded');
      return;
    }
    if (isBinary) return;
    const command = parseCommand(Buffer.from(message).toString('utf8'));
    switch (command.type) {
      case 'subscribe': {
        const grant = verifyNotifluxToken(command.token, settings.publicKey);
        if (!grants(grant, 'subscribe', command.topic)) return;
        const state = stateOf(hub, ws);
        // Past the per-socket bound, silently ignored as every refused subscribe is.
        if (state.subscribed.size >= MAX_TOPICS_PER_SOCKET) return;
        hub.subscribe(ws, topicAddress(NOTIFLUX_APP, command.topic));
        return;
      }
      case 'unsubscribe':
        hub.unsubscribe(ws, topicAddress(NOTIFLUX_APP, command.topic));
        return;
      case 'unsubscribe-all':
        for (const address of [...(hub.nativeOf(ws)?.subscribed ?? [])]) hub.unsubscribe(ws, address);
        return;
      case 'reply':
        return replyText(hub, ws, command.text);
      case 'ignored':
        return;
    }
  };

  /** The token is checked after the 200 is out, as notiflux does: a bad one drops the message, silently. */
  const broadcast = (res: HttpResponse, req: HttpRequest): void => {
    const contentType = req.getHeader('content-type');
    const length = req.getHeader('content-length');
    readRawBody(res, NOTIFLUX_BODY_LIMIT, (body) => {
      if (body === undefined) {
        return answerAndClose(res, 413, `JSON payload (${length === '' ? 'unknown' : length} bytes) is larger than allowed (limit: ${NOTIFLUX_BODY_LIMIT} bytes).`);
      }
      const parsed = parseBroadcast(contentType === '' ? undefined : contentType, body);
      if (!('ok' in parsed)) return answer(res, parsed.status, parsed.body);
      answer(res, 200, '', '');
      if (!grants(verifyNotifluxToken(parsed.token, settings.publicKey), 'broadcast', parsed.topic)) return;
      const id = newMessageId();
      const message: Message = {
        id, keys: [], topics: [topicAddress(NOTIFLUX_APP, parsed.topic)], frame: frameOf(id, parsed.message), createdAt: Date.now(),
        expireMs: 0, expire: '0', idempotent: false,
      };
      if (dispatcher.publishNow(message) !== undefined) return;
      dispatcher.publish(message).catch((err: unknown) => log.warn({ err, listener: NOTIFLUX_APP }, 'could not publish a notiflux broadcast'));
    });
  };

  const { behavior, sockets } = seedBehavior(context, upgrade, { idleTimeoutS: IDLE_TIMEOUT_S, sendPings: true, message: receive });

  return {
    name: NOTIFLUX_APP,
    port: settings.port,
    portVariable: 'WS_NOTIFLUX_PORT',
    framer: NOTIFLUX,
    sockets,
    mount(app: TemplatedApp) {
      app.ws('/ws', behavior);
      app.post('/broadcast', broadcast);
      // actix-web-actors' refusal of a GET /ws that is no WebSocket handshake: 400, empty, its reason phrase.
      app.get('/ws', (res) => {
        res.cork(() => res.writeStatus('400 No WebSocket Upgrade header found').end());
      });
      app.get('/health', (res) => answer(res, 200, '', ''));
      // actix-web's answer to a route it does not have (any method but GET on /ws and /health).
      app.any('/*', (res) => answer(res, 404, '', ''));
    },
  };
}
