"""The Lua scripts of RedisStore: each store operation is one script, so Redis runs it whole,
without another client's command in between.

Conventions every script keeps:
- ARGV[1] is the key base (`{prefix}:`): every key a script touches starts with it, so all of
  them hash to one Redis Cluster slot. KEYS[1] is the ledger key, declared for routing.
- A script checks everything before its first write of the operation itself, because Redis does
  not undo a script's earlier writes when it fails midway. The only writes before the checks
  are reclaims of expired holds, each complete on its own.
- Every writing script is idempotent: `count` by its operation key and a nonce drawn per
  call (a re-sent copy finds the operation with its own nonce and answers "counted"; another
  call's operation under the same id is a collision, never a replay), `settle` by the
  operation's status, admin scripts by a one-use token whose reply is kept for a day. The
  client can therefore re-send any script after a timeout without counting twice.
- Moments arrive as stamps: 18-digit, zero-padded strings of microseconds since
  0001-01-01T00:00Z, compared as strings. Lua numbers are doubles, exact only up to 2**53
  microseconds (about year 2255 counted from 1970), and print with 14 significant digits.
  Holds are sorted-set members `stamp:operation id` of score 0, found by lexical range.
- Counts and limits stay within 2**31-1 (the library's cap), far inside the 2**53 that Lua
  numbers hold exactly.
- A reset moves each counter's epoch `e` on; an operation keeps the epochs it was counted in
  (`ep`, JSON; absent when all were 0) and settling changes only counters still in them.
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
  local o = redis.call('HMGET', B .. 'o:' .. id, 's', 'e', 'q', 'k', 'u', 'p', 'c', 'i', 'ep')
  if not o[1] then return nil end
  local quantity = tonumber(o[3])
  local keys = cjson.decode(o[4])
  local epochs = {}
  if o[9] then
    epochs = cjson.decode(o[9])
  else
    for i = 1, #keys do epochs[i] = 0 end
  end
  return {
    status = o[1], expires = o[2], quantity = quantity, keys = keys, epochs = epochs,
    user = o[5], promotion = o[6], code = o[7],
    info = {id, o[5], o[6], opt(o[7]), quantity, opt(o[8])},
  }
end

-- Add used and reserved to each of the operation's counters still in the epoch it was
-- counted in; the ledger deltas (zeros where a reset has forgiven the operation).
local function change(op, used, reserved)
  local deltas = {}
  for i, key in ipairs(op.keys) do
    local hash = B .. 'c:' .. key
    if (tonumber(redis.call('HGET', hash, 'e')) or 0) == op.epochs[i] then
      if used ~= 0 then redis.call('HINCRBY', hash, 'u', used) end
      if reserved ~= 0 then redis.call('HINCRBY', hash, 'r', reserved) end
      deltas[i] = {key, used, reserved, 0}
    else
      deltas[i] = {key, 0, 0, 0}
    end
  end
  return deltas
end

local function drop_holds(id, op)
  if op.expires then
    for _, key in ipairs(op.keys) do
      redis.call('ZREM', B .. 'h:' .. key, op.expires .. ':' .. id)
    end
  end
end

local function expire(id, op, at)
  local deltas = change(op, 0, -op.quantity)
  drop_holds(id, op)
  redis.call('HSET', B .. 'o:' .. id, 's', 'expired')
  append(at, 'expire', op.info, deltas)
end

-- Hold members are 'stamp:id'; ';' sorts right after ':', so the range ends after every hold
-- that expires at or before the stamp.
local function reclaim(key, at_stamp, at)
  local holds = redis.call('ZRANGEBYLEX', B .. 'h:' .. key, '-', '(' .. at_stamp .. ';')
  for _, member in ipairs(holds) do
    local id = string.sub(member, 20)
    local op = load_op(id)
    if op and op.status == 'held' then
      expire(id, op, at)
    else
      redis.call('ZREM', B .. 'h:' .. key, member)
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

# ARGV: base, nonce, id, idempotency key?, fingerprint, at, at_stamp, expires_stamp?, user,
# promotion, code?, quantity, result, promotion version?, absent ok ("1"/"0") followed by the
# ref of the document that version is of (none: the promotion's), the counter keys
# as JSON, the ledger line, how many requirements, a key and the uses it needs per
# requirement, then a counter key and its limit? per counter. An optional value
# (?) is "" when absent and "=" + the value when present.
COUNT = r"""
local function optional(value)
  if value == '' then return nil end
  return string.sub(value, 2)
