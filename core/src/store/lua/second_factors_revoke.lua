-- second_factors_revoke: deletes the group's authenticator enrollment and recovery codes (the
-- failure budgets stay); how many there were: 1 for an enrollment, plus each code left. Of the
-- enrollment a new generation stays, without a secret, for tombstone_ttl_ms (a pending two-step
-- enrollment begun before the removal then finds it changed). KEYS, ARGV and flags: the
-- descriptor `second_factors_revoke` in ../redis_scripts.hpp.
local n = (redis.call('HGET', KEYS[1], 's') and 1 or 0) + redis.call('SCARD', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'g', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
