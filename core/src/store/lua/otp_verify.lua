-- otp_verify: checks a guess against the group's OTP within the failure budgets; a wrong
-- guess is counted in the same step. KEYS, ARGV, reply and flags: the descriptor
-- `otp_verify` in ../redis_scripts.hpp (the candidate hashes are ARGV[2] onwards). A flow-bound
-- code matches only with its binding hash: otherwise it is a wrong guess.
-- (No tables or closures but the reply where it can be helped: what a call allocates costs Redis
-- about ten instructions a byte in Lua's collector, measured; the rate state is three numbers.)
local now = now_ms()
local h, left, flags, x, cd, tat, ft, ph, b, c, p, legacy = g_read(KEYS[1])
local budget_interval_ms, budget_burst, pair_interval_ms, pair_burst, client,
  binding = struct.unpack('<ddddI4c0I4c0', ARGV[1])
local fi, fb, pi, pb = budget_interval_ms, budget_burst, pair_interval_ms, pair_burst
local pair = 0
if client ~= '' then pair = num(redis.call('HGET', KEYS[3], client)) end
local wait = gcra_wait(ft, now, fi, fb)
if client ~= '' then wait = math.max(wait, gcra_wait(pair, now, pi, pb)) end
-- the budget is spent: the secret is not even compared
if wait > 0 then return struct.pack('<dddI4c0dd', LOCKED, -1, 0, 0, '', wait, 0) end
if h == '' or x <= now then return struct.pack('<dddI4c0dd', NOT_FOUND, -1, 0, 0, '', 0, 0) end
for i = 2, #ARGV do
  if ARGV[i] == h and (b == '' or b == binding) then
    if flags % 4 >= 2 then redis.call('DEL', KEYS[2]) end
    if flags % 4 == 0 then return struct.pack('<dddI4c0dd', VERIFIED, left, x, #p, p, 0, 0) end  -- reusable: stays
    if legacy or p ~= '' or c ~= '' or math.max(cd, tat, ft) <= now then
      drop_otp(KEYS[1], now, cd, tat, ft)  -- (what was sealed goes with the code)
    else  -- the rate state stays: the code's expiry x set to 0 in place is the code gone (its
      -- hash and attempts stay, as an expired code's, until the record's next write or its end)
      redis.call('SETRANGE', KEYS[1], #h + 4, struct.pack('<d', 0))
    end
    return struct.pack('<dddI4c0dd', VERIFIED, left, x, #p, p, 0, 0)
  end
end
-- no match. The record names its key (first byte): one the caller no longer has is retired, not
-- a guess (asked after the match: a candidate that matches names the record's key)
local key_id, known = string.byte(h), false
for i = 2, #ARGV do
  if string.byte(ARGV[i]) == key_id then known = true end
end
if not known then return struct.pack('<dddI4c0dd', NOT_FOUND, -1, 0, 0, '', 0, 0) end
left = left - 1
local until_ms = math.max(x, cd, tat, ft)  -- the key's deadline
if fi > 0 then ft = math.max(ft, now) + fi end
if left <= 0 or legacy then
  -- the last wrong guess takes the code (g_write keeps the record while a failure count is live)
  if left <= 0 then h = '' end
  g_write(KEYS[1], now, h, left, flags, x, cd, tat, ft, ph, b, c, p)
elseif fi > 0 then  -- a and ft patched in place (and the four parts between them as they were)
  redis.call('SETRANGE', KEYS[1], #h + 2, struct.pack('<BBdddd', left, flags, x, cd, tat, ft))
  if ft > until_ms then redis.call('PEXPIREAT', KEYS[1], ft) end
else
  redis.call('SETRANGE', KEYS[1], #h + 2, struct.pack('<B', left))
end
if client ~= '' and pi > 0 then
  pair = math.max(pair, now) + pi
  redis.call('HSET', KEYS[3], client, pair)
  if redis.call('PTTL', KEYS[3]) < pair - now then redis.call('PEXPIRE', KEYS[3], pair - now) end
end
wait = gcra_wait(ft, now, fi, fb)
if client ~= '' then wait = math.max(wait, gcra_wait(pair, now, pi, pb)) end
if wait > 0 then return struct.pack('<dddI4c0dd', LOCKED, math.max(left, 0), x, 0, '', wait, 1) end
if left <= 0 then return struct.pack('<dddI4c0dd', ATTEMPTS_EXHAUSTED, 0, x, 0, '', 0, 1) end
return struct.pack('<dddI4c0dd', INVALID, left, x, 0, '', 0, 1)
