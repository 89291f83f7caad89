// Accepted HMAC signatures shared by every node through Redis: one SET NX PX per signed request,
// atomic across nodes, each key expiring once its signature's date is past the tolerance.
import { OctowayError } from '../errors.js';
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import type { ReplayGuard, ReplayVerdict } from './replay-guard.js';

/** Margin on the key's lifetime for clock differences between this node and Redis's expiry. */
const MARGIN_MS = 1_000;

export class RedisReplayGuard implements ReplayGuard {
  readonly #client: RedisClient;
  readonly #keyspace: Keyspace;
  readonly #toleranceMs: number;

  constructor(client: RedisClient, keyspace: Keyspace, toleranceMs: number) {
    this.#client = client;
    this.#keyspace = keyspace;
    this.#toleranceMs = toleranceMs;
  }

  async claim(signature: string, t: number, now = Date.now()): Promise<ReplayVerdict> {
    const ttlMs = Math.max(MARGIN_MS, Math.ceil(t * 1000 + this.#toleranceMs - now) + MARGIN_MS);
    let answer: string | null;
    try {
      answer = await this.#client.set(this.#keyspace.hmacSignature(signature), '1', 'PX', ttlMs, 'NX');
    } catch (err) {
      throw new OctowayError('STORE_UNAVAILABLE', 'Redis is unavailable: the signature could not be checked for replay; the message was not accepted', { cause: err, retryAfter: 1 });
    }
    return answer === 'OK' ? 'first' : 'replayed';
  }
}
