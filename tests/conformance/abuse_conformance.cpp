// Conformance: the abuse controls, identical on every store. Windows are short (seconds) so
// that the Redis harness, which waits for real, stays quick.
#include <barrier>
#include <random>
#include <set>
#include <thread>

#include "conformance/conformance.hpp"

namespace verikit::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The defaults with the short windows these tests use.
Policy short_windows() {
  Policy p;
  p.resend_cooldown = seconds(0);
  p.send_limit = RateLimit{};
  p.failure_limit = RateLimit{1, seconds(1), 3};              // 3 at once, then one per second
  p.client_pair_failure_limit = RateLimit{1, seconds(2), 2};  // 2 at once, then one per 2 s
  p.client_issue_limit = RateLimit{};
  p.client_failure_limit = RateLimit{};
  p.max_active_tokens = 0;
  p.max_attempts = 10;
  return p;
}

std::string wrong_for(std::string_view code) { return code[0] == '0' ? "111111" : "000000"; }

class Abuse : public Conformance {
 protected:
  std::shared_ptr<Engine> strict(const Policy& p) { return engine(with_policy("login", p), true); }
};

TEST_P(Abuse, ResendCooldown) {
  Policy p = short_windows();
  p.resend_cooldown = seconds(1);
  auto e = strict(p);
  EXPECT_EQ(e->issue_otp("login", "ann")->outcome, Outcome::issued);
  Result again = e->issue_otp("login", "ann").value();
  EXPECT_EQ(again.outcome, Outcome::cooldown);
  EXPECT_GT(again.retry_after, milliseconds(500));
  EXPECT_LE(again.retry_after, milliseconds(1000));
  EXPECT_TRUE(again.secret.empty());
  EXPECT_EQ(e->issue_link("login", "ann", "https://e.com/m")->outcome, Outcome::cooldown) << "any kind of send";
  EXPECT_EQ(e->issue_otp("login", "other")->outcome, Outcome::issued) << "per identifier";
  harness->advance(milliseconds(1100));
  EXPECT_EQ(e->issue_otp("login", "ann")->outcome, Outcome::issued);
}

TEST_P(Abuse, SendRateLimitIsGcra) {
  Policy p = short_windows();
  p.send_limit = RateLimit{2, seconds(2), 2};  // one per second, two at once
  auto e = strict(p);
  EXPECT_EQ(e->issue_otp("login", "bob")->outcome, Outcome::issued);
  EXPECT_EQ(e->issue_otp("login", "bob")->outcome, Outcome::issued);
  Result third = e->issue_otp("login", "bob").value();
  EXPECT_EQ(third.outcome, Outcome::rate_limited);
  EXPECT_GT(third.retry_after, milliseconds(0));
  EXPECT_LE(third.retry_after, milliseconds(1000));
  Result seen = e->inspect("login", "bob").value();
  ASSERT_TRUE(seen.counters);
  EXPECT_EQ(seen.counters->sends_available, 0);
  ASSERT_TRUE(seen.counters->send_limit_reset_at);
  harness->advance(milliseconds(1100));
  EXPECT_EQ(e->issue_otp("login", "bob")->outcome, Outcome::issued) << "one more per interval";
  EXPECT_EQ(e->issue_otp("login", "bob")->outcome, Outcome::rate_limited) << "no burst at the window edge";
}

TEST_P(Abuse, FailureBudgetCountsAcrossReissuedCodes) {
  Policy p = short_windows();
  p.max_attempts = 2;
  auto e = strict(p);
  Result c1 = e->issue_otp("login", "cy").value();
  EXPECT_EQ(e->verify_otp("login", "cy", wrong_for(c1.secret.view()))->outcome, Outcome::invalid);
  EXPECT_EQ(e->verify_otp("login", "cy", wrong_for(c1.secret.view()))->outcome, Outcome::attempts_exhausted);
  Result c2 = e->issue_otp("login", "cy").value();  // a fresh code buys no fresh guesses
  Result third = e->verify_otp("login", "cy", wrong_for(c2.secret.view())).value();
  EXPECT_EQ(third.outcome, Outcome::locked) << "this guess spent the budget";
  EXPECT_EQ(third.attempts_remaining, 1) << "it was compared and counted";
  EXPECT_GT(third.retry_after, milliseconds(500));
  EXPECT_LE(third.retry_after, milliseconds(1000));
  Result refused = e->verify_otp("login", "cy", c2.secret.view()).value();
  EXPECT_EQ(refused.outcome, Outcome::locked) << "not even compared";
  EXPECT_EQ(refused.attempts_remaining, -1);
  EXPECT_EQ(e->issue_otp("login", "cy")->outcome, Outcome::locked) << "a spent budget gets no codes";
  Result seen = e->inspect("login", "cy").value();
  EXPECT_EQ(seen.outcome, Outcome::locked);
  EXPECT_TRUE(seen.counters->locked_until);
  EXPECT_EQ(seen.counters->failures, 3);
  EXPECT_EQ(seen.counters->guesses_available, 0);
  EXPECT_EQ(seen.attempts_remaining, 1);
  harness->advance(milliseconds(1100));
  EXPECT_EQ(e->verify_otp("login", "cy", c2.secret.view())->outcome, Outcome::verified);
}

