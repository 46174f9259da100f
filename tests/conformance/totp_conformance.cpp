// Conformance: authenticator codes (TOTP). Enrollment gives a base32 secret and an otpauth://
// URI; a code of a step within the window verifies once (replay protection, also under
// concurrency); wrong codes and replays spend the identifier's failure budget (shared with OTPs).
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
