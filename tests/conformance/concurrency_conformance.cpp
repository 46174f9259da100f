// Conformance under concurrency: many threads hammering one credential. The invariants:
// exactly one success per one-time credential, and wrong guesses counted exactly.
#include <barrier>
#include <thread>

#include "conformance/conformance.hpp"

namespace verikit::test {
namespace {

constexpr int kThreads = 64;

// Runs body(i) on kThreads threads released together; returns each thread's outcome.
template <class Body>
std::vector<Outcome> race(Body body) {
  return test::race(kThreads, std::move(body));
}

TEST_P(Conformance, ManyThreadsOneRightCodeExactlyOneVerified) {
  auto e = engine();
  for (int round = 0; round < 5; ++round) {
    const std::string id = "race-" + std::to_string(round);
    Result code = e->issue_otp("login", id).value();
    auto outcomes = race([&](int) {
      auto r = e->verify_otp("login", id, code.secret.view());
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(count(outcomes, Outcome::verified), 1);
    EXPECT_EQ(count(outcomes, Outcome::not_found), kThreads - 1);
  }
}

TEST_P(Conformance, ManyThreadsWrongGuessesCountExactlyMaxAttempts) {
  Policy p;
  p.max_attempts = 5;
  auto e = engine(with_policy("login", p));
  for (int round = 0; round < 5; ++round) {
    const std::string id = "guess-" + std::to_string(round);
    Result code = e->issue_otp("login", id).value();
    std::string wrong(code.secret.view());
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    auto outcomes = race([&](int) {
      auto r = e->verify_otp("login", id, wrong);
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(count(outcomes, Outcome::invalid), 4);
    EXPECT_EQ(count(outcomes, Outcome::attempts_exhausted), 1);
    EXPECT_EQ(count(outcomes, Outcome::not_found), kThreads - 5);
    EXPECT_EQ(e->verify_otp("login", id, code.secret.view())->outcome, Outcome::not_found);
  }
}

TEST_P(Conformance, ManyThreadsMixedGuessesNeverExceedTheLimit) {
  Policy p;
  p.max_attempts = 3;
  auto e = engine(with_policy("login", p));
  for (int round = 0; round < 10; ++round) {
    const std::string id = "mixed-" + std::to_string(round);
    Result code = e->issue_otp("login", id).value();
    std::string wrong(code.secret.view());
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    auto outcomes = race([&](int i) {
      auto r = e->verify_otp("login", id, i % 8 == 0 ? std::string(code.secret.view()) : wrong);
      return r ? r->outcome : Outcome::issued;
    });
    const int wrong_counted = count(outcomes, Outcome::invalid) + count(outcomes, Outcome::attempts_exhausted);
    EXPECT_LE(wrong_counted, 3);
    EXPECT_LE(count(outcomes, Outcome::verified), 1);
    EXPECT_LE(count(outcomes, Outcome::attempts_exhausted), 1);
    // Either the right code won before the code died, or three wrong guesses killed it first.
    EXPECT_TRUE(count(outcomes, Outcome::verified) == 1 || count(outcomes, Outcome::attempts_exhausted) == 1);
    EXPECT_EQ(count(outcomes, Outcome::issued), 0) << "no call may fail";
  }
}

TEST_P(Conformance, ManyThreadsOneTokenExactlyOneConsumer) {
  auto e = engine();
  Result token = e->issue_token("confirm", "tok").value();
  Result link = e->issue_link("login", "tok", "https://e.com/m").value();
  auto tokens = race([&](int) { return e->verify_token(token.secret.view(), "confirm")->outcome; });
  auto links = race([&](int i) {
    return (i % 2 ? e->peek_link(link.secret.view(), "login") : e->consume_link(link.secret.view(), "login"))->outcome;
  });
  EXPECT_EQ(count(tokens, Outcome::verified), 1);
  EXPECT_EQ(count(tokens, Outcome::not_found), kThreads - 1);
  EXPECT_EQ(count(links, Outcome::verified), 1);
}

TEST_P(Conformance, ManyThreadsIssuingAndVerifyingManyIdentifiers) {
  auto e = engine();
  std::atomic<int> verified{0};
  race([&](int i) {
    for (int n = 0; n < 50; ++n) {
      const std::string id = "user-" + std::to_string(i) + "-" + std::to_string(n);
      Result code = e->issue_otp("login", id).value();
      if (e->verify_otp("login", id, code.secret.view())->outcome == Outcome::verified) ++verified;
    }
    return Outcome::verified;
  });
  EXPECT_EQ(verified.load(), kThreads * 50);
}

}  // namespace
}  // namespace verikit::test