// The budget refills one guess per interval: waiting at a window edge buys nothing extra.
TEST_P(Abuse, FailureBudgetRefillsOnePerIntervalAndNeverAllAtOnce) {
  Policy p = short_windows();
  p.max_attempts = 100;
  auto e = strict(p);
  Result code = e->issue_otp("login", "dot").value();
  const std::string wrong = wrong_for(code.secret.view());
  int compared = 0;
  auto guess = [&] {
    Result r = e->verify_otp("login", "dot", wrong).value();
    if (r.attempts_remaining >= 0) ++compared;
    return r.outcome;
  };
  for (int i = 0; i < 5; ++i) guess();
  EXPECT_EQ(compared, 3) << "the burst";
  for (int second = 0; second < 4; ++second) {
    harness->advance(milliseconds(1050));
    for (int i = 0; i < 3; ++i) guess();
  }
  EXPECT_EQ(compared, 3 + 4) << "then one per interval, never a fresh burst";
  EXPECT_EQ(e->inspect("login", "dot")->attempts_remaining, 100 - compared);
}

TEST_P(Abuse, ASuccessDoesNotRefillTheBudget) {
  auto e = strict(short_windows());
  Result c1 = e->issue_otp("login", "eli").value();
  e->verify_otp("login", "eli", wrong_for(c1.secret.view())).value();
  e->verify_otp("login", "eli", wrong_for(c1.secret.view())).value();
  EXPECT_EQ(e->inspect("login", "eli")->counters->failures, 2);
  EXPECT_EQ(e->verify_otp("login", "eli", c1.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e->inspect("login", "eli")->counters->failures, 2) << "a success forgives nothing";
  Result c2 = e->issue_otp("login", "eli").value();
  EXPECT_EQ(e->verify_otp("login", "eli", wrong_for(c2.secret.view()))->outcome, Outcome::locked);
}

TEST_P(Abuse, UnlockIsExplicit) {
  Policy p = short_windows();
  p.failure_limit = RateLimit{1, seconds(3600), 3};
  p.client_pair_failure_limit = RateLimit{1, seconds(3600), 3};
  auto e = strict(p);
  Result code = e->issue_otp("login", "fin").value();
  VerifyOptions from;
  from.client_key = "10.1.1.1";
  for (int i = 0; i < 3; ++i) e->verify_otp("login", "fin", wrong_for(code.secret.view()), from).value();
  EXPECT_EQ(e->inspect("login", "fin")->outcome, Outcome::locked);
  EXPECT_TRUE(e->unlock("login", "fin").value());
  EXPECT_FALSE(e->unlock("login", "fin").value());
  Result seen = e->inspect("login", "fin").value();
  EXPECT_EQ(seen.counters->failures, 0);
  EXPECT_EQ(seen.counters->guesses_available, 3);
  EXPECT_FALSE(seen.counters->locked_until);
  EXPECT_EQ(e->verify_otp("login", "fin", code.secret.view(), from)->outcome, Outcome::verified)
      << "the client key's budget was refilled too";
}

TEST_P(Abuse, LockoutMayAllowIssue) {
  Policy p = short_windows();
  p.lockout_blocks_issue = false;
  auto e = strict(p);
  Result code = e->issue_otp("login", "gil").value();
  for (int i = 0; i < 3; ++i) e->verify_otp("login", "gil", wrong_for(code.secret.view())).value();
  EXPECT_EQ(e->issue_otp("login", "gil")->outcome, Outcome::issued);
  EXPECT_EQ(e->verify_otp("login", "gil", code.secret.view())->outcome, Outcome::locked);
}

// Spellings of one identifier are one identifier, with one budget and one live code.
TEST_P(Abuse, SpellingsOfOneIdentifierShareOneBudget) {
  auto e = strict(short_windows());
  Result code = e->issue_otp("login", "Ann@Example.com").value();
  const std::string wrong = wrong_for(code.secret.view());
  EXPECT_EQ(e->verify_otp("login", "ann@example.com", wrong)->outcome, Outcome::invalid);
  EXPECT_EQ(e->verify_otp("login", " ANN@EXAMPLE.COM\t", wrong)->outcome, Outcome::invalid);
  EXPECT_EQ(e->verify_otp("login", "ann@example.com ", wrong)->outcome, Outcome::locked);
  EXPECT_EQ(e->inspect("login", "aNN@example.COM")->counters->failures, 3);
  Policy exact = short_windows();
  exact.lowercase_identifier = false;
  exact.trim_identifier = false;
  auto cs = engine(with_policy("case-sensitive", exact), true);
  Result a = cs->issue_otp("case-sensitive", "UserId").value();
  EXPECT_EQ(cs->verify_otp("case-sensitive", "userid", a.secret.view())->outcome, Outcome::not_found) << "opt-out";
  EXPECT_EQ(cs->verify_otp("case-sensitive", "UserId", a.secret.view())->outcome, Outcome::verified);
}

// An attacker on one client key spends his own budget long before the identifier's: the user
// on another client key still gets in.
TEST_P(Abuse, AClientKeySpendsItsOwnBudgetBeforeTheIdentifiers) {
  Policy p = short_windows();
  p.failure_limit = RateLimit{1, seconds(3600), 5};
  p.client_pair_failure_limit = RateLimit{1, seconds(3600), 2};
  auto e = strict(p);
  Result code = e->issue_otp("login", "hugo").value();
  const std::string wrong = wrong_for(code.secret.view());
  VerifyOptions attacker, user;
  attacker.client_key = "198.51.100.9";
  user.client_key = "hugo-laptop";
  EXPECT_EQ(e->verify_otp("login", "hugo", wrong, attacker)->outcome, Outcome::invalid);
  Result spent = e->verify_otp("login", "hugo", wrong, attacker).value();
  EXPECT_EQ(spent.outcome, Outcome::locked) << "this client key's budget is spent";
  EXPECT_GT(spent.retry_after, milliseconds(3000 * 1000));
  Result refused = e->verify_otp("login", "hugo", wrong, attacker).value();
  EXPECT_EQ(refused.outcome, Outcome::locked);
  EXPECT_EQ(refused.attempts_remaining, -1) << "not compared";
  Result seen = e->inspect("login", "hugo").value();
  EXPECT_EQ(seen.outcome, Outcome::valid) << "the identifier is not locked";
  EXPECT_EQ(seen.counters->guesses_available, 3);
  EXPECT_EQ(seen.attempts_remaining, 8);
  EXPECT_EQ(e->verify_otp("login", "hugo", code.secret.view(), user)->outcome, Outcome::verified);
}

// A code that cannot be right costs nothing and says nothing: the same error whether a code is
// live, absent or locked, and no attempt, failure or client budget is spent.
TEST_P(Abuse, MalformedCodesCostNothingAndRevealNothing) {
  Policy p = short_windows();
  p.client_failure_limit = RateLimit{1, seconds(3600), 1};
  auto e = strict(p);
  Result code = e->issue_otp("login", "ivy").value();
  VerifyOptions from;
  from.client_key = "203.0.113.5";
  std::set<std::string> messages;
  for (const char* id : {"ivy", "nobody"})
    for (std::string bad : {"12345", "1234567", "12a456", "ABCDEF", "------"}) {
      auto r = e->verify_otp("login", id, bad, from);
      ASSERT_FALSE(r.has_value()) << bad;
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
      messages.insert(r.error().message);
    }
  Result seen = e->inspect("login", "ivy").value();
  EXPECT_EQ(seen.attempts_remaining, 10);
  EXPECT_EQ(seen.counters->failures, 0);
  EXPECT_EQ(e->verify_otp("login", "ivy", code.secret.view(), from)->outcome, Outcome::verified)
      << "the client key's budget of one is untouched";
  EXPECT_EQ(messages.size(), 1u) << "one message for every code of the wrong form, whatever the store holds";
}

// resend_same re-sends the live code only to a request with the same payload; another payload
// (a new e-mail address to confirm) gets a new code, and the old one dies.
TEST_P(Abuse, ResendSameNeverSendsOneCodeToTwoDestinations) {
  Policy p = short_windows();
  p.reissue = Reissue::resend_same;
  auto e = strict(p);
  IssueOptions mine, again, theirs;
  mine.payload = "new@alice.example";
  again.payload = "new@alice.example";
  theirs.payload = "attacker@evil.example";
  Result first = e->issue_otp("login", "jo", mine).value();
  EXPECT_FALSE(first.reused);
  Result resent = e->issue_otp("login", "jo", again).value();
  EXPECT_TRUE(resent.reused);
  EXPECT_EQ(resent.secret.view(), first.secret.view());
  EXPECT_EQ(e->verify_otp("login", "jo", wrong_for(first.secret.view()))->outcome, Outcome::invalid);
  Result other = e->issue_otp("login", "jo", theirs).value();
  EXPECT_FALSE(other.reused) << "another payload replaces the code";
  EXPECT_EQ(other.attempts_remaining, 9) << "and keeps its spent attempts";
  if (other.secret.view() != first.secret.view()) {
    Result old = e->verify_otp("login", "jo", first.secret.view()).value();
    EXPECT_NE(old.outcome, Outcome::verified) << "the first destination's code is dead";
  }
  Result ok = e->verify_otp("login", "jo", other.secret.view()).value();
  EXPECT_EQ(ok.outcome, Outcome::verified);
  EXPECT_EQ(ok.payload.view(), "attacker@evil.example") << "a code verifies only its own payload";
  Result none = e->issue_otp("login", "kim").value();
  EXPECT_TRUE(e->issue_otp("login", "kim")->reused) << "no payload twice is the same payload";
  EXPECT_FALSE(e->issue_otp("login", "kim", mine)->reused);
  (void)none;
}

TEST_P(Abuse, ClientKeyIssueLimitAcrossIdentifiers) {
  Policy p = short_windows();
  p.client_issue_limit = RateLimit{3, seconds(3600), 3};
  auto e = strict(p);
  IssueOptions from_ip;
  from_ip.client_key = "203.0.113.50";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(e->issue_otp("login", "user" + std::to_string(i), from_ip)->outcome, Outcome::issued);
  Result fourth = e->issue_link("login", "user9", "https://e.com/m", from_ip).value();
  EXPECT_EQ(fourth.outcome, Outcome::rate_limited);
  EXPECT_GT(fourth.retry_after, milliseconds(0));
  EXPECT_EQ(e->inspect("login", "user9")->active_tokens, 0) << "nothing was stored";
  IssueOptions other_ip;
  other_ip.client_key = "203.0.113.51";
  EXPECT_EQ(e->issue_otp("login", "user9", other_ip)->outcome, Outcome::issued);
  EXPECT_EQ(e->issue_otp("login", "user8")->outcome, Outcome::issued) << "no client key, no client limit";
}

TEST_P(Abuse, OneClientKeySprayingAThousandIdentifiersIsStopped) {
  Policy p = short_windows();
  p.client_failure_limit = RateLimit{30, seconds(3600), 10};
  auto e = strict(p);
  VerifyOptions from_ip;
  from_ip.client_key = "198.51.100.23";
  int counted = 0, stopped = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "victim" + std::to_string(i);
    Result code = e->issue_otp("login", id).value();
    Result r = e->verify_otp("login", id, wrong_for(code.secret.view()), from_ip).value();
    if (r.outcome == Outcome::invalid) ++counted;
    if (r.outcome == Outcome::rate_limited) ++stopped;
  }
  EXPECT_EQ(counted, 10) << "the burst, then one per 2 minutes";
  EXPECT_EQ(stopped, 990);
  Result legit = e->issue_otp("login", "victim5").value();
  EXPECT_EQ(e->verify_otp("login", "victim5", legit.secret.view())->outcome, Outcome::verified)
      << "the victims themselves are not locked out";
}

