// Conformance: recovery codes. A set of single-use codes per (purpose, identifier), stored as
// keyed hashes; regenerate replaces the set; wrong codes spend the identifier's failure budget
// (shared with OTPs); concurrent uses of one code: exactly one succeeds.
#include <set>

#include "conformance/conformance.hpp"

namespace verikit::test {
namespace {

using std::chrono::seconds;

Config recovery_policy(int codes, int burst) {
  Policy p = without_abuse_controls(Policy{});
  p.recovery_codes = codes;
  p.failure_limit = RateLimit{burst, seconds(86400), burst};
  Config c;
  c.policies["mfa"] = p;
  return c;
}

TEST_P(Conformance, RecoveryCodesAreSingleUseAndCounted) {
  auto e = engine(recovery_policy(8, 50), true);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "ann").value(), 0);
  EXPECT_EQ(e->use_recovery_code("mfa", "ann", "ABCDE-FGHJK")->outcome, Outcome::not_found) << "no set";
  Result set = e->generate_recovery_codes("mfa", "ann").value();
  EXPECT_EQ(set.outcome, Outcome::issued);
  ASSERT_EQ(set.codes.size(), 8u);
  std::set<std::string> distinct;
  for (const Secret& c : set.codes) {
    EXPECT_EQ(c.view().size(), 11u);
    EXPECT_EQ(c.view()[5], '-');
    distinct.insert(std::string(c.view()));
  }
  EXPECT_EQ(distinct.size(), 8u);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "ann").value(), 8);
  // typed in lower case, without the dash, with spaces: the same code
  std::string typed(set.codes[0].view());
  typed.erase(5, 1);
  for (char& ch : typed) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  typed.insert(3, " ");
  Result used = e->use_recovery_code("mfa", "ANN", typed).value();
  EXPECT_EQ(used.outcome, Outcome::verified);
  EXPECT_EQ(used.identifier, "ann");
  EXPECT_EQ(e->use_recovery_code("mfa", "ann", set.codes[0].view())->outcome, Outcome::invalid) << "single use";
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "ann").value(), 7);
  EXPECT_EQ(e->inspect("mfa", "ann")->counters->failures, 1) << "a wrong code is counted like a wrong OTP";
  // A code that cannot be one is an error before any store is asked (and costs nothing).
  for (std::string_view bad : {"", "ABCDE", "ABCDE-FGHJ0", "ABCDE-FGHJKL"}) {
    auto r = e->use_recovery_code("mfa", "ann", bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  EXPECT_EQ(e->inspect("mfa", "ann")->counters->failures, 1);
}

// A set larger than a script call's arguments fit in place (the Redis store sends one argument
// per code): every code is stored and each is spent once.
TEST_P(Conformance, EveryCodeOfALargeSetIsStoredAndSpentOnce) {
  auto e = engine(recovery_policy(40, 50), true);
  Result set = e->generate_recovery_codes("mfa", "dee").value();
  ASSERT_EQ(set.codes.size(), 40u);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "dee").value(), 40);
  for (std::size_t i : {0u, 23u, 24u, 39u}) {
    EXPECT_EQ(e->use_recovery_code("mfa", "dee", set.codes[i].view())->outcome, Outcome::verified) << i;
    EXPECT_EQ(e->use_recovery_code("mfa", "dee", set.codes[i].view())->outcome, Outcome::invalid) << i;
  }
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "dee").value(), 36);
}

TEST_P(Conformance, RegeneratingReplacesTheWholeSet) {
  auto e = engine(recovery_policy(3, 50), true);
  Result old_set = e->generate_recovery_codes("mfa", "bea").value();
  Result new_set = e->generate_recovery_codes("mfa", "bea").value();
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "bea").value(), 3);
  for (const Secret& c : old_set.codes)
    EXPECT_EQ(e->use_recovery_code("mfa", "bea", c.view())->outcome, Outcome::invalid) << "the old set is gone";
  for (const Secret& c : new_set.codes) EXPECT_EQ(e->use_recovery_code("mfa", "bea", c.view())->outcome, Outcome::verified);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "bea").value(), 0);
  EXPECT_EQ(e->use_recovery_code("mfa", "bea", new_set.codes[0].view())->outcome, Outcome::not_found)
      << "the last code used: no set";
}

TEST_P(Conformance, RecoveryCodesShareTheBudgetAndLockoutWithOtps) {
  auto e = engine(recovery_policy(4, 3), true);
  Result set = e->generate_recovery_codes("mfa", "cy").value();
  Result code = e->issue_otp("mfa", "cy").value();
  std::string wrong(code.secret.view());
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(e->verify_otp("mfa", "cy", wrong)->outcome, Outcome::invalid);
  EXPECT_EQ(e->use_recovery_code("mfa", "cy", "ABCDE-FGHJK")->outcome, Outcome::invalid);
  Result spent = e->use_recovery_code("mfa", "cy", "BCDEF-GHJKM").value();
  EXPECT_EQ(spent.outcome, Outcome::locked) << "the third wrong guess, across OTP and recovery codes";
  EXPECT_GT(spent.retry_after.count(), 0);
  EXPECT_EQ(e->use_recovery_code("mfa", "cy", set.codes[1].view())->outcome, Outcome::locked)
      << "locked: nothing compared, not even a right code";
  EXPECT_EQ(e->verify_otp("mfa", "cy", code.secret.view())->outcome, Outcome::locked);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "cy").value(), 4) << "nothing was spent while locked";
  EXPECT_TRUE(e->unlock("mfa", "cy").value());
  EXPECT_EQ(e->use_recovery_code("mfa", "cy", set.codes[1].view())->outcome, Outcome::verified);
}

TEST_P(Conformance, ConcurrentUsesOfOneRecoveryCodeOneSucceeds) {
  auto e = engine(recovery_policy(5, 100), true);
  for (int round = 0; round < 3; ++round) {
    const std::string id = "race-" + std::to_string(round);
    Result set = e->generate_recovery_codes("mfa", id).value();
    auto outcomes = race(32, [&](int) {
      auto r = e->use_recovery_code("mfa", id, set.codes[2].view());
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(count(outcomes, Outcome::verified), 1);
    EXPECT_EQ(count(outcomes, Outcome::invalid), 31) << "the others are wrong guesses: the code is spent";
    EXPECT_EQ(e->recovery_codes_remaining("mfa", id).value(), 4);
    EXPECT_EQ(e->inspect("mfa", id)->counters->failures, 31);
  }
}

}  // namespace
}  // namespace verikit::test
