-- token_verify: checks (and, when asked, consumes) a token or link. Only removes state, so it runs
-- under OOM. KEYS, ARGV, reply and flags: the descriptor `token_verify` in ../redis_scripts.hpp.
local now = now_ms()
local r = live_token(KEYS[1], ARGV[1], ARGV[2] + 0, ARGV[3], now)
if not r then return {NOT_FOUND} end
if ARGV[4] ~= '1' then return {VALID, r[4], r[5], r[6]} end
-- a flow-bound one is used only with its binding (token_verify_bound)
if r[7] and r[7] ~= '' then return {NOT_FOUND} end
use_token(KEYS[1], KEYS[2], r, ARGV[1], now)
return {VERIFIED, r[4], r[5], r[6]}
