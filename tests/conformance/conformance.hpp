// The store conformance suite: engine behaviour that every store must give the same way.
// Each store's test binary instantiates it with its own harness factory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <thread>
#include <vector>

#include "support/stores.hpp"

namespace verikit::test {

class Conformance : public ::testing::TestWithParam<HarnessFactory> {
 protected:
  void SetUp() override { harness = GetParam().make(); }

  // An engine over the harness's store with the given policies and a fixed key. Abuse controls
  // are off unless `abuse_controls` (their own tests turn them on): other rules re-issue freely.
  std::shared_ptr<Engine> engine(Config config = {}, bool abuse_controls = false) {
    if (!config.keys) config.keys = KeySet{key, {}, std::nullopt};
    if (!abuse_controls) {
      config.default_policy = without_abuse_controls(config.default_policy);
      for (auto& [purpose, policy] : config.policies) policy = without_abuse_controls(policy);
    }
    auto e = Engine::create(std::move(config), harness->store());
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
    return e.value();
  }

  static Config with_policy(const std::string& purpose, Policy p) {
    Config c;
    c.policies[purpose] = std::move(p);
    return c;
  }

  Key key = generate_key(1);
  std::unique_ptr<StoreHarness> harness;
};

std::string harness_name(const ::testing::TestParamInfo<HarnessFactory>& info);

// Runs body(i) on `threads` threads released together; returns each thread's outcome.
template <class Body>
std::vector<Outcome> race(int threads, Body body) {
  std::vector<Outcome> outcomes(threads, Outcome::valid);
  std::barrier start(threads);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      start.arrive_and_wait();
      outcomes[i] = body(i);
    });
  for (auto& t : pool) t.join();
  return outcomes;
}

inline int count(const std::vector<Outcome>& v, Outcome o) {
  return static_cast<int>(std::count(v.begin(), v.end(), o));
}

// The stores this test binary runs the suites on (defined by its <store>_store_test.cpp).
std::vector<HarnessFactory> store_harnesses();

}  // namespace verikit::test
