// verikit — what the Redis store needs of a server: Redis 7.0 or later, a master (not a
// replica), Cluster mode exactly when the URL says redis+cluster:// (each primary checked on its
// own), no eviction, and the permissions its scripts need. Checked once when an engine is
// created (preflight: each refusal is a config error naming the fix) and, with the operator's
// extra items (memory headroom, persistence, replicas, TLS), item by item for `verikit doctor`
// (inspect_server: a verdict per item).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.hpp"
#include "verikit/error.hpp"
#include "verikit/redis_store.hpp"

namespace verikit::detail {

// The oldest Redis verikit runs on: this check uses redis.acl_check_cmd, and the scripts are to
// carry flags (`#!lua flags=...`, so that Redis decides about memory for a whole script up
// front); both arrived in 7.0, the version the tests run.
inline constexpr int kMinRedisMajor = 7;
inline constexpr int kMinRedisMinor = 0;

// Redis memory one pending OTP takes, for planning maxmemory: a code and its identifier's abuse
// counters share one key; used_memory after issuing N codes to N new identifiers, minus before,
// over N, was 270 bytes (N = 50,000; Redis 7.0.15, jemalloc; `verikit bench URL --issue-only
// --keep --ops N`, README "Operations"; 393-429 bytes when they were two keys, verikit 0.2).
// Rounded up to leave a margin.
inline constexpr std::uint64_t kBytesPerPendingCode = 320;

struct RedisRequirements {
  bool allow_eviction = false;               // RedisOptions::allow_eviction: warn instead of refusing
  bool cluster = false;                      // a primary of a Redis Cluster (redis+cluster://)
  std::string probe_key;                     // a key in verikit's key space (key ACLs are checked on it)
  std::vector<std::string> script_commands;  // what the scripts call, upper case
};

// What `verikit doctor` checks beyond the start-up requirements.
struct OperatorChecks {
  std::uint64_t pending_credentials = 0;  // codes expected to be live at once (memory headroom)
  int wait_replicas = 0;                  // the URL's wait_replicas
};

// Checks the server over `client` item by item (INFO, then CONFIG GET where INFO does not say,
// then a probe script): version, role, eviction, permissions, and with `extra` also memory,
// persistence, replicas and TLS. Every sentence is complete ("Redis at host:port ..."), a FAIL
// names the fix. `stop_at_fail`: return after the first FAIL. An error only when the server
// cannot be asked (not reachable, not ready, an unreadable reply).
Expected<std::vector<StoreCheck>> inspect_server(redis::Client& client, const RedisRequirements& req,
                                                 const OperatorChecks* extra, bool stop_at_fail);

// The start-up check: the first FAIL of inspect_server is a config error; WARNs (what the server
// refuses to say, an eviction policy accepted with allow_eviction) go to `warn`.
Status preflight(redis::Client& client, const RedisRequirements& req, const std::function<void(std::string_view)>& warn);

// The Redis commands a Lua script calls (redis.call / redis.pcall with a literal name), upper
// case, each once.
std::vector<std::string> commands_called(std::string_view lua);

}  // namespace verikit::detail
