-- otp_issue: a new OTP for the group, or the live one again (resend_same), behind the gate.
-- KEYS, ARGV, reply and flags: the descriptor `otp_issue` in ../redis_scripts.hpp.
local now = now_ms()
local r = load_rate(KEYS[2])
local g = gate_args(9)
local status, retry, tat = check_gate(r, now, g)
if status ~= ISSUED then return {status, 0, '', 0, 0, retry} end
commit_gate(r, now, g, tat)
save_rate(KEYS[2], r, now)
local cur = redis.call('HMGET', KEYS[1], 'a', 'c', 'ph')
local attempts = tonumber(ARGV[5])
if cur[1] then
  -- resend_same: the live code goes again only to a request with the same payload
  if ARGV[6] == '1' and cur[2] and cur[3] == ARGV[8] then
    return {ISSUED, 1, cur[2], now + redis.call('PTTL', KEYS[1]), tonumber(cur[1]), 0}
  end
  attempts = math.min(attempts, tonumber(cur[1]))
  redis.call('DEL', KEYS[1])
end
local fields = {'h', ARGV[1], 'a', attempts, 'f', ARGV[7]}
if ARGV[2] ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[3] end
if ARGV[8] ~= '' then fields[#fields + 1] = 'ph'; fields[#fields + 1] = ARGV[8] end
if ARGV[15] ~= '' then fields[#fields + 1] = 'b'; fields[#fields + 1] = ARGV[15] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {ISSUED, 0, '', now + tonumber(ARGV[4]), attempts, 0}
