// The worst case under the default policy, measured: an attacker loop (issue, guess until
// refused, re-issue, ...) against one identifier, on the embedded store with a fake clock,
// over a simulated hour and day. The README's figures come from this derivation:
//   10 failures lock; locks last 15 min, doubling per repeat (15, 30, 60, 120, 240, 480, 960
//   min), so a day allows 7 rounds of 10 = 70 guesses, an hour 3 rounds = 30.
#include <gtest/gtest.h>

#include "store/limits.hpp"
#include "verikit/verikit.hpp"

namespace verikit {
namespace {

using namespace std::chrono_literals;

struct Tally {
  int guesses = 0;  // guesses whose code was actually compared
  int issued = 0;
};

// One attacker step per simulated second for `duration`: issue when possible, else guess.
Tally attack(std::chrono::seconds duration) {
  auto clock = std::make_shared<ManualClock>();
  auto engine = Engine::create(Config{}, make_memory_store(clock)).value();  // default policy
  Tally t;
  bool have_code = false;
  std::string code;
  for (long long s = 0; s < duration.count(); ++s) {
    if (!have_code) {
      Result r = engine->issue_otp("login", "victim@example.com").value();
      if (r.outcome == Outcome::issued) {
        ++t.issued;
        have_code = true;
        code = std::string(r.secret.view());
      }
    }
    if (have_code) {
      // The attacker never guesses right here; a wrong guess is the worst case for us.
      const std::string guess = code == "000000" ? "111111" : "000000";
      Result r = engine->verify_otp("login", "victim@example.com", guess).value();
      if (r.outcome == Outcome::invalid || r.outcome == Outcome::attempts_exhausted ||
          (r.outcome == Outcome::locked && r.attempts_remaining >= 0))
        ++t.guesses;
      if (r.outcome == Outcome::attempts_exhausted || r.outcome == Outcome::not_found) have_code = false;
    }
    clock->advance(1s);
  }
  return t;
}

TEST(AbuseBound, GuessesPerHourUnderTheDefaults) {
  const Tally t = attack(1h);
  std::printf("[ measure  ] one hour: %d guesses compared, %d codes issued\n", t.guesses, t.issued);
  EXPECT_LE(t.guesses, 30);
  EXPECT_GE(t.guesses, 30) << "the bound is tight: the loop reaches it";
}

TEST(AbuseBound, GuessesPerDayUnderTheDefaults) {
  const Tally t = attack(24h);
  std::printf("[ measure  ] one day: %d guesses compared, %d codes issued\n", t.guesses, t.issued);
  EXPECT_LE(t.guesses, 70);
  EXPECT_GE(t.guesses, 70);
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
  EXPECT_EQ(detail::gcra_available(tat, now, limit), 0);
  EXPECT_TRUE(detail::gcra_take(tat, now + 1000, limit).allowed);
  EXPECT_FALSE(detail::gcra_take(detail::gcra_take(tat, now + 1000, limit).tat, now + 1000, limit).allowed);
  EXPECT_EQ(detail::gcra_available(tat, now + 3000, limit), 3);
  EXPECT_EQ(detail::gcra_refund(tat, now, limit), tat - 1000);
  EXPECT_EQ(detail::gcra_available(0, now, GcraLimit{}), -1);
}

TEST(Lockout, EscalatesAndDecays) {
  const LockoutRule rule{2, 60000ms, 1000ms, 4000ms, 10000ms};
  RateState s;
  long long now = 1'000'000;
  EXPECT_FALSE(detail::count_failure(s, now, rule));
  EXPECT_TRUE(detail::count_failure(s, now, rule));
  EXPECT_EQ(s.locked_until, now + 1000);
  now = s.locked_until;
  detail::count_failure(s, now, rule);
  EXPECT_TRUE(detail::count_failure(s, now, rule));
  EXPECT_EQ(s.locked_until - now, 2000);
  now = s.level_until + 1;  // quiet for the decay: the doubling starts over
  detail::count_failure(s, now, rule);
  EXPECT_TRUE(detail::count_failure(s, now, rule));
  EXPECT_EQ(s.lockout_level, 1);
  EXPECT_EQ(s.locked_until - now, 1000);
  RateState fresh;
  EXPECT_FALSE(detail::count_failure(fresh, now, LockoutRule{}));  // off
}

}  // namespace
}  // namespace verikit
