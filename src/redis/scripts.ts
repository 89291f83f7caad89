// The Lua Octoway runs inside Redis. Each script works on the keys of one routing key, or of several
// when they share a server (never across Cluster slots), and runs atomically there.
// Held-message expiry (createdAt, expiresAt, `now`) uses the nodes' clocks; delivery order and
// presence leases use Redis's own (TIME), so nodes whose clocks differ still agree on both.
import { createHash } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connect.js';
import { LIB } from './lua-library.js';

export interface Script {
  readonly lua: string;
  readonly sha: string;
}


/** KEYS: seq, exp, msg per key. ARGV: id, "createdAt/expire" (stampOf), expiresAt, frame, now, maxPerKey, prefix
 * ('' under Cluster: see usePrefix). Returns the count dropped. */
export const HOLD = script(`
usePrefix(ARGV[7])
local dropped = 0
for i = 1, #KEYS, 3 do
  dropped = dropped + hold(KEYS[i], KEYS[i + 1], KEYS[i + 2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))
end
return dropped`);

/** KEYS: seq, exp, msg, nodes, socks per key. ARGV: now, remove (1/0), bus channel, maxPerKey, prefix.
 * Promotes what was in flight to dead nodes first, so it is read with the held messages.
 * Returns per key a flat [id, order, value, …]. */
export const FETCH = script(`
usePrefix(ARGV[5])
local t = clock()
local out = {}
for i = 1, #KEYS, 5 do
  local k = names(i)
  reap(k, t, ARGV[1], tonumber(ARGV[4]), ARGV[3])
  out[#out + 1] = fetch(k.seq, k.exp, k.msg, ARGV[1], ARGV[2] == '1')
end
return out`);

/** KEYS: seq, exp, msg, nodes, socks per key. ARGV: now, bus channel, maxPerKey, prefix. Promotes what
 * was in flight to dead nodes (as FETCH does) and returns nothing: the admin listing's first step. */
export const REAP = script(`
usePrefix(ARGV[4])
local t = clock()
for i = 1, #KEYS, 5 do reap(names(i), t, ARGV[1], tonumber(ARGV[3]), ARGV[2]) end
return 0`);

/** KEYS: seq, exp, msg per key. ARGV: id. Returns how many keys held it. */
export const ACK = script(`
local n = 0
for i = 1, #KEYS, 3 do
  if redis.call('ZREM', KEYS[i], ARGV[1]) == 1 then
    redis.call('ZREM', KEYS[i + 1], ARGV[1])
    redis.call('HDEL', KEYS[i + 2], ARGV[1])
    n = n + 1
  end
end
return n`);

/** KEYS: seq, exp, msg of one key. ARGV: now. Removes them; returns how many unexpired messages they held. */
export const CLEAR = script(`
prune(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return n`);

/** Deliver-or-hold, atomic with presence. KEYS: seq, exp, msg, nodes, socks per key of the message,
 * then the same five per pattern matching one of its keys.
 * ARGV: id, "createdAt/expire" (stampOf), expiresAt (0: never hold), frame, now, maxPerKey, atLeastOnce (1/0),
 * channel ('' : do not publish), header, index of the first key in the message, bus channel,
 * prefix ('' under Cluster), the publishing node's pattern registry version, the number of message
 * keys, then per message key the comma list of its matching patterns (1-based among the patterns).
 * When the registry's version is not the node's (a pattern appeared or went since it last read it),
 * returns {-1} having changed nothing: the node reads the registry again and retries. A key counts
 * as present when it or a matching pattern has live sockets; a node reached only through a pattern
 * is entered in the key's presence with no socket count and its pattern lease's deadline, so that
 * the key's reap recovers what that node does not confirm, as for any node of the key.
 * Prunes dead nodes (promoting what was in flight to them), holds the message for keys with no live
 * socket (for every key in at-least-once), and publishes it once on the channel, naming the keys that
 * have live sockets, in a publish envelope (redis/bus-envelope.ts). In at-most-once, a message that may be held is also
 * recorded in flight to each node with sockets of those keys, until that node confirms it.
 * After the lists, with the history on (WS_HISTORY_SIZE): its size, its ttl (ms), and the history
 * entry's head and tail (see position); each key's stream then numbers the message (its seq) and
 * records it, in the same step as the decision, and the bus header carries the seqs (padded with a
 * 0 per key before \`first\`, so they stay aligned with the header's keys).
 * Returns {sockets, keys held, dropped for the bound, "i,j", "seq,seq" (history on, else '')}. */