TEST_P(Abuse, ClientKeyRightGuessesAreNotCountedAsFailures) {
  Policy p = short_windows();
  p.client_failure_limit = RateLimit{2, seconds(3600), 2};
  auto e = strict(p);
  VerifyOptions from_ip;
  from_ip.client_key = "office-nat";
  for (int i = 0; i < 5; ++i) {
    const std::string id = "staff" + std::to_string(i);
    Result code = e->issue_otp("login", id).value();
    EXPECT_EQ(e->verify_otp("login", id, code.secret.view(), from_ip)->outcome, Outcome::verified) << i;
  }
}

TEST_P(Abuse, ActiveTokenCapRevokesTheOldest) {
  Policy p = short_windows();
  p.max_active_tokens = 2;
  auto e = strict(p);
  Result t1 = e->issue_token("login", "hal").value();
  harness->advance(milliseconds(20));
  Result t2 = e->issue_link("login", "hal", "https://e.com/m").value();
  harness->advance(milliseconds(20));
  Result t3 = e->issue_token("login", "hal").value();
  EXPECT_EQ(t3.outcome, Outcome::issued);
  EXPECT_EQ(e->inspect("login", "hal")->active_tokens, 2);
  EXPECT_EQ(e->peek_token(t1.secret.view(), "login")->outcome, Outcome::not_found);
  EXPECT_EQ(e->peek_link(t2.secret.view(), "login")->outcome, Outcome::valid);
  EXPECT_EQ(e->peek_token(t3.secret.view(), "login")->outcome, Outcome::valid);
}

