// The Lua functions every Octoway script starts with (scripts.ts prepends them): held messages
// (hold, fetch, prune), presence leases (lease, sockets) and in-flight records (fly, promote, reap).
// Each works on the Redis keys of one routing key, which share a hash tag and so one Cluster slot.
// Wildcard keys add two prefix-wide keys, on a single server only (a Cluster script cannot reach
// them): <prefix>patterns, the SET of pattern keys with sockets somewhere, and <prefix>held, a ZSET
// (all scores 0, so ordered by name) of the seq names of keys with held messages, kept only while
// a pattern exists, which a pattern socket reads by its literal prefix (ZRANGEBYLEX).
import { LUA_ENVELOPE } from './bus-envelope.js';

export const LIB = `${LUA_ENVELOPE}
local function int(n) return string.format('%.0f', n) end
-- The key prefix when the script may use the prefix-wide keys ('' or nil under Cluster: never).
local pfx = nil
local function usePrefix(p) if p ~= nil and p ~= '' then pfx = p end end
-- Called for each message held: indexed only while some pattern socket exists (a gateway without
-- them pays one SCARD); a pattern's first sockets scan for what was held before (held:partial).
local function indexHeld(seq)
  if pfx and redis.call('SCARD', pfx .. 'patterns') > 0 then redis.call('ZADD', pfx .. 'held', 0, seq) end
end
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
local function hold(seq, exp, msg, id, created, expires, frame, now, max, at)
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
    -- A message recovered from a dead node (\`at\`) keeps the order it was published in.
    local order = at
    if order == nil then
      local now_us = redis.call('TIME')
      order = tonumber(now_us[1]) * 1000000 + tonumber(now_us[2])
      local last = redis.call('ZRANGE', seq, -1, -1, 'WITHSCORES')[2]
      if last ~= nil and tonumber(last) >= order then order = tonumber(last) + 1 end
    end
    redis.call('ZADD', seq, int(order), id)
    indexHeld(seq)
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
  if #entries == 0 then
    if pfx then redis.call('ZREM', pfx .. 'held', seq) end
    return out
  end
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
  if pfx and (remove or #out == 0) then redis.call('ZREM', pfx .. 'held', seq) end
  return out
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Single server only: removes from the pattern registry those of \`patterns\` no node leases after
-- \`t\` (ms); a removal moves the registry's version, and with no pattern left the held-key index
-- goes too. Returns how many were removed.
local function dropUnleased(p, patterns, t)
  local removed = 0
  for _, pattern in ipairs(patterns) do
    if redis.call('ZCOUNT', p .. '{' .. pattern .. '}:nodes', '(' .. int(t), '+inf') == 0 then
      removed = removed + redis.call('SREM', p .. 'patterns', pattern)
    end
  end
  if removed > 0 then
    redis.call('INCR', p .. 'patterns:v')
    if redis.call('SCARD', p .. 'patterns') == 0 then redis.call('DEL', p .. 'held', p .. 'held:partial') end
  end
  return removed
end
-- Sets a key's time to live to at least \`ttl\` ms, never shortening it; \`also\`, a key kept with
-- the same time to live (a key's socks with its nodes: both gain and lose members together), follows.
local function extend(key, ttl, also)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, int(ttl))
    if also then redis.call('PEXPIRE', also, int(ttl)) end
  end
end
-- The five keys of routing key number \`i\` (1-based, 5 per key in KEYS).
local function names(i)
  return { seq = KEYS[i], exp = KEYS[i + 1], msg = KEYS[i + 2], nodes = KEYS[i + 3], socks = KEYS[i + 4] }
end
-- In-flight records: <prefix>{K}:fly:<node>, HASH id -> "order:createdAt:expiresAt:index:sent\\nheader\\nframe",
-- a message sent on the bus to that node's sockets of K and not yet confirmed written; \`sent\` lists
-- (comma-separated) every node it was sent to for K. Built from the key's own names (nodes minus its
-- suffix), so it shares their hash tag and slot.
local function flyKey(k, node) return string.sub(k.nodes, 1, -6) .. 'fly:' .. node end
local function sockets(k)
  local alive = redis.call('ZRANGE', k.nodes, 0, -1)
  local sum, targets = 0, {}
  if #alive == 0 then return sum, targets end
  for i, c in ipairs(redis.call('HMGET', k.socks, unpack(alive))) do
    if c and tonumber(c) > 0 then
      sum = sum + tonumber(c)
      targets[#targets + 1] = alive[i]
    end
  end
  return sum, targets
end
-- Records the message as in flight to each of \`targets\` until that node confirms it, and keeps the
-- presence keys (which name the node, so a later prune finds its records) for as long as it lives.
-- \`head\`: "order:createdAt:expiresAt:index:", \`sent\`: the nodes it went to, \`rest\`: "header\\nframe".
local function fly(k, targets, id, head, sent, rest, ttl)
  ttl = math.max(1, ttl)
  local entry = head .. table.concat(sent, ',') .. '\\n' .. rest
  for _, node in ipairs(targets) do
    local f = flyKey(k, node)
    redis.call('HSET', f, id, entry)
    extend(f, ttl)
  end
  extend(k.nodes, ttl, k.socks)
end
-- The unconfirmed entries of \`owners\` (nodes that died or left the key) are taken, each message once,
-- oldest first. A node that already had it when it was sent wrote it then to the sockets it had (or it
-- is in flight to them): so it is re-published on the bus only to the nodes of \`targets\` (those with
-- sockets of the key now) that did not get it, in flight to them in turn, and held for the key when
-- there are none, for the next socket that connects. \`again\`: a node to send it to even if it had it
-- (one that resyncs, having maybe missed it). Returns the count dropped for the bound.
local function promote(k, owners, targets, now, max, channel, again)
  local entries, seen = {}, {}
  for _, owner in ipairs(owners) do
    local f = flyKey(k, owner)
    local raw = redis.call('HGETALL', f)
    if #raw > 0 then redis.call('DEL', f) end
    for i = 1, #raw, 2 do
      local id, v = raw[i], raw[i + 1]
      if not seen[id] then
        seen[id] = true
        local a = string.find(v, ':', 1, true)
        local b = string.find(v, ':', a + 1, true)
        local c = string.find(v, ':', b + 1, true)
        local d = string.find(v, ':', c + 1, true)
        local n1 = string.find(v, '\\n', d + 1, true)
        local n2 = string.find(v, '\\n', n1 + 1, true)
        local sent = {}
        for node in string.gmatch(string.sub(v, d + 1, n1 - 1), '[^,]+') do
          if node ~= again then sent[node] = true end
        end
        entries[#entries + 1] = { id = id, order = tonumber(string.sub(v, 1, a - 1)), head = string.sub(v, 1, d),
          created = string.sub(v, a + 1, b - 1), expires = string.sub(v, b + 1, c - 1), sent = sent,
          index = string.sub(v, c + 1, d - 1), header = string.sub(v, n1 + 1, n2 - 1), rest = string.sub(v, n1 + 1),
          frame = string.sub(v, n2 + 1) }
      end
    end
  end
  table.sort(entries, function(x, y) return x.order < y.order or (x.order == y.order and x.id < y.id) end)
  local dropped = 0
  for _, e in ipairs(entries) do
    local ttl = tonumber(e.expires) - tonumber(now)
    if ttl > 0 then
      local fresh, all = {}, {}
      for node in pairs(e.sent) do all[#all + 1] = node end
      for _, node in ipairs(targets) do
        if not e.sent[node] then
          fresh[#fresh + 1] = node
          all[#all + 1] = node
        end
      end
      if #fresh > 0 then
        fly(k, fresh, e.id, e.head, all, e.rest, ttl)
        -- Addressed: the nodes that had it wrote it then, and must not write it again.
        redis.call('PUBLISH', channel, busPublish(fresh, e.index, e.header, e.frame))
      else
        dropped = dropped + hold(k.seq, k.exp, k.msg, e.id, e.created, e.expires, e.frame, now, max, e.order)
      end
    end
  end
  return dropped
end
-- Prunes the nodes whose lease ran out from the key's presence and promotes what was in flight to them.
-- Returns the count dropped for the bound.
local function reap(k, t, now, max, channel)
  local dead = redis.call('ZRANGEBYSCORE', k.nodes, '-inf', int(t))
  if #dead == 0 then return 0 end
  chunked('ZREM', k.nodes, dead)
  chunked('HDEL', k.socks, dead)
  local owners = {}
  for _, node in ipairs(dead) do
    if redis.call('EXISTS', flyKey(k, node)) == 1 then owners[#owners + 1] = node end
  end
  if #owners == 0 then return 0 end
  local _, targets = sockets(k)
  return promote(k, owners, targets, now, max, channel)
end
-- Stream positions and history (delivery/history.ts), for the stream whose names start with \`base\`
-- ('<prefix>{K}:'): the next seq of its counter \`pos\` and an entry in its capped list \`hist\`
-- ("head#seq" .. tail .. frame), both expiring \`ttl\` ms after this message. A counter that does not
-- exist (a new stream, or one silent for WS_HISTORY_TTL) starts at Redis's clock in microseconds:
-- a restarted stream's positions are above any of its earlier ones, so a client's old position is
-- told apart (a gap) rather than mistaken for one of the new stream's. Returns the seq, as text.
local function position(base, size, ttl, head, tail, frame)
  local pos = base .. 'pos'
  if redis.call('EXISTS', pos) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', pos, int(tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  local seq = int(redis.call('INCR', pos))
  redis.call('PEXPIRE', pos, ttl)
  local hist = base .. 'hist'
  redis.call('RPUSH', hist, head .. '#' .. seq .. tail .. frame)
  redis.call('LTRIM', hist, -size, -1)
  redis.call('PEXPIRE', hist, ttl)
  return seq
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
  -- Never shortened: an in-flight record may need the presence keys longer than any lease (see fly).
  local left = math.max(1, tonumber(latest) - t)
  extend(nodes, left, socks)
end
`;
