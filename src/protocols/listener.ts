// What every seed listener shares: its own uWS app (TLS as the main one) on its own port,
// in the same process as the main listener, with the node's hub, dispatcher, held store, Redis and
// shutdown. uWS topics are per app, so the listener's framer is bound to its app in the hub before
// any socket opens: the hub then publishes that protocol's frames on the app its sockets belong to.
// A protocol adapter (protocols/<seed>/listener.ts) only adds routes: its HTTP answers, and a socket
// behaviour built by seedBehavior, which does the open/close bookkeeping every listener needs.
import uWS, { type HttpResponse, type TemplatedApp, type WebSocket, type WebSocketBehavior } from 'uWebSockets.js';
import type { ControlPlane } from '../control/control.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Framer } from '../delivery/framer.js';
import type { Hub } from '../delivery/hub.js';
import type { TicketStore } from '../identity/ticket-store.js';
import { statusLine } from '../http/exchange.js';
import { listen } from '../listen.js';
import type { Logger } from '../log.js';
import type { RedisConnection } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import type { SocketActivity } from '../socket/behavior.js';
import type { InboundLimits } from '../socket/inbound-budget.js';
import type { Connection, Connections, Socket } from '../socket/connection.js';
import { createApp, type TlsFiles } from '../tls.js';
import type { VersionInfo } from '../version.js';

/** What server.ts hands every seed listener. */
export interface ListenerContext {
  readonly hub: Hub;
  readonly dispatcher: Dispatcher;
  readonly connections: Connections;
  /** The node's control plane (disconnect and list sockets on every node). */
  readonly control: ControlPlane;
  /** A new ticket store of the listener's own (memory, or Redis under names of its own): no other
   * app's or listener's tickets are in it. Nothing to close: the memory one holds no timer, the
   * Redis one the gateway's connection. */
  readonly tickets: (app: string) => TicketStore;
  readonly activity: SocketActivity;
  readonly shuttingDown: () => boolean;
  readonly version: VersionInfo;
  readonly host: string;
  readonly reusePort: boolean;
  readonly tls: TlsFiles | undefined;
  readonly limits: {
    /** WS_MAX_PAYLOAD: inbound frames past it close the socket (uWS). */
    readonly maxPayloadBytes: number;
    /** WS_MAX_BACKPRESSURE: the hub's slow-consumer bound. */
    readonly maxBackpressureBytes: number;
    /** WS_MAX_BODY: the largest HTTP request body an API accepts (dSock's /send). */
    readonly maxBodyBytes: number;
    /** WS_MAX_INBOUND_RATE, for the listeners whose frames cost work (notiflux's signature checks). */
    readonly inbound: InboundLimits;
  };
  readonly log: Logger;
  /** WS_REDIS_URL's connection, for state every node must share (Driplet's nonces); undefined on one node. */
  readonly redis: RedisConnection | undefined;
  /** The node's Redis names (WS_REDIS_PREFIX). */
  readonly keyspace: Keyspace;
}

/** One seed protocol, as its adapter describes it. */
export interface ListenerSpec {
  /** Its app name (delivery/address.ts): `philote`, `notiflux`, `dsock`, `driplet-<endpoint>`. */
  readonly name: string;
  readonly port: number;
  /** The variable the port comes from (WS_PHILOTE_PORT), for a start-up error. */
  readonly portVariable: string;
  /** Its framer: one frozen object per protocol; bound to this listener's uWS app. */
  readonly framer: Framer;
  /** Registers its routes on its own app. */
  mount(app: TemplatedApp): void;
  /** Told the port actually listened on. */
  listening?(port: number): void;
  /** Its open sockets (seedBehavior's count), for the metrics. */
  readonly sockets: () => number;
}

export interface SeedListener {
  readonly name: string;
  /** The port listened on (0 in the configuration picks a free one). */
  readonly port: number;
  /** Its open sockets. */
  readonly sockets: () => number;
  /** Stops accepting; the gateway closes the sockets (every one is in the hub). */
  close(): void;
}

export async function startListener(spec: ListenerSpec, context: ListenerContext): Promise<SeedListener> {
  const app = createApp(context.tls, context.log);
  context.hub.bind(spec.framer, app);
  spec.mount(app);
  let socket: uWS.us_listen_socket | undefined = await listen(app, context.host, spec.port, context.reusePort, spec.portVariable);
  const port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
  spec.listening?.(port);
  context.log.info({ listener: spec.name, port }, 'listener listening');
  return {
    name: spec.name,
    port,
    sockets: spec.sockets,
    close() {
      if (socket !== undefined) uWS.us_listen_socket_close(socket);
      socket = undefined;
    },
  };
}

export interface SeedHooks {
  /** After the socket is in the hub (still syncing: subscriptions made here go live with it). */
  readonly opened?: (ws: Socket) => void;
  readonly message: (ws: Socket, message: ArrayBuffer, isBinary: boolean) => void;
  /** After the socket left the hub (also for one refused by admit). */
  readonly closed?: (ws: Socket) => void;
  /** uWS's timers: seconds of silence before a close; pings sent before it when asked. */
  readonly idleTimeoutS: number;
  readonly sendPings: boolean;
  /** Refuses an accepted socket at once (Philote's MAX_CONNECTIONS); undefined: every one is taken. */
  readonly admit?: (ws: Socket) => boolean;
}