// The cap revokes the first issued, whatever the lifetimes: a long-lived link issued first goes
// before the shorter tokens issued after it (the one that expires first stays).
TEST_P(Abuse, ActiveTokenCapRevokesTheFirstIssuedWhateverItsLifetime) {
  Policy p = short_windows();
  p.max_active_tokens = 2;
  auto e = strict(p);
  IssueOptions long_lived, short_lived;
  long_lived.ttl = seconds(86400);
  short_lived.ttl = seconds(60);
  Result link = e->issue_link("login", "kim", "https://e.com/m", long_lived).value();
  Result t1 = e->issue_token("login", "kim", short_lived).value();
  Result t2 = e->issue_token("login", "kim", short_lived).value();
  ASSERT_EQ(t2.outcome, Outcome::issued);
  EXPECT_EQ(e->peek_link(link.secret.view(), "login")->outcome, Outcome::not_found) << "issued first";
  EXPECT_EQ(e->peek_token(t1.secret.view(), "login")->outcome, Outcome::valid);
  EXPECT_EQ(e->peek_token(t2.secret.view(), "login")->outcome, Outcome::valid);
  Result t3 = e->issue_token("login", "kim", long_lived).value();
  EXPECT_EQ(e->peek_token(t1.secret.view(), "login")->outcome, Outcome::not_found);
  EXPECT_EQ(e->peek_token(t2.secret.view(), "login")->outcome, Outcome::valid);
  EXPECT_EQ(e->peek_token(t3.secret.view(), "login")->outcome, Outcome::valid);
}

