// Driplet's publish check (its ValidateAPIToken), in its order: the X-Driplet-Signature header,
// its hex, the HMAC-SHA256 of the raw body with the endpoint's APISecret (constant time), the body's
// `timestamp` within 60 s of now, and its `nonce` unused on the endpoint for 60 s. Every refusal
// after the header's absence is Driplet's one answer, 401 "Invalid signature".
// Differences, deliberate: the nonce is remembered per endpoint and checked atomically (Driplet kept
// one entry per nonce, so A, B, A on two endpoints was accepted), across nodes (ReplayGuard), and
// until its body's timestamp is 60 s past (Driplet: 60 s from receipt, short for a future timestamp).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { OctowayError } from '../../errors.js';
import type { ReplayGuard } from '../../http/replay-guard.js';
import { rawField, rawMembers } from '../go-json.js';
import { DRIPLET_ANSWERS, type DripletAnswer } from './answers.js';
import type { DripletEndpoint } from './config.js';

/** How far `timestamp` may be from now, and how long a nonce stays used: 60 s each in Driplet. */
export const DRIPLET_WINDOW_S = 60;

/** The publish passed: the body as text (UTF-8), for driplet/frame.ts's parsePublish. */
export interface VerifiedPublish {
  readonly ok: true;
  readonly text: string;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Checks one `POST /api/{endpoint}/message`. `endpoint` is the configured endpoint the path names
 * (undefined: 404). `signature` is the header's value (undefined when absent). `guard` remembers
 * nonces for DRIPLET_WINDOW_S (a MemoryReplayGuard or RedisReplayGuard built with 60 000 ms).
 */
export async function verifyPublish(endpoint: DripletEndpoint | undefined, signature: string | undefined, body: Uint8Array, guard: ReplayGuard, now = Date.now()): Promise<VerifiedPublish | DripletAnswer> {
  if (endpoint === undefined) return DRIPLET_ANSWERS.invalidEndpoint;
  if (signature === undefined || signature === '') return DRIPLET_ANSWERS.missingSignature;
  // Go's hex.DecodeString: an even number of hex digits, either case.
  if (signature.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(signature)) return DRIPLET_ANSWERS.invalidSignature;
  const given = Buffer.from(signature, 'hex');
  const expected = createHmac('sha256', endpoint.apiSecret).update(body).digest();
  // hmac.Equal: constant time; a length says nothing about the secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return DRIPLET_ANSWERS.invalidSignature;
  const text = decoder.decode(body);
  const metadata = readMetadata(text);
  if (metadata === undefined) return DRIPLET_ANSWERS.invalidSignature;
  const nowS = Math.floor(now / 1000);
  if (metadata.timestamp < nowS - DRIPLET_WINDOW_S || metadata.timestamp > nowS + DRIPLET_WINDOW_S) return DRIPLET_ANSWERS.invalidSignature;
  let verdict: string;
  try {
    // Remembered until the body's timestamp is past the window: as long as the timestamp check
    // would let its replay through. Driplet remembered it for 60 s from now, so a body dated up to
    // 60 s ahead could be replayed in the minute after that; and a bounded memory that must forget
    // early refuses by this date (the guard's horizon) instead of admitting a replay.
    verdict = await guard.claim(nonceKey(endpoint.name, metadata.nonce), metadata.timestamp, now);
  } catch (err) {
    if (err instanceof OctowayError && err.code === 'STORE_UNAVAILABLE') return DRIPLET_ANSWERS.nonceStoreUnavailable;
    throw err;
  }
  return verdict === 'first' ? { ok: true, text } : DRIPLET_ANSWERS.invalidSignature;
}

/** The guard's key for a nonce on an endpoint: hex, as the guard expects, and apart from the HMAC
 * publisher's signatures that share its Redis namespace. */
export function nonceKey(endpoint: string, nonce: string): string {
  return createHash('sha256').update(`driplet\0${endpoint}\0${nonce}`).digest('hex');
}

/**
 * The body decoded into Driplet's MessageMetadata {nonce string; timestamp int64} as Go's
 * json.Unmarshal does: undefined when Go returns an error (not JSON, not an object or null, a
 * `nonce` not a string, a `timestamp` not an integer literal in int64's range). A missing or null
 * field stays Go's zero value: "" and 0.
 */
export function readMetadata(text: string): { nonce: string; timestamp: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null) return { nonce: '', timestamp: 0 };
  const members = rawMembers(text);
  if (members === undefined) return undefined;
  const nonceRaw = rawField(text, members, 'nonce');
  const timestampRaw = rawField(text, members, 'timestamp');
  let nonce = '';
  if (nonceRaw !== undefined && nonceRaw !== 'null') {
    if (!nonceRaw.startsWith('"')) return undefined;
    nonce = JSON.parse(nonceRaw) as string;
  }
  let timestamp = 0;
  if (timestampRaw !== undefined && timestampRaw !== 'null') {
    if (!/^-?(0|[1-9]\d*)$/.test(timestampRaw)) return undefined;
    const big = BigInt(timestampRaw);
    if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
    timestamp = Number(big);
  }
  return { nonce, timestamp };
}
