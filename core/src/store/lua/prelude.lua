-- verikit — helpers shared by the Redis store's scripts (those whose descriptor says
-- prelude = true). The embedded text of a script is: its `#!lua` flags line, the outcome
-- constants (ISSUED, LOCKED, ... generated from verikit::Outcome), this file, the script.
-- The abuse-control rules mirror core/src/store/limits.cpp.
-- luacheck: ignore 211 (the helpers are used by the scripts that follow, not here)

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- live tokens and links of a group (expired ones are dropped when prune), and the oldest
local function live_tokens(key, now, prune)
  local n, oldest, oldest_id = 0, nil, nil
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local exp = cmsgpack.unpack(all[i + 1])[4]
    if exp > now then
      n = n + 1
      if not oldest or exp < oldest then oldest, oldest_id = exp, all[i] end
    elseif prune then
      redis.call('HDEL', key, all[i])
    end
  end
  return n, oldest, oldest_id
end
-- the live token or link `id` of the t hash `key` with this kind and purpose tag ('': any), or
-- nil; an expired one is dropped
local function live_token(key, id, kind, purpose, now)
  local raw = redis.call('HGET', key, id)
  if not raw then return nil end
  local r = cmsgpack.unpack(raw)
  if r[4] <= now then
    redis.call('HDEL', key, id)
    return nil
  end
  if r[1] ~= kind or (purpose ~= '' and r[2] ~= purpose) then return nil end
  return r
end
-- uses token record r of the t hash tkey: a one-time one is deleted; a revoke-group one takes the
-- group's OTP (okey) and every token and link with it
local function use_token(tkey, okey, r, id)
  if r[3] % 4 >= 2 then redis.call('DEL', tkey, okey)
  elseif r[3] % 2 == 1 then redis.call('HDEL', tkey, id) end
end
local function load_rate(key)
  local v = redis.call('HMGET', key, 'cd', 'tat', 'ft')
  for i = 1, 3 do v[i] = tonumber(v[i] or 0) end
  return {cd = v[1], tat = v[2], ft = v[3]}
end
local function save_rate(key, r, now)
  local keep = math.max(r.cd, r.tat, r.ft)
  redis.call('DEL', key)
  if keep <= now then return end
  -- only the fields in use, to keep the record small
  local fields = {}
  for _, name in ipairs({'cd', 'tat', 'ft'}) do
    if r[name] > now then
      fields[#fields + 1] = name
      fields[#fields + 1] = r[name]
    end
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, keep - now)
end
-- a wrong guess counted in the identifier's failure budget (GCRA interval fi ms; 0: off) of the
-- r hash `key` whose state r holds
local function count_failure(key, r, now, fi)
  if fi > 0 then
    r.ft = math.max(r.ft, now) + fi
    save_rate(key, r, now)
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
-- the failure budgets of a verification: the identifier's (GCRA interval fi ms, burst fb; state
-- in the r hash rkey) and, with a client tag, the (identifier, client key) pair's (pi, pb; the p
-- hash pkey)
local function load_budget(rkey, pkey, fi, fb, pi, pb, client)
  local b = {rkey = rkey, pkey = pkey, r = load_rate(rkey), fi = tonumber(fi), fb = tonumber(fb),
             pi = tonumber(pi), pb = tonumber(pb), client = client, pair = 0}
  if client ~= '' then b.pair = tonumber(redis.call('HGET', pkey, client) or 0) end
  return b
end
-- ms until both budgets allow one more wrong guess (0: now)
local function budget_wait(b, now)
  local w = gcra_wait(b.r.ft, now, b.fi, b.fb)
  if b.client ~= '' then w = math.max(w, gcra_wait(b.pair, now, b.pi, b.pb)) end
  return w
end
-- a wrong guess counted in both budgets
local function budget_count(b, now)
  count_failure(b.rkey, b.r, now, b.fi)
  if b.client ~= '' and b.pi > 0 then
    b.pair = math.max(b.pair, now) + b.pi
    redis.call('HSET', b.pkey, b.client, b.pair)
    if redis.call('PTTL', b.pkey) < b.pair - now then redis.call('PEXPIRE', b.pkey, b.pair - now) end
  end
end
-- status (ISSUED, or LOCKED / COOLDOWN / RATE_LIMITED), retry ms, new send tat
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
-- the six gate arguments (descriptor names gate_*), from ARGV[first]: cooldown ms, send
-- interval ms, send burst, lock blocks issue (1/0), failure-budget interval ms, burst
local function gate_args(first)
  local g = {}
  for i = 0, 5 do g[i + 1] = tonumber(ARGV[first + i]) end
  return g
end
