// Test support: a Sentinel-managed primary (see redis_sentinel.hpp).
#include "support/redis_sentinel.hpp"

#include <stdexcept>
#include <thread>

namespace verikit::test {

RedisSentinelGroup::RedisSentinelGroup(std::string master_name, int down_after_ms) : name_(std::move(master_name)) {
  data_[0] = std::make_unique<RedisServer>();
  RedisServerOptions replica;
  replica.extra_args = {"--replicaof", "127.0.0.1", std::to_string(data_[0]->port())};
  data_[1] = std::make_unique<RedisServer>(std::move(replica));
  // The replica in sync before the Sentinels look (they learn of it from the primary's INFO).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (data_[0]->cli("INFO replication").find("state=online") == std::string::npos) {
    if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("the replica did not sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < 3; ++i) {
    RedisServerOptions s;
    s.sentinel_lines = {"sentinel monitor " + name_ + " 127.0.0.1 " + std::to_string(data_[0]->port()) + " 2",
                        "sentinel down-after-milliseconds " + name_ + " " + std::to_string(down_after_ms),
                        "sentinel failover-timeout " + name_ + " 5000", "sentinel parallel-syncs " + name_ + " 1"};
    sentinels_.push_back(std::make_unique<RedisServer>(std::move(s)));
  }
  wait_until_ready();
}

std::string RedisSentinelGroup::url() const {
  std::string u = "redis+sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i)
    u += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(sentinels_[i]->port());
  return u + "/" + name_;
}

std::string RedisSentinelGroup::announced_primary() {
  for (auto& s : sentinels_) {
    if (s->pid() <= 0) continue;
    std::string out = s->cli("SENTINEL get-master-addr-by-name " + name_);
    const auto nl = out.find('\n');
    if (nl == std::string::npos) continue;
    std::string port = out.substr(nl + 1);
    while (!port.empty() && (port.back() == '\n' || port.back() == '\r')) port.pop_back();
    return out.substr(0, nl) + ":" + port;
  }
  return "";
}

void RedisSentinelGroup::wait_until_ready(std::chrono::milliseconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  std::string last;
  for (;;) {
    bool ready = true;
    for (auto& s : sentinels_) {
      last = s->cli("SENTINEL CKQUORUM " + name_);
      const std::string replicas = s->cli("SENTINEL REPLICAS " + name_);
      if (last.rfind("OK 3 usable", 0) != 0 || replicas.find(std::to_string(data_[1]->port())) == std::string::npos)
        ready = false;
    }
    if (ready) return;
    if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("the Sentinels did not get ready: " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace verikit::test