end
local nonce, id, idem, fp, at, at_stamp = ARGV[2], ARGV[3], optional(ARGV[4]), ARGV[5],
  ARGV[6], ARGV[7]
local expires, user, promotion, code = optional(ARGV[8]), ARGV[9], ARGV[10], optional(ARGV[11])
local q, result, version = tonumber(ARGV[12]), ARGV[13], optional(ARGV[14])
local absent_ok, versioned = string.sub(ARGV[15], 1, 1) == '1', string.sub(ARGV[15], 2)
if versioned == '' then versioned = promotion end
local keys_json, line = ARGV[16], ARGV[17]
if idem then
  local kept = redis.call('HMGET', B .. 'i:' .. idem, 'f', 'r')
  if kept[1] then
    if kept[1] ~= fp then return {'conflict'} end
    return {'replay', kept[2]}
  end
end
-- A re-sent script may follow a first copy that ran: the operation then exists, with this
-- call's nonce. Any other operation under the id is a collision.
local found = redis.call('HGET', B .. 'o:' .. id, 'n')
if found == nonce then return {'counted'} end
if found or redis.call('EXISTS', B .. 'o:' .. id) == 1 then return {'collision'} end
if version then
  local kept = redis.call('HGET', B .. 'versions', versioned)
  if kept ~= version and not (kept == false and absent_ok) then return {'stale'} end
end
if code and redis.call('HGET', B .. 'codes', code) ~= promotion then return {'stale'} end
local required = tonumber(ARGV[18])
for i = 19, 18 + 2 * required, 2 do
  local u, rs, x = state(ARGV[i])
  if u < tonumber(ARGV[i + 1]) then return {'unmet', (i - 17) / 2, u, rs, x} end
end
local keys, limits, known, epochs, moved = {}, {}, {}, {}, false
for i = 19 + 2 * required, #ARGV, 2 do
  local n = #keys + 1
  local key, limit = ARGV[i], optional(ARGV[i + 1])
  keys[n] = key
  if limit then
    limit = tonumber(limit)
    limits[n] = limit
    local v = redis.call('HMGET', B .. 'c:' .. key, 'u', 'r', 'x', 'l', 'e')
    local u, rs, x = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
    if u + rs + q > limit + x then
      reclaim(key, at_stamp, at)
      u, rs, x = state(key)
      if u + rs + q > limit + x then
        return {'refused', n, u, rs, x}
      end
    end
    known[n] = tonumber(v[4])
    epochs[n] = tonumber(v[5]) or 0
  else
    epochs[n] = tonumber(redis.call('HGET', B .. 'c:' .. key, 'e')) or 0
  end
  if epochs[n] ~= 0 then moved = true end
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
  if held then redis.call('ZADD', B .. 'h:' .. key, 0, expires .. ':' .. id) end
end
local fields = {'s', held and 'held' or 'committed', 'q', q, 'k', keys_json, 'u', user,
  'p', promotion, 'n', nonce}
