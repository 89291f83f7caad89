// The Lua Octoway runs inside Redis. Each script works on the keys of one routing key, or of several
// when they share a server (never across Cluster slots), and runs atomically there.
// Held-message expiry (createdAt, expiresAt, `now`) uses the nodes' clocks; delivery order and
// presence leases use Redis's own (TIME), so nodes whose clocks differ still agree on both.
import { createHash } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connect.js';

export interface Script {
  readonly lua: string;
  readonly sha: string;
}

const LIB = `
local function int(n) return string.format('%.0f', n) end
local function chunked(cmd, key, list)
  for i = 1, #list, 500 do redis.call(cmd, key, unpack(list, i, math.min(i + 499, #list))) end
end
local function prune(seq, exp, msg, now)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', now)
  if #gone == 0 then return end
  chunked('ZREM', seq, gone)
  chunked('HDEL', msg, gone)
  redis.call('ZREMRANGEBYSCORE', exp, '-inf', now)
end
local function hold(seq, exp, msg, id, created, expires, frame, now, max)
  if tonumber(expires) <= tonumber(now) then return 0 end
  prune(seq, exp, msg, now)
  local dropped = 0
  if not redis.call('ZSCORE', seq, id) then
    local n = redis.call('ZCARD', seq)
    while n >= max do
      local oldest = redis.call('ZPOPMIN', seq)
      redis.call('ZREM', exp, oldest[1])
      redis.call('HDEL', msg, oldest[1])
      n = n - 1
      dropped = dropped + 1
    end
    -- Redis's clock in microseconds, made strictly increasing per key: publish order within a key,
    -- and hold order across the keys of one server, so several keys' messages merge on this number.
    local now_us = redis.call('TIME')
    local order = tonumber(now_us[1]) * 1000000 + tonumber(now_us[2])
    local last = redis.call('ZRANGE', seq, -1, -1, 'WITHSCORES')[2]
    if last ~= nil and tonumber(last) >= order then order = tonumber(last) + 1 end
    redis.call('ZADD', seq, int(order), id)
  end
  redis.call('ZADD', exp, expires, id)
  redis.call('HSET', msg, id, created .. ':' .. expires .. ':' .. frame)
  -- Redis reclaims the key by itself once its last message expires, with no node alive.
  local latest = redis.call('ZRANGE', exp, -1, -1, 'WITHSCORES')[2]
  local ttl = int(math.max(1, tonumber(latest) - tonumber(now)))
  redis.call('PEXPIRE', seq, ttl)
  redis.call('PEXPIRE', exp, ttl)
  redis.call('PEXPIRE', msg, ttl)
  return dropped
end
local function fetch(seq, exp, msg, now, remove)
  prune(seq, exp, msg, now)
  local entries = redis.call('ZRANGE', seq, 0, -1, 'WITHSCORES')
  local out = {}
  if #entries == 0 then return out end
  local ids = {}
  for i = 1, #entries, 2 do ids[#ids + 1] = entries[i] end
  for i = 1, #ids, 500 do
    local values = redis.call('HMGET', msg, unpack(ids, i, math.min(i + 499, #ids)))
    for j, v in ipairs(values) do
      if v then
        local e = i + j - 1
        out[#out + 1] = ids[e]
        out[#out + 1] = entries[2 * e]
        out[#out + 1] = v
      end
    end
  end
  if remove then redis.call('DEL', seq, exp, msg) end
  return out
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function live(nodes, socks, t)
  local dead = redis.call('ZRANGEBYSCORE', nodes, '-inf', int(t))
  if #dead > 0 then
    chunked('ZREM', nodes, dead)
    chunked('HDEL', socks, dead)
  end
  local alive = redis.call('ZRANGE', nodes, 0, -1)
  local sum = 0
  if #alive == 0 then return sum end
  for _, c in ipairs(redis.call('HMGET', socks, unpack(alive))) do
    if c then sum = sum + tonumber(c) end
  end
  return sum
end
local function lease(nodes, socks, node, count, t, ttl)
  if count > 0 then
    redis.call('ZADD', nodes, int(t + ttl), node)
    redis.call('HSET', socks, node, int(count))
  else
    redis.call('ZREM', nodes, node)
    redis.call('HDEL', socks, node)
  end
  local latest = redis.call('ZRANGE', nodes, -1, -1, 'WITHSCORES')[2]
  if latest == nil then return end
  local left = int(math.max(1, tonumber(latest) - t))
  redis.call('PEXPIRE', nodes, left)
  redis.call('PEXPIRE', socks, left)
end
`;

