// The cluster-wide broker over Redis. Presence: per key, each node's socket count under a lease its
// heartbeat renews, so a node that dies stops counting after WS_PRESENCE_TTL. Deliver-or-hold: one
// Lua script per key (all keys at once on a single server) checks presence and holds or publishes.
// Bus: one PUBLISH per message on one channel every node subscribes to; each node's subscriber
// hands it to its hub, in the order Redis ran the scripts. A message with topics (live only) rides
// the bus in one PUBLISH too, naming its topics and the keys with live sockets, with no presence
// for topics and nothing held for them: every node's hub writes it to its own subscribers.
// In flight (at-most-once): a message the script sends to a node's sockets is recorded for that node
// until the node confirms it wrote it (batched HDELs below). What a node never confirms (it died, left
// the key, or lost its bus subscription) is promoted by the scripts: re-published to the nodes that
// have sockets of the key then and did not get it, or held. So a 202 means delivered or held, even
// across a node's death (docs/scale-out.md, Guarantees).
// Pattern keys (single server): a pattern socket's presence is that of its pattern, like any key, and
// the pattern is listed in a registry every publisher reads (kept in step by a version number the
// publish script checks), so a message is held only when neither its key nor a pattern matching it
// has live sockets; a joining pattern socket fetches what is held under the keys it matches.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeliveryMode } from '../config.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisConnection } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import { liveEnvelope, liveEnvelopeHead, publishEnvelope, publishHeader, readLive, readPublish, readRoute } from '../redis/bus-envelope.js';
import { BUS, JOIN, LEASE, LIVE, loadScripts, PUBLISH, run } from '../redis/scripts.js';
import type { HistoryLimits } from './history.js';
import { historyArgs } from './redis-history.js';
import { createConfirmations } from './confirmations.js';
import type { Broker } from './broker.js';
import type { Hub } from './hub.js';
import type { Message, PublishResult } from './message.js';
import type { Socket } from '../socket/connection.js';
import { isHoldable } from './address.js';
import { isPattern } from './key-pattern.js';
import { createPatternRegistry } from './pattern-registry.js';
import { mergeHeld, stampOf, unavailableOnError, type RedisStore } from './redis-store.js';

export interface RedisBrokerOptions {
  readonly connection: RedisConnection;
  readonly keyspace: Keyspace;
  readonly store: RedisStore;
  readonly hub: Hub;
  readonly mode: DeliveryMode;
  readonly presenceTtlMs: number;
  /** WS_HISTORY_SIZE > 0: the publish scripts number each stream's messages and record them
   * (redis-history.ts reads them). */
  readonly history?: HistoryLimits | undefined;
  readonly log: Logger;
}

/** Keys per LEASE call on a single server: large enough to be cheap, small enough not to stall Redis. */
const LEASE_BATCH = 256;

type PublishReply = [delivered: number, held: number, dropped: number, present: string, seqs: string];
/** Times a publish re-reads the pattern registry when it changed under it, before giving up (503). */
const MAX_REGISTRY_READS = 5;

