-- recovery_set: replaces the group's set of recovery codes with the hashes ARGV[2] onwards.
-- KEYS, ARGV, reply and flags: the descriptor `recovery_set` in ../redis_scripts.hpp.
redis.call('DEL', KEYS[1])
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('SCARD', KEYS[1])
