// JSON as Go's encoding/json writes it, for the seed protocols whose servers are written in Go
// (dSock, Driplet, Philote): their clients receive exactly these bytes today. Differences from
// JSON.stringify that a client can see: `<`, `>`, `&`, U+2028 and U+2029 are escaped as \u003c…,
// map keys are sorted by their UTF-8 bytes, -0 stays -0, and a lone surrogate becomes U+FFFD (Go
// strings are UTF-8, so one cannot be carried).

/** A JSON value as JSON.parse makes it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const HEX = '0123456789abcdef';
const SHORT: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x0c: '\\f' };
/** Characters Go escapes in strings (with its default HTML escaping), and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** A string literal as Go's json.Marshal writes it (escapeHTML on, as Marshal and Encoder default). */
export function goString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const short = SHORT[c];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) out += `\\u${hex4(c)}`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
      out += text[i] as string + (text[i + 1] as string);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += text[i];
  }
  return `${out}"`;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function hex4(c: number): string {
  return `${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
}

/** A float64 as Go writes it: the shortest round-trip digits, exponent form below 1e-6 and from
 * 1e21 (the thresholds and digits JavaScript's own number formatting uses too), and -0 as "-0". */
export function goNumber(n: number): string {
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/** Compares two strings by their UTF-8 bytes, as Go sorts map keys (UTF-16 order differs for
 * characters above U+FFFF against U+E000..U+FFFF). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral characters) sort after every BMP character in UTF-8.
    const sx = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const sy = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return sx < sy ? -1 : 1;
  }
  return a.length - b.length;
}

/** A value as Go marshals the `interface{}` json.Unmarshal made of it: objects as maps with
 * sorted keys. Throws RangeError for a number JSON cannot carry (Go refused it when decoding). */
export function goValue(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('a number out of float64 range');
      return goNumber(value);
    case 'string':
      return goString(value);
    default:
      if (Array.isArray(value)) return `[${value.map(goValue).join(',')}]`;
      return goObject(value);
  }
}

/** An object as a Go map: keys sorted by UTF-8 bytes. */
export function goObject(object: { readonly [key: string]: JsonValue }): string {
  const keys = Object.keys(object).sort(compareUtf8);
  return `{${keys.map((k) => `${goString(k)}:${goValue(object[k] as JsonValue)}`).join(',')}}`;
}

/**
 * Go's json.Compact with HTML escaping, which Marshal applies to a json.RawMessage: whitespace
 * outside strings removed, `<`, `>`, `&`, U+2028 and U+2029 escaped, everything else byte for
 * byte (number spellings and string escapes kept as written). `raw` must be valid JSON.
 */
export function goCompact(raw: string): string {
  let out = '';
  let inString = false;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      else if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
        out += `${raw.slice(start, i)}\\u${hex4(c)}`;
        start = i + 1;
      }
    } else if (c === 0x22) inString = true;
    else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += raw.slice(start, i);
      start = i + 1;
    }
  }
  return out + raw.slice(start);
}

/** Go's struct field matching: a JSON key names a field when it is equal to it after Unicode case
 * folding (encoding/json's foldName). For the ASCII field names the seeds use, that is ASCII case
 * plus the two non-ASCII letters that fold to ASCII: U+017F (ſ, an s) and U+212A (K, a k). */
export function goFold(key: string): string {
  return key.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\u017f/g, 'S').replace(/\u212a/g, 'K');
}

/** The value of `field` in a decoded object as Go's decoder would set the struct field: the last
 * key that folds to the field's name (a later key overwrites an earlier one). */
export function goField(object: { readonly [key: string]: JsonValue }, field: string): JsonValue | undefined {
  const folded = goFold(field);
  let found: JsonValue | undefined;
  for (const key of Object.keys(object)) {
    if (key === field || goFold(key) === folded) found = object[key];
  }
  return found;
}

/** One member of a top-level JSON object: its key (decoded) and where its value's text lies. */
export interface RawMember {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/**
 * The members of `text`'s top-level object, in document order and with repeats (Go's decoder sees
 * every one; JSON.parse keeps the last spelling only). `text` must be valid JSON (JSON.parse
 * accepted it); undefined when its value is not an object.
 */
export function rawMembers(text: string): RawMember[] | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return undefined;
  const members: RawMember[] = [];
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return members;
  for (;;) {
    const keyEnd = skipValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const start = skipSpace(text, skipSpace(text, keyEnd) + 1); // past the colon
    const end = skipValue(text, start);
    members.push({ key, start, end });
    i = skipSpace(text, end);
    if (text.charCodeAt(i) === 0x7d) return members;
    i = skipSpace(text, i + 1); // past the comma
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/** The index just past the valid JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) {
    for (let j = i + 1; ; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x5c) j++;
      else if (d === 0x22) return j + 1;
    }
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; ; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x22) j = skipValue(text, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
  }
  let j = i;
  while (j < text.length && !/[\s,\]}]/.test(text[j] as string)) j++;
  return j;
}

/** The raw text of the member Go's decoder would set `field` from: the last key folding to it. */
export function rawField(text: string, members: readonly RawMember[], field: string): string | undefined {
  const folded = goFold(field);
  let found: RawMember | undefined;
  for (const m of members) if (m.key === field || goFold(m.key) === folded) found = m;
  return found === undefined ? undefined : text.slice(found.start, found.end);
}
