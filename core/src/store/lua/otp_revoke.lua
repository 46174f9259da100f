-- otp_revoke: deletes the group's OTP; 1 if it was live. KEYS, reply and flags: the descriptor
-- `otp_revoke` in ../redis_scripts.hpp.
local now = now_ms()
local v = redis.call('HMGET', KEYS[1], 'h', 'x', 'cd', 'tat', 'ft')
if not v[1] then return 0 end
drop_otp(KEYS[1], deadline(rate_from(v, 3), 0), now)
if num(v[2]) > now then return 1 end
return 0