/** KEYS: seq, exp, msg per key. ARGV: id, createdAt, expiresAt, frame, now, maxPerKey. Returns the count dropped. */
export const HOLD = script(`
local dropped = 0
for i = 1, #KEYS, 3 do
  dropped = dropped + hold(KEYS[i], KEYS[i + 1], KEYS[i + 2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))
end
return dropped`);

/** KEYS: seq, exp, msg per key. ARGV: now, remove (1/0). Returns per key a flat [id, order, value, …]. */
export const FETCH = script(`
local out = {}
for i = 1, #KEYS, 3 do out[#out + 1] = fetch(KEYS[i], KEYS[i + 1], KEYS[i + 2], ARGV[1], ARGV[2] == '1') end
return out`);

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

/** Deliver-or-hold, atomic with presence. KEYS: seq, exp, msg, nodes, socks per key.
 * ARGV: id, createdAt, expiresAt (0: never hold), frame, now, maxPerKey, atLeastOnce (1/0),
 * channel ('' : do not publish), header, index of the first key in the message.
 * Holds the message for keys with no live socket (for every key in at-least-once) and publishes
 * it once on the channel, naming the keys that have live sockets, as "i,j|header\\nframe".
 * Returns {sockets, keys held, dropped for the bound, "i,j"}. */
export const PUBLISH = script(`
local t = clock()
local delivered, held, dropped, present = 0, 0, 0, {}
for i = 1, #KEYS, 5 do
  local n = live(KEYS[i + 3], KEYS[i + 4], t)
  delivered = delivered + n
  if n > 0 then present[#present + 1] = tonumber(ARGV[10]) + (i - 1) / 5 end
  if ARGV[3] ~= '0' and (n == 0 or ARGV[7] == '1') then
    dropped = dropped + hold(KEYS[i], KEYS[i + 1], KEYS[i + 2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))
    held = held + 1
  end
end
local indexes = table.concat(present, ',')
if ARGV[8] ~= '' and #present > 0 then redis.call('PUBLISH', ARGV[8], indexes .. '|' .. ARGV[9] .. '\\n' .. ARGV[4]) end
return {delivered, held, dropped, indexes}`);

/** A socket opens. KEYS: seq, exp, msg, nodes, socks per key. ARGV: node, ttl, now, remove (1/0),
 * then this node's socket count per key. Sets the counts and leases, then fetches held messages. */
export const JOIN = script(`
local t = clock()
local out = {}
for i = 1, #KEYS, 5 do
  lease(KEYS[i + 3], KEYS[i + 4], ARGV[1], tonumber(ARGV[5 + (i - 1) / 5]), t, tonumber(ARGV[2]))
  out[#out + 1] = fetch(KEYS[i], KEYS[i + 1], KEYS[i + 2], ARGV[3], ARGV[4] == '1')
end
return out`);

/** Heartbeat and close. KEYS: nodes, socks per key. ARGV: node, ttl, then the count per key (0 leaves). */
export const LEASE = script(`
local t = clock()
for i = 1, #KEYS, 2 do lease(KEYS[i], KEYS[i + 1], ARGV[1], tonumber(ARGV[3 + (i - 1) / 2]), t, tonumber(ARGV[2])) end
return 0`);

/** KEYS: any key, only to choose the Cluster node. ARGV: channel, message. */
export const BUS = script(`return redis.call('PUBLISH', ARGV[1], ARGV[2])`);

const ALL = [HOLD, FETCH, ACK, CLEAR, PUBLISH, JOIN, LEASE, BUS];

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