export const PUBLISH = script(`
usePrefix(ARGV[12])
if pfx and (redis.call('GET', pfx .. 'patterns:v') or '0') ~= ARGV[13] then return {-1, 0, 0, '', ''} end
local t, order = clock()
local delivered, held, dropped, present = 0, 0, 0, {}
local inFlight = ARGV[3] ~= '0' and ARGV[7] ~= '1'
local nkeys = tonumber(ARGV[14])
local header, seqText = ARGV[9], ''
local hsize = tonumber(ARGV[15 + nkeys] or '0')
if hsize > 0 then
  local seqs, padded = {}, {}
  for j = 2, tonumber(ARGV[10]) do padded[#padded + 1] = '0' end
  for i = 1, 5 * nkeys, 5 do
    local seq = position(string.sub(KEYS[i + 3], 1, -6), hsize, ARGV[16 + nkeys], ARGV[17 + nkeys], ARGV[18 + nkeys], ARGV[4])
    seqs[#seqs + 1] = seq
    padded[#padded + 1] = seq
  end
  seqText = table.concat(seqs, ',')
  header = withSeqs(header, table.concat(padded, ','))
end
local patterns = {}
local function patternSockets(j)
  local p = patterns[j]
  if p == nil then
    local k = names(5 * (nkeys + j - 1) + 1)
    dropped = dropped + reap(k, t, ARGV[5], tonumber(ARGV[6]), ARGV[11])
    local n, targets = sockets(k)
    p = { n = n, targets = targets, nodes = k.nodes }
    patterns[j] = p
  end
  return p
end
for i = 1, 5 * nkeys, 5 do
  local k = names(i)
  dropped = dropped + reap(k, t, ARGV[5], tonumber(ARGV[6]), ARGV[11])
  local n, targets = sockets(k)
  local matching = ARGV[15 + (i - 1) / 5]
  if matching ~= '' then
    local seen = {}
    for _, node in ipairs(targets) do seen[node] = true end
    for j in string.gmatch(matching, '%d+') do
      local p = patternSockets(tonumber(j))
      n = n + p.n
      for _, node in ipairs(p.targets) do
        if not seen[node] then
          seen[node] = true
          targets[#targets + 1] = node
          if inFlight then
            local deadline = tonumber(redis.call('ZSCORE', p.nodes, node))
            local current = redis.call('ZSCORE', k.nodes, node)
            if not current or tonumber(current) < deadline then redis.call('ZADD', k.nodes, int(deadline), node) end
          end
        end
      end
    end
  end
  delivered = delivered + n
  if n > 0 then
    local index = tonumber(ARGV[10]) + (i - 1) / 5
    present[#present + 1] = index
    if inFlight then
      fly(k, targets, ARGV[1], int(order) .. ':' .. ARGV[2] .. ':' .. ARGV[3] .. ':' .. index .. ':', targets,
        header .. '\\n' .. ARGV[4], tonumber(ARGV[3]) - tonumber(ARGV[5]))
    end
  end
  if ARGV[3] ~= '0' and (n == 0 or ARGV[7] == '1') then
    dropped = dropped + hold(k.seq, k.exp, k.msg, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))
    held = held + 1
  end
end
local indexes = table.concat(present, ',')
if ARGV[8] ~= '' and #present > 0 then redis.call('PUBLISH', ARGV[8], busPublish(nil, indexes, header, ARGV[4])) end
return {delivered, held, dropped, indexes, seqText}`);

/** A socket opens, or (resync 1) the node's sockets sync again after Redis came back. KEYS: seq,
 * exp, msg, nodes, socks per key. ARGV: node, ttl, now, remove (1/0), bus channel, maxPerKey,
 * resync flags (one character per key, '1' to re-send this node's own unconfirmed messages of it),
 * prefix ('' under Cluster), then this node's socket count per key. Sets the counts and leases, promotes what
 * was in flight to dead nodes (and, on a resync, this node's own unconfirmed messages: it may have
 * missed them on the bus), then fetches held messages. */
export const JOIN = script(`
usePrefix(ARGV[8])
local t = clock()
local out = {}
for i = 1, #KEYS, 5 do
  local k = names(i)
  lease(k.nodes, k.socks, ARGV[1], tonumber(ARGV[9 + (i - 1) / 5]), t, tonumber(ARGV[2]))
  reap(k, t, ARGV[3], tonumber(ARGV[6]), ARGV[5])
  if string.sub(ARGV[7], (i + 4) / 5, (i + 4) / 5) == '1' then
    local _, targets = sockets(k)
    promote(k, {ARGV[1]}, targets, ARGV[3], tonumber(ARGV[6]), ARGV[5], ARGV[1])
  end
  out[#out + 1] = fetch(k.seq, k.exp, k.msg, ARGV[3], ARGV[4] == '1')
end
return out`);

/** Heartbeat and close. KEYS: seq, exp, msg, nodes, socks per key. ARGV: node, ttl, now, bus
 * channel, maxPerKey, prefix ('' under Cluster), then the count per key (0 leaves). Prunes dead nodes (promoting what was in
 * flight to them); a node leaving a key promotes its own unconfirmed messages of it, which it will
 * not write now. */
export const LEASE = script(`
usePrefix(ARGV[6])
local t = clock()
for i = 1, #KEYS, 5 do
  local k = names(i)
  local count = tonumber(ARGV[7 + (i - 1) / 5])
  lease(k.nodes, k.socks, ARGV[1], count, t, tonumber(ARGV[2]))
  reap(k, t, ARGV[3], tonumber(ARGV[5]), ARGV[4])
  if count == 0 and redis.call('EXISTS', flyKey(k, ARGV[1])) == 1 then
    local _, targets = sockets(k)
    promote(k, {ARGV[1]}, targets, ARGV[3], tonumber(ARGV[5]), ARGV[4])
  end
end
return 0`);

