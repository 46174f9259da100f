-- recovery_count: how many recovery codes the group has left. KEYS and flags: the descriptor
-- `recovery_count` in ../redis_scripts.hpp.
return redis.call('SCARD', KEYS[1])
