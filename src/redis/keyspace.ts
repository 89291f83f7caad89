// Names of Octoway's Redis keys. Everything of one routing key shares the hash tag `{key}`, so it
// lives in one Cluster slot and one Lua script can touch all of it atomically.

/** The Redis keys of one routing key, in the order the scripts take them. */
export interface KeyNames {
  /** ZSET id -> delivery order (publish order per key). */
  readonly seq: string;
  /** ZSET id -> expiresAt (ms), for pruning. */
  readonly exp: string;
  /** HASH id -> "createdAt/expire:expiresAt:frame" (`expire`: as posted; see stampOf). */
  readonly msg: string;
  /** ZSET node id -> lease deadline (Redis clock, ms). */
  readonly nodes: string;
  /** HASH node id -> that node's open sockets for the key. */
  readonly socks: string;
}

/** HASH id -> "order:createdAt/expire:expiresAt:index:sent\nheader\nframe" (`sent`: the comma-separated
 * nodes it went to): messages sent on the bus to one node's sockets of the key and not yet confirmed
 * written by it. The scripts build this name from `nodes` (same base, suffix `fly:<node>`); nodes
 * use it only to confirm. */
export const FLY_SUFFIX = 'fly:';

const SEQ_SUFFIX = '}:seq';

export class Keyspace {
  constructor(readonly prefix: string) {}

  /** No suffix is the end of another, so two routing keys never share a Redis key. */
  of(key: string): KeyNames {
    const base = this.#base(key);
    return { seq: `${base}seq`, exp: `${base}exp`, msg: `${base}msg`, nodes: `${base}nodes`, socks: `${base}socks` };
  }

  /** LIST of the key's recent messages (delivery/history.ts). */
  history(key: string): string {
    return `${this.#base(key)}hist`;
  }

  /** The stream's last seq (a counter; see lua-library.ts's position): its name minus `pos` is the
   * stream's base, from which the scripts build `hist`. */
  position(key: string): string {
    return `${this.#base(key)}pos`;
  }

  /** The held-message keys of `key`, as the held-message scripts take them. */
  held(key: string): [string, string, string] {
    const k = this.of(key);
    return [k.seq, k.exp, k.msg];
  }

  /** This node's in-flight record for `key` (see FLY_SUFFIX). */
  fly(key: string, node: string): string {
    return `${this.#base(key)}${FLY_SUFFIX}${node}`;
  }

  /** Held-message and presence keys, as the publish, join, lease and fetch scripts take them. */
  all(key: string): [string, string, string, string, string] {
    const k = this.of(key);
    return [k.seq, k.exp, k.msg, k.nodes, k.socks];
  }

  messageId(id: string): string {
    return `${this.prefix}mid:${id}`;
  }

  /** An accepted HMAC publish signature (hex), remembered to refuse its replay. */
  hmacSignature(signature: string): string {
    return `${this.prefix}hmac:${signature}`;
  }

  get channel(): string {
    return `${this.prefix}bus`;
  }

  /** ZSET of the seq names of keys with held messages, by name (see lua-library.ts); the scripts
   * build it, and `held:partial`, from the prefix. Single server only. */
  get heldIndex(): string {
    return `${this.prefix}held`;
  }

  /** SET of the pattern keys some node has sockets of (see lua-library.ts); `patterns:v` counts its changes. */
  get patterns(): string {
    return `${this.prefix}patterns`;
  }

  get heldIndexPartial(): string {
    return `${this.prefix}held:partial`;
  }

  /** The bounds of a ZRANGEBYLEX of heldIndex for the keys starting with `start`; bytes, since the
   * upper bound ends with 0xFF, which no UTF-8 name contains. */
  heldIndexRange(start: string): [Buffer, Buffer] {
    const from = Buffer.from(`[${this.#base(start).slice(0, -2)}`);
    return [from, Buffer.concat([from, Buffer.from([0xff])])];
  }

  /** SCAN pattern matching the seq set of every key starting with `start`. */
  seqPatternFrom(start: string): string {
    return `${this.#escapedPrefix}{${escapeGlob(start)}*${SEQ_SUFFIX}`;
  }

  /** SCAN pattern matching every key's `socks` hash: one per routing key with presence. */
  get socksPattern(): string {
    return `${this.#escapedPrefix}{*}:socks`;
  }

  /** The routing key of a name matched by socksPattern. */
  keyOfSocks(name: string): string {
    return name.slice(this.prefix.length + 1, -'}:socks'.length);
  }

  /** SCAN pattern matching every key's `seq` set: one per routing key with held messages. */
  get seqPattern(): string {
    return `${this.#escapedPrefix}{*${SEQ_SUFFIX}`;
  }

  /** The routing key of a name matched by seqPattern. */
  keyOfSeq(name: string): string {
    return name.slice(this.prefix.length + 1, -SEQ_SUFFIX.length);
  }

  /** SCAN pattern matching every in-flight record: few, since nodes confirm within a tick or two. */
  get flyPattern(): string {
    return `${this.#escapedPrefix}{*}:${FLY_SUFFIX}*`;
  }

  /** The routing key of a name matched by flyPattern (node ids never contain `}:fly:`). */
  keyOfFly(name: string): string {
    return name.slice(this.prefix.length + 1, name.lastIndexOf(`}:${FLY_SUFFIX}`));
  }

  /** One ticket (see identity/redis-tickets.ts). Outside the `{routing key}` names, which all start
   * with `{` after the prefix, so no routing key or message id can name it. */
  ticket(id: string): string {
    return `${this.prefix}ticket:{${id}}`;
  }

  /** ZSET ticket id -> expiresAt (ms): one user's tickets, for listing and removal. */
  userTickets(user: string): string {
    return `${this.prefix}tickets:{${user}}`;
  }

  #base(key: string): string {
    return `${this.prefix}{${key}}:`;
  }

  get #escapedPrefix(): string {
    return escapeGlob(this.prefix);
  }
}

/** Text made literal in a Redis glob (SCAN MATCH). */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
