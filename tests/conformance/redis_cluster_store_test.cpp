// The conformance suite on the Redis store over a Redis Cluster (3 primaries, 3 replicas) this
// test binary makes: the same behaviour as on one server, every key routed to its slot's node.
#include "conformance/redis_harness.hpp"
#include "support/redis_cluster.hpp"

namespace verikit::test {
namespace {

RedisCluster& shared_cluster() {
  static RedisCluster cluster;
  return cluster;
}

}  // namespace

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"redis_cluster", [] { return std::make_unique<RedisHarness>(shared_cluster().url()); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test
