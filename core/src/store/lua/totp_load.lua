-- totp_load: the first step of a TOTP verification, read-only: within the failure budgets, the
-- sealed secret, last accepted step, generation and the server's time (the generation, 0 for
-- none, and the time whatever the outcome: a two-step enrollment starts from them; a removed
-- enrollment is its generation without a secret: not_found). KEYS, ARGV, reply and flags: the
-- descriptor `totp_load` in ../redis_scripts.hpp.
local now = now_ms()
local b = load_budget(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local rec = redis.call('HMGET', KEYS[1], 's', 'l', 'g')
local generation = rec[3] and need(rec[3]) or 0
local wait = budget_wait(b, now)
if wait > 0 then return {LOCKED, '', -1, generation, now, wait} end
if not rec[1] then return {NOT_FOUND, '', -1, generation, now, 0} end
return {VALID, rec[1], need(rec[2]), generation, now, 0}
