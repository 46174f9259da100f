-- recovery_use: one recovery code against the group's set within the failure budgets (shared
-- with OTPs): a right code is removed, a wrong one counted, in the same step. KEYS, ARGV, reply
-- and flags: the descriptor `recovery_use` in ../redis_scripts.hpp (candidates: ARGV[6] onwards).
local now = now_ms()
local b = load_budget(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local wait = budget_wait(b, now)
-- the budget is spent: the code is not even compared
if wait > 0 then return {LOCKED, -1, wait, 0} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {NOT_FOUND, -1, 0, 0} end
for i = 6, #ARGV do
  if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then return {VERIFIED, redis.call('SCARD', KEYS[1]), 0, 0} end
end
budget_count(b, now)
wait = budget_wait(b, now)
if wait > 0 then return {LOCKED, -1, wait, 1} end
return {INVALID, -1, 0, 1}
