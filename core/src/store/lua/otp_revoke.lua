-- otp_revoke: deletes the group's OTP. KEYS, reply and flags: the descriptor `otp_revoke`
-- in ../redis_scripts.hpp (no prelude).
return redis.call('DEL', KEYS[1])
