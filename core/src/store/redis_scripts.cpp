// verikit — the Lua scripts of the Redis store (see redis_scripts.hpp for the key layout).
#include "store/redis_scripts.hpp"

namespace verikit::detail::scripts {
namespace {

// Helpers shared by the scripts; the abuse-control rules mirror core/src/store/limits.cpp.
const std::string kPrelude = R"lua(
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
-- status (2 issued, 6 locked, 8 cooldown, 7 rate_limited), retry ms, new send tat
local function check_gate(r, now, g)
  if g[4] == 1 then
    local wait = gcra_wait(r.ft, now, g[5], g[6])
    if wait > 0 then return 6, wait, 0 end
  end
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
  local g = {}
  for i = 0, 5 do g[i + 1] = tonumber(ARGV[first + i]) end
  return g
end
)lua";

// A script: its flags line, the prelude when it uses it, the body.
Script make(std::string_view name, std::string_view flags, bool prelude, std::string_view body) {
  std::string text = "#!lua";
  if (!flags.empty()) text.append(" flags=").append(flags);
  text.push_back('\n');
  if (prelude) text += kPrelude;
  text += body;
  return Script{name, std::move(text)};
}

}  // namespace

// Reply: {status, reused (1/0), sealed code, expires, attempts left, retry ms}
const Script otp_issue = make("otp_issue", "", true, R"lua(
local now = now_ms()
local r = load_rate(KEYS[2])
local g = gate_args(9)
local status, retry, tat = check_gate(r, now, g)
if status ~= 2 then return {status, 0, '', 0, 0, retry} end
commit_gate(r, now, g, tat)
save_rate(KEYS[2], r, now)
local cur = redis.call('HMGET', KEYS[1], 'a', 'c', 'ph')
local attempts = tonumber(ARGV[5])
if cur[1] then
  -- resend_same: the live code goes again only to a request with the same payload
  if ARGV[6] == '1' and cur[2] and cur[3] == ARGV[8] then
    return {2, 1, cur[2], now + redis.call('PTTL', KEYS[1]), tonumber(cur[1]), 0}
  end
  attempts = math.min(attempts, tonumber(cur[1]))
  redis.call('DEL', KEYS[1])
end
local fields = {'h', ARGV[1], 'a', attempts, 'f', ARGV[7]}
if ARGV[2] ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[3] end
if ARGV[8] ~= '' then fields[#fields + 1] = 'ph'; fields[#fields + 1] = ARGV[8] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {2, 0, '', now + tonumber(ARGV[4]), attempts, 0}
)lua");

// Reply: {status, attempts left, expires, payload, retry ms, counted failure (1/0)}
const Script otp_verify = make("otp_verify", "", true, R"lua(
local now = now_ms()
local r = load_rate(KEYS[3])
local fi, fb, pi, pb, client = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local pair = 0
if client ~= '' then pair = tonumber(redis.call('HGET', KEYS[4], client) or 0) end
local function budget_wait()
  local w = gcra_wait(r.ft, now, fi, fb)
  if client ~= '' then w = math.max(w, gcra_wait(pair, now, pi, pb)) end
  return w
end
local wait = budget_wait()
-- the budget is spent: the secret is not even compared
if wait > 0 then return {6, -1, 0, '', wait, 0} end
local rec = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p')
if not rec[1] then return {4, -1, 0, '', 0, 0} end
-- the record names its key (first byte): one the caller no longer has is retired, not a guess
local known = false
for i = 6, #ARGV do
  if string.byte(ARGV[i], 1) == string.byte(rec[1], 1) then known = true end
end
if not known then return {4, -1, 0, '', 0, 0} end
local expires = now + redis.call('PTTL', KEYS[1])
local left = tonumber(rec[2])
for i = 6, #ARGV do
  if ARGV[i] == rec[1] then
    local flags = tonumber(rec[3])
    if flags % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
    elseif flags % 2 == 1 then redis.call('DEL', KEYS[1]) end
    return {0, left, expires, rec[4] or '', 0, 0}
  end
end
left = left - 1
if left <= 0 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'a', left) end
if fi > 0 then
  r.ft = math.max(r.ft, now) + fi
  save_rate(KEYS[3], r, now)
end
if client ~= '' and pi > 0 then
  pair = math.max(pair, now) + pi
  redis.call('HSET', KEYS[4], client, pair)
  if redis.call('PTTL', KEYS[4]) < pair - now then redis.call('PEXPIRE', KEYS[4], pair - now) end
end
wait = budget_wait()
if wait > 0 then return {6, math.max(left, 0), expires, '', wait, 1} end
if left <= 0 then return {5, 0, expires, '', 0, 1} end
return {3, left, expires, '', 0, 1}
)lua");

