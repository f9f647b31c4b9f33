"""The Lua scripts of RedisStore: each store operation is one script, so Redis runs it whole,
without another client's command in between.

Conventions every script keeps:
- ARGV[1] is the key base (`{prefix}:`): every key a script touches starts with it, so all of
  them hash to one Redis Cluster slot. KEYS[1] is the ledger key, declared for routing.
- A script checks everything before its first write of the operation itself, because Redis does
  not undo a script's earlier writes when it fails midway. The only writes before the checks
  are reclaims of expired holds, each complete on its own.
- Every writing script is idempotent: `count` by its operation key (a re-sent copy finds the
  operation and answers "counted"), `settle` by the operation's status, admin scripts by a
  one-use token whose reply is kept for a day. The client can therefore re-send any script
  after a timeout without counting twice.
- Times arrive as strings of microseconds since the epoch: Lua turns numbers into strings with
  14 significant digits, which would round a 16-digit time. Counts and limits stay within
  2**31-1 (the library's cap), far inside the 2**53 that Lua numbers hold exactly.
"""

from __future__ import annotations

PRELUDE = r"""
local B = ARGV[1]
local NULL = cjson.null

local function opt(value)
  if value == false or value == nil then return NULL end
  return value
end

local function append(at, event, info, deltas)
  local entry
  if info then
    entry = {at, event, info[1], info[2], info[3], info[4], info[5], info[6], deltas}
  else
    entry = {at, event, NULL, NULL, NULL, NULL, 0, NULL, deltas}
  end
  redis.call('RPUSH', B .. 'ledger', cjson.encode(entry))
end

local function load_op(id)
  local o = redis.call('HMGET', B .. 'o:' .. id, 's', 'e', 'q', 'k', 'u', 'p', 'c', 'i')
  if not o[1] then return nil end
  local quantity = tonumber(o[3])
  return {
    status = o[1], expires = o[2], quantity = quantity, keys = cjson.decode(o[4]),
    user = o[5], promotion = o[6], code = o[7],
    info = {id, o[5], o[6], opt(o[7]), quantity, opt(o[8])},
  }
end

local function expire(id, op, at)
  local q = op.quantity
  local deltas = {}
  for i, key in ipairs(op.keys) do
    redis.call('HINCRBY', B .. 'c:' .. key, 'r', -q)
    redis.call('ZREM', B .. 'h:' .. key, id)
    deltas[i] = {key, 0, -q, 0}
  end
  redis.call('HSET', B .. 'o:' .. id, 's', 'expired')
  append(at, 'expire', op.info, deltas)
end

local function reclaim(key, at_us, at)
  local ids = redis.call('ZRANGEBYSCORE', B .. 'h:' .. key, '-inf', at_us)
  for _, id in ipairs(ids) do
    local op = load_op(id)
    if op and op.status == 'held' then
      expire(id, op, at)
    else
      redis.call('ZREM', B .. 'h:' .. key, id)
    end
  end
end

local function state(key)
  local v = redis.call('HMGET', B .. 'c:' .. key, 'u', 'r', 'x', 'l')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, v[4]
end

local function done(token)
  return redis.call('GET', B .. 'd:' .. token)
end

local function finish(token, reply)
  redis.call('SET', B .. 'd:' .. token, reply, 'EX', 86400)
  return reply
end
"""

