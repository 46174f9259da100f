-- client_limit: one event against (or one refund to) a client key's GCRA limit. KEYS, ARGV,
-- reply and flags: the descriptor `client_limit` in ../redis_scripts.hpp.
local now = now_ms()
local interval, burst = ARGV[2] + 0, ARGV[3] + 0
local tat = num(redis.call('HGET', KEYS[1], ARGV[1]))
if ARGV[4] == '1' then
  if tat > now then redis.call('HSET', KEYS[1], ARGV[1], math.max(now, tat - interval)) end
  return {1, 0}
end
local ok, nxt, retry = gcra_take(tat, now, interval, burst)
if not ok then return {0, retry} end
redis.call('HSET', KEYS[1], ARGV[1], nxt)
if redis.call('PTTL', KEYS[1]) < nxt - now then redis.call('PEXPIRE', KEYS[1], nxt - now) end
return {1, 0}
