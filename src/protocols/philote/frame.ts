// Philote's frames. A client frame is read with gorilla's ReadJSON: Go's json.Decoder takes the
// first JSON value of the frame (anything after it is never read) into {issuer, channel, data}
// with case-insensitive field names (the Go client sends Channel/Data), extra fields ignored; a
// frame that fails to decode ends the connection (Philote closes it without a close frame). The
// server frame is gorilla's WriteJSON of that struct: omitempty fields, a trailing newline.
import { goString, rawField, rawMembers } from '../go-json.js';

export type PhiloteClientFrame =
  /** Publish `data` on `channel` if the sender's `write` lists it (else dropped silently). */
  | { readonly type: 'publish'; readonly channel: string; readonly data: string }
  /** Philote drops the connection. `null` is here too: it crashed Philote (a nil dereference). */
  | { readonly type: 'close' };

const CLOSE: PhiloteClientFrame = Object.freeze({ type: 'close' });

export function parseClientFrame(frame: string): PhiloteClientFrame {
  const span = firstValue(frame);
  if (span === undefined) return CLOSE;
  const text = frame.slice(span.start, span.end);
  try {
    JSON.parse(text);
  } catch {
    return CLOSE;
  }
  const members = rawMembers(text);
  if (members === undefined) return CLOSE;
  const fields: Record<string, string> = {};
  for (const name of ['issuer', 'channel', 'data']) {
    const raw = rawField(text, members, name);
    if (raw === undefined || raw === 'null') continue;
    if (!raw.startsWith('"')) return CLOSE;
    fields[name] = JSON.parse(raw) as string;
  }
  return { type: 'publish', channel: fields.channel ?? '', data: fields.data ?? '' };
}

/** Where the frame's first JSON value lies (its syntax unchecked), or undefined when there is none
 * or it is cut short. Objects and arrays end at their closing bracket, as Go's Decoder ends them. */
function firstValue(text: string): { start: number; end: number } | undefined {
  let i = 0;
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  if (i === text.length) return undefined;
  const start = i;
  const first = text[i];
  if (first === '{' || first === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i = stringEnd(text, i);
        if (i < 0) return undefined;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return { start, end: i + 1 };
      }
    }
    return undefined;
  }
  if (first === '"') {
    const end = stringEnd(text, i);
    return end < 0 ? undefined : { start, end: end + 1 };
  }
  while (i < text.length && !' \t\n\r,]}'.includes(text[i] as string)) i++;
  return { start, end: i };
}

/** The index of the quote closing the string opening at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}

/** The frame each reader gets: `{"issuer":…,"channel":…,"data":…}` and a newline, empty fields
 * left out (Go's omitempty), HTML characters escaped (Go's Encoder). */
export function serverFrame(issuer: string, channel: string, data: string): string {
  const parts: string[] = [];
  if (issuer !== '') parts.push(`"issuer":${goString(issuer)}`);
  if (channel !== '') parts.push(`"channel":${goString(channel)}`);
  if (data !== '') parts.push(`"data":${goString(data)}`);
  return `{${parts.join(',')}}\n`;
}
