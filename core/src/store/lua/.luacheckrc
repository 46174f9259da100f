-- luacheck configuration for the Redis store's scripts (`luacheck core/src/store/lua`).
-- Each script runs in Redis's Lua 5.1 after the generated outcome constants and prelude.lua
-- (see core/src/store/redis_scripts.hpp), so their names are known to every script here.
std = "lua51"
read_globals = {
  "redis", "cmsgpack", "struct", "KEYS", "ARGV",
  -- generated from verikit::Outcome (redis_scripts.cpp)
  "VERIFIED", "VALID", "ISSUED", "INVALID", "NOT_FOUND", "ATTEMPTS_EXHAUSTED", "LOCKED",
  "RATE_LIMITED", "COOLDOWN",
  -- prelude.lua
  "num", "num3", "need", "now_ms", "live_tokens", "g_read", "g_write", "drop_otp",
  "gcra_take", "gcra_wait", "gate", "live_token", "use_token", "count_failure",
  "load_budget", "budget_wait", "budget_count", "totp_wrong_guess",
}
