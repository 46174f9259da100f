-- otp_verify: checks a guess against the group's OTP within the failure budgets; a wrong
-- guess is counted in the same step. KEYS, ARGV, reply and flags: the descriptor
-- `otp_verify` in ../redis_scripts.hpp (the candidate hashes are ARGV[4] onwards). A flow-bound
-- code matches only with its binding hash (ARGV[3]): otherwise it is a wrong guess.
-- (No tables or closures but the reply where it can be helped: what a call allocates costs Redis
-- about ten instructions a byte in Lua's collector, measured; the rate state is three numbers.)
local now = now_ms()
local v = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p', 'x', 'cd', 'tat', 'ft', 'b')
local cd, tat, ft = num3(v[6], v[7], v[8])
local budget_interval_ms, budget_burst, pair_interval_ms, pair_burst = struct.unpack('<dddd', ARGV[1])
local fi, fb, pi, pb = budget_interval_ms, budget_burst, pair_interval_ms, pair_burst
local client = ARGV[2]
local pair = 0
if client ~= '' then pair = num(redis.call('HGET', KEYS[3], client)) end
local wait = gcra_wait(ft, now, fi, fb)
if client ~= '' then wait = math.max(wait, gcra_wait(pair, now, pi, pb)) end
-- the budget is spent: the secret is not even compared
if wait > 0 then return {LOCKED, -1, 0, '', wait, 0} end
local x = num(v[5])
if not v[1] or x <= now then return {NOT_FOUND, -1, 0, '', 0, 0} end
-- the record names its key (first byte): one the caller no longer has is retired, not a guess
local known = false
for i = 4, #ARGV do
  if string.byte(ARGV[i], 1) == string.byte(v[1], 1) then known = true end
end
if not known then return {NOT_FOUND, -1, 0, '', 0, 0} end
local left = need(v[2])
for i = 4, #ARGV do
  if ARGV[i] == v[1] and (not v[9] or v[9] == ARGV[3]) then
    local flags = need(v[3])
    if flags % 4 >= 2 then
      drop_otp(KEYS[1], math.max(cd, tat, ft), now)
      redis.call('DEL', KEYS[2])
    elseif flags % 2 == 1 then
      drop_otp(KEYS[1], math.max(cd, tat, ft), now)
    end
    return {VERIFIED, left, x, v[4] or '', 0, 0}
  end
end
local before = math.max(x, cd, tat, ft)
left = left - 1
if fi > 0 then ft = math.max(ft, now) + fi end
if left <= 0 then
  drop_otp(KEYS[1], math.max(cd, tat, ft), now)
  -- (the key may be gone with the OTP: the failure count makes it again, with its deadline)
  if fi > 0 then
    redis.call('HSET', KEYS[1], 'ft', ft)
    redis.call('PEXPIREAT', KEYS[1], math.max(cd, tat, ft))
  end
else
  if fi > 0 then
    redis.call('HSET', KEYS[1], 'ft', ft, 'a', left)
  else
    redis.call('HSET', KEYS[1], 'a', left)
  end
  extend(KEYS[1], before, math.max(x, cd, tat, ft))
end
if client ~= '' and pi > 0 then
  pair = math.max(pair, now) + pi
  redis.call('HSET', KEYS[3], client, pair)
  if redis.call('PTTL', KEYS[3]) < pair - now then redis.call('PEXPIRE', KEYS[3], pair - now) end
end
wait = gcra_wait(ft, now, fi, fb)
if client ~= '' then wait = math.max(wait, gcra_wait(pair, now, pi, pb)) end
if wait > 0 then return {LOCKED, math.max(left, 0), x, '', wait, 1} end
if left <= 0 then return {ATTEMPTS_EXHAUSTED, 0, x, '', 0, 1} end
return {INVALID, left, x, '', 0, 1}