if held then fields[#fields + 1] = 'e'; fields[#fields + 1] = expires end
if code then fields[#fields + 1] = 'c'; fields[#fields + 1] = code end
if moved then fields[#fields + 1] = 'ep'; fields[#fields + 1] = cjson.encode(epochs) end
if idem then
  fields[#fields + 1] = 'i'
  fields[#fields + 1] = idem
  redis.call('HSET', B .. 'i:' .. idem, 'f', fp, 'r', result)
end
redis.call('HSET', B .. 'o:' .. id, unpack(fields))
redis.call('RPUSH', B .. 'ledger', line)
return {'counted'}
"""

# ARGV: base, operation id, action, at_stamp, at
SETTLE = r"""
local id, action, at_stamp, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local op = load_op(id)
if not op then return {'unknown'} end
local status = op.status
if status == 'held' and op.expires <= at_stamp then
  expire(id, op, at)
  status = 'expired'
end
local new, q, deltas = status, op.quantity, {}
if action == 'commit' and status == 'held' then
  deltas = change(op, q, -q)
  new = 'committed'
elseif action == 'release' and status == 'held' then
  deltas = change(op, 0, -q)
  new = 'released'
elseif action == 'cancel' and status == 'committed' then
  deltas = change(op, -q, 0)
  new = 'cancelled'
end
if new ~= status then
  redis.call('HSET', B .. 'o:' .. id, 's', new)
  drop_holds(id, op)
  append(at, action, op.info, deltas)
end
return {new, new ~= status and 1 or 0, q, op.user, op.promotion, op.code}
"""

# ARGV: base, counter key, at_stamp, at
COUNTER = r"""
local key = ARGV[2]
reclaim(key, ARGV[3], ARGV[4])
local u, r, x, l = state(key)
return {u, r, x, l}
"""

# ARGV: base, token, counter key, limit, available, at_stamp, at, the largest limit + extra
ADJUST = r"""
local token, key, limit, available = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local kept = done(token)
if kept then return kept end
reclaim(key, ARGV[6], ARGV[7])
local u, r, x = state(key)
local extra = available - limit + u + r
if limit + extra > tonumber(ARGV[8]) then return finish(token, 'null') end
redis.call('HSET', B .. 'c:' .. key, 'x', extra, 'l', limit)
redis.call('ZADD', B .. 'keys', 0, key)
append(ARGV[7], 'adjust', nil, {{key, 0, 0, extra - x}})
return finish(token, cjson.encode({u, r, extra, limit}))
"""

# ARGV: base, token, counter key, limit, change, at_stamp, at, the largest limit + extra
ADD_EXTRA = r"""
local token, key, limit, change = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local kept = done(token)
if kept then return kept end
reclaim(key, ARGV[6], ARGV[7])
local u, r, x = state(key)
local total = limit + x + change
if total - u - r < 0 or total > tonumber(ARGV[8]) then return finish(token, 'null') end
redis.call('HINCRBY', B .. 'c:' .. key, 'x', change)
redis.call('HSET', B .. 'c:' .. key, 'l', limit)
redis.call('ZADD', B .. 'keys', 0, key)
append(ARGV[7], 'adjust', nil, {{key, 0, 0, change}})
return finish(token, cjson.encode({u, r, x + change, limit}))
"""

# ARGV: base, token, key prefix, at, exact ("1": the key itself only). Keys are UTF-8 text,
# which never holds the byte 0xFF.
RESET = r"""
local token, prefix, at, exact = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
local kept = done(token)
if kept then return kept end
local keys = redis.call('ZRANGEBYLEX', B .. 'keys', '[' .. prefix, '(' .. prefix .. '\255')
local deltas, n = {}, 0
for _, key in ipairs(keys) do
  if (exact and key == prefix) or (not exact and string.sub(key, 1, #prefix) == prefix) then
    local u, r, x = state(key)
    if u ~= 0 or r ~= 0 or x ~= 0 then
      local hash = B .. 'c:' .. key
      redis.call('HSET', hash, 'u', 0, 'r', 0, 'x', 0)
      redis.call('HINCRBY', hash, 'e', 1)
      n = n + 1
      deltas[n] = {key, -u, -r, -x}
    end
  end
end
if n > 0 then append(at, 'reset', nil, deltas) end
return finish(token, tostring(n))
"""

# ARGV: base, then a ref, its document and its version per promotion
PUT_PROMOTIONS = r"""
for i = 2, #ARGV, 3 do
  redis.call('HSET', B .. 'promotions', ARGV[i], ARGV[i + 1])
  redis.call('HSET', B .. 'versions', ARGV[i], ARGV[i + 2])
  redis.call('ZADD', B .. 'refs', 0, ARGV[i])
end
return 1
"""

# ARGV: base, token, ref, expected version ("" for none, "=" + version), document, version
SWAP_PROMOTION = r"""
local token, ref, expected = ARGV[2], ARGV[3], ARGV[4]
local done_before = done(token)
if done_before then return done_before end
local kept = redis.call('HGET', B .. 'versions', ref)
if (expected == '' and kept) or (expected ~= '' and kept ~= string.sub(expected, 2)) then
  return finish(token, '0')
end
redis.call('HSET', B .. 'promotions', ref, ARGV[5])
redis.call('HSET', B .. 'versions', ref, ARGV[6])
redis.call('ZADD', B .. 'refs', 0, ref)
return finish(token, '1')
"""

# ARGV: base, token, ref, expected version, tombstone document, its version
RETIRE_PROMOTION = r"""
local token, ref = ARGV[2], ARGV[3]
local kept = done(token)
if kept then return kept end
if redis.call('HGET', B .. 'versions', ref) ~= ARGV[4] then return finish(token, '-1') end
redis.call('HSET', B .. 'promotions', ref, ARGV[5])
redis.call('HSET', B .. 'versions', ref, ARGV[6])
local codes = redis.call('SMEMBERS', B .. 'pc:' .. ref)
for _, code in ipairs(codes) do
  if redis.call('HGET', B .. 'codes', code) == ref then redis.call('HDEL', B .. 'codes', code) end
end
redis.call('DEL', B .. 'pc:' .. ref)
return finish(token, tostring(#codes))
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

# ARGV: base, token, then per promotion: its ref, how many codes, the codes. The reply lists
# the codes already taken, per promotion.
ADD_CODE_SETS = r"""
local token = ARGV[2]
local kept = done(token)
if kept then return kept end
local answers, i = {}, 3
while i <= #ARGV do
  local ref, count = ARGV[i], tonumber(ARGV[i + 1])
  local taken = {}
  for j = i + 2, i + 1 + count do
    local code = ARGV[j]
    if redis.call('HSETNX', B .. 'codes', code, ref) == 1 then
      redis.call('SADD', B .. 'pc:' .. ref, code)
    else
      taken[#taken + 1] = code
    end
  end
  answers[#answers + 1] = taken
  i = i + 2 + count
end
return finish(token, cjson.encode(answers))
"""

# ARGV: base, token, ref, codes...
REMOVE_CODES = r"""
local token, ref, removed = ARGV[2], ARGV[3], {}
local kept = done(token)
if kept then return cjson.decode(kept) end
for i = 4, #ARGV do
  local code = ARGV[i]
  if redis.call('HGET', B .. 'codes', code) == ref then
    redis.call('HDEL', B .. 'codes', code)
    redis.call('SREM', B .. 'pc:' .. ref, code)
    removed[#removed + 1] = code
  end
end
finish(token, cjson.encode(removed))
return removed
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

# ARGV: base, key prefix. The counters whose key starts with it, read at one moment.
COUNTERS_WITH_PREFIX = r"""
local prefix, out = ARGV[2], {}
local keys = redis.call('ZRANGEBYLEX', B .. 'keys', '[' .. prefix, '(' .. prefix .. '\255')
for _, key in ipairs(keys) do
  if string.sub(key, 1, #prefix) == prefix then
    local u, r, x, l = state(key)
    out[#out + 1] = key
    out[#out + 1] = u
    out[#out + 1] = r
    out[#out + 1] = x
    out[#out + 1] = l
  end
end
return out
"""

# ARGV: base. The whole ledger and every counter, read at one moment.
AUDIT = r"""
local counters = {}
for _, key in ipairs(redis.call('ZRANGE', B .. 'keys', 0, -1)) do
  local u, r, x, l = state(key)
  counters[#counters + 1] = key
  counters[#counters + 1] = u
  counters[#counters + 1] = r
  counters[#counters + 1] = x
  counters[#counters + 1] = l
end
return {redis.call('LRANGE', B .. 'ledger', 0, -1), counters}
"""

# ARGV: base, then per hold of a version 1 store: counter key, operation id, its stamp.
# Version 1 kept holds as members scored by expiry (a double) and expiries in microseconds
# since 1970; version 2 keeps stamps. Runs once, only while the store is still version 1.
MIGRATE_1 = r"""
if redis.call('GET', B .. 'schema') ~= '1' then return 0 end
for i = 2, #ARGV, 3 do
  local key, id, stamp = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZREM', B .. 'h:' .. key, id)
  redis.call('ZADD', B .. 'h:' .. key, 0, stamp .. ':' .. id)
  redis.call('HSET', B .. 'o:' .. id, 'e', stamp)
end
for _, ref in ipairs(redis.call('HKEYS', B .. 'promotions')) do
  redis.call('ZADD', B .. 'refs', 0, ref)
end
redis.call('SET', B .. 'schema', '2')
return 1
"""
