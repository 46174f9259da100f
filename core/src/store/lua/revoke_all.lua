-- revoke_all: deletes the group's OTP and every token and link; how many were live. KEYS,
-- reply and flags: the descriptor `revoke_all` in ../redis_scripts.hpp.
local now = now_ms()
local n = live_tokens(KEYS[2], now, false)
local h, _, _, x, cd, tat, ft = g_read(KEYS[1])
if h ~= '' then
  if x > now then n = n + 1 end
  drop_otp(KEYS[1], now, cd, tat, ft)
end
redis.call('DEL', KEYS[2])
return n
