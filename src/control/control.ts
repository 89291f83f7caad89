// The control plane: a request every node answers about its own sockets (disconnect them, list them,
// count them), gathered for the one that asked. On one node in memory (control-memory.ts) or on
// every node through the Redis bus (control-redis.ts); both answer the same requests the same way
// and run one contract suite (test/control/control.contract.ts).

/** Which sockets a request is about. Keys and topics are addresses (delivery/address.ts). */
export type ControlTarget =
  | { readonly kind: 'keys'; readonly addresses: readonly string[] }
  | { readonly kind: 'topic'; readonly address: string }
  | { readonly kind: 'user'; readonly app: string; readonly user: string; readonly session?: string | undefined }
  | { readonly kind: 'connection'; readonly app: string; readonly id: string };

export type ControlRequest =
  /** Closes the matching sockets with `code` and `reason` (validated by the caller). */
  | { readonly op: 'disconnect'; readonly target: ControlTarget; readonly code: number; readonly reason: string }
  /** At most `limit` matching sockets whose id sorts after `after` ('' from the start), in id order. */
  | { readonly op: 'connections'; readonly target: ControlTarget; readonly after: string; readonly limit: number }
  | { readonly op: 'presence'; readonly target: ControlTarget }
  /** Writes message `id` (its frame as published, conditions.ts) to the target connection unless
   * that socket is under one of the `skip` addresses (it got the message through them); `from`:
   * the connection id of the client that published it (delivery/connection-targets.ts). */
  | { readonly op: 'send'; readonly target: ControlTarget; readonly id: string; readonly frame: string; readonly from: string | null; readonly skip: readonly string[] };

/** One socket as GET /connections shows it. */
export interface ConnectionView {
  readonly id: string;
  /** The node part of the id: the gateway instance that holds the socket. */
  readonly node: string;
  readonly user: string | null;
  readonly session: string | null;
  readonly keys: readonly string[];
  readonly topics: readonly string[];
  /** Unix seconds, to the second. */
  readonly connected_at: number;
  /** Unix seconds of the last frame received from the socket (connected_at before any). */
  readonly last_seen: number;
}

/** One node's answer. */
export type NodeAnswer =
  | { readonly op: 'disconnect'; readonly closed: number }
  /** `more`: the node has further matching sockets after the last one listed. */
  | { readonly op: 'connections'; readonly connections: readonly ConnectionView[]; readonly more: boolean }
  | { readonly op: 'presence'; readonly connections: number }
  /** `found`: the target's sockets open here; `written`: those it was written to now. */
  | { readonly op: 'send'; readonly found: number; readonly written: number };

/** What the asking node gathered. */
export interface Gathered {
  /** One per node that answered in time, this one included. */
  readonly answers: readonly NodeAnswer[];
  /** Nodes that received the request and did not answer within the timeout; undefined when the
   * transport cannot tell how many received it (Redis Cluster: see control-redis.ts). */
  readonly unanswered: number | undefined;
}

export interface ControlPlane {
  /** Asks every node, this one included, and resolves with what they answered within the timeout:
   * never rejects for a node that is slow or gone (it is counted in `unanswered`). Rejects with
   * CONTROL_UNAVAILABLE when the request could not be sent at all. */
  ask(request: ControlRequest): Promise<Gathered>;
  close(): void;
}

/** A node's handler: answers a request about its own sockets, at once. */
export type AnswerLocally = (request: ControlRequest) => NodeAnswer;

/** The most sockets one page of GET /connections lists, and one node sends per request. */
export const MAX_PAGE = 1_000;
