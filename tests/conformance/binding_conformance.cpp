// Conformance: flow binding. A credential issued with a binding value verifies only when the
// same value is presented; a mismatch answers like a wrong secret (OTP: invalid; token and link:
// not_found) and is counted in the identifier's failure budget, atomically with the check.
#include "conformance/conformance.hpp"

namespace verikit::test {
namespace {

using std::chrono::seconds;

// Only the failure budget on (burst wrong guesses, one forgiven per day / burst): issues are free.
Config budget_only(int burst, Policy p = {}) {
  p = without_abuse_controls(p);
  p.failure_limit = RateLimit{burst, seconds(86400), burst};
  Config c;
  c.policies["login"] = p;
  return c;
}

IssueOptions bound(std::string_view binding) {
  IssueOptions o;
  o.binding = binding;
  return o;
}
VerifyOptions with(std::string_view binding) {
  VerifyOptions o;
  o.binding = binding;
  return o;
}

TEST_P(Conformance, BoundOtpVerifiesOnlyWithItsBinding) {
  auto e = engine(budget_only(50), true);
  Result code = e->issue_otp("login", "ann", bound("flow-A")).value();
  Result r = e->verify_otp("login", "ann", code.secret.view(), with("flow-B")).value();
  EXPECT_EQ(r.outcome, Outcome::invalid) << "the right code from another flow is a wrong guess";
  EXPECT_EQ(r.attempts_remaining, 4);
  r = e->verify_otp("login", "ann", code.secret.view()).value();
  EXPECT_EQ(r.outcome, Outcome::invalid) << "no binding presented: a wrong guess too";
  EXPECT_EQ(e->inspect("login", "ann")->counters->failures, 2);
  r = e->verify_otp("login", "ann", code.secret.view(), with("flow-A")).value();
  EXPECT_EQ(r.outcome, Outcome::verified);
  EXPECT_EQ(e->verify_otp("login", "ann", code.secret.view(), with("flow-A"))->outcome, Outcome::not_found);
  // An unbound code ignores a presented binding.
  code = e->issue_otp("login", "bea").value();
  EXPECT_EQ(e->verify_otp("login", "bea", code.secret.view(), with("anything"))->outcome, Outcome::verified);
}

TEST_P(Conformance, OtpBindingMismatchesSpendTheBudget) {
  auto e = engine(budget_only(2), true);
  Result code = e->issue_otp("login", "cy", bound("flow-A")).value();
  EXPECT_EQ(e->verify_otp("login", "cy", code.secret.view(), with("x"))->outcome, Outcome::invalid);
  EXPECT_EQ(e->verify_otp("login", "cy", code.secret.view(), with("y"))->outcome, Outcome::locked);
  EXPECT_EQ(e->verify_otp("login", "cy", code.secret.view(), with("flow-A"))->outcome, Outcome::locked)
      << "a spent budget compares nothing, not even the right flow";
  EXPECT_TRUE(e->unlock("login", "cy").value());
  EXPECT_EQ(e->verify_otp("login", "cy", code.secret.view(), with("flow-A"))->outcome, Outcome::verified);
}

TEST_P(Conformance, ResendSameResendsOnlyToTheSameFlow) {
  Policy p;
  p.reissue = Reissue::resend_same;
  auto e = engine(budget_only(50, p), true);
  Result first = e->issue_otp("login", "dee", bound("flow-A")).value();
  Result again = e->issue_otp("login", "dee", bound("flow-A")).value();
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.secret.view(), first.secret.view());
  Result other = e->issue_otp("login", "dee", bound("flow-B")).value();
  EXPECT_FALSE(other.reused) << "another flow gets a new code, bound to it";
  EXPECT_EQ(e->verify_otp("login", "dee", other.secret.view(), with("flow-B"))->outcome, Outcome::verified);
}

TEST_P(Conformance, BoundTokensAndLinksAreUsedOnlyWithTheirBinding) {
  auto e = engine(budget_only(50), true);
  for (TokenKind kind : {TokenKind::token, TokenKind::link}) {
    SCOPED_TRACE(static_cast<int>(kind));
    const std::string id = kind == TokenKind::token ? "eve" : "fay";
    IssueOptions o = bound("cookie-1");
    o.payload = "/next";
    Result t = kind == TokenKind::token ? e->issue_token("login", id, o).value()
                                        : e->issue_link("login", id, "https://app.example/magic", o).value();
    auto use = [&](const VerifyOptions& v) {
      return (kind == TokenKind::token ? e->verify_token(t.secret.view(), "login", v)
                                       : e->consume_link(t.secret.view(), "login", v)).value();
    };
    EXPECT_EQ(use({}).outcome, Outcome::not_found) << "no binding presented: not found, nothing counted";
    EXPECT_EQ(e->inspect("login", id)->counters->failures, 0);
    EXPECT_EQ(use(with("cookie-2")).outcome, Outcome::not_found);
    EXPECT_EQ(e->inspect("login", id)->counters->failures, 1) << "a wrong binding is counted";
    Result peeked = (kind == TokenKind::token ? e->peek_token(t.secret.view(), "login")
                                              : e->peek_link(t.secret.view(), "login")).value();
    EXPECT_EQ(peeked.outcome, Outcome::valid) << "peek ignores bindings (the cross-device fallback uses it)";
    EXPECT_EQ(peeked.identifier, id);
    Result r = use(with("cookie-1"));
    EXPECT_EQ(r.outcome, Outcome::verified);
    EXPECT_EQ(r.identifier, id);
    EXPECT_EQ(r.payload.view(), "/next");
    EXPECT_EQ(use(with("cookie-1")).outcome, Outcome::not_found) << "used once";
    EXPECT_EQ(e->inspect("login", id)->counters->failures, 1) << "a used token's check counts nothing";
  }
  // An unbound token ignores a presented binding.
  Result t = e->issue_token("login", "gus").value();
  EXPECT_EQ(e->verify_token(t.secret.view(), "login", with("anything"))->outcome, Outcome::verified);
}

TEST_P(Conformance, BoundTokenMismatchesSpendTheBudgetThenLock) {
  auto e = engine(budget_only(2), true);
  Result link = e->issue_link("login", "hal", "https://app.example/m", bound("right")).value();
  EXPECT_EQ(e->consume_link(link.secret.view(), "login", with("w1"))->outcome, Outcome::not_found);
  EXPECT_EQ(e->consume_link(link.secret.view(), "login", with("w2"))->outcome, Outcome::not_found);
  Result locked = e->consume_link(link.secret.view(), "login", with("right")).value();
  EXPECT_EQ(locked.outcome, Outcome::locked) << "the budget is spent: nothing is compared";
  EXPECT_GT(locked.retry_after.count(), 0);
  EXPECT_TRUE(locked.identifier.empty()) << "a refusal reveals no identity";
  EXPECT_TRUE(e->unlock("login", "hal").value());
  EXPECT_EQ(e->consume_link(link.secret.view(), "login", with("right"))->outcome, Outcome::verified);
}

TEST_P(Conformance, BindingArgumentsAreChecked) {
  auto e = engine();
  Result t = e->issue_token("login", "ida").value();
  auto any = e->verify_token(t.secret.view(), kAnyPurpose, with("x"));
  ASSERT_FALSE(any.has_value());
  EXPECT_EQ(any.error().code, Errc::invalid_argument);
  VerifyOptions client;
  client.client_key = "1.2.3.4";
  EXPECT_EQ(e->verify_token(t.secret.view(), "login", client).error().code, Errc::invalid_argument);
  const std::string huge(kMaxBindingBytes + 1, 'b');
  EXPECT_EQ(e->issue_otp("login", "ida", bound(huge)).error().code, Errc::invalid_argument);
  EXPECT_EQ(e->verify_otp("login", "ida", "123456", with(huge)).error().code, Errc::invalid_argument);
  EXPECT_EQ(e->consume_link(t.secret.view(), "login", with(huge)).error().code, Errc::invalid_argument);
  EXPECT_EQ(e->verify_token(t.secret.view(), "login")->outcome, Outcome::verified) << "nothing was spent";
}

constexpr int kThreads = 64;

TEST_P(Conformance, ConcurrentRightAndWrongBindingsOnAToken) {
  auto e = engine(budget_only(100), true);
  for (int round = 0; round < 3; ++round) {
    const std::string id = "race-" + std::to_string(round);
    Result link = e->issue_link("login", id, "https://app.example/m", bound("right")).value();
    auto outcomes = race(kThreads, [&](int i) {
      auto r = e->consume_link(link.secret.view(), "login", with(i == 0 ? "right" : "wrong-" + std::to_string(i)));
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(outcomes[0], Outcome::verified) << "exactly the right flow wins";
    EXPECT_EQ(count(outcomes, Outcome::verified), 1);
    EXPECT_EQ(count(outcomes, Outcome::not_found), kThreads - 1);
    const int failures = e->inspect("login", id)->counters->failures;
    EXPECT_LE(failures, kThreads - 1) << "only mismatches that saw the live link are counted";
  }
}

TEST_P(Conformance, ConcurrentWrongBindingsSpendTheBudgetExactly) {
  Policy reusable;
  reusable.one_time_use = false;  // every mismatch finds the token live
  auto e = engine(budget_only(100, reusable), true);
  Result t = e->issue_token("login", "jon", bound("right")).value();
  auto outcomes = race(kThreads, [&](int i) {
    auto r = e->verify_token(t.secret.view(), "login", with(i == 0 ? "right" : "wrong"));
    return r ? r->outcome : Outcome::issued;
  });
  EXPECT_EQ(outcomes[0], Outcome::verified);
  EXPECT_EQ(count(outcomes, Outcome::not_found), kThreads - 1);
  EXPECT_EQ(e->inspect("login", "jon")->counters->failures, kThreads - 1) << "N mismatches spend exactly N";
}

TEST_P(Conformance, ConcurrentRightCodeFromManyFlowsOneWins) {
  Policy p;
  p.max_attempts = 100;
  auto e = engine(budget_only(100, p), true);
  Result code = e->issue_otp("login", "kim", bound("right")).value();
  auto outcomes = race(kThreads, [&](int i) {
    auto r = e->verify_otp("login", "kim", code.secret.view(), with(i == 0 ? "right" : "relayed"));
    return r ? r->outcome : Outcome::issued;
  });
  EXPECT_EQ(outcomes[0], Outcome::verified) << "only the flow that asked gets in";
  EXPECT_EQ(count(outcomes, Outcome::verified), 1);
  const int wrong = count(outcomes, Outcome::invalid);
  EXPECT_EQ(wrong + count(outcomes, Outcome::not_found), kThreads - 1);
  EXPECT_EQ(e->inspect("login", "kim")->counters->failures, wrong) << "each relayed attempt counted once";
}

}  // namespace
}  // namespace verikit::test
