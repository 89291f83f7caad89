// This node's side of the cluster's pattern registry (single Redis server; see docs/scale-out.md,
// Wildcard keys): a copy of <prefix>patterns with its version, which the publish script checks, and
// the calls that add a node's patterns as their first socket joins and remove them as the last leaves.
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connect.js';
import { PATTERNS, REGISTER, run, UNREGISTER } from '../redis/scripts.js';
import { compilePattern, type KeyMatcher } from './key-pattern.js';
import { unavailableOnError } from './redis-store.js';

export interface PatternRegistry {
  /** The version of the copy, which the publish script compares with Redis's. */
  readonly version: string;
  /** The patterns of the copy matching each key (the key itself excepted: that is the key's own
   * presence), as the publish script takes them: their names, and per key a comma list of their
   * 1-based indexes among them. */
  matching(keys: readonly string[]): { patterns: string[]; lists: string[] };
  /** Reads the registry again (the publish script found the copy stale). */
  read(): Promise<void>;
  /** After the JOIN that leased them: from now on every publish sees these patterns. */
  register(patterns: readonly string[]): Promise<void>;
  /** After the LEASE that released them: patterns no node leases any more leave the registry. Never rejects. */
  unregister(patterns: readonly string[]): Promise<void>;
}

export function createPatternRegistry(client: RedisClient, prefix: string, log: Logger): PatternRegistry {
  let version = '0';
  let patterns: Array<{ text: string; matches: KeyMatcher }> = [];

  return {
    get version() {
      return version;
    },

    matching(keys) {
      const names: string[] = [];
      if (patterns.length === 0) return { patterns: names, lists: keys.map(() => '') };
      const lists = keys.map((key) => {
        const indexes: number[] = [];
        for (const p of patterns) {
          if (p.text === key || !p.matches(key)) continue;
          let j = names.indexOf(p.text);
          if (j === -1) j = names.push(p.text) - 1;
          indexes.push(j + 1);
        }
        return indexes.join(',');
      });
      return { patterns: names, lists };
    },

    async read() {
      const [v, ...texts] = await unavailableOnError(run(client, PATTERNS, [], [prefix])) as string[];
      const known = new Map(patterns.map((p) => [p.text, p.matches]));
      version = String(v);
      patterns = texts.map((text) => ({ text, matches: known.get(text) ?? compilePattern(text) }));
    },

    async register(added) {
      await unavailableOnError(run(client, REGISTER, [], [prefix, ...added]));
    },

    async unregister(gone) {
      if (gone.length === 0) return;
      try {
        await run(client, UNREGISTER, [], [prefix, ...gone]);
      } catch (err) {
        // The next registry read drops patterns no node leases; until then they only cost matching.
        log.debug({ reason: (err as Error).message }, 'could not unregister patterns; the registry drops them later');
      }
    },
  };
}