const Script otp_revoke = make("otp_revoke", "allow-oom", false, R"lua(
return redis.call('DEL', KEYS[1])
)lua");

// Reply: {status, expires, retry ms}
const Script token_issue = make("token_issue", "", true, R"lua(
local now = now_ms()
local ttl = tonumber(ARGV[5])
local r = load_rate(KEYS[2])
local g = gate_args(8)
local status, retry, tat = check_gate(r, now, g)
if status ~= 2 then return {status, 0, retry} end
local max_active = tonumber(ARGV[14])
local n, oldest, oldest_id = live_tokens(KEYS[1], now, true)
if max_active > 0 and n >= max_active and ARGV[15] == '1' then return {7, 0, oldest - now} end
commit_gate(r, now, g, tat)
save_rate(KEYS[2], r, now)
while max_active > 0 and n >= max_active do
  redis.call('HDEL', KEYS[1], oldest_id)
  n, oldest, oldest_id = live_tokens(KEYS[1], now, true)
end
redis.call('HSET', KEYS[1], ARGV[1],
  cmsgpack.pack({tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), now + ttl, ARGV[6], ARGV[7]}))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {2, now + ttl, 0}
)lua");

// Only deletes (consume, revoke on use): allowed under OOM.
const Script token_verify = make("token_verify", "allow-oom", true, R"lua(
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
)lua");

const Script token_revoke = make("token_revoke", "allow-oom", true, R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if cmsgpack.unpack(raw)[4] <= now_ms() then return 0 end
return 1
)lua");

const Script revoke_all = make("revoke_all", "allow-oom", true, R"lua(
local n = redis.call('EXISTS', KEYS[1]) + live_tokens(KEYS[2], now_ms(), false)
redis.call('DEL', KEYS[1], KEYS[2])
return n
)lua");

// Reply: {otp live, attempts, otp expires, live tokens, now, cd, tat, ft}
const Script inspect = make("inspect", "no-writes", true, R"lua(
local now = now_ms()
local live = live_tokens(KEYS[2], now, false)
local r = load_rate(KEYS[3])
local a = redis.call('HGET', KEYS[1], 'a')
local head = {0, -1, 0}
if a then head = {1, tonumber(a), now + redis.call('PTTL', KEYS[1])} end
return {head[1], head[2], head[3], live, now, r.cd, r.tat, r.ft}
)lua");

// Refills the failure budgets; only shrinks the state, so allowed under OOM.
const Script unlock = make("unlock", "allow-oom", true, R"lua(
local now = now_ms()
local r = load_rate(KEYS[1])
local was = 0
if gcra_wait(r.ft, now, tonumber(ARGV[1]), tonumber(ARGV[2])) > 0 then was = 1 end
r.ft = 0
save_rate(KEYS[1], r, now)
redis.call('DEL', KEYS[2])
return was
)lua");

// Reply: {allowed (1/0), retry ms}
const Script client_limit = make("client_limit", "", true, R"lua(
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
)lua");

}  // namespace verikit::detail::scripts