export interface SeedBehavior {
  readonly behavior: WebSocketBehavior<Connection>;
  /** Sockets open on it (one refused by admit counts until it is dropped, a tick later). */
  readonly sockets: () => number;
}

/** A seed socket's behaviour: the upgrade is the adapter's; open puts the socket in the hub through
 * the dispatcher (held messages of its keys first, then live), close takes it out. */
export function seedBehavior(context: ListenerContext, upgrade: WebSocketBehavior<Connection>['upgrade'], hooks: SeedHooks): SeedBehavior {
  const { dispatcher, activity, limits } = context;
  const refusing = new Set<Socket>();
  let open = 0;
  const behavior: WebSocketBehavior<Connection> = {
    upgrade,
    maxPayloadLength: limits.maxPayloadBytes,
    idleTimeout: hooks.idleTimeoutS,
    sendPingsAutomatically: hooks.sendPings,
    // As the main listener's (socket/behavior.ts): the hub's slow-consumer check must fire first.
    maxBackpressure: limits.maxBackpressureBytes * 4 + 1024 * 1024,
    closeOnBackpressureLimit: 0,
    compression: uWS.DISABLED,
    open(ws) {
      activity.opened++;
      open++;
      if (hooks.admit !== undefined && !hooks.admit(ws)) {
        ws.getUserData().closed = true;
        // Dropped once the 101 is out (a close here would cut it): refused sockets are few, kept
        // in a set until then, so one that went away meanwhile is never touched.
        refusing.add(ws);
        setImmediate(() => {
          if (refusing.delete(ws)) ws.close();
        });
        return;
      }
      dispatcher.connect(ws);
      hooks.opened?.(ws);
    },
    message(ws, message, isBinary) {
      if (ws.getUserData().closed) return;
      hooks.message(ws, message, isBinary);
    },
    close(ws) {
      activity.closed++;
      open--;
      refusing.delete(ws);
      // A socket refused at open was never added: the hub and broker skip what they do not hold.
      dispatcher.closed(ws);
      hooks.closed?.(ws);
    },
  };
  return { behavior, sockets: () => open };
}

/** The seeds select no subprotocol (gorilla and actix without a configured list answer none), so
 * neither does a seed listener: echoing the client's whole offer would be an invalid 101 for a
 * client offering two. */
export const NO_SUBPROTOCOL = '';

/** Accepts an upgrade synchronously (the seed protocols decide at once) with `data` as the socket's record. */
export function acceptUpgrade(hub: Hub, framer: Framer, res: HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t, data: Connection): void {
  const key = req.getHeader('sec-websocket-key');
  const extensions = req.getHeader('sec-websocket-extensions');
  // The hub gives the socket its protocol (and topic state) as uWS opens it, inside res.upgrade.
  hub.opening(framer, () => res.upgrade(data, key, NO_SUBPROTOCOL, extensions, context));
}

/** A plain answer, as the seeds write theirs (text, or JSON they built). Inside a uWS callback. */
export function answer(res: HttpResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.cork(() => {
    res.writeStatus(statusLine(status));
    if (body !== '' || contentType !== '') res.writeHeader('Content-Type', contentType);
    res.end(body);
  });
}

/** Answers, then closes the connection: a request body left unread (too large). */
export function answerAndClose(res: HttpResponse, status: number, body: string): void {
  res.cork(() => {
    res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(body, true);
  });
}

/** Reads a request body up to `limit` bytes: `onBody` gets it whole, or undefined past the limit
 * (then the rest is not read). Nothing is called when the client goes away. Returns whether the
 * client went away, for an answer written later (after an await): uWS forbids writing to it then. */
export function readRawBody(res: HttpResponse, limit: number, onBody: (body: Buffer | undefined) => void): () => boolean {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  let aborted = false;
  res.onAborted(() => {
    done = true;
    aborted = true;
  });
  res.onData((chunk, last) => {
    if (done) return;
    size += chunk.byteLength;
    if (size > limit) {
      done = true;
      return onBody(undefined);
    }
    // uWS reuses the chunk's memory after the callback: copy it.
    chunks.push(Buffer.from(Buffer.from(chunk)));
    if (last) {
      done = true;
      onBody(Buffer.concat(chunks, size));
    }
  });
  return () => aborted;
}

/** The TCP peer's address as text (uWS gives it as bytes). */
export function peerText(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}

/** Writes a reply that is not a message (a command's answer): at once, even while syncing. */
export function replyText(hub: Hub, ws: WebSocket<Connection>, text: string): void {
  const data = ws.getUserData();
  if (data.closed) return;
  if (data.pending === undefined) hub.send(ws, text);
  else ws.send(text, false);
}
