-- unlock: refills the failure budgets (the identifier's and every client key's of it); 1 if
-- the identifier's was spent. Only removes state, so it runs under OOM. KEYS, ARGV, reply
-- and flags: the descriptor `unlock` in ../redis_scripts.hpp.
local now = now_ms()
local h, a, f, x, cd, tat, ft, ph, b, c, p = g_read(KEYS[1])
local was = 0
if gcra_wait(ft, now, ARGV[1] + 0, ARGV[2] + 0) > 0 then was = 1 end
g_write(KEYS[1], now, h, a, f, x, cd, tat, 0, ph, b, c, p)
redis.call('DEL', KEYS[2])
return was
