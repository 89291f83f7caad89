// Wildcard routing keys (Goctopus 2026): a key in the auth answer may be a glob pattern, and its
// socket then receives every message to a key it matches. Go's path.Match syntax, exactly:
// `*` any run of characters but `/`, `?` one character but `/`, `[...]` one character of a class
// (`[^...]` negated, `a-z` ranges; a class may match `/`), `\` escapes the next character.
// A malformed pattern (unclosed `[`, empty class, trailing `\`) matches nothing, as in Goctopus.

/** Whether a socket key is a pattern: Goctopus's test, any of `*`, `?`, `[`. A key without them is
 * exact and stays on the uWS topic fast path. */
export function isPattern(key: string): boolean {
  // Only routing keys are patterns: a user, session or topic named `a*` is a plain name.
  if (key.charCodeAt(0) === 0 && key[1] !== 'k') return false;
  return key.includes('*') || key.includes('?') || key.includes('[');
}

export type KeyMatcher = (key: string) => boolean;

const never: KeyMatcher = () => false;

/** Compiles a pattern once; a malformed one gives a matcher of nothing. Matching is Go's
 * path.Match algorithm, not a RegExp: V8's backtracking engine turns `*a*a*…b` against a long
 * key into ~len^stars steps, while Go's takes the first match of each chunk after a star and
 * backtracks only the last one, so a match costs at most (key length × pattern length) steps. */
export function compilePattern(pattern: string): KeyMatcher {
  // Patterns and keys are addresses (address.ts): a pattern matches only addresses of its own
  // namespace (kind and app), its name part against their name part. A default-app key is its own
  // address, so a default-app `*` must refuse every NUL-prefixed address (another app's key, a topic).
  if (pattern.charCodeAt(0) === 0) {
    const cut = pattern.indexOf('\u0000', 2) + 1;
    const namespace = pattern.slice(0, cut);
    const chunks = cut === 0 ? undefined : parse(pattern.slice(cut));
    if (chunks === undefined) return never;
    return (key) => key.startsWith(namespace) && matchChunks(chunks, key.slice(cut));
  }
  const chunks = parse(pattern);
  if (chunks === undefined) return never;
  return (key) => key.charCodeAt(0) !== 0 && matchChunks(chunks, key);
}

/** The characters every key the pattern matches starts with (up to its first metacharacter or
 * escape): what an index of held keys is searched by. */
export function literalPrefix(pattern: string): string {
  const end = pattern.search(/[*?[\\]/);
  return end === -1 ? pattern : pattern.slice(0, end);
}

/** One character of a pattern: a literal code point, `?`, or a class of code point ranges. */
type Item =
  | { readonly kind: 'literal'; readonly cp: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: ReadonlyArray<readonly [number, number]> };

/** Go's scanChunk: a run of stars (collapsed into `star`), then the items up to the next star. */
interface Chunk { readonly star: boolean; readonly items: readonly Item[] }

const SLASH = 0x2f;
const cpAt = (chars: readonly string[], i: number): number => (chars[i] as string).codePointAt(0) as number;

/** The pattern's chunks, or undefined when it is malformed (checked whole, up front, so a
 * malformed pattern matches nothing whatever the key). */
function parse(pattern: string): Chunk[] | undefined {
  const chars = [...pattern];
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < chars.length) {
    let star = false;
    while (chars[i] === '*') { star = true; i++; }
    const items: Item[] = [];
    for (; i < chars.length && chars[i] !== '*'; i++) {
      const c = chars[i] as string;
      if (c === '?') items.push({ kind: 'any' });
      else if (c === '\\') {
        if (++i >= chars.length) return undefined;
        items.push({ kind: 'literal', cp: cpAt(chars, i) });
      } else if (c === '[') {
        const cls = parseClass(chars, i + 1);
        if (cls === undefined) return undefined;
        items.push(cls.item);
        i = cls.end;
      } else items.push({ kind: 'literal', cp: cpAt(chars, i) });
    }
    chunks.push({ star, items });
  }
  return chunks;
}

/** One class starting after its `[`: its item and the index of its `]`. Follows Go's getEsc: an
 * item is a character (`\` escapes it; an unescaped `-` or `]` where an item starts is malformed),
 * optionally `-` and a second one; at least one item. A reversed range matches nothing. */
function parseClass(chars: readonly string[], start: number): { item: Item; end: number } | undefined {
  let i = start;
  const negated = chars[i] === '^';
  if (negated) i++;
  const item = (): number | undefined => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      c = chars[++i];
      if (c === undefined) return undefined;
    }
    i++;
    return i < chars.length ? (c.codePointAt(0) as number) : undefined; // Go: a class the pattern ends inside is malformed
  };
  const ranges: Array<[number, number]> = [];
  let count = 0;
  while (!(chars[i] === ']' && count > 0)) {
    const lo = item();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (chars[i] === '-') {
      i++;
      const h = item();
      if (h === undefined) return undefined;
      hi = h;
    }
    count++;
    if (lo <= hi) ranges.push([lo, hi]);
  }
  return { item: { kind: 'class', negated, ranges }, end: i };
}

/** Code units of the character at `pos` (2 for a surrogate pair): keys are walked by code point. */
const widthAt = (key: string, pos: number): number => ((key.codePointAt(pos) as number) > 0xffff ? 2 : 1);

/** Go's matchChunk: where the items end when they match `key` from `pos` on, else -1. */
function matchItems(items: readonly Item[], key: string, pos: number): number {
  for (const item of items) {
    if (pos >= key.length) return -1;
    const cp = key.codePointAt(pos) as number;
    let ok: boolean;
    if (item.kind === 'literal') ok = cp === item.cp;
    else if (item.kind === 'any') ok = cp !== SLASH;
    else ok = item.ranges.some(([lo, hi]) => lo <= cp && cp <= hi) !== item.negated;
    if (!ok) return -1;
    pos += cp > 0xffff ? 2 : 1;
  }
  return pos;
}

/** Go's Match loop: each chunk is tried where the previous one ended; after a star, at each later
 * position of the segment (a star never crosses `/`), taking the first that matches, except that
 * the last chunk must also end the key. */
function matchChunks(chunks: readonly Chunk[], key: string): boolean {
  let pos = 0;
  next: for (let c = 0; c < chunks.length; c++) {
    const { star, items } = chunks[c] as Chunk;
    const last = c === chunks.length - 1;
    if (star && items.length === 0) return key.indexOf('/', pos) < 0; // a trailing star: the rest, unless it has a /
    const end = matchItems(items, key, pos);
    if (end >= 0 && (end === key.length || !last)) {
      pos = end;
      continue;
    }
    if (!star) return false;
    for (let i = pos; i < key.length && key.charCodeAt(i) !== SLASH;) {
      i += widthAt(key, i);
      const t = matchItems(items, key, i);
      if (t < 0 || (last && t < key.length)) continue;
      pos = t;
      continue next;
    }
    return false;
  }
  return pos === key.length;
}
