-- otp_verify: checks a guess against the group's OTP within the failure budgets; a wrong
-- guess is counted in the same step. KEYS, ARGV, reply and flags: the descriptor
-- `otp_verify` in ../redis_scripts.hpp (the candidate hashes are ARGV[7] onwards). A flow-bound
-- code matches only with its binding hash (ARGV[6]): otherwise it is a wrong guess.
local now = now_ms()
local b = load_budget(KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local wait = budget_wait(b, now)
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
budget_count(b, now)
wait = budget_wait(b, now)
if wait > 0 then return {LOCKED, math.max(left, 0), expires, '', wait, 1} end
if left <= 0 then return {ATTEMPTS_EXHAUSTED, 0, expires, '', 0, 1} end
return {INVALID, left, expires, '', 0, 1}
