-- otp_issue: a new OTP for the group, or the live one again (resend_same), behind the gate.
-- KEYS, ARGV, reply and flags: the descriptor `otp_issue` in ../redis_scripts.hpp.
local now = now_ms()
local ttl_ms, max_attempts, resend_same, flags,
  gate_cooldown_ms, gate_send_interval_ms, gate_send_burst, gate_lock_blocks_issue, gate_failure_interval_ms,
  gate_failure_burst = struct.unpack('<dddddddddd', ARGV[4])
local resend = resend_same == 1
local v
if resend then
  v = redis.call('HMGET', KEYS[1], 'a', 'x', 'cd', 'tat', 'ft', 'c', 'ph')
else
  v = redis.call('HMGET', KEYS[1], 'a', 'x', 'cd', 'tat', 'ft')
end
local r = rate_from(v, 3)
local cd0, tat0, ft0 = r.cd, r.tat, r.ft  -- the rate state as it was (r changes)
local g = {gate_cooldown_ms, gate_send_interval_ms, gate_send_burst, gate_lock_blocks_issue,
           gate_failure_interval_ms, gate_failure_burst}
local status, retry, tat = check_gate(r, now, g)
if status ~= ISSUED then return {status, 0, '', 0, 0, retry} end
commit_gate(r, now, g, tat)
local x = num(v[2])
local live = v[1] ~= false and x > now
if not live then x = 0 end
local before = math.max(x, cd0, tat0, ft0)
-- resend_same: the live code goes again only to a request with the same payload
if live and resend and v[6] and v[6] ~= '' and v[7] == ARGV[5] then
  local fields = rate_changes({}, r, cd0, tat0, ft0)
  if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
  extend(KEYS[1], before, deadline(r, x))
  return {ISSUED, 1, v[6], x, num(v[1]), 0}
end
-- a new code keeps the failed attempts of the one it replaces
local attempts = max_attempts
if live then attempts = math.min(attempts, num(v[1])) end
local expires = now + ttl_ms
local fields = rate_changes({'h', ARGV[1], 'a', attempts, 'f', flags, 'x', expires}, r, cd0, tat0, ft0)
-- the optional fields only when set (a record as small as it can be); those of the code it
-- replaces go first (h, a, f and x stay: the key is never emptied here, so it keeps its TTL)
if v[1] then redis.call('HDEL', KEYS[1], 'c', 'p', 'ph', 'b') end
if ARGV[2] ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[3] end
if ARGV[5] ~= '' then fields[#fields + 1] = 'ph'; fields[#fields + 1] = ARGV[5] end
if ARGV[6] ~= '' then fields[#fields + 1] = 'b'; fields[#fields + 1] = ARGV[6] end
redis.call('HSET', KEYS[1], unpack(fields))
extend(KEYS[1], before, deadline(r, expires))
return {ISSUED, 0, '', expires, attempts, 0}
