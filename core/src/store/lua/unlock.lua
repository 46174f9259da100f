-- unlock: refills the failure budgets (the identifier's and every client key's of it); 1 if
-- the identifier's was spent. Only shrinks the state, so it runs under OOM. KEYS, ARGV, reply
-- and flags: the descriptor `unlock` in ../redis_scripts.hpp.
local now = now_ms()
local r = load_rate(KEYS[1])
local was = 0
if gcra_wait(r.ft, now, tonumber(ARGV[1]), tonumber(ARGV[2])) > 0 then was = 1 end
r.ft = 0
save_rate(KEYS[1], r, now)
redis.call('DEL', KEYS[2])
return was
