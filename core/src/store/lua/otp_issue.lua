-- otp_issue: a new OTP for the group, or the live one again (resend_same), behind the gate.
-- KEYS, ARGV, reply and flags: the descriptor `otp_issue` in ../redis_scripts.hpp.
local now = now_ms()
local ttl_ms, max_attempts, resend_same, flags,
  gate_cooldown_ms, gate_send_interval_ms, gate_send_burst, gate_lock_blocks_issue, gate_failure_interval_ms,
  gate_failure_burst, code_hash, sealed_code, sealed_payload, payload_hash,
  binding = struct.unpack('<ddddddddddI4c0I4c0I4c0I4c0I4c0', ARGV[1])
local h, a, f, x, cd, tat, ft, ph, b, c, p = g_read(KEYS[1])
local live = h ~= '' and x > now
local status, retry
status, retry, cd, tat = gate(cd, tat, ft, now, gate_cooldown_ms, gate_send_interval_ms, gate_send_burst,
                              gate_lock_blocks_issue, gate_failure_interval_ms, gate_failure_burst)
if status ~= ISSUED then return struct.pack('<ddI4c0ddd', status, 0, 0, '', 0, 0, retry) end
-- resend_same: the live code goes again only to a request with the same payload
if live and resend_same == 1 and c ~= '' and ph == payload_hash then
  g_write(KEYS[1], now, h, a, f, x, cd, tat, ft, ph, b, c, p)
  return struct.pack('<ddI4c0ddd', ISSUED, 1, #c, c, x, a, 0)
end
-- a new code keeps the failed attempts of the one it replaces
local attempts = max_attempts
if live then attempts = math.min(attempts, a) end
local expires = now + ttl_ms
g_write(KEYS[1], now, code_hash, attempts, flags, expires, cd, tat, ft, payload_hash, binding, sealed_code,
        sealed_payload)
return struct.pack('<ddI4c0ddd', ISSUED, 0, 0, '', expires, attempts, 0)
