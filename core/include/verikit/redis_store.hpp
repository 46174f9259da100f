// verikit — the Redis store: every engine operation is one atomic Lua script (one round trip),
// all keys of an operation under one hash tag (Cluster-ready), time from the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "verikit/config.hpp"
#include "verikit/store.hpp"

namespace verikit {

// Connects to config.store_url (redis://, rediss://, unix://; redis+cluster:// and
// redis+sentinel://, and their rediss+ forms) with config.redis, checks the server (every
// primary of a cluster) and loads the scripts. Refused with Errc::config, each with a message
// naming the fix: a wrong or missing password (one code for every authentication failure), Redis
// older than 7.0, a replica, a Cluster node behind redis:// (or a single server behind
// redis+cluster://), a maxmemory-policy other than noeviction
// (unless config.redis.allow_eviction: then a warning), a user whose ACL lacks what the scripts
// need. What the server refuses to tell (INFO, CONFIG GET) is reported through
// config.on_warning. Keys are prefixed with config.key_prefix.
Expected<std::shared_ptr<Store>> make_redis_store(const Config& config);

// One item of a server check: what was checked ("version", "role", "eviction", "memory",
// "persistence", "replicas", "keys", "permissions", "tls"), the verdict and a complete sentence (a FAIL
// names the fix; what a crash or a failover can lose is said where it applies).
struct StoreCheck {
  enum class Verdict { ok, warn, fail };
  std::string item;
  Verdict verdict = Verdict::ok;
  std::string detail;
};

// Checks the Redis server config.store_url names (a Cluster or Sentinel URL: every primary, each
// item's sentence naming its server), for an operator (`verikit doctor`): the
// start-up requirements of make_redis_store, each as an item rather than a refusal, plus
// memory headroom for `pending_credentials` live codes, persistence, replicas and TLS. Changes
// nothing but a script loaded into the script cache (the permission probe). Errors: the URL is
// not a Redis URL (invalid_argument), connecting or authenticating fails (config /
// store_unavailable, as make_redis_store), the server is not ready or answers nonsense.
Expected<std::vector<StoreCheck>> check_redis_store(const Config& config, std::uint64_t pending_credentials);

}  // namespace verikit
