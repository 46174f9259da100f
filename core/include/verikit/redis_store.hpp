// verikit — the Redis store: every engine operation is one atomic Lua script (one round trip),
// all keys of an operation under one hash tag (Cluster-ready), time from the server.
#pragma once

#include <memory>

#include "verikit/config.hpp"
#include "verikit/store.hpp"

namespace verikit {

// Connects to config.store_url (redis://, rediss://, unix://) with config.redis, loads the
// scripts, and checks maxmemory-policy (a policy that may evict keys is reported through
// config.on_warning). Keys are prefixed with config.key_prefix.
Expected<std::shared_ptr<Store>> make_redis_store(const Config& config);

}  // namespace verikit
