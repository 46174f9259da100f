// The guess budget under the default policy, proven by search: many attacker strategies run
// against one identifier each, on the embedded store with a fake clock, for two simulated days;
// the store reports every guess it compared, and the most in any hour and any 24 hours must
// stay within the bound (10 and 30) -- and reach it, so the README's figures are these
// measurements (a test checks that the README says what this search found).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "store/limits.hpp"
#include "support/attacker.hpp"
#include "verikit/verikit.hpp"

namespace verikit {
namespace {

using namespace std::chrono_literals;
using test::Arena;
using test::GuessLog;
using test::Strategy;

constexpr long long kHour = 3'600'000, kDay = 24 * kHour;

struct Measured {
  int hour = 0, day = 0, uncounted = 0;
};

// Two engines on one fake-clock store: key 1, and after a rotation key 2 with key 1 previous
// (the same index key).
struct World {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<GuessLog> log;
  Arena arena;
  explicit World(Policy policy) {
    log = std::make_shared<GuessLog>(make_memory_store(clock), [c = clock] { return c->now().time_since_epoch().count(); });
    const Key k1 = generate_key(1), k2 = generate_key(2);
    Config c1;
    c1.default_policy = policy;
    c1.keys = KeySet{k1, {}, std::nullopt};
    Config c2 = c1;
    c2.keys = KeySet{k2, {k1}, k1.bytes};
    arena.engine = Engine::create(c1, log).value();
    arena.rotated = Engine::create(c2, log).value();
    arena.now_ms = [c = clock] { return c->now().time_since_epoch().count(); };
    arena.sleep = [c = clock](std::chrono::milliseconds d) { c->advance(d); };
  }
};

Measured run(World& w, const Strategy& s, const std::string& id) {
  w.log->clear();
  test::attack(s, w.arena, id, 48h);
  const auto t = w.log->times();
  return Measured{test::max_in_window(t, kHour), test::max_in_window(t, kDay), w.log->uncounted()};
}

struct SearchResult {
  int hour = 0, day = 0;
};

SearchResult search(const Policy& policy, const char* label) {
  World w(policy);
  SearchResult worst;
  int i = 0;
  for (const Strategy& s : test::strategy_search(60s)) {
    const Measured m = run(w, s, "victim" + std::to_string(i++) + "@example.com");
    EXPECT_LE(m.hour, 10) << label << ": " << s.name;
    EXPECT_LE(m.day, 30) << label << ": " << s.name;
    EXPECT_EQ(m.uncounted, 0) << label << ": " << s.name << ": a compared wrong guess was not counted";
    worst.hour = std::max(worst.hour, m.hour);
    worst.day = std::max(worst.day, m.day);
    if (::testing::Test::HasFailure()) std::printf("  %-55s hour %2d  day %2d\n", s.name.c_str(), m.hour, m.day);
  }
  std::printf("[ measure  ] %s: %zu strategies, most compared guesses in any hour %d, in any 24 hours %d\n", label,
              test::strategy_search(60s).size(), worst.hour, worst.day);
  return worst;
}

std::string readme() {
  std::ifstream in(VERIKIT_SOURCE_DIR "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string bound_sentence(int hour, int day) {
  return "**Worst case per identifier under the defaults, found by the strategy search: " + std::to_string(hour) +
         " compared guesses in any hour, " + std::to_string(day) + " in any 24 hours.**";
}

TEST(AbuseBound, StrategySearchStaysWithinTheBudgetAndReachesIt) {
  const SearchResult replace = search(Policy{}, "reissue replace");
  Policy resend;
  resend.reissue = Reissue::resend_same;
  const SearchResult same = search(resend, "reissue resend_same");
  const int hour = std::max(replace.hour, same.hour), day = std::max(replace.day, same.day);
  EXPECT_EQ(hour, 10) << "the bound is tight: some strategy reaches it";
  EXPECT_EQ(day, 30);
  EXPECT_NE(readme().find(bound_sentence(hour, day)), std::string::npos)
      << "README.md must state what the search found: " << bound_sentence(hour, day);
}

// What it takes to lock out a user who verifies from another client key: attacker client keys
// each spend their own (identifier, client key) budget first; only the identifier-wide budget,
// once spent by several of them, refuses the user too.
TEST(AbuseBound, LockingOutAUserOnAnotherClientKeyTakesSeveralClientKeys) {
  World w(Policy{});
  Engine& e = *w.arena.engine;
  const std::string id = "user@example.com";
  int keys = 0, guesses = 0;
  auto user_locked = [&] { return e.inspect("login", id)->counters->guesses_available == 0; };
  while (!user_locked() && keys < 100) {
    const std::string attacker = "198.51.100." + std::to_string(++keys);
    for (;;) {
      auto issued = e.issue_otp("login", id);
      if (issued->outcome != Outcome::issued) {
        w.clock->advance(issued->retry_after);
        continue;
      }
      auto r = e.verify_otp("login", id, std::string(issued->secret.view()) == "111111" ? "222222" : "111111",
                            VerifyOptions{.client_key = attacker});
      if (r->outcome == Outcome::invalid || r->outcome == Outcome::attempts_exhausted ||
          (r->outcome == Outcome::locked && r->attempts_remaining >= 0))
        ++guesses;
      if (r->outcome == Outcome::locked) break;
    }
    if (keys == 1) {  // one attacker key spent: the user's own key still verifies
      w.clock->advance(31s);
      auto code = e.issue_otp("login", id);
      ASSERT_EQ(code->outcome, Outcome::issued);
      EXPECT_EQ(e.verify_otp("login", id, code->secret.view(), VerifyOptions{.client_key = "user-device"})->outcome,
                Outcome::verified);
    }
  }
  std::printf("[ measure  ] locking out a user on another client key took %d attacker client keys and %d wrong guesses\n",
              keys, guesses);
  EXPECT_EQ(keys, 4);
  EXPECT_EQ(guesses, 10);
  auto user = e.issue_otp("login", id);
  EXPECT_EQ(user->outcome, Outcome::locked) << "a spent budget blocks issue (lockout_blocks_issue)";
  const std::string sentence = "locking out a user who verifies from another client key takes " + std::to_string(keys) +
                               " attacker client keys and " + std::to_string(guesses) + " wrong guesses";
  EXPECT_NE(readme().find(sentence), std::string::npos) << "README.md must say: " << sentence;
}

// ---- the rules themselves ----

TEST(Gcra, AllowsTheBurstThenOnePerInterval) {
  const GcraLimit limit{1000ms, 3};
  long long tat = 0, now = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    auto g = detail::gcra_take(tat, now, limit);
    ASSERT_TRUE(g.allowed) << i;
    tat = g.tat;
  }
  auto refused = detail::gcra_take(tat, now, limit);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_ms, 1000);
  EXPECT_EQ(detail::gcra_wait(tat, now, limit), 1000);
  EXPECT_EQ(detail::gcra_available(tat, now, limit), 0);
  EXPECT_TRUE(detail::gcra_take(tat, now + 1000, limit).allowed);
  EXPECT_EQ(detail::gcra_wait(tat, now + 1000, limit), 0);
  EXPECT_FALSE(detail::gcra_take(detail::gcra_take(tat, now + 1000, limit).tat, now + 1000, limit).allowed);
  EXPECT_EQ(detail::gcra_available(tat, now + 3000, limit), 3);
  EXPECT_EQ(detail::gcra_refund(tat, now, limit), tat - 1000);
  EXPECT_EQ(detail::gcra_available(0, now, GcraLimit{}), -1);
  EXPECT_EQ(detail::gcra_wait(tat, now, GcraLimit{}), 0);
}

// Any sequence of allowed events fits burst + floor(W / interval) in a window of length W.
TEST(Gcra, NoWindowHoldsMoreThanBurstPlusItsLengthOverTheInterval) {
  const GcraLimit limit{700ms, 4};
  for (long long step : {1LL, 50LL, 333LL, 699LL, 700LL, 701LL, 1400LL}) {
    long long tat = 0;
    std::vector<long long> allowed;
    for (long long now = 1'000'000; now < 1'000'000 + 60'000; now += step) {
      auto g = detail::gcra_take(tat, now, limit);
      if (g.allowed) {
        tat = g.tat;
        allowed.push_back(now);
      }
    }
    for (long long w : {0LL, 699LL, 700LL, 3500LL, 10'000LL})
      EXPECT_LE(test::max_in_window(allowed, w), 4 + w / 700) << "step " << step << " window " << w;
  }
}

TEST(FailureBudget, TheClientKeysBudgetIsSpentFirstAndBothAreCounted) {
  FailureBudget b{GcraLimit{1000ms, 5}, GcraLimit{2000ms, 2}, "client"};
  RateState s;
  long long pair = 0, now = 1'000'000;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(detail::check_budget(s, pair, now, b).allowed);
    detail::count_failure(s, pair, now, b);
  }
  auto c = detail::check_budget(s, pair, now, b);
  EXPECT_FALSE(c.allowed) << "the pair budget (burst 2) is spent";
  EXPECT_EQ(c.retry_ms, 2000);
  EXPECT_TRUE(detail::check_budget(s, 0, now, FailureBudget{b.identifier, b.pair, "other"}).allowed)
      << "another client key still has its own budget and the identifier's";
  EXPECT_EQ(s.failure_tat, now + 2000) << "the identifier's budget counted both";
  RateState fresh;
  long long none = 0;
  detail::count_failure(fresh, none, now, FailureBudget{});
  EXPECT_EQ(fresh.failure_tat, 0) << "off";
  EXPECT_TRUE(detail::check_budget(fresh, none, now, FailureBudget{}).allowed);
}

}  // namespace
}  // namespace verikit
