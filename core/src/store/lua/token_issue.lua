-- token_issue: a new token or link record in the group's hash, behind the gate and the cap on
-- live ones. KEYS, ARGV, reply and flags: the descriptor `token_issue` in ../redis_scripts.hpp.
local now = now_ms()
local kind, flags, ttl_ms,
  gate_cooldown_ms, gate_send_interval_ms, gate_send_burst, gate_lock_blocks_issue, gate_failure_interval_ms,
  gate_failure_burst, max_active, refuse,
  id, purpose_tag, sealed_identity, sealed_payload, binding = struct.unpack('<dddddddddddI4c0I4c0I4c0I4c0I4c0', ARGV[1])
local h, a, f, x, cd, tat, ft, ph, b, c, p = g_read(KEYS[2])
local status, retry, new_cd, new_tat = gate(cd, tat, ft, now, gate_cooldown_ms, gate_send_interval_ms,
  gate_send_burst, gate_lock_blocks_issue, gate_failure_interval_ms, gate_failure_burst)
if status ~= ISSUED then return struct.pack('<ddd', status, 0, retry) end
local n, first_exp, first_id, last_order = live_tokens(KEYS[1], now, true)
if max_active > 0 and n >= max_active and refuse == 1 then
  return struct.pack('<ddd', RATE_LIMITED, 0, first_exp - now)  -- until the first of them expires
end
if new_cd ~= cd or new_tat ~= tat then g_write(KEYS[2], now, h, a, f, x, new_cd, new_tat, ft, ph, b, c, p) end
while max_active > 0 and n >= max_active do  -- the cap revokes the first issued
  redis.call('HDEL', KEYS[1], first_id)
  n, first_exp, first_id = live_tokens(KEYS[1], now, true)  -- luacheck: ignore first_exp
end
local order = now
if order <= last_order then order = last_order + 1 end
redis.call('HSET', KEYS[1], id,
  cmsgpack.pack({kind, purpose_tag, flags, now + ttl_ms, sealed_identity, sealed_payload, binding, order}))
if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end
return struct.pack('<ddd', ISSUED, now + ttl_ms, 0)
