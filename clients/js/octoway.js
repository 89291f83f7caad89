// Octoway's browser and Node client: connects, acknowledges each message by id, drops repeats,
// and reconnects with exponential backoff and full jitter until a close code says not to. With
// `protocol: 'v2'` it speaks Octoway's native protocol (docs/protocol.md): topics it subscribes to
// are subscribed again on every reconnect, and it may publish to topics its token grants.
// Plain ES module, no dependencies, so a page can load it as it is; types are in octoway.d.ts.

/**
 * The one place that decides which close codes end the client (docs/protocol.md, "Close codes";
 * test/clients/js-node.test.ts checks it against the gateway's registry). 1000: the gateway closed normally and wants nothing more. 1008: a policy violation
 * (frame flood, too many acknowledgements in flight): reconnecting repeats it, so the client stops
 * and says why. Every other code (1001 shutting down, 1006 network or idle, 1011, 1012, 1013 slow
 * consumer) means "reconnect with backoff". Octoway's own codes split by range, as Centrifugo's do:
 * 4000-4499 reconnect, 4500-4999 stop.
 */
export const TERMINAL_CLOSE_CODES = Object.freeze([1000, 1008]);
export const TERMINAL_CLOSE_RANGES = Object.freeze([Object.freeze([4500, 4999])]);

/** @param {number} code */
export function isTerminalClose(code) {
  return TERMINAL_CLOSE_CODES.includes(code) || TERMINAL_CLOSE_RANGES.some(([low, high]) => code >= low && code <= high);
}

const DEFAULTS = Object.freeze({
  ack: true,
  dedupe: 1000,
  minDelay: 500,
  maxDelay: 30_000,
  resetAfter: 5_000,
  connectTimeout: 15_000,
  maxRetries: Infinity,
});

const OPEN = 1;

