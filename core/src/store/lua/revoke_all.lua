-- revoke_all: deletes the group's OTP and every token and link; how many were live. KEYS,
-- reply and flags: the descriptor `revoke_all` in ../redis_scripts.hpp.
local n = redis.call('EXISTS', KEYS[1]) + live_tokens(KEYS[2], now_ms(), false)
redis.call('DEL', KEYS[1], KEYS[2])
return n