export function createRedisBroker(options: RedisBrokerOptions): Broker {
  const { connection, keyspace, store, hub, history, log } = options;
  const { client, subscriber } = connection;
  const ttl = options.presenceTtlMs;
  const atLeastOnce = options.mode === 'at-least-once';
  const node = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const channel = keyspace.channel;
  /** This node's open sockets per key; every heartbeat sends these counts whole. */
  const counts = new Map<string, number>();
  /** Keys left while Redis was unreachable, where Redis may still count this node. */
  const unreleased = new Set<string>();
  const recovered: Array<() => void> = [];
  /** Senders of client publishes in flight on the bus, by message id: their own message, coming
   * back from the bus, is not written to them (no echo). Emptied when the bus goes down. */
  const excluded = new Map<string, Socket>();
  const inFlight = new Set<Promise<void>>();
  let subscribed = false;
  /** Keys whose own unconfirmed messages the next resync join re-sends (see update). */
  let toResync = new Set<string>();
  let scriptsLoaded = false;
  let live = false;
  let closing = false;
  /** '' under Cluster: no pattern registry there (see RedisStore.scriptPrefix). */
  const prefix = store.scriptPrefix;
  /** Under Cluster, none: a script cannot reach the registry from a key's slot. */
  const registry = prefix === '' ? undefined : createPatternRegistry(client, prefix, log);
  let warnedCluster = false;
  const unregister = async (patterns: readonly string[]): Promise<void> => registry?.unregister(patterns);

  const commandsReady = (): boolean => client.status === 'ready';

  /** Confirms, per key, the bus messages this node wrote to its sockets. */
  const confirmations = createConfirmations({ client, keyspace, node, log });

  const lease = async (keys: readonly string[], release = false): Promise<void> => {
    // A lease of count 0 promotes this node's unconfirmed messages: confirm what was written first,
    // on the same connection, so Redis runs the confirmations before the lease.
    confirmations.flush();
    const batches = connection.cluster ? keys.map((k) => [k]) : chunks(keys, LEASE_BATCH);
    await Promise.all(batches.map(async (batch) => {
      try {
        await run(client, LEASE, batch.flatMap((k) => keyspace.all(k)),
          [node, ttl, Date.now(), channel, store.maxPerKey, prefix, ...batch.map((k) => (release ? 0 : counts.get(k) ?? 0))]);
        for (const k of batch) unreleased.delete(k);
      } catch (err) {
        for (const k of batch) if (!counts.has(k)) unreleased.add(k);
        log.debug({ reason: (err as Error).message, keys: batch.length }, 'presence lease failed; retried by the next heartbeat');
      }
    }));
  };

  const track = (work: Promise<void>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const update = (): void => {
    const now = commandsReady() && scriptsLoaded && subscribed;
    if (now === live || closing) return;
    live = now;
    if (now) {
      log.info({ node, keys: counts.size }, 'redis delivery live; open sockets join again');
      // Each key's own unconfirmed messages are re-sent once per recovery, by the first socket of the
      // key to join again, not once per socket (which would send each of them once per socket).
      toResync = new Set(counts.keys());
      for (const listener of recovered) listener();
      return;
    }
    log.warn({ node }, 'redis delivery down; publishes get 503 until it is back');
    excluded.clear();
    // Without the bus this node would miss its sockets' messages: stop counting it, so they are held.
    if (commandsReady()) track(lease([...counts.keys()], true));
  };

  /** Unknown envelope tags already warned about: one line each (bounded: a few tags at most). */
  const warned = new Set<string>();
  /** Every bus message is read here, through bus-envelope.ts, and only here: where it goes on this
   * node, or undefined when it is not for this node (another kind, or addressed elsewhere) or is
   * malformed (logged). */
  const readBus = (bus: string): { id: string; targets: readonly string[]; frame: string; from?: string | undefined; origin?: string; seqs?: readonly number[] | undefined } | undefined => {
    const route = readRoute(bus, node);
    if (route.kind === 'publish' || route.kind === 'live') {
      const read = route.kind === 'publish' ? readPublish(bus, route.body) : readLive(bus, route.body);
      if (read === undefined) log.error('malformed message on the delivery bus (another program using WS_REDIS_PREFIX?)');
      return read;
    }
    // Control envelopes are the control plane's (control/control-redis.ts); addressed ones are other
    // nodes'. A newer node's kind or version is ignored: see bus-envelope.ts.
    if (route.kind === 'unknown' && !warned.has(route.tag) && warned.size < 16) {
      warned.add(route.tag);
      log.warn({ tag: route.tag }, 'ignoring bus messages of an unknown kind or version (a newer node during a rolling upgrade?)');
    }
    return undefined;
  };

  const fromBus = (bus: string): void => {
    const read = readBus(bus);
    if (read === undefined) return;
    const { id, targets, frame, from, origin, seqs } = read;
    let exclude: Socket | undefined;
    if (origin === node) {
      exclude = excluded.get(id);
      excluded.delete(id);
    }
    hub.deliver(targets, id, frame, from, exclude, seqs);
    // Written to (or queued for) a local socket of the key: no longer this node's to recover.
    if (!atLeastOnce) for (const key of targets) if (isHoldable(key) && hub.has(key)) confirmations.add(key, id);
  };

  subscriber.on('message', (from: string, text: string) => {
    if (from === channel) fromBus(text);
  });
  subscriber.on('ready', () => {
    (subscriber.subscribe(channel) as Promise<unknown>).then(
      () => {
        subscribed = true;
        update();
      },
      (err: unknown) => log.error({ err }, 'could not subscribe to the delivery bus; retried when Redis reconnects'),
    );
  });
  client.on('ready', () => {
    loadScripts(client).then(
      () => {
        scriptsLoaded = true;
        update();
      },
      (err: unknown) => log.error({ err }, 'could not load the Lua scripts; retried when Redis reconnects'),
    );
  });
  for (const event of ['close', 'end']) {
    subscriber.on(event, () => {
      subscribed = false;
      update();
    });
    client.on(event, () => {
      scriptsLoaded = false;
      update();
    });
  }

  const heartbeat = setInterval(() => {
    if (live) track(lease([...counts.keys(), ...unreleased]));
  }, Math.max(100, Math.floor(ttl / 3)));
  heartbeat.unref();

  /** Keys and topics: the keys' deliver-or-hold without their own bus message, then one bus
   * message naming the topics and the keys with live sockets, so a socket under both gets it once
   * and each node gets it in one piece. Sent from the first address's slot (under Cluster, so a
   * topic's messages keep their order). `delivered` counts the keys' sockets only: a topic has no
   * presence in Redis, so its subscribers on other nodes are not counted. */
  const publishWithTopics = async (message: Message, topics: readonly string[]): Promise<PublishResult> => {
    const { id, keys } = message;
    const decided = keys.length === 0 ? { delivered: 0, held: 0, present: [] as string[], seqs: [] as number[] } : await decideKeys(message, false);
    const targets = [...decided.present, ...topics];
    if (message.exclude !== undefined) excluded.set(id, message.exclude);
    try {
      if (history === undefined) {
        const text = liveEnvelope(node, id, targets, message.from, message.frame);
        await unavailableOnError(run(client, BUS, [keyspace.of(keys[0] ?? topics[0] as string).seq], [channel, text]));
      } else {
        await publishNumbered(message, decided.present.map((k) => decided.seqs[keys.indexOf(k)] ?? 0), targets, topics, history);
      }
    } catch (err) {
      excluded.delete(id);
      throw err;
    }
    return { id, delivered: decided.delivered, held: decided.held };
  };

  /** History on: the topics' streams number and record the message and it goes on the bus with every
   * target's seq, in one script (single server, or one topic); under Cluster with several topics in
   * several slots, one script per topic then one bus message (a topic's seq order is then its
   * publish order, but the bus may carry two such messages in the other order). */
  const publishNumbered = async (message: Message, keySeqs: readonly number[], targets: readonly string[], topics: readonly string[], limits: HistoryLimits): Promise<void> => {
    const args = [...historyArgs(limits, message), message.frame];
    const keyText = keySeqs.map((n) => `${n},`).join('');
    if (!connection.cluster || topics.length === 1) {
      await unavailableOnError(run(client, LIVE, topics.map((t) => keyspace.position(t)), [...args, channel, liveEnvelopeHead(node, message.id, targets, message.from), keyText]));
      return;
    }
    const seqs = await unavailableOnError(Promise.all(topics.map((t) => run(client, LIVE, [keyspace.position(t)], [...args, '', '', '']))));
    const text = liveEnvelope(node, message.id, targets, message.from, message.frame, [...keySeqs, ...(seqs as string[]).map(Number)]);
    await unavailableOnError(run(client, BUS, [keyspace.position(topics[0] as string)], [channel, text]));
  };

  /** The keys' deliver-or-hold; the bus message too when `bus` (else `present` lists the keys with
   * live sockets, for the caller's own bus message). */
  const decideKeys = async (message: Message, bus: boolean): Promise<{ delivered: number; held: number; present: string[]; seqs: number[] }> => {
    const { id, keys, frame, createdAt, expireMs } = message;
    const numbering = history === undefined ? NO_ARGS : historyArgs(history, message);
    const publishOn = bus ? channel : '';
    const presentKeys = (indexes: string): string[] => (bus || indexes === '' ? [] : indexes.split(',').map((i) => keys[Number(i) - 1] as string));
    const header = publishHeader(id, keys);
    const args = (first: number, on: string, lists: readonly string[]): Array<string | number> =>
      [id, stampOf(createdAt, message.expire), expireMs > 0 ? createdAt + expireMs : 0, frame, Date.now(), store.maxPerKey, atLeastOnce ? 1 : 0, on, header, first, channel,
        prefix, registry?.version ?? '0', lists.length, ...lists, ...numbering];
    if (registry !== undefined) {
      for (let reads = 0; ; reads++) {
        const { patterns, lists } = registry.matching(keys);
        const reply = await unavailableOnError(run(client, PUBLISH, [...keys, ...patterns].flatMap((k) => keyspace.all(k)), args(1, publishOn, lists)));
        const [delivered, held, dropped, indexes, seqs] = reply as PublishReply;
        if (delivered === -1) {
          // The registry changed since this node read it: read it again; nothing was done.
          if (reads >= MAX_REGISTRY_READS) throw new OctowayError('STORE_UNAVAILABLE', 'the pattern registry keeps changing', { retryAfter: 1 });
          await registry.read();
          continue;
        }
        store.noteDropped(keys, dropped);
        return { delivered, held, present: presentKeys(indexes), seqs: seqsOf(seqs) };
      }
    }
    if (keys.length === 1) {
      const [delivered, held, dropped, indexes, seqs] = await unavailableOnError(run(client, PUBLISH, keyspace.all(keys[0] as string), args(1, publishOn, ['']))) as PublishReply;
      store.noteDropped(keys, dropped);
      return { delivered, held, present: presentKeys(indexes), seqs: seqsOf(seqs) };
    }
    // Cluster, keys in several slots: decide per key, then publish once, from the first key's slot
    // (so the message keeps its order with the other messages of that key).
    const replies = await unavailableOnError(Promise.all(keys.map((k, i) => run(client, PUBLISH, keyspace.all(k), args(i + 1, '', [''])))));
    let delivered = 0;
    let held = 0;
    const present: string[] = [];
    const seqs: number[] = [];
    (replies as PublishReply[]).forEach(([d, h, dropped, indexes, seq], i) => {
      delivered += d;
      held += h;
      store.noteDropped([keys[i] as string], dropped);
      if (indexes !== '') present.push(indexes);
      seqs.push(seqsOf(seq)[0] ?? 0);
    });
    if (!bus) return { delivered, held, present: presentKeys(present.join(',')), seqs };
    if (present.length > 0) {
      const numbered = history === undefined ? header : publishHeader(id, keys, seqs);
      await unavailableOnError(run(client, BUS, [keyspace.of(keys[0] as string).seq], [channel, publishEnvelope(present.join(','), numbered, frame)]));
    }
    return { delivered, held, present: [], seqs };
  };

  return {
    async publish(message) {
      if (!commandsReady()) throw new OctowayError('STORE_UNAVAILABLE', undefined, { retryAfter: 1 });
      if (message.topics !== undefined) return publishWithTopics(message, message.topics);
      const { delivered, held } = await decideKeys(message, true);
      return { id: message.id, delivered, held };
    },

    async join(keys, fresh) {
      if (fresh) for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
      // Counted locally already; onRecovered joins it again once Redis and the bus are back.
      if (!live) throw new OctowayError('STORE_UNAVAILABLE', 'redis is unavailable');
      const groups = store.groups(keys);
      confirmations.flush();
      // A resync (fresh false) promotes this node's own unconfirmed messages: it may have missed them on the bus.
      const replies = await unavailableOnError(Promise.all(groups.map((group) =>
        run(client, JOIN, group.flatMap((k) => keyspace.all(k)),
          [node, ttl, Date.now(), atLeastOnce ? 0 : 1, channel, store.maxPerKey, group.map((k) => (!fresh && toResync.delete(k) ? '1' : '0')).join(''),
            prefix, ...group.map((k) => counts.get(k) ?? 0)]))));
      const perKey = groups.flatMap((group, g) => group.map((key, i) => ({ key, flat: (replies[g] as string[][])[i] ?? [] })));
      const patterns = keys.filter(isPattern);
      if (patterns.length > 0) {
        // Leased above, registered now: from here every publish of a matching key delivers to this
        // socket (queued until it goes live) instead of holding; what was held before, it fetches.
        if (registry !== undefined) await registry.register(patterns);
        else if (!warnedCluster) {
          warnedCluster = true;
          log.warn('pattern keys with WS_REDIS_CLUSTER: a pattern socket gets held messages as it connects, and live ones only for keys that also have a socket of their own (docs/protocol.md)');
        }
        const matched = (await store.heldKeysMatching(patterns)).filter((k) => !keys.includes(k));
        if (matched.length > 0) perKey.push(...await store.fetchPerKey(matched, !atLeastOnce));
      }
      return mergeHeld(perKey);
    },

    leave(keys) {
      const gone: string[] = [];
      for (const k of keys) {
        const n = (counts.get(k) ?? 0) - 1;
        if (n > 0) counts.set(k, n);
        else {
          counts.delete(k);
          if (isPattern(k)) gone.push(k);
        }
      }
      // Released first (same connection, so in this order): a pattern no node leases then leaves the registry.
      const released = lease(keys);
      track(gone.length === 0 ? released : released.then(() => unregister(gone)));
    },

    onRecovered(listener) {
      recovered.push(listener);
    },

    unavailable() {
      if (live) return undefined;
      return commandsReady() ? 'redis: not subscribed to the delivery bus yet' : 'redis is unreachable';
    },

    async close() {
      closing = true;
      clearInterval(heartbeat);
      // Stop counting at once rather than after the lease: messages for these keys are held from now on.
      if (commandsReady() && counts.size > 0) {
        const keys = [...counts.keys()];
        track(lease(keys, true).then(() => unregister(keys.filter(isPattern))));
      }
      await Promise.allSettled([...inFlight]);
      confirmations.close();
    },
  };
}

const NO_ARGS: ReadonlyArray<string | number> = Object.freeze([]);

/** The seqs a publish script returned ("s,s", '' with the history off). */
function seqsOf(text: string | undefined): number[] {
  return text === undefined || text === '' ? [] : text.split(',').map(Number);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
