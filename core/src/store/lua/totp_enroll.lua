-- totp_enroll: a new authenticator enrollment for the group (sealed secret, generation; no step
-- accepted yet), replacing any earlier one. KEYS, ARGV and flags: the descriptor `totp_enroll`
-- in ../redis_scripts.hpp.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[1], 'g', ARGV[2], 'l', -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
