-- totp_confirm: the second step of a two-step enrollment: within the failure budgets and before
-- expires_ms (the server's time), the enrollment current when it began (generation
-- expect_generation, '0': none), or none, is replaced by the new one, whose first
-- code matched `step` (its last accepted step from now on); another enrollment (confirmed
-- already, enrolled again, removed: a removal leaves a generation of its own) is not_found; no
-- match (step -1) is a wrong guess counted in the budgets, in the same step. KEYS, ARGV, reply
-- and flags: the descriptor `totp_confirm` in ../redis_scripts.hpp.
local now = now_ms()
local b = load_budget(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local wait = budget_wait(b, now)
if wait > 0 then return {LOCKED, wait, 0} end
if now >= ARGV[8] + 0 then return {NOT_FOUND, 0, 0} end
-- another generation than the one at begin, unless none (a generation that goes outlives every
-- pending enrollment begun while it was there: README "Authenticator codes")
local current = redis.call('HGET', KEYS[1], 'g') or '0'
if current ~= ARGV[9] and current ~= '0' then return {NOT_FOUND, 0, 0} end
local step = ARGV[7] + 0
if step >= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 's', ARGV[6], 'g', ARGV[10], 'l', step)
  redis.call('PEXPIRE', KEYS[1], ARGV[11])
  return {VERIFIED, 0, 0}
end
return totp_wrong_guess(b, now)
