-- second_factors_revoke: deletes the group's authenticator enrollment and recovery codes (the
-- failure budgets stay); how many there were: 1 for an enrollment, plus each code left. Of an
-- enrollment (or of an earlier removal's record) a new generation stays, without a secret, for
-- tombstone_ttl_ms (a pending two-step enrollment begun before the removal then finds it
-- changed); where there was none nothing is written (allow-oom: it only ever replaces a key).
-- KEYS, ARGV and flags: the descriptor `second_factors_revoke` in ../redis_scripts.hpp.
local had = redis.call('EXISTS', KEYS[1])
local n = (redis.call('HGET', KEYS[1], 's') and 1 or 0) + redis.call('SCARD', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
if had == 1 then
  redis.call('HSET', KEYS[1], 'g', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n