# ARGV: base, re-sent ("1") or first try ("0"), id, idempotency key?, fingerprint, at, at_us,
# expires_us?, user, promotion, code?, quantity, result, promotion version?, the counter keys
# as JSON, the ledger line, then a counter key and its limit? per counter. An optional value
# (?) is "" when absent and "=" + the value when present.
COUNT = r"""
local function optional(value)
  if value == '' then return nil end
  return string.sub(value, 2)
end
local resent, id, idem, fp, at, at_us = ARGV[2], ARGV[3], optional(ARGV[4]), ARGV[5], ARGV[6],
  ARGV[7]
local expires, user, promotion, code = optional(ARGV[8]), ARGV[9], ARGV[10], optional(ARGV[11])
local q, result, version = tonumber(ARGV[12]), ARGV[13], optional(ARGV[14])
local keys_json, line = ARGV[15], ARGV[16]
if idem then
  local kept = redis.call('HMGET', B .. 'i:' .. idem, 'f', 'r')
  if kept[1] then
    if kept[1] ~= fp then return {'conflict'} end
    return {'replay', kept[2]}
  end
end
-- A re-sent script may follow a first copy that ran: the operation then exists.
if resent == '1' and redis.call('EXISTS', B .. 'o:' .. id) == 1 then return {'counted'} end
if version and redis.call('HGET', B .. 'versions', promotion) ~= version then
  return {'stale'}
end
local keys, limits, known = {}, {}, {}
for i = 17, #ARGV, 2 do
  local n = #keys + 1
  local key, limit = ARGV[i], optional(ARGV[i + 1])
  keys[n] = key
  if limit then
    limit = tonumber(limit)
    limits[n] = limit
    local v = redis.call('HMGET', B .. 'c:' .. key, 'u', 'r', 'x', 'l')
    local u, rs, x = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
    if u + rs + q > limit + x then
      reclaim(key, at_us, at)
      u, rs, x = state(key)
      if u + rs + q > limit + x then
        return {'refused', n, u, rs, x}
      end
    end
    known[n] = tonumber(v[4])
  end
end
local held = expires ~= nil
local field = held and 'r' or 'u'
for n, key in ipairs(keys) do
  local hash = B .. 'c:' .. key
  if redis.call('HINCRBY', hash, field, q) == q then
    redis.call('ZADD', B .. 'keys', 0, key)
  end
  local limit = limits[n]
  if limit == nil then
    redis.call('HDEL', hash, 'l')
  elseif known[n] ~= limit then
    redis.call('HSET', hash, 'l', limit)
  end
  if held then redis.call('ZADD', B .. 'h:' .. key, expires, id) end
end
local fields = {'s', held and 'held' or 'committed', 'q', q, 'k', keys_json, 'u', user,
  'p', promotion}
if held then fields[#fields + 1] = 'e'; fields[#fields + 1] = expires end
if code then fields[#fields + 1] = 'c'; fields[#fields + 1] = code end
if idem then
  fields[#fields + 1] = 'i'
  fields[#fields + 1] = idem
  redis.call('HSET', B .. 'i:' .. idem, 'f', fp, 'r', result)
end
redis.call('HSET', B .. 'o:' .. id, unpack(fields))
redis.call('RPUSH', B .. 'ledger', line)
return {'counted'}
"""

# ARGV: base, operation id, action, at_us, at
SETTLE = r"""
local id, action, at_us, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local op = load_op(id)
if not op then return {'unknown'} end
local status = op.status
if status == 'held' and tonumber(op.expires) <= tonumber(at_us) then
  expire(id, op, at)
  status = 'expired'
end
local new, q, deltas = status, op.quantity, {}
if action == 'commit' and status == 'held' then
  for i, key in ipairs(op.keys) do
    local hash = B .. 'c:' .. key
    redis.call('HINCRBY', hash, 'r', -q)
    redis.call('HINCRBY', hash, 'u', q)
    deltas[i] = {key, q, -q, 0}
  end
  new = 'committed'
elseif action == 'release' and status == 'held' then
  for i, key in ipairs(op.keys) do
    redis.call('HINCRBY', B .. 'c:' .. key, 'r', -q)
    deltas[i] = {key, 0, -q, 0}
  end
  new = 'released'
elseif action == 'cancel' and status == 'committed' then
  for i, key in ipairs(op.keys) do
    local hash = B .. 'c:' .. key
    -- A reset may already have given this use back: never go below zero.
    local taken = math.min(q, tonumber(redis.call('HGET', hash, 'u')) or 0)
    if taken > 0 then redis.call('HINCRBY', hash, 'u', -taken) end  -- Redis refuses '-0'
    deltas[i] = {key, -taken, 0, 0}
  end
  new = 'cancelled'
end
if new ~= status then
  redis.call('HSET', B .. 'o:' .. id, 's', new)
  for _, key in ipairs(op.keys) do redis.call('ZREM', B .. 'h:' .. key, id) end
  append(at, action, op.info, deltas)
end
return {new, q, op.user, op.promotion, op.code}
"""

