// The `hmac` publisher mode's signature: `X-Octoway-Signature: t=<unix seconds>,v1=<hex>`, where v1
// is HMAC-SHA256(secret, "<t>.<raw body>") in hex, as Stripe signs its webhooks. Several v1 may be
// given (a publisher signing with the old and the new secret during a rotation).
import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';
import { OctowayError } from '../errors.js';

export const SIGNATURE_HEADER = 'x-octoway-signature';

export interface Signature {
  /** Unix seconds the publisher signed at. */
  readonly t: number;
  /** The v1 signatures, in lower-case hex. */
  readonly v1: readonly string[];
}

const MAX_V1 = 4;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
/** The form every publisher sends outside a rotation, parsed with one regular expression. */
const COMMON_FORM = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

/** Parses the header; unknown fields (a future v2) are skipped. */
export function parseSignature(header: string): Signature | OctowayError {
  const common = COMMON_FORM.exec(header);
  if (common !== null) return { t: Number(common[1]), v1: [common[2] as string] };
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 0) return new OctowayError('HMAC_SIGNATURE_MALFORMED');
    if (name === 't') {
      if (t !== undefined || !TIMESTAMP.test(value)) return new OctowayError('HMAC_SIGNATURE_MALFORMED');
      t = Number(value);
    } else if (name === 'v1') {
      if (!HEX_DIGEST.test(value) || v1.length === MAX_V1) return new OctowayError('HMAC_SIGNATURE_MALFORMED');
      v1.push(value.toLowerCase());
    }
  }
  if (t === undefined || v1.length === 0) return new OctowayError('HMAC_SIGNATURE_MALFORMED');
  return { t, v1 };
}

/** Refuses a signature dated further than `toleranceMs` from `now`, before its body is even read. */
export function checkTimestamp(signature: Signature, toleranceMs: number, now = Date.now()): OctowayError | undefined {
  if (Math.abs(now - signature.t * 1000) <= toleranceMs) return undefined;
  return new OctowayError('HMAC_TIMESTAMP_OUT_OF_RANGE', `the signature's timestamp is ${Math.round(now / 1000 - signature.t)} s from now; at most ${toleranceMs / 1000} s (WS_HMAC_TOLERANCE) is accepted`);
}

/** The hex of the v1 that matches `body` under one of `secrets`, or undefined. Every comparison
 * runs in constant time, so the time taken says nothing of how much of a forged digest matched. */
export function matchingSignature(signature: Signature, secrets: readonly HmacKey[], body: Buffer): string | undefined {
  const prefix = Buffer.from(`${signature.t}.`, 'latin1');
  let canonical: string | undefined;
  let matched = false;
  for (const secret of secrets) {
    const expected = secret.sign(prefix, body);
    // The replay memory's key is always the first secret's signature, whichever `v1` matched: a
    // request signed under both secrets during a rotation cannot be replayed with one `v1` dropped
    // or the two swapped.
    canonical ??= expected.toString('hex');
    for (const given of signature.v1) if (timingSafeEqual(expected, Buffer.from(given, 'hex'))) matched = true;
  }
  return matched ? canonical : undefined;
}

export interface HmacKey {
  /** HMAC-SHA256 of `prefix` followed by `body` under this key. */
  sign(prefix: Buffer, body: Buffer): Buffer;
}

const BLOCK = 64;

/** WS_HMAC_SECRET's secrets as HMAC-SHA256 keys, padded once. HMAC (RFC 2104) is
 * H((K ^ opad) || H((K ^ ipad) || m)); two one-shot hashes cost ~10% less than a createHmac object
 * per request (2.38 against 2.63 µs best of 40, 3.35 against 3.61 at the 25th percentile, for a
 * 100-byte body): about 1% of a unicast POST. test/http/hmac-signature.test.ts checks it against
 * createHmac for every key length. */
export function hmacKeys(secrets: readonly string[]): HmacKey[] {
  return secrets.map((s) => {
    let key = Buffer.from(s, 'utf8');
    if (key.length > BLOCK) key = createHash('sha256').update(key).digest();
    const ipad = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i]! ^= key[i]!;
      outer[i]! ^= key[i]!;
    }
    return {
      sign(prefix, body) {
        const inner = hash('sha256', Buffer.concat([ipad, prefix, body], BLOCK + prefix.length + body.length), 'buffer');
        // The outer block's tail is scratch space: sign() runs to its end before anything else can.
        inner.copy(outer, BLOCK);
        return hash('sha256', outer, 'buffer');
      },
    };
  });
}

/** What a publisher sends: the header value for `body` signed with `secret` at `t`. */
export function signBody(secret: string, body: string | Buffer, t = Math.floor(Date.now() / 1000)): string {
  const digest = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return `t=${t},v1=${digest}`;
}