/** A message with topics, history on: each topic's stream numbers and records it (see position),
 * then the live envelope goes on the bus, in one step, so the bus carries a topic's messages in seq
 * order. KEYS: the pos name of each topic. ARGV: size, ttl (ms), entry head, entry tail, frame,
 * channel ('' : do not publish), the envelope's head (liveEnvelopeHead), the seqs of its keys before
 * the topics' ("s1,s2," or ''). Returns the topics' seqs, "s,s". */
export const LIVE = script(`
local seqs = {}
for i = 1, #KEYS do seqs[#seqs + 1] = position(string.sub(KEYS[i], 1, -4), tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]) end
local text = table.concat(seqs, ',')
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], busLive(ARGV[7], ARGV[8] .. text, ARGV[5])) end
return text`);

/** KEYS: any key, only to choose the Cluster node. ARGV: channel, message. */
export const BUS = script(`return redis.call('PUBLISH', ARGV[1], ARGV[2])`);

/** Single server only. Drops from the pattern registry the patterns with no live lease (their nodes
 * died; a leaving node unregisters its own), then returns {version, pattern…}. ARGV: prefix. */
export const PATTERNS = script(`
local p = ARGV[1]
dropUnleased(p, redis.call('SMEMBERS', p .. 'patterns'), (clock()))
local out = { redis.call('GET', p .. 'patterns:v') or '0' }
for _, pattern in ipairs(redis.call('SMEMBERS', p .. 'patterns')) do out[#out + 1] = pattern end
return out`);

/** Single server only. A node's first socket of each pattern joined (after JOIN leased it): adds the
 * patterns to the registry; a change moves the version, so every publisher reads it again. The
 * first pattern of an empty registry marks the held-key index partial (messages held meanwhile were
 * not indexed) until a scan completes it. ARGV: prefix, pattern…. */
export const REGISTER = script(`
local p = ARGV[1]
local before = redis.call('SCARD', p .. 'patterns')
local added = 0
for i = 2, #ARGV do added = added + redis.call('SADD', p .. 'patterns', ARGV[i]) end
if added > 0 then
  local v = redis.call('INCR', p .. 'patterns:v')
  if before == 0 then redis.call('SET', p .. 'held:partial', v) end
end
return added`);

/** Single server only. A node left its last socket of each pattern (after LEASE released it): the
 * patterns no node leases any more leave the registry; with none left, the index goes too.
 * ARGV: prefix, pattern…. */
export const UNREGISTER = script(`
return dropUnleased(ARGV[1], { unpack(ARGV, 2) }, (clock()))`);

/** Single server only. A scan added every held key to the index: it is complete, unless the registry
 * emptied and refilled meanwhile (a newer mark). ARGV: prefix, the mark the scan started under. */
export const INDEXED = script(`
if redis.call('GET', ARGV[1] .. 'held:partial') == ARGV[2] then redis.call('DEL', ARGV[1] .. 'held:partial') end
return 0`);

/** KEYS: nodes, socks per key. Returns per key its open sockets on live nodes, read only. */
export const PRESENCE = script(`
local t = clock()
local out = {}
for i = 1, #KEYS, 2 do
  local sum = 0
  local alive = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. int(t), '+inf')
  if #alive > 0 then
    for _, c in ipairs(redis.call('HMGET', KEYS[i + 1], unpack(alive))) do
      if c then sum = sum + tonumber(c) end
    end
  end
  out[#out + 1] = sum
end
return out`);

/** Tickets (identity/redis-tickets.ts). KEYS: a user's index. ARGV: id, expiresAt (ms), now (ms).
 * Adds the id, drops the expired ones, and lets the index expire with its last ticket. */
export const TICKET_INDEX = script(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return 0`);

/** Tickets: KEYS: one ticket. Returns its value and deletes it, or nil (GETDEL is Redis 6.2+). */
export const TICKET_TAKE = script(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value`);

const ALL = [LIVE, HOLD, FETCH, REAP, ACK, CLEAR, PUBLISH, JOIN, LEASE, BUS, PATTERNS, REGISTER, UNREGISTER, INDEXED, PRESENCE, TICKET_INDEX, TICKET_TAKE];

/** Loads every script on every master, so that after a (re)connect none needs the NOSCRIPT
 * fallback in run(), whose resend could overtake commands sent after it. */
export async function loadScripts(client: RedisClient): Promise<void> {
  const servers: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  await Promise.all(servers.flatMap((server) => ALL.map((s) => server.script('LOAD', s.lua))));
}

function script(body: string): Script {
  const lua = `${LIB}\n${body}`;
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

interface Evaluator {
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  eval(lua: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Runs a script by its SHA, sending the source once when Redis does not know it (after a restart). */
export async function run(client: RedisClient, s: Script, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  const redis = client as unknown as Evaluator;
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(s.lua, keys.length, ...keys, ...args);
  }
}