# ARGV: base, counter key, at_us, at
COUNTER = r"""
local key = ARGV[2]
reclaim(key, ARGV[3], ARGV[4])
local u, r, x, l = state(key)
return {u, r, x, l}
"""

# ARGV: base, token, counter key, limit, available, at_us, at
ADJUST = r"""
local token, key, limit, available = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local kept = done(token)
if kept then return kept end
reclaim(key, ARGV[6], ARGV[7])
local u, r, x = state(key)
local extra = available - limit + u + r
redis.call('HSET', B .. 'c:' .. key, 'x', extra, 'l', limit)
redis.call('ZADD', B .. 'keys', 0, key)
append(ARGV[7], 'adjust', nil, {{key, 0, 0, extra - x}})
return finish(token, cjson.encode({u, r, extra, limit}))
"""

# ARGV: base, token, counter key, limit, change, at_us, at
ADD_EXTRA = r"""
local token, key, limit, change = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local kept = done(token)
if kept then return kept end
reclaim(key, ARGV[6], ARGV[7])
local u, r, x = state(key)
if limit + x + change - u - r < 0 then return finish(token, 'null') end
redis.call('HINCRBY', B .. 'c:' .. key, 'x', change)
redis.call('HSET', B .. 'c:' .. key, 'l', limit)
redis.call('ZADD', B .. 'keys', 0, key)
append(ARGV[7], 'adjust', nil, {{key, 0, 0, change}})
return finish(token, cjson.encode({u, r, x + change, limit}))
"""

# ARGV: base, token, key prefix, at. Keys are UTF-8 text, which never holds the byte 0xFF.
RESET = r"""
local token, prefix, at = ARGV[2], ARGV[3], ARGV[4]
local kept = done(token)
if kept then return kept end
local keys = redis.call('ZRANGEBYLEX', B .. 'keys', '[' .. prefix, '(' .. prefix .. '\255')
local deltas, n = {}, 0
for _, key in ipairs(keys) do
  if string.sub(key, 1, #prefix) == prefix then
    local u, r, x = state(key)
    if u ~= 0 or x ~= 0 then
      redis.call('HSET', B .. 'c:' .. key, 'u', 0, 'x', 0)
      n = n + 1
      deltas[n] = {key, -u, 0, -x}
    end
  end
end
if n > 0 then append(at, 'reset', nil, deltas) end
return finish(token, tostring(n))
"""

# ARGV: base, ref, document, version
PUT_PROMOTION = r"""
redis.call('HSET', B .. 'promotions', ARGV[2], ARGV[3])
redis.call('HSET', B .. 'versions', ARGV[2], ARGV[4])
return 1
"""

# ARGV: base, idempotency key, fingerprint, result
REMEMBER = r"""
local hash = B .. 'i:' .. ARGV[2]
local kept = redis.call('HMGET', hash, 'f', 'r')
if kept[1] then
  if kept[1] ~= ARGV[3] then return {'conflict'} end
  return {'kept', kept[2]}
end
redis.call('HSET', hash, 'f', ARGV[3], 'r', ARGV[4])
return {'kept', ARGV[4]}
"""

# ARGV: base, token, promotion ref, code...
ADD_CODES = r"""
local token, ref = ARGV[2], ARGV[3]
local kept = done(token)
if kept then return kept end
local taken = {}
for i = 4, #ARGV do
  local code = ARGV[i]
  if redis.call('HSETNX', B .. 'codes', code, ref) == 1 then
    redis.call('SADD', B .. 'pc:' .. ref, code)
  else
    taken[#taken + 1] = code
  end
end
return finish(token, cjson.encode({taken}))
"""

# ARGV: base. Every counter, read at one moment.
COUNTERS = r"""
local out = {}
for _, key in ipairs(redis.call('ZRANGE', B .. 'keys', 0, -1)) do
  local u, r, x, l = state(key)
  out[#out + 1] = key
  out[#out + 1] = u
  out[#out + 1] = r
  out[#out + 1] = x
  out[#out + 1] = l
end
return out
"""
