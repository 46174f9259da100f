// verikit — the Lua scripts of the Redis store (see redis_scripts.hpp for the key layout).
#include "store/redis_scripts.hpp"

namespace verikit::detail::scripts {

#define VK_PRELUDE                                                                     \
  "local function now_ms()\n"                                                         \
  "  local t = redis.call('TIME')\n"                                                  \
  "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"              \
  "end\n"                                                                             \
  "local function live_tokens(key, now)\n"                                            \
  "  local n = 0\n"                                                                   \
  "  local all = redis.call('HGETALL', key)\n"                                        \
  "  for i = 1, #all, 2 do\n"                                                         \
  "    if cmsgpack.unpack(all[i + 1])[4] > now then n = n + 1\n"                      \
  "    else redis.call('HDEL', key, all[i]) end\n"                                     \
  "  end\n"                                                                           \
  "  return n\n"                                                                      \
  "end\n"

const Script otp_issue{"otp_issue", VK_PRELUDE R"lua(
local now = now_ms()
local cur = redis.call('HMGET', KEYS[1], 'a', 'c')
local attempts = tonumber(ARGV[5])
if cur[1] then
  if ARGV[6] == '1' and cur[2] then
    return {1, cur[2], now + redis.call('PTTL', KEYS[1]), tonumber(cur[1])}
  end
  attempts = math.min(attempts, tonumber(cur[1]))
  redis.call('DEL', KEYS[1])
end
local fields = {'h', ARGV[1], 'a', attempts, 'f', ARGV[7]}
if ARGV[2] ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'p'; fields[#fields + 1] = ARGV[3] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {0, '', now + tonumber(ARGV[4]), attempts}
)lua"};

const Script otp_verify{"otp_verify", VK_PRELUDE R"lua(
local now = now_ms()
local rec = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p')
if not rec[1] then return {4, -1, 0} end
local expires = now + redis.call('PTTL', KEYS[1])
local left = tonumber(rec[2])
for i = 1, #ARGV do
  if ARGV[i] == rec[1] then
    local flags = tonumber(rec[3])
    if flags % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
    elseif flags % 2 == 1 then redis.call('DEL', KEYS[1]) end
    return {0, left, expires, rec[4] or ''}
  end
end
left = left - 1
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return {5, 0, expires}
end
redis.call('HSET', KEYS[1], 'a', left)
return {3, left, expires}
)lua"};

const Script otp_revoke{"otp_revoke", R"lua(
return redis.call('DEL', KEYS[1])
)lua"};

const Script token_issue{"token_issue", VK_PRELUDE R"lua(
local now = now_ms()
local ttl = tonumber(ARGV[5])
live_tokens(KEYS[1], now)
redis.call('HSET', KEYS[1], ARGV[1],
  cmsgpack.pack({tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), now + ttl, ARGV[6], ARGV[7]}))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return now + ttl
)lua"};

const Script token_verify{"token_verify", VK_PRELUDE R"lua(
local now = now_ms()
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {4} end
local r = cmsgpack.unpack(raw)
if r[4] <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {4}
end
if r[1] ~= tonumber(ARGV[2]) or (ARGV[3] ~= '' and r[2] ~= ARGV[3]) then return {4} end
if ARGV[4] ~= '1' then return {1, r[4], r[5], r[6]} end
if r[3] % 4 >= 2 then redis.call('DEL', KEYS[1], KEYS[2])
elseif r[3] % 2 == 1 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return {0, r[4], r[5], r[6]}
)lua"};

const Script token_revoke{"token_revoke", VK_PRELUDE R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if cmsgpack.unpack(raw)[4] <= now_ms() then return 0 end
return 1
)lua"};

const Script revoke_all{"revoke_all", VK_PRELUDE R"lua(
local n = redis.call('EXISTS', KEYS[1]) + live_tokens(KEYS[2], now_ms())
redis.call('DEL', KEYS[1], KEYS[2])
return n
)lua"};

const Script inspect{"inspect", VK_PRELUDE R"lua(
local now = now_ms()
local live = live_tokens(KEYS[2], now)
local a = redis.call('HGET', KEYS[1], 'a')
if not a then return {0, -1, 0, live} end
return {1, tonumber(a), now + redis.call('PTTL', KEYS[1]), live}
)lua"};

}  // namespace verikit::detail::scripts