// A search for a counterexample: random sequences of tokens and links with random lifetimes
// (none expiring during the test), issued back to back (often in the same millisecond) or a few
// milliseconds apart, some used, against a model of the rule: after each issue exactly the last
// `cap` issued and unused ones are live.
TEST_P(Abuse, ActiveTokenCapKeepsTheLastIssuedUnderRandomSequences) {
  std::mt19937 rng(GTEST_FLAG_GET(random_seed) + 19);
  for (int round = 0; round < 4; ++round) {
    Policy p = short_windows();
    const int cap = 1 + static_cast<int>(rng() % 4);
    p.max_active_tokens = cap;
    auto e = strict(p);
    const std::string who = "seq" + std::to_string(round);
    struct Issued {
      std::string secret;
      bool link;
    };
    std::vector<Issued> all;
    std::vector<std::size_t> live;  // indexes into `all`, in issue order
    for (int step = 0; step < 24; ++step) {
      if (!live.empty() && rng() % 5 == 0) {  // use one (a one-time token or link: gone after)
        const std::size_t k = live[rng() % live.size()];
        const Result used = all[k].link ? e->consume_link(all[k].secret, "login").value()
                                        : e->verify_token(all[k].secret, "login").value();
        ASSERT_EQ(used.outcome, Outcome::verified) << "round " << round << " step " << step;
        live.erase(std::find(live.begin(), live.end(), k));
        continue;
      }
      IssueOptions o;
      o.ttl = seconds(600 + rng() % 86400);
      const bool link = rng() % 2 == 0;
      Result r = link ? e->issue_link("login", who, "https://e.com/m", o).value() : e->issue_token("login", who, o).value();
      ASSERT_EQ(r.outcome, Outcome::issued);
      all.push_back({std::string(r.secret.view()), link});
      live.push_back(all.size() - 1);
      if (static_cast<int>(live.size()) > cap) live.erase(live.begin());
      if (rng() % 3 == 0) harness->advance(milliseconds(rng() % 3));
      for (std::size_t k = 0; k < all.size(); ++k) {
        const bool expect_live = std::find(live.begin(), live.end(), k) != live.end();
        const Result seen = all[k].link ? e->peek_link(all[k].secret, "login").value()
                                        : e->peek_token(all[k].secret, "login").value();
        ASSERT_EQ(seen.outcome, expect_live ? Outcome::valid : Outcome::not_found)
            << "round " << round << " step " << step << " credential " << k << " cap " << cap;
      }
      ASSERT_EQ(e->inspect("login", who)->active_tokens, static_cast<int>(live.size()));
    }
  }
}

