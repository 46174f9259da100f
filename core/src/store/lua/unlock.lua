-- unlock: refills the failure budgets (the identifier's and every client key's of it); 1 if
-- the identifier's was spent. Only shrinks the state, so it runs under OOM. KEYS, ARGV, reply
-- and flags: the descriptor `unlock` in ../redis_scripts.hpp.
local now = now_ms()
local ft = num(redis.call('HGET', KEYS[1], 'ft'))
local was = 0
if gcra_wait(ft, now, ARGV[1] + 0, ARGV[2] + 0) > 0 then was = 1 end
redis.call('HDEL', KEYS[1], 'ft')
redis.call('DEL', KEYS[2])
return was
