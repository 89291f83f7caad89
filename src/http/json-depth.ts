// The nesting bound of publish bodies, checked on the raw bytes before JSON.parse.
// JSON.parse takes any depth, but JSON.stringify (the frame, the admin listing) recurses and
// overflows the stack at some thousands of levels: that was a 500 for a valid body.

/** The deepest a publish body may nest arrays and objects, the body's own braces included (a
 * single message's `value` may thus nest 99 levels, a batch item's 97). Real payloads nest a
 * handful of levels; JSON.stringify handles many times this. */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Whether `body` nests arrays and objects deeper than `max`, outside strings. One pass over the
 * bytes, no allocation: UTF-8 continuation bytes are all >= 0x80, so never a quote or a bracket.
 * Malformed JSON is not this function's concern (JSON.parse refuses it next); the scan only
 * guarantees that whatever it passes nests at most `max` levels. */
export function nestsDeeperThan(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i] as number;
    if (inString) {
      if (byte === BACKSLASH) i++; // the escaped byte cannot end the string
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
