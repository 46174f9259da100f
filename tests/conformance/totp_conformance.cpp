// Conformance: authenticator codes (TOTP). Enrollment gives a base32 secret and an otpauth://
// URI; a code of a step within the window verifies once (replay protection, also under
// concurrency); wrong codes and replays spend the identifier's failure budget (shared with OTPs).
#include <algorithm>
#include <cstdio>

#include "conformance/conformance.hpp"
#include "support/totp_codes.hpp"

namespace verikit::test {
namespace {

using std::chrono::seconds;

Config totp_policy(int burst) {
  Policy p = without_abuse_controls(Policy{});
  p.failure_limit = RateLimit{burst, seconds(86400), burst};
  Config c;
  c.policies["mfa"] = p;
  return c;
}

// The code of the step `offset` steps from the store's now.
std::string code_at(StoreHarness& h, const Result& enrolled, int offset) {
  return totp_code(enrolled.secret.view(), h.now(), offset);
}

TEST_P(Conformance, TotpEnrollAndVerifyOnceWithinTheWindow) {
  auto e = engine(totp_policy(50), true);
  EXPECT_EQ(e->verify_totp("mfa", "ann", "123456")->outcome, Outcome::not_found) << "not enrolled";
  Result enrolled = e->enroll_totp("mfa", "Ann", "Acme Inc").value();
  EXPECT_EQ(enrolled.outcome, Outcome::issued);
  EXPECT_EQ(enrolled.secret.view().size(), 32u) << "160 bits in base32";
  EXPECT_EQ(enrolled.url, "otpauth://totp/Acme%20Inc:ann?secret=" + std::string(enrolled.secret.view()) +
                              "&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30");
  // The previous step's code first (the window accepts it), then the current one: later steps only.
  EXPECT_EQ(e->verify_totp("mfa", "ann", code_at(*harness, enrolled, -1))->outcome, Outcome::verified);
  const std::string now_code = code_at(*harness, enrolled, 0);
  EXPECT_EQ(e->verify_totp("mfa", "ann", now_code)->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_totp("mfa", "ann", now_code)->outcome, Outcome::invalid) << "a replay is refused and counted";
  EXPECT_EQ(e->verify_totp("mfa", "ann", code_at(*harness, enrolled, -1))->outcome, Outcome::invalid)
      << "an earlier step than the last accepted one";
  EXPECT_EQ(e->verify_totp("mfa", "ann", code_at(*harness, enrolled, 3))->outcome, Outcome::invalid)
      << "beyond the window";
  EXPECT_EQ(e->inspect("mfa", "ann")->counters->failures, 3);
  EXPECT_EQ(e->verify_totp("mfa", "ann", code_at(*harness, enrolled, 1))->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_totp("mfa", "ann", "12345").error().code, Errc::invalid_argument) << "not a code: costs nothing";
  EXPECT_EQ(e->enroll_totp("mfa", "ann", "a:b").error().code, Errc::invalid_argument);
}

TEST_P(Conformance, TotpReenrollReplacesTheSecret) {
  auto e = engine(totp_policy(50), true);
  Result first = e->enroll_totp("mfa", "bea", "Acme").value();
  Result second = e->enroll_totp("mfa", "bea", "Acme").value();
  EXPECT_NE(first.secret.view(), second.secret.view());
  const std::string old_code = code_at(*harness, first, 0), new_code = code_at(*harness, second, 0);
  if (old_code != new_code) {
    EXPECT_EQ(e->verify_totp("mfa", "bea", old_code)->outcome, Outcome::invalid) << "the old secret is gone";
  }
  EXPECT_EQ(e->verify_totp("mfa", "bea", new_code)->outcome, Outcome::verified);
}

TEST_P(Conformance, TotpSharesTheBudgetAndLockoutWithOtps) {
  auto e = engine(totp_policy(2), true);
  Result enrolled = e->enroll_totp("mfa", "cy", "Acme").value();
  Result otp = e->issue_otp("mfa", "cy").value();
  std::string wrong(otp.secret.view());
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(e->verify_otp("mfa", "cy", wrong)->outcome, Outcome::invalid);
  const std::string right = code_at(*harness, enrolled, 0);
  std::string other = right;
  other[0] = other[0] == '0' ? '1' : '0';
  Result spent = e->verify_totp("mfa", "cy", other).value();
  EXPECT_EQ(spent.outcome, Outcome::locked) << "the second wrong guess, across OTP and TOTP";
  EXPECT_EQ(e->verify_totp("mfa", "cy", right)->outcome, Outcome::locked) << "nothing compared while locked";
  EXPECT_TRUE(e->unlock("mfa", "cy").value());
  EXPECT_EQ(e->verify_totp("mfa", "cy", right)->outcome, Outcome::verified);
}

// With the policy's failure budget off (abuse controls off), authenticator and recovery codes
// keep the default budget (burst 10): nothing else limits guesses at them, and a 6-digit code
// fell to a brute force in about a second without it (found by an adversarial review). OTPs keep
// what the policy says (their max_attempts).
TEST_P(Conformance, WithTheFailureBudgetOffSecondFactorsKeepTheDefaultOne) {
  Config c;
  c.policies["mfa"] = without_abuse_controls(Policy{});
  auto e = engine(c, true);
  Result enrolled = e->enroll_totp("mfa", "dee", "Acme").value();
  Result set = e->generate_recovery_codes("mfa", "dee").value();
  std::vector<std::string> window;
  for (int offset = -1; offset <= 1; ++offset) window.push_back(code_at(*harness, enrolled, offset));
  std::vector<std::string> wrong;  // codes no step of the window has
  for (int n = 0; wrong.size() < 12; ++n) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06d", n * 7919 % 1000000);
    if (std::find(window.begin(), window.end(), buf) == window.end()) wrong.emplace_back(buf);
  }
  const int burst = Policy{}.failure_limit.burst;
  int invalid = 0, locked = 0;
  for (const std::string& guess : wrong) {
    auto r = e->verify_totp("mfa", "dee", guess);
    ASSERT_TRUE(r) << r.error().message;
    invalid += r->outcome == Outcome::invalid;
    locked += r->outcome == Outcome::locked;
  }
  EXPECT_EQ(invalid, burst - 1) << "wrong authenticator codes answered before the lock";
  EXPECT_EQ(locked, static_cast<int>(wrong.size()) - (burst - 1));
  EXPECT_EQ(e->verify_totp("mfa", "dee", window[1])->outcome, Outcome::locked) << "the right code, not compared";
  EXPECT_EQ(e->use_recovery_code("mfa", "dee", set.codes[0].view())->outcome, Outcome::locked)
      << "recovery codes share that budget";
  auto seen = e->inspect("mfa", "dee");
  ASSERT_TRUE(seen && seen->counters);
  EXPECT_EQ(seen->counters->failures, burst);
  EXPECT_TRUE(seen->counters->locked_until.has_value());
  // OTPs keep the policy's (no budget: their max_attempts, and no lockout from the second factors')
  Result otp = e->issue_otp("mfa", "dee").value();
  EXPECT_EQ(e->verify_otp("mfa", "dee", otp.secret.view())->outcome, Outcome::verified);
  EXPECT_TRUE(e->unlock("mfa", "dee").value()) << "unlock says the second factors were locked";
  EXPECT_EQ(e->verify_totp("mfa", "dee", window[1])->outcome, Outcome::verified);
  EXPECT_EQ(e->use_recovery_code("mfa", "dee", set.codes[0].view())->outcome, Outcome::verified);
}

TEST_P(Conformance, ConcurrentUsesOfOneTotpCodeOneSucceeds) {
  auto e = engine(totp_policy(100), true);
  for (int round = 0; round < 3; ++round) {
    const std::string id = "race-" + std::to_string(round);
    Result enrolled = e->enroll_totp("mfa", id, "Acme").value();
    const std::string code = code_at(*harness, enrolled, 0);
    auto outcomes = race(32, [&](int) {
      auto r = e->verify_totp("mfa", id, code);
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(count(outcomes, Outcome::verified), 1);
    EXPECT_EQ(count(outcomes, Outcome::invalid), 31) << "the others are replays";
  }
}

}  // namespace
}  // namespace verikit::test
