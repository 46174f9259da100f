// verikit — the Redis store: every engine operation is one atomic Lua script (one round trip),
// all keys of an operation under one hash tag (Cluster-ready), time from the server.
#pragma once

#include <memory>

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

}  // namespace verikit