/** delay before reconnect attempt `attempt` (0-based): uniform in [0, min(maxDelay, minDelay * 2^attempt)). */
export function backoffDelay(attempt, minDelay, maxDelay, random = Math.random) {
  const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** The last `limit` ids seen, in arrival order; remembering one more forgets the oldest. */
export class RecentIds {
  #limit;
  #ids = new Set();
  /** @param {number} limit */
  constructor(limit) { this.#limit = limit; }
  get size() { return this.#ids.size; }
  /** True when `id` is new (and remembers it); false for a repeat. */
  add(id) {
    if (this.#limit <= 0) return true;
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.values().next().value);
    return true;
  }
}

export class Octoway {
  #options;
  #listeners = { open: new Set(), message: new Set(), close: new Set(), error: new Set(), welcome: new Set(), reply: new Set() };
  /** v2: the topics subscribe() was asked for and unsubscribe() did not take back, sent again on every welcome. */
  #topics = new Set();
  #refs = 0;
  #seen;
  #socket = null;
  #timer = null;
  #attempt = 0;
  #stopped = true;
  /** Bumped by connect() and close(), so an attempt still resolving its URL knows it is stale. */
  #generation = 0;
  /** Sockets close() ended: their close event reports reconnect: false and schedules nothing. */
  #ended = new WeakSet();

  /** @param {import('./octoway.js').OctowayOptions} options (see octoway.d.ts) */
  constructor(options) {
    if (options === null || typeof options !== 'object' || options.url === undefined) throw new TypeError('Octoway: options.url is required');
    this.#options = { ...DEFAULTS, ...options };
    if (typeof this.#options.url === 'string') resolveUrl(this.#options.url); // a bad URL fails here, not in a retry loop
    this.#seen = new RecentIds(this.#options.dedupe);
  }

  /** 'idle' before connect() and after close() or a terminal close; 'connecting'; 'open'; 'waiting' between attempts. */
  get state() {
    if (this.#stopped) return 'idle';
    if (this.#socket === null) return 'waiting';
    return this.#socket.readyState === OPEN ? 'open' : 'connecting';
  }

  on(type, listener) {
    this.#listeners[type].add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners[type].delete(listener);
  }

  /** Starts connecting (and reconnecting); returns the client. */
  connect() {
    if (!this.#stopped) return this;
    if (typeof (this.#options.WebSocket ?? globalThis.WebSocket) !== 'function') {
      throw new Error('Octoway: no WebSocket implementation (in Node 20, pass options.WebSocket, e.g. the ws package)');
    }
    this.#stopped = false;
    this.#generation += 1;
    this.#attempt = 0;
    void this.#open();
    return this;
  }

  /** Stops for good: closes the socket with 1000 and cancels any pending reconnect. */
  close() {
    this.#stopped = true;
    this.#generation += 1;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      this.#ended.add(socket);
      socket.close(1000);
    }
  }

  async #open() {
    this.#timer = null;
    const generation = this.#generation;
    let url;
    try {
      url = resolveUrl(typeof this.#options.url === 'function' ? await this.#options.url() : this.#options.url);
    } catch (error) {
      if (this.#stopped || generation !== this.#generation) return;
      this.#emit('error', { error });
      return this.#scheduleReconnect(1006, 'url failed');
    }
    if (this.#stopped || generation !== this.#generation) return;
    const Impl = this.#options.WebSocket ?? globalThis.WebSocket;
    let socket;
    try {
      const protocols = this.#v2 ? ['octoway.v2', ...[this.#options.protocols ?? []].flat()] : this.#options.protocols;
      socket = this.#options.headers === undefined ? new Impl(url, protocols) : new Impl(url, protocols, { headers: this.#options.headers });
    } catch (error) {
      // A URL the WebSocket refuses (a ws:// one from an https: page, say): said on 'error', retried with backoff.
      this.#emit('error', { error });
      return this.#scheduleReconnect(1006, 'WebSocket constructor failed');
    }
    this.#socket = socket;
    let openedAt = 0;
    // A handshake can hang (a proxy that never answers): give up on it and try again.
    const deadline = setTimeout(() => { if (socket.readyState !== OPEN) socket.close(); }, this.#options.connectTimeout);
    socket.onopen = () => {
      clearTimeout(deadline);
      openedAt = Date.now();
      this.#emit('open', { attempt: this.#attempt });
    };
    socket.onmessage = (event) => this.#receive(socket, event.data);
    socket.onerror = (event) => this.#emit('error', { error: event?.error ?? new Error('WebSocket error') });
    socket.onclose = (event) => {
      clearTimeout(deadline);
      if (this.#ended.has(socket)) {
        this.#emit('close', { code: event.code, reason: event.reason ?? '', wasClean: event.wasClean ?? false, reconnect: false, delay: undefined });
        return;
      }
      this.#socket = null;
      // Backoff restarts only after a connection that lasted: a gateway that accepts and drops
      // at once is retried ever more slowly, not in a tight loop.
      if (openedAt !== 0 && Date.now() - openedAt >= this.#options.resetAfter) this.#attempt = 0;
      this.#scheduleReconnect(event.code, event.reason ?? '', event.wasClean ?? false);
    };
  }

  #scheduleReconnect(code, reason, wasClean = false) {
    const decide = this.#options.shouldReconnect ?? ((c) => !isTerminalClose(c));
    const reconnect = !this.#stopped && this.#attempt < this.#options.maxRetries && decide(code);
    const delay = reconnect ? backoffDelay(this.#attempt, this.#options.minDelay, this.#options.maxDelay) : undefined;
    if (!reconnect) this.#stopped = true;
    this.#emit('close', { code, reason, wasClean, reconnect, delay });
    if (!reconnect) return;
    this.#attempt += 1;
    this.#timer = setTimeout(() => { void this.#open(); }, delay);
  }

  get #v2() {
    return this.#options.protocol === 'v2';
  }

  /** v2: subscribes to `topics` now (when open) and after every reconnect; returns the request's ref. */
  subscribe(topics) {
    const list = [topics].flat();
    for (const topic of list) this.#topics.add(topic);
    return this.#request({ type: 'subscribe', topics: list });
  }

  /** v2: unsubscribes from `topics`, now and for later reconnects; returns the request's ref. */
  unsubscribe(topics) {
    const list = [topics].flat();
    for (const topic of list) this.#topics.delete(topic);
    return this.#request({ type: 'unsubscribe', topics: list });
  }

  /** v2: publishes `data` to `topic`'s other subscribers (and to this client with echo: true); the
   * answer (`published` or `error`) comes on 'reply' with the returned ref. Not queued while closed:
   * returns undefined then. */
  publish(topic, data, { echo = false } = {}) {
    return this.#request({ type: 'publish', topic, data, ...(echo ? { echo } : {}) });
  }

  #request(frame) {
    if (!this.#v2) throw new Error('Octoway: subscribe, unsubscribe and publish need protocol: \'v2\'');
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) return undefined;
    const ref = ++this.#refs;
    socket.send(JSON.stringify({ ...frame, ref }));
    return ref;
  }

  #receiveV2(socket, frame) {
    if (frame?.type === 'welcome') {
      this.#emit('welcome', frame);
      if (this.#topics.size > 0) this.#request({ type: 'subscribe', topics: [...this.#topics] });
      return;
    }
    if (frame?.type !== 'message') return this.#emit('reply', frame);
    const { id } = frame;
    if (this.#seen.add(id)) this.#emit('message', { id, payload: frame.payload, key: frame.key, topic: frame.topic, from: frame.from });
    if (this.#options.ack && socket.readyState === OPEN) socket.send(JSON.stringify({ type: 'ack', id }));
  }

  #receive(socket, data) {
    let frame;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch (error) {
      return this.#emit('error', { error: new Error('Octoway: a frame that is not JSON was ignored', { cause: error }) });
    }
    if (this.#v2 && socket.protocol === 'octoway.v2') return this.#receiveV2(socket, frame);
    const id = frame !== null && typeof frame === 'object' && typeof frame.id === 'string' ? frame.id : undefined;
    if (id === undefined || this.#seen.add(id)) this.#emit('message', { id, payload: frame?.payload });
    // Acknowledge after the listeners ran, repeats too: the gateway stores a message until acknowledged.
    if (id !== undefined && this.#options.ack && socket.readyState === OPEN) socket.send(JSON.stringify({ id }));
  }

  #emit(type, event) {
    for (const listener of [...this.#listeners[type]]) {
      try {
        listener(event);
      } catch (error) {
        if (type === 'error') setTimeout(() => { throw error; });
        else this.#emit('error', { error });
      }
    }
  }
}

/** A URL as given, or a path ('/ws') made absolute against the page, with ws: or wss: as the page uses. */
function resolveUrl(url) {
  if (/^wss?:\/\//i.test(url)) return url;
  const base = globalThis.location?.href;
  if (base === undefined) throw new TypeError(`Octoway: ${url} is not a ws:// or wss:// URL`);
  const absolute = new URL(url, base);
  absolute.protocol = absolute.protocol === 'https:' ? 'wss:' : 'ws:';
  return absolute.href;
}
