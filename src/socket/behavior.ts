// The WebSocket behaviour shared by `/ws` and `/` (Goctopus's documented path): limits, pings,
// and the open/message/close handlers, which hand sockets to the dispatcher.
import uWS, { type WebSocketBehavior } from 'uWebSockets.js';
import type { Logger } from '../log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import { CLOSE_CODES } from '../errors.js';
import { connectionId, nowSeconds, type Connection, type Socket } from './connection.js';
import { takeInboundFrame, type InboundLimits } from './inbound-budget.js';
import type { UpgradeHandler } from './upgrade.js';
import type { ExpiryWheel } from './expiry.js';
import { MAX_REFRESH_BYTES, type Refresher } from './refresh.js';
import type { Hub } from '../delivery/hub.js';
import { createNative } from './native.js';
import type { History } from '../delivery/history.js';

export interface BehaviorOptions {
  readonly upgrade: UpgradeHandler;
  readonly dispatcher: Dispatcher;
  readonly maxPayloadBytes: number;
  readonly idleTimeoutS: number;
  readonly maxBackpressureBytes: number;
  readonly inbound: InboundLimits;
  /** Sockets opened and closed so far, for the aggregate info line (per-socket lines are debug). */
  readonly activity: SocketActivity;
  /** WS_COMPRESS: offer permessage-deflate; the hub must then send with compression asked for. */
  readonly compress: boolean;
  /** Closes sockets at their token's expiry; every socket whose identity has expiresAt is in it. */
  readonly expiry: ExpiryWheel;
  /** Answers `{"type":"refresh"}` frames; undefined without JWT verification (no refresh possible). */
  readonly refresh: Refresher | undefined;
  /** For v2 sockets' subscriptions and replies (socket/native.ts). */
  readonly hub: Hub;
  /** For v2 subscriptions with `since` (delivery/recovery.ts); undefined with the history off. */
  readonly history?: History | undefined;
  /** WS_CLIENT_PUBLISH_RATE and WS_CLIENT_PUBLISH_BURST. */
  readonly clientPublish: InboundLimits;
  /** WS_MAX_TOPICS_PER_SOCKET. */
  readonly maxTopicsPerSocket: number;
  readonly log: Logger;
}

export interface SocketActivity {
  opened: number;
  closed: number;
}

const MAX_ACK_BYTES = 512;
/** Close code for a client past an inbound bound (RFC 6455 "policy violation"): reconnecting and
 * sending the same flood gets the same answer. */
export const CLOSE_POLICY_VIOLATION = CLOSE_CODES.POLICY_VIOLATION.code;

export function socketBehavior(options: BehaviorOptions): WebSocketBehavior<Connection> {
  const { dispatcher, inbound, activity, expiry, refresh, log } = options;
  const maxFrameBytes = refresh === undefined ? MAX_ACK_BYTES : MAX_REFRESH_BYTES;

  const closeAbuser = (ws: Socket, reason: string): void => {
    const data = ws.getUserData();
    // Frames already read in the same batch are ignored from here on.
    data.closed = true;
    log.warn({ conn: connectionId(data), reason }, 'socket closed for policy violation');
    ws.end(CLOSE_POLICY_VIOLATION, reason);
  };
  const native = createNative({ hub: options.hub, history: options.history, dispatcher, refresh, publish: options.clientPublish, maxTopics: options.maxTopicsPerSocket, closeAbuser, log });

  return {
    upgrade: options.upgrade,
    maxPayloadLength: options.maxPayloadBytes,
    idleTimeout: options.idleTimeoutS,
    sendPingsAutomatically: true,
    // uWS silently drops frames past its own cap, the close frame included. Ours (the hub's
    // slow-consumer check) must trigger first, so uWS's is set well above it.
    maxBackpressure: options.maxBackpressureBytes * 4 + 1024 * 1024,
    closeOnBackpressureLimit: 0,
    // Negotiated per socket, only with clients that offer permessage-deflate; the others get plain
    // frames. The shared compressor keeps no window per socket (no memory per connection), at the
    // cost of compressing each frame once per socket. Inbound frames (acknowledgements) may come
    // compressed too; uWS inflates them with its shared inflater, bounded by maxPayloadLength.
    compression: options.compress ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,

    open(ws) {
      const data = ws.getUserData();
      activity.opened++;
      // Debug, as the close line: a reconnect storm of 50,000 clients must not write 100,000 info lines.
      if (log.isLevelEnabled('debug')) log.debug({ conn: connectionId(data), keys: data.keys.length }, 'socket open');
      if (data.identity.expiresAt !== undefined) expiry.schedule(ws, data.identity.expiresAt);
      dispatcher.connect(ws);
      // Before any message: held ones are fetched asynchronously, after this handler returns.
      if (options.hub.nativeOf(ws) !== undefined) native.welcome(ws);
    },

    message(ws, message) {
      const data = ws.getUserData();
      if (data.closed) return;
      if (!takeInboundFrame(data, inbound, nowSeconds())) return closeAbuser(ws, 'inbound frame rate exceeded');
      // v2 frames (up to WS_MAX_PAYLOAD: a publish carries data) are read by socket/native.ts. Each is
      // parsed, so each 4 KiB counts one frame more: parsing is bounded per socket by bytes, not frames.
      if (options.hub.nativeOf(ws) !== undefined) {
        for (let extra = message.byteLength >> 12; extra > 0; extra--) {
          if (!takeInboundFrame(data, inbound, nowSeconds())) return closeAbuser(ws, 'inbound frame rate exceeded');
        }
        return native.receive(ws, message);
      }
      // Goctopus clients acknowledge with {"id": "..."}; a JWT socket may send {"type":"refresh"};
      // anything else is ignored, never echoed. `type` is looked at only when the frame is no ack.
      if (message.byteLength > maxFrameBytes) return;
      const frame = parseFrame(Buffer.from(message).toString('utf8'));
      if (frame === undefined) return;
      if (typeof frame.id === 'string' && message.byteLength <= MAX_ACK_BYTES) {
        if (!dispatcher.acknowledge(ws, frame.id)) closeAbuser(ws, 'too many acknowledgements in flight');
      } else if (frame.type === 'refresh' && refresh !== undefined) refresh(ws, frame);
    },

    close(ws, code) {
      const data = ws.getUserData();
      expiry.remove(ws);
      dispatcher.closed(ws);
      activity.closed++;
      if (log.isLevelEnabled('debug')) log.debug({ conn: connectionId(data), keys: data.keys.length, code, seconds: nowSeconds() - data.openedAt }, 'socket closed');
    },
  };
}

/** An inbound frame's fields, when it is a JSON object. */
function parseFrame(text: string): { readonly id?: unknown; readonly type?: unknown; readonly token?: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed as { id?: unknown };
  } catch {
    // Not JSON: not an acknowledgement, and not worth a log line per frame.
  }
  return undefined;
}