TEST_P(Abuse, ActiveTokenCapCanRefuse) {
  Policy p = short_windows();
  p.max_active_tokens = 2;
  p.active_cap = CapMode::refuse;
  p.ttl = seconds(1);
  auto e = strict(p);
  Result t1 = e->issue_token("login", "ida").value();
  Result t2 = e->issue_token("login", "ida").value();
  Result t3 = e->issue_token("login", "ida").value();
  EXPECT_EQ(t3.outcome, Outcome::rate_limited);
  EXPECT_GT(t3.retry_after, milliseconds(0));
  EXPECT_LE(t3.retry_after, milliseconds(1000));
  EXPECT_EQ(e->peek_token(t1.secret.view(), "login")->outcome, Outcome::valid);
  harness->advance(milliseconds(1100));
  EXPECT_EQ(e->issue_token("login", "ida")->outcome, Outcome::issued);
}

TEST_P(Abuse, InspectShowsEveryCounterAndWhenItResets) {
  Policy p = short_windows();
  p.resend_cooldown = seconds(30);
  p.send_limit = RateLimit{10, seconds(3600), 5};
  auto e = strict(p);
  const TimePoint before = harness->now();
  Result code = e->issue_otp("login", "jay").value();
  e->verify_otp("login", "jay", wrong_for(code.secret.view())).value();
  Result seen = e->inspect("login", "jay").value();
  ASSERT_TRUE(seen.counters);
  const Counters& c = *seen.counters;
  EXPECT_EQ(c.failures, 1);
  EXPECT_EQ(c.guesses_available, 2);
  ASSERT_TRUE(c.failures_reset_at);
  EXPECT_NEAR(std::chrono::duration<double>(*c.failures_reset_at - before).count(), 1, 0.5);
  ASSERT_TRUE(c.cooldown_until);
  EXPECT_NEAR(std::chrono::duration<double>(*c.cooldown_until - before).count(), 30, 2);
  EXPECT_EQ(c.sends_available, 4);
  ASSERT_TRUE(c.send_limit_reset_at);
  EXPECT_NEAR(std::chrono::duration<double>(*c.send_limit_reset_at - before).count(), 360, 2);
  EXPECT_FALSE(c.locked_until);
  EXPECT_EQ(seen.attempts_remaining, 9);
}

// ---- concurrency: counters exact, limits never exceeded ----

constexpr int kThreads = 64;

template <class Body>
std::vector<Outcome> race(Body body) {
  return test::race(kThreads, std::move(body));
}

TEST_P(Abuse, ManyThreadsIssuingOneIdentifierGetOneCode) {
  Policy p = short_windows();
  p.resend_cooldown = seconds(30);
  auto e = strict(p);
  auto outcomes = race([&](int) { return e->issue_otp("login", "kai")->outcome; });
  EXPECT_EQ(count(outcomes, Outcome::issued), 1);
  EXPECT_EQ(count(outcomes, Outcome::cooldown), kThreads - 1);
}

TEST_P(Abuse, ManyThreadsAgainstTheSendLimitGetExactlyTheBurst) {
  Policy p = short_windows();
  p.send_limit = RateLimit{5, seconds(3600), 5};
  auto e = strict(p);
  auto outcomes = race([&](int i) {
    return (i % 2 ? e->issue_token("login", "lou") : e->issue_otp("login", "lou"))->outcome;
  });
  EXPECT_EQ(count(outcomes, Outcome::issued), 5);
  EXPECT_EQ(count(outcomes, Outcome::rate_limited), kThreads - 5);
}

