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
local function runtime_globals() return redis, math, string, cmsgpack, struct, type end
local redis, math, string, cmsgpack, struct, type = redis, nil, nil, nil, nil, nil  -- luacheck: ignore 231
local function bind_globals()
  if not math then redis, math, string, cmsgpack, struct, type = runtime_globals() end
end
local function now_ms()
  bind_globals()
  local t = redis.call('TIME')
  local us = t[2] + 0
  return t[1] * 1000 + (us - us % 1000) / 1000
end
-- live tokens and links of a group (expired ones are dropped when prune): how many, the first of
-- their expiries, the first issued (its field) and the last issue order. A record's 8th element
-- is its issue order (the issue's ms, or one past the group's last when that is later: strictly
-- increasing within a group); 0.4's records have none and count as issued before any that has,
-- the first to expire first among them (0.4's rule).
local function live_tokens(key, now, prune)
  local n, first_exp, first_id, first_order, first_order_exp, last_order = 0, nil, nil, nil, nil, 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local r = cmsgpack.unpack(all[i + 1])
    local exp = need(r[4])
    if exp > now then
      n = n + 1
      local order = num(r[8])
      if not first_exp or exp < first_exp then first_exp = exp end
      if not first_order or order < first_order or (order == first_order and exp < first_order_exp) then
        first_order, first_order_exp, first_id = order, exp, all[i]
      end
      if order > last_order then last_order = order end
    elseif prune then
      redis.call('HDEL', key, all[i])
    end
  end
  return n, first_exp, first_id, last_order
end
-- The group's state is one string (key g), packed with struct as REC: a layout tag (1), then the
-- OTP — h (key id + secret hash; '': none), a (attempts left), f (flags), x (expiry, ms) — and
-- the abuse-control state — cd (cooldown until), tat (send-limit GCRA), ft (failure-budget GCRA)
-- — then ph (payload hash), b (binding hash), c (sealed code), p (sealed payload), each '' when
-- unset. Each part has its own deadline (x for the OTP, the values of cd, tat and ft); a part
-- past it counts as absent, and the key lives until the latest deadline (g_write). One GET and
-- one SET per operation: a hash of fields (0.3's layout) took an HMGET of up to nine fields, an
-- HSET and a PEXPIREAT (`bash scripts/redis_parts.sh` measures both shapes).
local REC = '<BBc0BBddddBc0Bc0Bc0I2c0'
-- The record in 0.3's layout (a hash, a field per part), as a WRONGTYPE error `e` of GET said:
-- read as it is; the next write replaces it by the string. Any other error is the operation's.
local function g_legacy(key, e)
  if not string.find(e.err, 'WRONGTYPE', 1, true) then error(e.err) end
  local v = redis.call('HMGET', key, 'h', 'a', 'f', 'x', 'cd', 'tat', 'ft', 'ph', 'b', 'c', 'p')
  local x, cd, tat, ft = num(v[4]), num3(v[5], v[6], v[7])
  if not v[1] then return '', 0, 0, x, cd, tat, ft, '', '', '', '', true end
  return v[1], need(v[2]), need(v[3]), x, cd, tat, ft, v[8] or '', v[9] or '', v[10] or '', v[11] or '', true
end
-- The group's record: h, a, f, x, cd, tat, ft, ph, b, c, p (an absent key: none of them set),
-- and true when it is in 0.3's layout (not to be patched in place: see otp_verify).
-- Anything but a record in verikit's layout (foreign data; a non-finite time, with which no
-- comparison would ever be true) is an error, never a value.
local function g_read(key)
  local s = redis.pcall('GET', key)
  if not s then return '', 0, 0, 0, 0, 0, 0, '', '', '', '' end
  if type(s) == 'table' then return g_legacy(key, s) end
  local tag, h, a, f, x, cd, tat, ft, ph, b, c, p, stop = struct.unpack(REC, s)
  if tag ~= 1 or stop ~= #s + 1 then error('verikit: a stored record is not in verikit\'s layout') end
  if x - x ~= 0 or cd - cd ~= 0 or tat - tat ~= 0 or ft - ft ~= 0 then
    error('verikit: a stored field is not a finite number')
  end
  return h, a, f, x, cd, tat, ft, ph, b, c, p
end
-- Stores the group's record: an OTP past x is dropped; the key lives until the latest deadline,
-- and is deleted when nothing in it is live.
local function g_write(key, now, h, a, f, x, cd, tat, ft, ph, b, c, p)
  if h == '' or x <= now then h, a, f, x, ph, b, c, p = '', 0, 0, 0, '', '', '', '' end
  local last = math.max(x, cd, tat, ft)
  if last <= now then
    redis.call('DEL', key)
  else
    local s = struct.pack(REC, 1, #h, h, a, f, x, cd, tat, ft, #ph, ph, #b, b, #c, c, #p, p)
    redis.call('SET', key, s, 'PXAT', last)
  end
end
-- removes the OTP from the group's record, whose rate state is cd, tat, ft
local function drop_otp(key, now, cd, tat, ft)
  g_write(key, now, '', 0, 0, 0, cd, tat, ft, '', '', '', '')
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
-- group's OTP (from the group's record gkey) and every token and link with it
local function use_token(tkey, gkey, r, id, now)
  local flags = need(r[3])
  if flags % 4 >= 2 then
    redis.call('DEL', tkey)
    local _, _, _, _, cd, tat, ft = g_read(gkey)
    drop_otp(gkey, now, cd, tat, ft)
  elseif flags % 2 == 1 then
    redis.call('HDEL', tkey, id)
  end
end
-- a wrong guess counted in the identifier's failure budget (GCRA interval fi ms; 0: off): the
-- part ft of the group's record gkey; the key kept at least until the new value. Returns the
-- new value.
local function count_failure(gkey, now, fi)
  local h, a, f, x, cd, tat, ft, ph, b, c, p = g_read(gkey)
  if fi <= 0 then return ft end
  ft = math.max(ft, now) + fi
  g_write(gkey, now, h, a, f, x, cd, tat, ft, ph, b, c, p)
  return ft
end
-- the failure budgets of a verification: the identifier's (GCRA interval fi ms, burst fb; the
-- part ft of the group's record gkey) and, with a client tag, the (identifier, client key) pair's (pi,
-- pb; the p hash pkey)
local function load_budget(gkey, pkey, fi, fb, pi, pb, client)
  local _, _, _, _, _, _, ft = g_read(gkey)
  local b = {gkey = gkey, pkey = pkey, ft = ft, fi = fi + 0, fb = fb + 0,
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
  b.ft = count_failure(b.gkey, now, b.fi)
  if b.client ~= '' and b.pi > 0 then
    b.pair = math.max(b.pair, now) + b.pi
    redis.call('HSET', b.pkey, b.client, b.pair)
    if redis.call('PTTL', b.pkey) < b.pair - now then redis.call('PEXPIRE', b.pkey, b.pair - now) end
  end
end
-- a wrong authenticator code counted in both budgets, as the reply of a TOTP step (totp_commit,
-- totp_confirm): status, ms to retry, counted
local function totp_wrong_guess(b, now)
  budget_count(b, now)
  local wait = budget_wait(b, now)
  if wait > 0 then return {LOCKED, wait, 1} end
  return {INVALID, 0, 1}
end
-- The gate before an issue, on the rate state cd, tat, ft: the status (ISSUED, or LOCKED /
-- COOLDOWN / RATE_LIMITED), ms to retry, and the rate state after it (cd, tat: as they were when
-- refused; ft is not changed by an issue). The gate's six numbers (redis_scripts.hpp
-- VERIKIT_GATE_NUMBERS): cooldown ms, send interval ms, send burst, lock blocks issue 1/0,
-- failure-budget interval ms, burst. (Numbers in and out, no table: what a call allocates costs
-- Redis more than the arguments.)
local function gate(cd, tat, ft, now, cooldown, send_interval, send_burst, lock_blocks, failure_interval, failure_burst)
  if lock_blocks == 1 then
    local wait = gcra_wait(ft, now, failure_interval, failure_burst)
    if wait > 0 then return LOCKED, wait, cd, tat end
  end
  if cd > now then return COOLDOWN, cd - now, cd, tat end
  local ok, next_tat, retry = gcra_take(tat, now, send_interval, send_burst)
  if not ok then return RATE_LIMITED, retry, cd, tat end
  if cooldown > 0 then cd = now + cooldown end
  return ISSUED, 0, cd, next_tat
end
