// verikit — the Lua scripts of the Redis store (see redis_scripts.hpp for the key layout).
#include "store/redis_scripts.hpp"

namespace verikit::detail::scripts {

// Helpers shared by the scripts; the abuse-control rules mirror core/src/store/limits.cpp.
const std::string kPrelude = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function live_tokens(key, now)
  local n, oldest, oldest_id = 0, nil, nil
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local exp = cmsgpack.unpack(all[i + 1])[4]
    if exp > now then
      n = n + 1
      if not oldest or exp < oldest then oldest, oldest_id = exp, all[i] end
    else
      redis.call('HDEL', key, all[i])
    end
  end
  return n, oldest, oldest_id
end
local function load_rate(key)
  local v = redis.call('HMGET', key, 'cd', 'tat', 'f', 'fw', 'lk', 'lv', 'lvx')
  for i = 1, 7 do v[i] = tonumber(v[i] or 0) end
  return {cd = v[1], tat = v[2], f = v[3], fw = v[4], lk = v[5], lv = v[6], lvx = v[7]}
end
local function save_rate(key, r, now)
  local keep = math.max(r.cd, r.tat, r.fw, r.lk, r.lvx)
  if keep <= now then
    redis.call('DEL', key)
    return
  end
  -- only the fields in use, to keep the record small
  local fields = {}
  for _, name in ipairs({'cd', 'tat', 'f', 'fw', 'lk', 'lv', 'lvx'}) do
    if r[name] ~= 0 then
      fields[#fields + 1] = name
      fields[#fields + 1] = r[name]
    end
  end
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, keep - now)
end
local function gcra_take(tat, now, interval, burst)
  if interval <= 0 then return true, tat, 0 end
  local nxt = math.max(tat, now) + interval
  local over = nxt - now - interval * burst
  if over > 0 then return false, tat, over end
  return true, nxt, 0
end
-- status (2 issued, 6 locked, 8 cooldown, 7 rate_limited), retry ms, new send tat
local function check_gate(r, now, g)
  if g[4] == 1 and r.lk > now then return 6, r.lk - now, 0 end
  if r.cd > now then return 8, r.cd - now, 0 end
  local ok, tat, retry = gcra_take(r.tat, now, g[2], g[3])
  if not ok then return 7, retry, 0 end
  return 2, 0, tat
end
local function commit_gate(r, now, g, tat)
  r.tat = tat
  if g[1] > 0 then r.cd = now + g[1] end
end
local function gate_args(first)
  return {tonumber(ARGV[first]), tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2]), tonumber(ARGV[first + 3])}
end
local function count_failure(r, now, k, window, duration, max, decay)
  if k <= 0 then return false end
  if r.fw > now then r.f = r.f + 1 else r.f, r.fw = 1, now + window end
  if r.f < k then return false end
  if r.lvx > now then r.lv = r.lv + 1 else r.lv = 1 end
  local d = duration
  for i = 2, r.lv do
    if d >= max then break end
    d = d * 2
  end
  d = math.min(d, max)
  r.lk = now + d
  r.lvx = r.lk + decay
  r.f, r.fw = 0, 0
  return true
end
)lua";

const Script otp_issue{"otp_issue", kPrelude + R"lua(
local now = now_ms()
local r = load_rate(KEYS[2])
local g = gate_args(8)
local status, retry, tat = check_gate(r, now, g)
if status ~= 2 then return {status, 0, '', 0, 0, retry} end
commit_gate(r, now, g, tat)
save_rate(KEYS[2], r, now)
local cur = redis.call('HMGET', KEYS[1], 'a', 'c')
local attempts = tonumber(ARGV[5])
if cur[1] then
  if ARGV[6] == '1' and cur[2] then
    return {2, 1, cur[2], now + redis.call('PTTL', KEYS[1]), tonumber(cur[1]), 0}
  end
  attempts = math.min(attempts, tonumber(cur[1]))
  redis.call('DEL', KEYS[1])
end
local fields = {'h', ARGV[1], 'a', attempts, 'f', ARGV[7]}
if ARGV[2] ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[3] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {2, 0, '', now + tonumber(ARGV[4]), attempts, 0}
)lua"};

