// The conformance suite's harness for a Redis store (one server or a cluster): each test in a
// key space of its own. Time cannot be moved on a real server: advance() waits for real (the
// suite's TTLs are short).
#pragma once

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "conformance/conformance.hpp"
#include "verikit/redis_store.hpp"

namespace verikit::test {

class RedisHarness final : public StoreHarness {
 public:
  explicit RedisHarness(const std::string& url) {
    static std::atomic<int> counter{0};
    Config c;
    c.store_url = url;
    c.key_prefix = "test" + std::to_string(counter++);
    auto s = make_redis_store(c);
    if (!s) throw std::runtime_error(s.error().message);
    store_ = std::move(s).value();
  }
  std::shared_ptr<Store> store() override { return store_; }
  TimePoint now() override { return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()); }
  void advance(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }

 private:
  std::shared_ptr<Store> store_;
};

}  // namespace verikit::test
