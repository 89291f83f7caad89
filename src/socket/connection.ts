// The connection record: who a socket is and its delivery state, held as uWS's typed user data and
// built in one place (openConnection) when an upgrade is accepted.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Identity } from '../identity/identity.js';
import { keyAddress, sessionAddress, userAddress } from '../delivery/address.js';
import type { Framer } from '../delivery/framer.js';

/** The app of the environment-only configuration, on today's paths (see src/config-apps.ts). */
export const DEFAULT_APP = 'default';

/**
 * uWS copies these fields onto every socket object, so each one costs memory per connection (an
 * idle socket's budget is about 1.5 KB). Identity fields are not copied per socket: `identity`
 * is one frozen object, shared by every socket opened with the same cached decision. Strings that
 * are the same for many sockets (`app`, `node`) are shared references; counters are small integers,
 * which V8 keeps unboxed. The id is derived (connectionId), not stored. Mind the count: with 16
 * fields or more, V8 keeps the socket object as a dictionary (measured: `%HasFastProperties(ws)`
 * is true with 15 fields and false with 16, in the uWS build we depend on), about 400 bytes more
 * per socket and slower reads of every field. There are 15.
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
  /** The addresses of identity.keys in the socket's app (delivery/address.ts), then, when the
   * identity has a subject, its user's address and (with a session) its session's: the hub,
   * brokers and stores treat all of them alike (present, held for while none is open, fetched on
   * join). The hub and dispatcher read it on every delivery. In the default app without a subject,
   * identity.keys itself (a default-app key is its own address); otherwise one frozen array per
   * identity and app, shared by its sockets (never one per socket). */
  readonly keys: readonly string[];
  /** The TCP peer (IPv4, or IPv6 without brackets); a proxy's address behind one. */
  readonly remoteAddress: string;
  /** Whole seconds on the process clock (a small integer, stored inline); see nowSeconds(). */
  readonly openedAt: number;
  /** The latest held-message fetch this socket waits for (the dispatcher's, 0 before the first). */
  syncAttempt: number;
  /** Live frames that arrived while the socket's held messages were being fetched; undefined once live. */
  pending: Array<{ readonly id: string; readonly frame: string | Uint8Array }> | undefined;
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
}

/**
 * What a socket speaking anything but Goctopus has besides its Connection, kept by the hub
 * (hub.nativeOf) rather than in the record: uWS copies the record's fields onto the socket object,
 * and at 16 fields V8 turns that object into a dictionary (slow properties, about 400 bytes more per
 * socket, measured with the idle-mem benchmark). The record has 15: a Goctopus socket must not pay
 * for a protocol it does not speak, so nothing here may move into it.
 */
export interface NativeState {
  /** The protocol the socket speaks (delivery/framer.ts): one shared object per protocol. */
  readonly framer: Framer;
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
  /** The node part every socket id of this gateway starts with (`<node>-<n>`), as GET /connections
   * shows it in `node`; logged in the `listening` line so operators can match the two. */
  readonly node: string;
  /** `app` defaults to the one createConnections was given. */
  open(identity: Identity, remoteAddress: string, app?: string): Connection;
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
    if (app === DEFAULT_APP && identity.subject === undefined) return identity.keys;
    let byIdentity = addressed.get(app);
    if (byIdentity === undefined) addressed.set(app, (byIdentity = new WeakMap()));
    let keys = byIdentity.get(identity);
    if (keys === undefined) byIdentity.set(identity, (keys = Object.freeze(addressesOf(identity, app))));
    return keys;
  };
  return {
    node,
    open(identity, remoteAddress, app = defaultApp) {
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
      };
    },
  };
}

/** An identity's addresses in `app`: its keys, then its user's and its session's. */
function addressesOf(identity: Identity, app: string): string[] {
  const addresses = identity.keys.map((key) => keyAddress(app, key));
  if (identity.subject === undefined || identity.subject === '') return addresses;
  addresses.push(userAddress(app, identity.subject));
  if (identity.session !== undefined && identity.session !== '') addresses.push(sessionAddress(app, identity.subject, identity.session));
  return addresses;
}

/** The socket's id in logs and (later) in the API: `<node>-<conn>`, both base36. */
export const connectionId = (data: Pick<Connection, 'node' | 'conn'>): string => `${data.node}-${data.conn.toString(36)}`;

/** Whole seconds since the process started: small integers, so V8 keeps them unboxed. */
export const nowSeconds = (): number => Math.floor(performance.now() / 1000);
