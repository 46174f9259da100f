-- token_verify: checks (and, when asked, consumes) a token or link. Only deletes, so it runs
-- under OOM. KEYS, ARGV, reply and flags: the descriptor `token_verify` in ../redis_scripts.hpp.
local now = now_ms()
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {NOT_FOUND} end
local r = cmsgpack.unpack(raw)
if need(r[4]) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {NOT_FOUND}
end
if r[1] ~= ARGV[2] + 0 or (ARGV[3] ~= '' and r[2] ~= ARGV[3]) then return {NOT_FOUND} end
if ARGV[4] ~= '1' then return {VALID, r[4], r[5], r[6]} end
local flags = need(r[3])
if flags % 4 >= 2 then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], unpack(OTP_FIELDS))
elseif flags % 2 == 1 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return {VERIFIED, r[4], r[5], r[6]}
