-- key_check: the prefix's key-check record (the tag of the index key its records are named with)
-- against ARGV[1]; an absent one is made when ARGV[2] is '1'. KEYS, ARGV, reply and flags: the
-- descriptor `key_check` in ../redis_scripts.hpp.
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 0
end
if v then return 3 end
if ARGV[2] ~= '1' then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
