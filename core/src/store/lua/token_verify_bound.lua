-- token_verify_bound: consumes a token or link with a flow binding presented: a bound one is used
-- only when its binding hash matches; a mismatch is answered not_found and counted in the
-- identifier's failure budget in the same step, and a spent budget answers locked without
-- comparing. An unbound one is used as token_verify would. KEYS, ARGV, reply and flags: the
-- descriptor `token_verify_bound` in ../redis_scripts.hpp.
local now = now_ms()
local r = live_token(KEYS[1], ARGV[1], ARGV[2] + 0, ARGV[3], now)
if not r then return {NOT_FOUND, 0, '', '', 0, 0} end
if r[7] and r[7] ~= '' then
  local fi, fb = ARGV[5] + 0, ARGV[6] + 0
  local _, _, _, _, _, _, ft = g_read(KEYS[2])
  local wait = gcra_wait(ft, now, fi, fb)
  if wait > 0 then return {LOCKED, 0, '', '', wait, 0} end
  if r[7] ~= ARGV[4] then
    count_failure(KEYS[2], now, fi)
    return {NOT_FOUND, 0, '', '', 0, 1}
  end
end
use_token(KEYS[1], KEYS[2], r, ARGV[1], now)
return {VERIFIED, r[4], r[5], r[6], 0, 0}
