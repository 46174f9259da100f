-- second_factors_revoke: deletes the group's authenticator enrollment and recovery codes (the
-- failure budgets stay); how many there were: 1 for an enrollment, plus each code left. KEYS and
-- flags: the descriptor `second_factors_revoke` in ../redis_scripts.hpp.
local n = redis.call('EXISTS', KEYS[1]) + redis.call('SCARD', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return n
