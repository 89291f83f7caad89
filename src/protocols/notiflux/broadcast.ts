// notiflux's `POST /broadcast` body, as actix-web 4's Json extractor and serde read its
// BroadcastPayload {topic, message, token: String}: Content-Type application/json (or a +json
// type), at most 2 MiB, the three fields strings, each once, unknown fields ignored (serde also
// takes them positionally from an array). A body that passes is answered 200 at once and its token
// checked afterwards (notiflux/token.ts); one that does not is answered here.
// The 400 texts start as actix's do ("Json deserialize error: …"); serde's line/column detail is
// not reproduced.
import { rawMembers } from '../go-json.js';

export interface NotifluxBroadcast {
  readonly ok: true;
  readonly topic: string;
  /** Sent to subscribers as is, as a text frame. */
  readonly message: string;
  readonly token: string;
}

export interface NotifluxAnswer {
  readonly status: number;
  /** text/plain; charset=utf-8 */
  readonly body: string;
}

/** actix-web 4's JsonConfig default limit. */
export const NOTIFLUX_BODY_LIMIT = 2 * 1024 * 1024;
const FIELDS = ['topic', 'message', 'token'] as const;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseBroadcast(contentType: string | undefined, body: Uint8Array): NotifluxBroadcast | NotifluxAnswer {
  if (!isJsonType(contentType)) return { status: 400, body: 'Content type error' };
  if (body.length > NOTIFLUX_BODY_LIMIT) return { status: 413, body: `JSON payload (${body.length} bytes) is larger than allowed (limit: ${NOTIFLUX_BODY_LIMIT} bytes).` };
  let value: unknown;
  let text: string;
  try {
    text = decoder.decode(body);
    value = JSON.parse(text);
  } catch {
    return deserializeError('expected a JSON value');
  }
  if (Array.isArray(value)) {
    if (value.length !== 3) return deserializeError(`invalid length ${value.length}, expected struct BroadcastPayload with 3 elements`);
    value = { topic: value[0], message: value[1], token: value[2] };
  } else if (typeof value !== 'object' || value === null) {
    return deserializeError('invalid type, expected struct BroadcastPayload');
  } else if (hasRepeatedField(text)) {
    return deserializeError('duplicate field');
  }
  const fields = value as Record<string, unknown>;
  for (const name of FIELDS) {
    if (!Object.hasOwn(fields, name)) return deserializeError(`missing field \`${name}\``);
    if (typeof fields[name] !== 'string') return deserializeError(`invalid type for \`${name}\`, expected a string`);
  }
  return { ok: true, topic: fields.topic as string, message: fields.message as string, token: fields.token as string };
}

function deserializeError(reason: string): NotifluxAnswer {
  return { status: 400, body: `Json deserialize error: ${reason}` };
}

/** application/json, or any type with a +json suffix, parameters aside (actix's check). */
function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = (contentType.split(';')[0] as string).trim().toLowerCase();
  const [type, subtype] = essence.split('/');
  return type !== undefined && subtype !== undefined && (subtype === 'json' || subtype.endsWith('+json')) && type !== '';
}

/** serde refuses a struct field given twice; JSON.parse keeps the last silently. */
function hasRepeatedField(text: string): boolean {
  const keys = (rawMembers(text) ?? []).map((m) => m.key).filter((k) => (FIELDS as readonly string[]).includes(k));
  return new Set(keys).size !== keys.length;
}
