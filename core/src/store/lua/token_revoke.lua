-- token_revoke: deletes one token or link; 1 if it was live. KEYS, ARGV, reply and flags: the
-- descriptor `token_revoke` in ../redis_scripts.hpp.
local now = now_ms()
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if need(cmsgpack.unpack(raw)[4]) <= now then return 0 end
return 1
