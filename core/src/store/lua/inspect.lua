-- inspect: the group's state, read-only. KEYS, reply and flags: the descriptor `inspect` in
-- ../redis_scripts.hpp.
local now = now_ms()
local live = live_tokens(KEYS[2], now, false)
local r = load_rate(KEYS[3])
local a = redis.call('HGET', KEYS[1], 'a')
local head = {0, -1, 0}
if a then head = {1, tonumber(a), now + redis.call('PTTL', KEYS[1])} end
return {head[1], head[2], head[3], live, now, r.cd, r.tat, r.ft}
