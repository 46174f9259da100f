-- otp_verify: checks a guess against the group's OTP within the failure budgets; a wrong
-- guess is counted in the same step. KEYS, ARGV, reply and flags: the descriptor
-- `otp_verify` in ../redis_scripts.hpp (the candidate hashes are ARGV[7] onwards). A flow-bound
-- code matches only with its binding hash (ARGV[6]): otherwise it is a wrong guess.
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
if wait > 0 then return {LOCKED, -1, 0, '', wait, 0} end
local rec = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p', 'b')
if not rec[1] then return {NOT_FOUND, -1, 0, '', 0, 0} end
-- the record names its key (first byte): one the caller no longer has is retired, not a guess
local known = false
for i = 7, #ARGV do
  if string.byte(ARGV[i], 1) == string.byte(rec[1], 1) then known = true end
end
if not known then return {NOT_FOUND, -1, 0, '', 0, 0} end
local expires = now + redis.call('PTTL', KEYS[1])
local left = tonumber(rec[2])
for i = 7, #ARGV do
  if ARGV[i] == rec[1] and (not rec[5] or rec[5] == ARGV[6]) then
    local flags = tonumber(rec[3])
    if flags % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
    elseif flags % 2 == 1 then redis.call('DEL', KEYS[1]) end
    return {VERIFIED, left, expires, rec[4] or '', 0, 0}
  end
end
left = left - 1
if left <= 0 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'a', left) end
count_failure(KEYS[3], r, now, fi)
if client ~= '' and pi > 0 then
  pair = math.max(pair, now) + pi
  redis.call('HSET', KEYS[4], client, pair)
  if redis.call('PTTL', KEYS[4]) < pair - now then redis.call('PEXPIRE', KEYS[4], pair - now) end
end
wait = budget_wait()
if wait > 0 then return {LOCKED, math.max(left, 0), expires, '', wait, 1} end
if left <= 0 then return {ATTEMPTS_EXHAUSTED, 0, expires, '', 0, 1} end
return {INVALID, left, expires, '', 0, 1}
