// Test support: a Sentinel-managed primary of the test's own (a primary, one replica and three
// Sentinels on free loopback ports), stopped when the object is destroyed.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace verikit::test {

class RedisSentinelGroup {
 public:
  // down_after_ms: how long the primary may be silent before the Sentinels fail it over.
  explicit RedisSentinelGroup(std::string master_name = "vkmaster", int down_after_ms = 1000);
  RedisSentinelGroup(const RedisSentinelGroup&) = delete;
  RedisSentinelGroup& operator=(const RedisSentinelGroup&) = delete;

  // redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/<master name>
  std::string url() const;
  const std::string& master_name() const { return name_; }
  RedisServer& first_primary() { return *data_[0]; }
  RedisServer& first_replica() { return *data_[1]; }
  RedisServer& sentinel(int i) { return *sentinels_[static_cast<std::size_t>(i)]; }
  // The address the Sentinels give for the primary now ("127.0.0.1:port").
  std::string announced_primary();
  // Until every Sentinel can authorise a failover (SENTINEL CKQUORUM) and knows the replica.
  void wait_until_ready(std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  std::string name_;
  std::unique_ptr<RedisServer> data_[2];
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace verikit::test
