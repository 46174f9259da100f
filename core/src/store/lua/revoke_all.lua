-- revoke_all: deletes the group's OTP and every token and link; how many were live. KEYS,
-- reply and flags: the descriptor `revoke_all` in ../redis_scripts.hpp.
local now = now_ms()
local n = live_tokens(KEYS[2], now, false)
local v = redis.call('HMGET', KEYS[1], 'h', 'x', 'cd', 'tat', 'ft')
if v[1] then
  if num(v[2]) > now then n = n + 1 end
  drop_otp(KEYS[1], deadline(rate_from(v, 3), 0), now)
end
redis.call('DEL', KEYS[2])
return n
