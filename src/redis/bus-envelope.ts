// The bus envelope: the one format of everything on the Redis bus channel (<prefix>bus), built and
// parsed here only. The Lua scripts build publish envelopes with busPublish (LUA_ENVELOPE below,
// generated from the same constants), splicing in only what they alone know: which keys have
// sockets (present indexes) and, for a promoted message, the nodes it is for.
//
// Version 1:   "@" <version><kind> ["," node]* "@" body
//   kind p  publish     body: "i,j|" header "\n" frame   (header: JSON [id, keys] or, history on,
//                       [id, keys, seqs]: each key's stream position, 0 where unknown; i, j: 1-based
//                       indexes of the keys with sockets; nodes: only those nodes may take it)
//   kind d  disconnect  body: JSON ControlRequest (a request: every node answers with a reply)
//   kind q  query       body: JSON ControlRequest (connections, presence)
//   kind r  reply       body: JSON ControlReply; node: the requester it is for
//   kind l  live        body: origin "|" JSON [id, targets, from|null] "\n" frame: a message whose
//                       keys were decided already (targets: the keys with sockets, and topics),
//                       sent by the node `origin` (which keeps its sender's socket out, no echo);
//                       history on, [id, targets, from|null, seqs] (seqs aligned with targets)
// The seqs ride as an extra array element: a node of a version before them reads the first elements
// only (JSON destructuring) and delivers the message without positions.
// A node ignores an envelope of another version or an unknown kind (one warning per tag), so a
// kind can be added without breaking older nodes. Version 0, the format before envelopes
// ("i,j|header\nframe", or "@n1,n2@" + that when addressed), is still read as a publish: during a
// rolling upgrade, newer nodes deliver what older nodes publish. An older node (version 0 code)
// reads any "@…@" prefix as a list of node names, none of which is ever "1p", "1d", "1q" or "1r"
// (node names hold ':' characters), so it ignores every version 1 envelope silently — except a
// promoted publish addressed to it by name, which it reads correctly (its body is version 0's).
// See docs/scale-out.md, Rolling upgrades.

export const BUS_VERSION = 1;

/** The one character of each kind, after the version. */
const KIND_LETTER = { publish: 'p', disconnect: 'd', query: 'q', reply: 'r', live: 'l' } as const;
export type BusKind = keyof typeof KIND_LETTER;
const KIND_OF: Record<string, BusKind> = { p: 'publish', d: 'disconnect', q: 'query', r: 'reply', l: 'live' };

const AT = 64; // '@'
const PUBLISH_OPEN = `@${BUS_VERSION}${KIND_LETTER.publish}`;

/** Lua: the publish envelope, for the scripts (lua-library.ts prepends it). `nodes`: nil for every
 * node, else the list of node names it is for. `present`: the indexes (comma list) of the keys with
 * sockets. `header` and `frame`: as publishHeader and the message gave them. */
export const LUA_ENVELOPE = `
local function busPublish(nodes, present, header, frame)
  local route = '${PUBLISH_OPEN}@'
  if nodes ~= nil then route = '${PUBLISH_OPEN},' .. table.concat(nodes, ',') .. '@' end
  return route .. present .. '|' .. header .. '\\n' .. frame
end
-- A publish header (JSON [id, keys]) with its keys' stream positions appended: [id, keys, [seqs]].
local function withSeqs(header, seqs)
  return string.sub(header, 1, -2) .. ',[' .. seqs .. ']]'
end
-- A live envelope from liveEnvelopeHead's text, the seqs (comma list) and the frame.
local function busLive(head, seqs, frame)
  return head .. seqs .. ']]\\n' .. frame
end
`;

/** The header of a publish envelope (and of an in-flight record: the scripts keep it as given). */
export function publishHeader(id: string, keys: readonly string[], seqs?: readonly number[]): string {
  return JSON.stringify(seqs === undefined ? [id, keys] : [id, keys, seqs]);
}

/** A publish envelope for every node; `present` as LUA_ENVELOPE's. Built by the scripts, except
 * where a Cluster publish decided per key and publishes once from TypeScript. */
export function publishEnvelope(present: string, header: string, frame: string): string {
  return `${PUBLISH_OPEN}@${present}|${header}\n${frame}`;
}

/** A control envelope: a request to every node, or a reply to the node `to`. */
export function controlEnvelope(kind: 'disconnect' | 'query' | 'reply', body: unknown, to?: string): string {
  return `@${BUS_VERSION}${KIND_LETTER[kind]}${to === undefined ? '' : `,${to}`}@${JSON.stringify(body)}`;
}

/** Where a bus message's body starts and what it is, read from its route alone (no body parsed). */
export type BusRoute =
  | { readonly kind: BusKind; readonly body: number }
  /** Addressed to other nodes: not this node's. */
  | { readonly kind: 'elsewhere' }
  /** Another version, or a kind this node does not know: ignored (the caller warns once per tag). */
  | { readonly kind: 'unknown'; readonly tag: string };

const ELSEWHERE: BusRoute = { kind: 'elsewhere' };
const LEGACY_PUBLISH: BusRoute = { kind: 'publish', body: 0 };
const PUBLISH_ALL = `${PUBLISH_OPEN}@`;
const PUBLISH_ALL_ROUTE: BusRoute = { kind: 'publish', body: PUBLISH_ALL.length };
/** A version tag: digits then one letter. Node names (version 0's addressing) hold ':', never this. */
const TAG = /^(\d+)([a-z])$/;

