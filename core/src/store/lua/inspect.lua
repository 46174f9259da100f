-- inspect: the group's state, read-only. KEYS, reply and flags: the descriptor `inspect` in
-- ../redis_scripts.hpp.
local now = now_ms()
local live = live_tokens(KEYS[2], now, false)
local h, a, _, x, cd, tat, ft = g_read(KEYS[1])
if h ~= '' and x > now then return {1, a, x, live, now, cd, tat, ft} end
return {0, -1, 0, live, now, cd, tat, ft}