TEST_P(Abuse, ManyThreadsGuessingWrongSpendExactlyTheBudget) {
  Policy p = short_windows();
  p.failure_limit = RateLimit{1, seconds(3600), 10};
  p.max_attempts = 100;
  auto e = strict(p);
  Result code = e->issue_otp("login", "max").value();
  const std::string wrong = wrong_for(code.secret.view());
  auto outcomes = race([&](int) { return e->verify_otp("login", "max", wrong)->outcome; });
  EXPECT_EQ(count(outcomes, Outcome::invalid), 9);
  EXPECT_EQ(count(outcomes, Outcome::locked), kThreads - 9);
  Result seen = e->inspect("login", "max").value();
  EXPECT_EQ(seen.counters->failures, 10);
  EXPECT_EQ(seen.attempts_remaining, 90) << "exactly ten guesses were compared";
}

// Spellings, both key sets of a rotation and many client keys at once: still one budget.
TEST_P(Abuse, ManyThreadsAcrossSpellingsKeySetsAndClientKeysSpendOneBudget) {
  Policy p = short_windows();
  p.failure_limit = RateLimit{1, seconds(3600), 10};
  p.max_attempts = 100;
  Key old_key = generate_key(1), new_key = generate_key(2);
  Config before = with_policy("login", p), after = with_policy("login", p);
  before.keys = KeySet{old_key, {}, std::nullopt};
  after.keys = KeySet{new_key, {old_key}, old_key.bytes};
  auto e1 = engine(before, true), e2 = engine(after, true);
  Result code = e1->issue_otp("login", "Nia@Example.com").value();
  const std::string wrong = wrong_for(code.secret.view());
  const char* spellings[] = {"nia@example.com", "NIA@EXAMPLE.COM", " Nia@Example.com", "nia@example.com\t"};
  auto outcomes = race([&](int i) {
    Engine& e = i % 2 ? *e2 : *e1;
    return e.verify_otp("login", spellings[i % 4], wrong, VerifyOptions{.client_key = "ip-" + std::to_string(i)})->outcome;
  });
  EXPECT_EQ(count(outcomes, Outcome::invalid), 9);
  EXPECT_EQ(count(outcomes, Outcome::locked), kThreads - 9);
  EXPECT_EQ(e2->inspect("login", "nia@example.com")->attempts_remaining, 90) << "exactly ten were compared";
}

TEST_P(Abuse, ManyThreadsOnOneClientKeySpendExactlyItsBudget) {
  Policy p = short_windows();
  p.failure_limit = RateLimit{1, seconds(3600), 10};
  p.client_pair_failure_limit = RateLimit{1, seconds(3600), 2};
  p.max_attempts = 100;
  auto e = strict(p);
  Result code = e->issue_otp("login", "mo").value();
  const std::string wrong = wrong_for(code.secret.view());
  VerifyOptions from;
  from.client_key = "192.0.2.1";
  race([&](int) { return e->verify_otp("login", "mo", wrong, from)->outcome; });
  Result seen = e->inspect("login", "mo").value();
  EXPECT_EQ(seen.attempts_remaining, 98) << "exactly two guesses were compared";
  EXPECT_EQ(seen.counters->guesses_available, 8);
}

TEST_P(Abuse, ManyThreadsFromOneClientKeyNeverExceedItsLimit) {
  Policy p = short_windows();
  p.client_failure_limit = RateLimit{10, seconds(3600), 10};
  p.failure_limit = RateLimit{};
  auto e = strict(p);
  std::vector<std::string> codes;
  for (int i = 0; i < kThreads; ++i) codes.emplace_back(e->issue_otp("login", "n" + std::to_string(i))->secret.view());
  VerifyOptions from_ip;
  from_ip.client_key = "192.0.2.77";
  auto outcomes = race([&](int i) {
    return e->verify_otp("login", "n" + std::to_string(i), wrong_for(codes[i]), from_ip)->outcome;
  });
  EXPECT_EQ(count(outcomes, Outcome::invalid), 10);
  EXPECT_EQ(count(outcomes, Outcome::rate_limited), kThreads - 10);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Stores, Abuse, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test
