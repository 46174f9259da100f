-- inspect: the group's state, read-only. KEYS, reply and flags: the descriptor `inspect` in
-- ../redis_scripts.hpp.
local now = now_ms()
local live = live_tokens(KEYS[2], now, false)
local v = redis.call('HMGET', KEYS[1], 'a', 'x', 'cd', 'tat', 'ft')
local r = rate_from(v, 3)
local x = num(v[2])
local head = {0, -1, 0}
if v[1] and x > now then head = {1, num(v[1]), x} end
return {head[1], head[2], head[3], live, now, r.cd, r.tat, r.ft}
