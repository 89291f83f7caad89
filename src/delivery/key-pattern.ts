// Wildcard routing keys (Goctopus 2026): a key in the auth answer may be a glob pattern, and its
// socket then receives every message to a key it matches. Go's path.Match syntax, exactly:
// `*` any run of characters but `/`, `?` one character but `/`, `[...]` one character of a class
// (`[^...]` negated, `a-z` ranges; a class may match `/`), `\` escapes the next character.
// A malformed pattern (unclosed `[`, empty class, trailing `\`) matches nothing, as in Goctopus.

/** Whether a socket key is a pattern: Goctopus's test, any of `*`, `?`, `[`. A key without them is
 * exact and stays on the uWS topic fast path. */
export function isPattern(key: string): boolean {
  return key.includes('*') || key.includes('?') || key.includes('[');
}

export type KeyMatcher = (key: string) => boolean;

const never: KeyMatcher = () => false;

/** Compiles a pattern once (a RegExp V8 compiles); a malformed one gives a matcher of nothing. */
export function compilePattern(pattern: string): KeyMatcher {
  const source = toRegExpSource(pattern);
  if (source === undefined) return never;
  const re = new RegExp(`^${source}$`, 'u');
  return (key) => re.test(key);
}

/** The characters every key the pattern matches starts with (up to its first metacharacter or
 * escape): what an index of held keys is searched by. */
export function literalPrefix(pattern: string): string {
  const end = pattern.search(/[*?[\\]/);
  return end === -1 ? pattern : pattern.slice(0, end);
}

const literal = (c: string): string => `\\u{${(c.codePointAt(0) as number).toString(16)}}`;

function toRegExpSource(pattern: string): string | undefined {
  const chars = [...pattern];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (++i >= chars.length) return undefined;
      out += literal(chars[i] as string);
    } else if (c === '[') {
      const cls = classSource(chars, i + 1);
      if (cls === undefined) return undefined;
      out += cls.source;
      i = cls.end;
    } else out += literal(c);
  }
  return out;
}

/** One class starting after its `[`: its RegExp source and the index of its `]`. Follows Go's
 * getEsc: an item is a character (`\` escapes it; an unescaped `-` or `]` where an item starts is
 * malformed), optionally `-` and a second one; at least one item. A reversed range matches nothing. */
function classSource(chars: readonly string[], start: number): { source: string; end: number } | undefined {
  let i = start;
  const negated = chars[i] === '^';
  if (negated) i++;
  const item = (): string | undefined => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      c = chars[++i];
      if (c === undefined) return undefined;
    }
    i++;
    return i < chars.length ? c : undefined; // Go: a class the pattern ends inside is malformed
  };
  const ranges: string[] = [];
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
    if ((lo.codePointAt(0) as number) <= (hi.codePointAt(0) as number)) ranges.push(lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`);
  }
  const body = ranges.join('');
  const source = body === '' ? (negated ? '[^]' : '(?!)') : `[${negated ? '^' : ''}${body}]`;
  return { source, end: i };
}
