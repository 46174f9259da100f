// Sentinel: the store follows a Sentinel-managed primary (one primary, one replica, three
// Sentinels, all made by the test): discovery, a failover asked of the Sentinels, the primary
// killed; and the ROLE check that keeps the client from writing to a replica.
// Labelled "cluster" in CTest with the Redis Cluster tests (they take seconds each).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "redis/client.hpp"
#include "support/redis_sentinel.hpp"
#include "verikit/verikit.hpp"

namespace verikit {
namespace {

using namespace std::chrono_literals;
using test::RedisSentinelGroup;
using test::RedisServer;
using Clock = std::chrono::steady_clock;

std::string role_of(RedisServer& s) {
  const std::string out = s.cli("ROLE");
  return out.substr(0, out.find('\n'));
}

Config sentinel_config(const std::string& url) {
  Config c;
  c.store_url = url;
  c.key_prefix = "sentinel";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.default_policy = without_abuse_controls(c.default_policy);
  return c;
}

// One issue and verification of a fresh code: true when both did what they should. A wrong
// outcome (not an error) fails the test at once.
bool round_trip(Engine& e, const std::string& id) {
  auto code = e.issue_otp("login", id);
  if (!code) return false;
  EXPECT_EQ(code->outcome, Outcome::issued);
  std::string wrong(code->secret.view());
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  auto bad = e.verify_otp("login", id, wrong);
  if (bad) {
    EXPECT_NE(bad->outcome, Outcome::verified) << "a wrong code was verified";
  }
  auto good = e.verify_otp("login", id, code->secret.view());
  return bad && good && bad->outcome == Outcome::invalid && good->outcome == Outcome::verified;
}

TEST(Sentinel, ThePrimaryIsFoundAndFollowedAcrossFailovers) {
  RedisSentinelGroup group;
  auto e = Engine::create(sentinel_config(group.url()));
  ASSERT_TRUE(e.has_value()) << e.error().message;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(round_trip(**e, "ann"));
  ASSERT_EQ((*e)->issue_otp("login", "kept")->outcome, Outcome::issued);
  EXPECT_NE(group.first_primary().cli("--scan --pattern 'sentinel:*'"), "") << "the code is on the primary";

  // A failover asked of the Sentinels: the replica becomes the primary, the old primary its
  // replica. From the moment the Sentinels name the new primary, operations succeed; once the
  // old primary refuses writes, they can only have run on the new one.
  const auto asked = Clock::now();
  EXPECT_EQ(group.sentinel(0).cli("SENTINEL FAILOVER " + group.master_name()).substr(0, 2), "OK");
  const auto give_up = asked + 30s;  // the old primary is reconfigured at the next INFO poll (10 s)
  const std::string next = "127.0.0.1:" + std::to_string(group.first_replica().port());
  while (group.announced_primary() != next && Clock::now() < give_up) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(group.announced_primary(), next);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(round_trip(**e, "bob-" + std::to_string(i))) << i;
  while (role_of(group.first_primary()) != "slave" && Clock::now() < give_up) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(role_of(group.first_primary()), "slave");
  std::printf("[ measure  ] the failover took %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count()));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(round_trip(**e, "cy-" + std::to_string(i))) << i;
  EXPECT_EQ(role_of(group.first_replica()), "master");
}

// The primary is killed: the Sentinels promote the replica (down-after 1000 ms, then the
// election and promotion); operations resume within kResumeBound of the kill.
constexpr auto kResumeBound = std::chrono::seconds(20);

TEST(Sentinel, ThePrimaryKilledOperationsResume) {
  RedisSentinelGroup group;
  // The replica may evict: when it is promoted it is checked, and said to.
  group.first_replica().cli("CONFIG SET maxmemory-policy volatile-lru");
  std::mutex warned_mutex;
  std::vector<std::string> warned;
  Config config = sentinel_config(group.url());
  config.on_warning = [&](std::string_view w) {
    std::lock_guard<std::mutex> lock(warned_mutex);
    warned.emplace_back(w);
  };
  auto e = Engine::create(config).value();
  ASSERT_TRUE(round_trip(*e, "dee"));
  const auto killed_at = Clock::now();
  group.first_primary().kill();
  int failed = 0;
  Clock::time_point resumed{};
  for (int i = 0; Clock::now() < killed_at + kResumeBound + 5s; ++i) {
    if (round_trip(*e, "dee-" + std::to_string(i))) {
      resumed = Clock::now();
      break;
    }
    ++failed;
  }
  ASSERT_NE(resumed, Clock::time_point{}) << "operations did not resume";
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(resumed - killed_at);
  std::printf("[ measure  ] operations resumed %lld ms after the primary was killed (%d rounds failed)\n",
              static_cast<long long>(took.count()), failed);
  EXPECT_LT(took, kResumeBound);
  EXPECT_EQ(role_of(group.first_replica()), "master");
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(round_trip(*e, "after-" + std::to_string(i)));
  std::lock_guard<std::mutex> lock(warned_mutex);
  ASSERT_EQ(warned.size(), 1u) << testing::PrintToString(warned);
  EXPECT_NE(warned[0].find(std::to_string(group.first_replica().port()) + " became a primary"), std::string::npos)
      << warned[0];
  EXPECT_NE(warned[0].find("volatile-lru"), std::string::npos) << warned[0];
}

TEST(Sentinel, AReplicaIsNeverConnectedToAsThePrimaryAndAnUnknownNameIsAConfigError) {
  RedisSentinelGroup group;
  auto ep = redis::parse_endpoint("redis://127.0.0.1:" + std::to_string(group.first_replica().port()));
  ep->require_master = true;  // as for a Sentinel-found primary: ROLE at every (re)connect
  auto replica = redis::Client::connect(*ep);
  ASSERT_FALSE(replica.has_value());
  EXPECT_EQ(replica.error().code, Errc::store_unavailable);
  EXPECT_NE(replica.error().message.find("is not a master (ROLE: slave)"), std::string::npos) << replica.error().message;

  auto unknown = Engine::create(sentinel_config(group.url() + "-nope"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::config);
  EXPECT_NE(unknown.error().message.find("knows no master named 'vkmaster-nope'"), std::string::npos)
      << unknown.error().message;
}

}  // namespace
}  // namespace verikit
