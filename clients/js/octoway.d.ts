// Types for octoway.js.

/** Close codes after which the client stops instead of reconnecting (docs/protocol.md). */
export declare const TERMINAL_CLOSE_CODES: readonly number[];
/** Ranges of close codes after which the client stops: 4500-4999. */
export declare const TERMINAL_CLOSE_RANGES: readonly (readonly [number, number])[];
/** True for a close code that means "do not reconnect": in TERMINAL_CLOSE_CODES or TERMINAL_CLOSE_RANGES. */
export declare function isTerminalClose(code: number): boolean;
/** Full-jitter delay in ms before 0-based reconnect attempt `attempt`: uniform in [0, min(maxDelay, minDelay * 2^attempt)). */
export declare function backoffDelay(attempt: number, minDelay: number, maxDelay: number, random?: () => number): number;

/** The last `limit` message ids, to drop repeats with bounded memory. */
export declare class RecentIds {
  constructor(limit: number);
  readonly size: number;
  /** True when `id` is new (and remembers it, forgetting the oldest past the limit); false for a repeat. */
  add(id: string): boolean;
}

/** Any constructor shaped like the browser's WebSocket (the browser's own, Node 22's, or the ws package). */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }): WebSocketLike;
}
export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ('octoway.v2' for a v2 client). */
  readonly protocol?: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason?: string; wasClean?: boolean }) => void) | null;
}

export interface OctowayOptions {
  /** ws:// or wss:// URL, or in a browser a path such as '/ws'; a function is called before every
   * attempt (to put a fresh token in the query, for instance). */
  url: string | (() => string | Promise<string>);
  /** The WebSocket implementation; defaults to globalThis.WebSocket (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Headers for the upgrade (a Cookie, say), for implementations that take them (the ws package). Browsers send their cookies themselves. */
  headers?: Record<string, string>;
  protocols?: string | string[];
  /** 'v2': offer Octoway's native protocol (octoway.v2) first, and enable subscribe, unsubscribe and publish. Default: Goctopus frames. */
  protocol?: 'goctopus' | 'v2';
  /** Acknowledge each message with {"id"} (WS_DELIVERY=at-least-once needs it; harmless otherwise). Default true. */
  ack?: boolean;
  /** How many recent ids to remember to drop repeats; 0 turns it off. Default 1000. */
  dedupe?: number;
  /** Backoff ceiling of the first reconnect, in ms; doubles per failed attempt. Default 500. */
  minDelay?: number;
  /** Largest backoff ceiling in ms. Default 30000. */
  maxDelay?: number;
  /** A connection open this long (ms) resets the backoff. Default 5000. */
  resetAfter?: number;
  /** Give up on a handshake not done in this many ms, and retry. Default 15000. */
  connectTimeout?: number;
  /** Reconnect attempts before stopping. Default Infinity. */
  maxRetries?: number;
  /** Overrides isTerminalClose: return false to stop after a close with this code. */
  shouldReconnect?: (code: number) => boolean;
}

export interface OpenEvent { attempt: number }
export interface MessageEvent<T = unknown> {
  id: string | undefined;
  payload: T;
  /** v2: the key or topic it came through, and the connection id of a client that published it. */
  key?: string;
  topic?: string;
  from?: string;
}
/** v2: the welcome frame (docs/protocol.md). */
export interface WelcomeEvent {
  type: 'welcome';
  connection: string;
  user: string | null;
  session: string | null;
  keys: string[];
  grants: { subscribe: string[]; publish: string[] };
  time: number;
}
/** v2: an answer to subscribe, unsubscribe or publish (`subscribed`, `unsubscribed`, `published`,
 * `error` with its code), or a `refreshed`; `ref` is what the request returned. */
export interface ReplyEvent { type: string; ref?: number | string; code?: string; message?: string; [field: string]: unknown }
export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether the client will try again; false after close(), a terminal code or maxRetries. */
  reconnect: boolean;
  /** ms until the next attempt, when reconnect is true. */
  delay: number | undefined;
}
export interface ErrorEvent { error: unknown }

export interface OctowayEvents {
  open: OpenEvent;
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
  welcome: WelcomeEvent;
  reply: ReplyEvent;
}

export declare class Octoway {
  constructor(options: OctowayOptions);
  readonly state: 'idle' | 'connecting' | 'open' | 'waiting';
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof OctowayEvents>(type: K, listener: (event: OctowayEvents[K]) => void): () => void;
  off<K extends keyof OctowayEvents>(type: K, listener: (event: OctowayEvents[K]) => void): void;
  connect(): this;
  close(): void;
  /** v2: subscribes now (when open) and again after every reconnect; the ref of the request, or undefined while not open. */
  subscribe(topics: string | string[]): number | undefined;
  /** v2: unsubscribes now and for later reconnects. */
  unsubscribe(topics: string | string[]): number | undefined;
  /** v2: publishes to a topic's other subscribers (this client too with echo); undefined while not open. */
  publish(topic: string, data: unknown, options?: { echo?: boolean }): number | undefined;
}
