// The conformance suite on the Redis store, against a redis-server this test binary starts.
#include "conformance/redis_harness.hpp"
#include "support/redis_server.hpp"

namespace verikit::test {
namespace {

RedisServer& shared_server() {
  static RedisServer server;
  return server;
}

}  // namespace

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"redis", [] { return std::make_unique<RedisHarness>(shared_server().url()); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test
