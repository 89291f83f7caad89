// The connection record: who a socket is and its delivery state, held as uWS's typed user data and
// built in one place (openConnection) when an upgrade is accepted.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Identity } from '../identity/identity.js';
import { keyAddress } from '../delivery/address.js';
import { GOCTOPUS, type Framer } from '../delivery/framer.js';

/** The app of the environment-only configuration, on today's paths (see src/config-apps.ts). */
export const DEFAULT_APP = 'default';

/**
 * uWS copies these fields onto every socket object, so each one costs memory per connection (a
 * later issue holds an idle socket to 3 KB). Identity fields are not copied per socket: `identity`
 * is one frozen object, shared by every socket opened with the same cached decision. Strings that
 * are the same for many sockets (`app`, `node`) are shared references; counters are small integers,
 * which V8 keeps unboxed. The id is derived (connectionId), not stored.
 */
export interface Connection {
  /** This socket's number on its node; with `node`, its id (see connectionId). */
  readonly conn: number;
  /** Random per gateway instance, shared by its sockets: ids stay unique across nodes and restarts
   * (in containers every node is pid 1). */
  readonly node: string;
  readonly app: string;
  /** Subject, session, keys, claims, grants and token expiry, as the authenticator decided them. */
  readonly identity: Identity;
  /** The addresses of identity.keys in the socket's app (delivery/address.ts): the hub and
   * dispatcher read it on every delivery. In the default app, identity.keys itself (a default-app
   * key is its own address); in another, one array per identity, shared by its sockets. */
  readonly keys: readonly string[];
  /** The TCP peer (IPv4, or IPv6 without brackets); a proxy's address behind one. */
  readonly remoteAddress: string;
  /** Whole seconds on the process clock (a small integer, stored inline); see nowSeconds(). */
  readonly openedAt: number;
  /** The latest held-message fetch this socket waits for (the dispatcher's, 0 before the first). */
  syncAttempt: number;
  /** Live frames that arrived while the socket's held messages were being fetched; undefined once live. */
  pending: Array<{ readonly id: string; readonly frame: string }> | undefined;
  closed: boolean;
  /** Inbound frames counted against the socket's token bucket and not yet refilled (see
   * socket/inbound-budget.ts), and the nowSeconds() of the last refill, which is that of the last
   * frame received (openedAt before any): GET /connections' last_seen. */
  inboundSpent: number;
  inboundAt: number;
  /** Frames written to the socket as it went live (held messages first) whose answers are not yet
   * counted: inbound frames taken from this before the bucket (creditSyncFrames). */
  inboundCredit: number;
  /** Acknowledgements handed to the store and not yet answered, bounded by the dispatcher; less the
   * frames credited to the socket as it went live, which may all be answered at once. */
  acksInFlight: number;
  /** The unix second the socket is closed at for its token's expiry (exp + WS_JWT_LEEWAY), 0 when
   * it does not expire; kept by the gateway's expiry wheel (socket/expiry.ts), moved by a refresh. */
  closeAt: number;
  /** The protocol the socket speaks (delivery/framer.ts): one shared object per protocol. */
  readonly framer: Framer;
  /** A v2 socket's topic subscriptions and budgets (socket/native.ts); undefined until its first
   * subscribe, publish or refused frame, so a socket that never uses them pays one field. */
  native: NativeState | undefined;
}

export interface NativeState {
  /** Topic addresses subscribed to; they end with the socket. */
  readonly subscribed: Set<string>;
  /** Client publishes counted against WS_CLIENT_PUBLISH_RATE's bucket, as inboundSpent/inboundAt. */
  publishSpent: number;
  publishAt: number;
  /** Frames refused with an error frame, counted against a bucket of their own (socket/native.ts). */
  errorSpent: number;
  errorAt: number;
  /** Key addresses and the stream position the client saw last in each (`since` in its connect
   * URL: delivery/recovery.ts), until its first sync recovers them; then undefined. */
  since: ReadonlyMap<string, number> | undefined;
  /** Topic addresses being recovered (subscribed with `since`, history not yet read): not yet in
   * `subscribed`; an unsubscribe meanwhile takes them out, and the recovery then writes nothing. */
  recovering: Set<string> | undefined;
}

export type Socket = WebSocket<Connection>;

/** Builds connection records for one gateway. */
export interface Connections {
  /** `app` defaults to the one createConnections was given; `framer` to Goctopus's. */
  open(identity: Identity, remoteAddress: string, app?: string, framer?: Framer): Connection;
}

/** One per gateway, whatever its apps: every socket's id starts with the same node. */
export function createConnections(defaultApp: string = DEFAULT_APP): Connections {
  // 40 random bits in base36 (up to 8 characters): two instances share a prefix about once in a
  // trillion pairs, and the counter keeps ids apart within one.
  const node = randomBytes(5).readUIntBE(0, 5).toString(36);
  let count = 0;
  /** Per app other than the default, each identity's key addresses: identities are shared by the
   * sockets of one cached auth decision, and so are these arrays. */
  const addressed = new Map<string, WeakMap<Identity, readonly string[]>>();
  const keysOf = (identity: Identity, app: string): readonly string[] => {
    if (app === DEFAULT_APP) return identity.keys;
    let byIdentity = addressed.get(app);
    if (byIdentity === undefined) addressed.set(app, (byIdentity = new WeakMap()));
    let keys = byIdentity.get(identity);
    if (keys === undefined) byIdentity.set(identity, (keys = Object.freeze(identity.keys.map((key) => keyAddress(app, key)))));
    return keys;
  };
  return {
    open(identity, remoteAddress, app = defaultApp, framer = GOCTOPUS) {
      const openedAt = nowSeconds();
      // Every field written here, in this order, so every record has the same hidden class.
      return {
        conn: ++count,
        node,
        app,
        identity,
        keys: keysOf(identity, app),
        remoteAddress,
        openedAt,
        syncAttempt: 0,
        pending: undefined,
        closed: false,
        inboundSpent: 0,
        inboundAt: openedAt,
        inboundCredit: 0,
        acksInFlight: 0,
        closeAt: 0,
        framer,
        native: undefined,
      };
    },
  };
}

/** The socket's id in logs and (later) in the API: `<node>-<conn>`, both base36. */
export const connectionId = (data: Pick<Connection, 'node' | 'conn'>): string => `${data.node}-${data.conn.toString(36)}`;

/** Whole seconds since the process started: small integers, so V8 keeps them unboxed. */
export const nowSeconds = (): number => Math.floor(performance.now() / 1000);
