// The conformance suite on the Redis store, against a redis-server this test binary starts.
// Time cannot be moved on a real server: advance() waits for real (the suite's TTLs are short).
#include <atomic>
#include <thread>

#include "conformance/conformance.hpp"
#include "support/redis_server.hpp"
#include "verikit/redis_store.hpp"

namespace verikit::test {
namespace {

RedisServer& shared_server() {
  static RedisServer server;
  return server;
}

class RedisHarness final : public StoreHarness {
 public:
  RedisHarness() {
    static std::atomic<int> counter{0};
    Config c;
    c.store_url = shared_server().url();
    c.key_prefix = "test" + std::to_string(counter++);  // each test in its own key space
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

}  // namespace

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"redis", [] { return std::make_unique<RedisHarness>(); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test
