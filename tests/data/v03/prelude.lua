-- verikit — helpers shared by the Redis store's scripts (those whose descriptor says
-- prelude = true). The text of a script for EVAL is: its `#!lua` flags line, the outcome
-- constants (ISSUED, LOCKED, ... generated from verikit::Outcome), this file, the script; in
-- the function library (FCALL) this file and the constants come once, before every function.
-- Nothing here may read KEYS or ARGV: in the library they are each function's parameters.
-- The abuse-control rules mirror core/src/store/limits.cpp.
-- luacheck: ignore 211 (the helpers are used by the scripts that follow, not here)

-- Numbers: Redis hands every value over as a string; `s + 0` converts it (and fails on a
-- non-number, so foreign data is an error, never a value), at about a third of Redis's cost of
-- tonumber(s), which is measurable at one call per field per operation.
-- A number from a stored field (0 for an absent one). Anything but a finite number (foreign
-- data under verikit's keys: "nan" or "inf" would make a comparison never true) is an error,
-- never a value: the operation fails, nothing is answered from it.
-- (n - n is 0 for a finite n and NaN for NaN and both infinities: one subtraction, no lookups)
local function num(s)
  local n = (s or 0) + 0
  if n - n ~= 0 then error('verikit: a stored field is not a finite number') end
  return n
end
-- num() of three fields in one call (a Lua function call is measurable here too)
local function num3(a, b, c)
  a, b, c = (a or 0) + 0, (b or 0) + 0, (c or 0) + 0
  if a - a ~= 0 or b - b ~= 0 or c - c ~= 0 then error('verikit: a stored field is not a finite number') end
  return a, b, c
end
-- The same for a field a record must have: absent is an error too.
local function need(s)
  if not s then error('verikit: a record lacks a field') end
  return num(s)
end
-- The globals the scripts use, as locals. In the function library a global is looked up through
-- the library's globals table and its metatable on every use, and while the library loads none
-- of these exist (`redis` is then the load-time API, which has register_function but no call),
-- so bind_globals() binds them at run time: every function of the library calls it first (the
-- library's text puts the call there, for the functions without the prelude too: these locals
-- are the whole library's), and in EVAL, where this prelude runs with every call, now_ms() does,
-- which every script with the prelude calls first. Measured: 700 to 2,000 of Redis's
-- instructions per operation. A script that used one unbound would fail, never pass.
local function runtime_globals() return redis, math, string, unpack, cmsgpack, struct end
local redis, math, string, unpack, cmsgpack, struct = redis, nil, nil, nil, nil, nil  -- luacheck: ignore 231
local function bind_globals()
  if not math then redis, math, string, unpack, cmsgpack, struct = runtime_globals() end
end
local function now_ms()
  bind_globals()
  local t = redis.call('TIME')
  local us = t[2] + 0
  return t[1] * 1000 + (us - us % 1000) / 1000
end
-- live tokens and links of a group (expired ones are dropped when prune), and the oldest
local function live_tokens(key, now, prune)
  local n, oldest, oldest_id = 0, nil, nil
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local exp = need(cmsgpack.unpack(all[i + 1])[4])
    if exp > now then
      n = n + 1
      if not oldest or exp < oldest then oldest, oldest_id = exp, all[i] end
    elseif prune then
      redis.call('HDEL', key, all[i])
    end
  end
  return n, oldest, oldest_id
end
-- The group's state is one hash (key g): the OTP's fields (OTP_FIELDS; x: its expiry, ms) and
-- the abuse-control state (cd, tat, ft). Each field has its own deadline (x for the OTP, the
-- values of cd, tat and ft); a field past it counts as absent (0). The key lives at least until
-- the latest deadline of its live fields: a script that moves one later extends the key.
local OTP_FIELDS = {'h', 'a', 'f', 'p', 'x', 'c', 'ph', 'b'}
-- the rate state from HMGET values v[i], v[i + 1], v[i + 2] (cd, tat, ft)
local function rate_from(v, i)
  local cd, tat, ft = num3(v[i], v[i + 1], v[i + 2])
  return {cd = cd, tat = tat, ft = ft}
end
-- the latest deadline of the rate state and of an OTP live until otp_until (0: none)
local function deadline(r, otp_until)
  return math.max(otp_until, r.cd, r.tat, r.ft)
end
-- appends to `fields` the rate fields of r that differ from their old values cd, tat, ft
-- (name, value, ...)
local function rate_changes(fields, r, cd, tat, ft)
  if r.cd ~= cd then fields[#fields + 1] = 'cd'; fields[#fields + 1] = r.cd end
  if r.tat ~= tat then fields[#fields + 1] = 'tat'; fields[#fields + 1] = r.tat end
  if r.ft ~= ft then fields[#fields + 1] = 'ft'; fields[#fields + 1] = r.ft end
  return fields
end
-- the key lives until `after` when that is later than `before`, the deadline it had
local function extend(key, before, after)
  if after > before then redis.call('PEXPIREAT', key, after) end
end
-- removes the OTP from the group's hash; the whole key when no rate state is live (rate_until:
-- the latest deadline of the rate state, deadline(r, 0))
local function drop_otp(key, rate_until, now)
  if rate_until > now then
    redis.call('HDEL', key, unpack(OTP_FIELDS))
  else
    redis.call('DEL', key)
  end
end
local function gcra_take(tat, now, interval, burst)
  if interval <= 0 then return true, tat, 0 end
  local nxt = math.max(tat, now) + interval
  local over = nxt - now - interval * burst
  if over > 0 then return false, tat, over end
  return true, nxt, 0
end
-- ms until a GCRA limit allows one more event (0: now)
local function gcra_wait(tat, now, interval, burst)
  if interval <= 0 then return 0 end
  return math.max(0, tat - now - interval * (burst - 1))
end
-- the live token or link `id` of the t hash `key` with this kind and purpose tag ('': any), or
-- nil; an expired one is dropped
local function live_token(key, id, kind, purpose, now)
  local raw = redis.call('HGET', key, id)
  if not raw then return nil end
  local r = cmsgpack.unpack(raw)
  if need(r[4]) <= now then
    redis.call('HDEL', key, id)
    return nil
  end
  if r[1] ~= kind or (purpose ~= '' and r[2] ~= purpose) then return nil end
  return r
end
-- uses token record r of the t hash tkey: a one-time one is deleted; a revoke-group one takes the
-- group's OTP (from the g hash gkey) and every token and link with it
local function use_token(tkey, gkey, r, id)
  local flags = need(r[3])
  if flags % 4 >= 2 then
    redis.call('DEL', tkey)
    redis.call('HDEL', gkey, unpack(OTP_FIELDS))
  elseif flags % 2 == 1 then
    redis.call('HDEL', tkey, id)
  end
end
-- a wrong guess counted in the identifier's failure budget (GCRA interval fi ms; 0: off): the
-- field ft of the g hash gkey, whose value was ft; the key kept at least until the new value.
-- Returns the new value.
local function count_failure(gkey, ft, now, fi)
  if fi <= 0 then return ft end
  ft = math.max(ft, now) + fi
  redis.call('HSET', gkey, 'ft', ft)
  local ttl = redis.call('PTTL', gkey)  -- -1: no TTL (the key was made just now)
  if ttl < 0 or now + ttl < ft then redis.call('PEXPIREAT', gkey, ft) end
  return ft
end
-- the failure budgets of a verification: the identifier's (GCRA interval fi ms, burst fb; the
-- field ft of the g hash gkey) and, with a client tag, the (identifier, client key) pair's (pi,
-- pb; the p hash pkey)
local function load_budget(gkey, pkey, fi, fb, pi, pb, client)
  local b = {gkey = gkey, pkey = pkey, ft = num(redis.call('HGET', gkey, 'ft')), fi = fi + 0, fb = fb + 0,
             pi = pi + 0, pb = pb + 0, client = client, pair = 0}
  if client ~= '' then b.pair = num(redis.call('HGET', pkey, client)) end
  return b
end
-- ms until both budgets allow one more wrong guess (0: now)
local function budget_wait(b, now)
  local w = gcra_wait(b.ft, now, b.fi, b.fb)
  if b.client ~= '' then w = math.max(w, gcra_wait(b.pair, now, b.pi, b.pb)) end
  return w
end
-- a wrong guess counted in both budgets
local function budget_count(b, now)
  b.ft = count_failure(b.gkey, b.ft, now, b.fi)
  if b.client ~= '' and b.pi > 0 then
    b.pair = math.max(b.pair, now) + b.pi
    redis.call('HSET', b.pkey, b.client, b.pair)
    if redis.call('PTTL', b.pkey) < b.pair - now then redis.call('PEXPIRE', b.pkey, b.pair - now) end
  end
end
-- status (ISSUED, or LOCKED / COOLDOWN / RATE_LIMITED), retry ms, new send tat; g: the gate's six
-- numbers in a table made by one constructor, {g1, ..., g6} (redis_scripts.hpp VERIKIT_GATE_NUMBERS:
-- cooldown ms, send interval ms, send burst, lock blocks issue 1/0, failure-budget interval ms,
-- burst; a table grown by assignment instead is allocated four times)
local function check_gate(r, now, g)
  if g[4] == 1 then
    local wait = gcra_wait(r.ft, now, g[5], g[6])
    if wait > 0 then return LOCKED, wait, 0 end
  end
  if r.cd > now then return COOLDOWN, r.cd - now, 0 end
  local ok, tat, retry = gcra_take(r.tat, now, g[2], g[3])
  if not ok then return RATE_LIMITED, retry, 0 end
  return ISSUED, 0, tat
end
local function commit_gate(r, now, g, tat)
  r.tat = tat
  if g[1] > 0 then r.cd = now + g[1] end
end
