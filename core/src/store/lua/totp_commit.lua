-- totp_commit: the second step of a TOTP verification: a step later than the last accepted one
-- is stored (replay protection) and verified; no match or a replay is a wrong guess counted in
-- the budgets, in the same step. KEYS, ARGV, reply and flags: the descriptor `totp_commit` in
-- ../redis_scripts.hpp.
local now = now_ms()
local b = load_budget(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local wait = budget_wait(b, now)
if wait > 0 then return {LOCKED, wait, 0} end
local rec = redis.call('HMGET', KEYS[1], 'l', 'g')
-- removed or enrolled again since the first step
if not rec[1] or rec[2] ~= ARGV[7] then return {NOT_FOUND, 0, 0} end
local step = ARGV[6] + 0
if step >= 0 and step > need(rec[1]) then
  redis.call('HSET', KEYS[1], 'l', step)
  return {VERIFIED, 0, 0}
end
return totp_wrong_guess(b, now)
