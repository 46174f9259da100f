-- otp_revoke: deletes the group's OTP; 1 if it was live. KEYS, reply and flags: the descriptor
-- `otp_revoke` in ../redis_scripts.hpp.
local now = now_ms()
local h, _, _, x, cd, tat, ft = g_read(KEYS[1])
if h == '' then return 0 end
drop_otp(KEYS[1], now, cd, tat, ft)
if x > now then return 1 end
return 0