// Reply: {status, attempts left, expires, payload, retry ms, counted failure (1/0)}
const Script otp_verify{"otp_verify", kPrelude + R"lua(
local now = now_ms()
local r = load_rate(KEYS[3])
if r.lk > now then return {6, -1, 0, '', r.lk - now, 0} end
local rec = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p')
if not rec[1] then return {4, -1, 0, '', 0, 0} end
local expires = now + redis.call('PTTL', KEYS[1])
local left = tonumber(rec[2])
for i = 6, #ARGV do
  if ARGV[i] == rec[1] then
    if r.f > 0 or r.fw > 0 then
      r.f, r.fw = 0, 0
      save_rate(KEYS[3], r, now)
    end
    local flags = tonumber(rec[3])
    if flags % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
    elseif flags % 2 == 1 then redis.call('DEL', KEYS[1]) end
    return {0, left, expires, rec[4] or '', 0, 0}
  end
end
left = left - 1
if left <= 0 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'a', left) end
local locked = count_failure(r, now, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
                             tonumber(ARGV[4]), tonumber(ARGV[5]))
save_rate(KEYS[3], r, now)
if locked then return {6, math.max(left, 0), expires, '', r.lk - now, 1} end
if left <= 0 then return {5, 0, expires, '', 0, 1} end
return {3, left, expires, '', 0, 1}
)lua"};

const Script otp_revoke{"otp_revoke", R"lua(
return redis.call('DEL', KEYS[1])
)lua"};

// Reply: {status, expires, retry ms}
const Script token_issue{"token_issue", kPrelude + R"lua(
local now = now_ms()
local ttl = tonumber(ARGV[5])
local r = load_rate(KEYS[2])
local g = gate_args(8)
local status, retry, tat = check_gate(r, now, g)
if status ~= 2 then return {status, 0, retry} end
local max_active = tonumber(ARGV[12])
local n, oldest, oldest_id = live_tokens(KEYS[1], now)
if max_active > 0 and n >= max_active and ARGV[13] == '1' then return {7, 0, oldest - now} end
commit_gate(r, now, g, tat)
save_rate(KEYS[2], r, now)
while max_active > 0 and n >= max_active do
  redis.call('HDEL', KEYS[1], oldest_id)
  n, oldest, oldest_id = live_tokens(KEYS[1], now)
end
redis.call('HSET', KEYS[1], ARGV[1],
  cmsgpack.pack({tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), now + ttl, ARGV[6], ARGV[7]}))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {2, now + ttl, 0}
)lua"};

const Script token_verify{"token_verify", kPrelude + R"lua(
local now = now_ms()
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {4} end
local r = cmsgpack.unpack(raw)
if r[4] <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {4}
end
if r[1] ~= tonumber(ARGV[2]) or (ARGV[3] ~= '' and r[2] ~= ARGV[3]) then return {4} end
if ARGV[4] ~= '1' then return {1, r[4], r[5], r[6]} end
if r[3] % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
elseif r[3] % 2 == 1 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return {0, r[4], r[5], r[6]}
)lua"};

const Script token_revoke{"token_revoke", kPrelude + R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if cmsgpack.unpack(raw)[4] <= now_ms() then return 0 end
return 1
)lua"};

const Script revoke_all{"revoke_all", kPrelude + R"lua(
local n = redis.call('EXISTS', KEYS[1]) + live_tokens(KEYS[2], now_ms())
redis.call('DEL', KEYS[1], KEYS[2])
return n
)lua"};

// Reply: {otp live, attempts, otp expires, live tokens, now, cd, tat, f, fw, lk, lv, lvx}
const Script inspect{"inspect", kPrelude + R"lua(
local now = now_ms()
local live = live_tokens(KEYS[2], now)
local r = load_rate(KEYS[3])
local a = redis.call('HGET', KEYS[1], 'a')
local head = {0, -1, 0}
if a then head = {1, tonumber(a), now + redis.call('PTTL', KEYS[1])} end
return {head[1], head[2], head[3], live, now, r.cd, r.tat, r.f, r.fw, r.lk, r.lv, r.lvx}
)lua"};

const Script unlock{"unlock", kPrelude + R"lua(
local now = now_ms()
local r = load_rate(KEYS[1])
local was = 0
if r.lk > now then was = 1 end
r.lk, r.f, r.fw, r.lv, r.lvx = 0, 0, 0, 0, 0
save_rate(KEYS[1], r, now)
return was
)lua"};

// Reply: {allowed (1/0), retry ms}
const Script client_limit{"client_limit", kPrelude + R"lua(
local now = now_ms()
local interval, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or 0)
if ARGV[4] == '1' then
  if tat > now then redis.call('HSET', KEYS[1], ARGV[1], math.max(now, tat - interval)) end
  return {1, 0}
end
local ok, nxt, retry = gcra_take(tat, now, interval, burst)
if not ok then return {0, retry} end
redis.call('HSET', KEYS[1], ARGV[1], nxt)
if redis.call('PTTL', KEYS[1]) < nxt - now then redis.call('PEXPIRE', KEYS[1], nxt - now) end
return {1, 0}
)lua"};

}  // namespace verikit::detail::scripts
