// verikit — what the Redis store needs of a server, checked once when an engine is created:
// Redis 7.0 or later, a master (not a replica), Cluster mode exactly when the URL says
// redis+cluster:// (each primary checked on its own), no eviction, and the permissions its
// scripts need. Each refusal is a config error naming the fix.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.hpp"
#include "verikit/error.hpp"

namespace verikit::detail {

// The oldest Redis verikit runs on: this check uses redis.acl_check_cmd, and the scripts are to
// carry flags (`#!lua flags=...`, so that Redis decides about memory for a whole script up
// front); both arrived in 7.0, the version the tests run.
inline constexpr int kMinRedisMajor = 7;
inline constexpr int kMinRedisMinor = 0;

struct RedisRequirements {
  bool allow_eviction = false;               // RedisOptions::allow_eviction: warn instead of refusing
  bool cluster = false;                      // a primary of a Redis Cluster (redis+cluster://)
  std::string probe_key;                     // a key in verikit's key space (key ACLs are checked on it)
  std::vector<std::string> script_commands;  // what the scripts call, upper case
};

// Runs the checks over `client` (one server; for a cluster, each primary in turn) (INFO, then CONFIG GET where INFO does not say, then a probe
// script). What cannot be checked because the server refuses to say (an ACL without INFO or
// CONFIG) is reported through `warn`, not refused.
Status preflight(redis::Client& client, const RedisRequirements& req, const std::function<void(std::string_view)>& warn);

// The Redis commands a Lua script calls (redis.call / redis.pcall with a literal name), upper
// case, each once.
std::vector<std::string> commands_called(std::string_view lua);

}  // namespace verikit::detail
