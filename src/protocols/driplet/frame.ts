// Driplet's frames. Server: the publish body decoded as Go decodes its BroadcastMessage and
// re-encoded as json.Marshal writes it: `{"message":<the posted value, compacted>,"target":{...},
// "endpoint":"NAME","topic":"t"}`, `include`/`exclude` left out when empty, their keys sorted;
// `nonce` and `timestamp` not passed on. Client: `{"type":"subscribe"|"unsubscribe","topic":"t"}`,
// anything else ignored, as its ReadPump does.
import { goCompact, goObject, goString, rawField, rawMembers, type JsonValue } from '../go-json.js';
import { DRIPLET_ANSWERS, type DripletAnswer } from './answers.js';

type JsonObject = { [key: string]: JsonValue };

/** A publish, ready to deliver: the frame every receiving subscriber gets (the same bytes for
 * all), its topic, and its targeting rules (non-empty ones only) for compileFilter. */
export interface DripletPublish {
  readonly ok: true;
  readonly frame: string;
  readonly topic: string;
  readonly target: { readonly include?: JsonObject; readonly exclude?: JsonObject };
}

/**
 * Decodes a verified publish body (driplet/signature.ts's text) for endpoint `endpoint` (the name
 * from the URL). Answers as Driplet does: 400 "Invalid message format" where Go's Unmarshal fails
 * (a field of the wrong type, a number beyond float64), then 500 "Error broadcasting message" for
 * an empty topic or a target value holding an object (its Broadcast's checks).
 */
export function parsePublish(text: string, endpoint: string): DripletPublish | DripletAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return DRIPLET_ANSWERS.invalidMessageFormat;
  }
  const members = rawMembers(text);
  if (body === null || members === undefined) return body === null ? DRIPLET_ANSWERS.broadcastError : DRIPLET_ANSWERS.invalidMessageFormat;
  const topicRaw = rawField(text, members, 'topic');
  const endpointRaw = rawField(text, members, 'endpoint');
  const targetRaw = rawField(text, members, 'target');
  const messageRaw = rawField(text, members, 'message');
  if (!isStringOrNull(topicRaw) || !isStringOrNull(endpointRaw)) return DRIPLET_ANSWERS.invalidMessageFormat;
  const topic = topicRaw === undefined || topicRaw === 'null' ? '' : JSON.parse(topicRaw) as string;
  const target = readTarget(targetRaw);
  if (target === undefined) return DRIPLET_ANSWERS.invalidMessageFormat;
  if (topic === '') return DRIPLET_ANSWERS.broadcastError;
  if (!validTarget(target.include) || !validTarget(target.exclude)) return DRIPLET_ANSWERS.broadcastError;
  const message = messageRaw === undefined ? 'null' : goCompact(messageRaw);
  const parts: string[] = [];
  if (target.include !== undefined) parts.push(`"include":${goObject(target.include)}`);
  if (target.exclude !== undefined) parts.push(`"exclude":${goObject(target.exclude)}`);
  const frame = `{"message":${message},"target":{${parts.join(',')}},"endpoint":${goString(endpoint)},"topic":${goString(topic)}}`;
  return { ok: true, frame, topic, target };
}

function isStringOrNull(raw: string | undefined): boolean {
  return raw === undefined || raw === 'null' || raw.startsWith('"');
}

/** Target {include, exclude map[string]interface{}}: each an object or null; a number beyond
 * float64 fails Go's decoding. Empty maps are dropped (omitempty). Undefined: Go's error. */
function readTarget(raw: string | undefined): { include?: JsonObject; exclude?: JsonObject } | undefined {
  if (raw === undefined || raw === 'null') return {};
  if (!raw.startsWith('{')) return undefined;
  const members = rawMembers(raw) ?? [];
  const out: { include?: JsonObject; exclude?: JsonObject } = {};
  for (const name of ['include', 'exclude'] as const) {
    const text = rawField(raw, members, name);
    if (text === undefined || text === 'null') continue;
    if (!text.startsWith('{')) return undefined;
    const rules = JSON.parse(text) as JsonObject;
    if (!allFinite(rules)) return undefined;
    if (Object.keys(rules).length > 0) out[name] = rules;
  }
  return out;
}

function allFinite(value: JsonValue): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object') return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(allFinite);
}

/** Driplet's validateTarget: a rule's value is a scalar, null or an array of them (nested arrays
 * too); an object anywhere is refused. */
function validTarget(rules: JsonObject | undefined): boolean {
  if (rules === undefined) return true;
  const scalarOrArray = (v: JsonValue): boolean => v === null || typeof v !== 'object' || (Array.isArray(v) && v.every(scalarOrArray));
  return Object.values(rules).every(scalarOrArray);
}

/** A client frame: what Driplet does with it. */
export type DripletClientFrame =
  | { readonly type: 'subscribe'; readonly topic: string }
  | { readonly type: 'unsubscribe'; readonly topic: string }
  | { readonly type: 'ignored' };

const IGNORED: DripletClientFrame = Object.freeze({ type: 'ignored' });

/**
 * Parses a client frame (text or binary: Driplet reads both) as Go decodes its SubscriptionMessage:
 * field names case-insensitive, `type` exactly "subscribe" or "unsubscribe" (case matters), a
 * missing or null `topic` is "" (a subscription to "" is Driplet's too). Not JSON, not an object,
 * or a field of the wrong type: ignored, without an answer.
 */
export function parseClientFrame(text: string): DripletClientFrame {
  try {
    JSON.parse(text);
  } catch {
    return IGNORED;
  }
  const members = rawMembers(text);
  if (members === undefined) return IGNORED;
  const typeRaw = rawField(text, members, 'type');
  const topicRaw = rawField(text, members, 'topic');
  if (!isStringOrNull(typeRaw) || !isStringOrNull(topicRaw)) return IGNORED;
  const type = typeRaw === undefined || typeRaw === 'null' ? '' : JSON.parse(typeRaw) as string;
  const topic = topicRaw === undefined || topicRaw === 'null' ? '' : JSON.parse(topicRaw) as string;
  if (type === 'subscribe' || type === 'unsubscribe') return { type, topic };
  return IGNORED;
}