/** Reads the route of a bus message for the node named `node` on the bus. Cheap: a few character
 * reads and, for an addressed message, one split; the hot path (a publish to every node) allocates
 * nothing but the answer for version 0 and one small object for version 1. */
export function readRoute(text: string, node: string): BusRoute {
  if (text.charCodeAt(0) !== AT) return LEGACY_PUBLISH;
  // The common case, a publish to every node ("@1p@"), read with no allocation.
  if (text.startsWith(PUBLISH_ALL)) return PUBLISH_ALL_ROUTE;
  const end = text.indexOf('@', 1);
  if (end < 0) return { kind: 'unknown', tag: text.slice(0, 8) };
  const route = text.slice(1, end);
  const comma = route.indexOf(',');
  const first = comma < 0 ? route : route.slice(0, comma);
  const tag = TAG.exec(first);
  if (tag === null) {
    // Version 0: "@n1,n2@" then a version 0 publish.
    return route.split(',').includes(node) ? { kind: 'publish', body: end + 1 } : ELSEWHERE;
  }
  const kind = KIND_OF[tag[2] as string];
  if (Number(tag[1]) !== BUS_VERSION || kind === undefined) return { kind: 'unknown', tag: first };
  if (comma >= 0 && !route.slice(comma + 1).split(',').includes(node)) return ELSEWHERE;
  return { kind, body: end + 1 };
}

export interface BusPublish {
  readonly id: string;
  readonly keys: readonly string[];
  /** The keys of the message that have sockets somewhere (the others were held). */
  readonly targets: readonly string[];
  /** The targets' stream positions (history on), aligned with them; 0 where unknown. */
  readonly seqs?: readonly number[] | undefined;
  readonly frame: string;
}

/** An optional seqs element: an array of integers, else undefined. */
function seqsOf(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.every((n) => Number.isSafeInteger(n)) ? value as number[] : undefined;
}

/** A publish body, from `body` (readRoute's); undefined when it is malformed. */
export function readPublish(text: string, body: number): BusPublish | undefined {
  const bar = text.indexOf('|', body);
  const newline = text.indexOf('\n', bar);
  if (bar < 0 || newline < 0) return undefined;
  let id: unknown;
  let keys: unknown;
  let seqs: unknown;
  try {
    [id, keys, seqs] = JSON.parse(text.slice(bar + 1, newline)) as [unknown, unknown, unknown];
  } catch {
    return undefined;
  }
  if (typeof id !== 'string' || !Array.isArray(keys)) return undefined;
  const all = keys as string[];
  // One key with sockets, the message's only one: the common case, with nothing to look up.
  const single = bar === body + 1 && text.charCodeAt(body) === 49 /* '1' */ && all.length === 1 && typeof all[0] === 'string';
  const indexes = single ? undefined : text.slice(body, bar).split(',').map(Number);
  const targets = indexes === undefined ? all : indexes.map((i) => all[i - 1] as string);
  if (!single && targets.some((k) => typeof k !== 'string')) return undefined;
  const positions = seqsOf(seqs);
  const targetSeqs = positions === undefined || indexes === undefined ? positions : indexes.map((i) => positions[i - 1] ?? 0);
  const frame = text.slice(newline + 1);
  return targetSeqs === undefined ? { id, keys: all, targets, frame } : { id, keys: all, targets, seqs: targetSeqs, frame };
}

/** A control body (request or reply), from `body` (readRoute's); undefined when it is not JSON. */
export function readControl(text: string, body: number): unknown {
  try {
    return JSON.parse(text.slice(body)) as unknown;
  } catch {
    return undefined;
  }
}

/** A live envelope (kind l): targets decided by the publishing node `origin`; `from`: the connection
 * id of the client that published it, if one did. */
export function liveEnvelope(origin: string, id: string, targets: readonly string[], from: string | undefined, frame: string, seqs?: readonly number[]): string {
  if (seqs !== undefined) return `${liveEnvelopeHead(origin, id, targets, from)}${seqs.join(',')}]]\n${frame}`;
  return `@${BUS_VERSION}${KIND_LETTER.live}@${origin}|${JSON.stringify([id, targets, from ?? null])}\n${frame}`;
}

/** A live envelope with seqs, up to them: the scripts (busLive) append the seqs and the frame. */
export function liveEnvelopeHead(origin: string, id: string, targets: readonly string[], from: string | undefined): string {
  return `@${BUS_VERSION}${KIND_LETTER.live}@${origin}|${JSON.stringify([id, targets, from ?? null]).slice(0, -1)},[`;
}

export interface BusLive {
  readonly origin: string;
  readonly id: string;
  readonly targets: readonly string[];
  readonly from: string | undefined;
  /** The targets' stream positions (history on), aligned with them. */
  readonly seqs?: readonly number[] | undefined;
  readonly frame: string;
}

/** A live body, from `body` (readRoute's); undefined when it is malformed. */
export function readLive(text: string, body: number): BusLive | undefined {
  const bar = text.indexOf('|', body);
  const newline = text.indexOf('\n', bar);
  if (bar < 0 || newline < 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(bar + 1, newline));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const [id, targets, from, seqs] = parsed as [unknown, unknown, unknown, unknown];
  if (typeof id !== 'string' || !Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) return undefined;
  if (from !== null && typeof from !== 'string') return undefined;
  const origin = text.slice(body, bar);
  const positions = seqsOf(seqs);
  const frame = text.slice(newline + 1);
  return positions === undefined ? { origin, id, targets: targets as string[], from: from ?? undefined, frame }
    : { origin, id, targets: targets as string[], from: from ?? undefined, seqs: positions, frame };
}
