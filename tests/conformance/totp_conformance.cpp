// Conformance: authenticator codes (TOTP). Enrollment gives a base32 secret and an otpauth://
// URI; a code of a step within the window verifies once (replay protection, also under
// concurrency); wrong codes and replays spend the identifier's failure budget (shared with OTPs).
// Removing second factors (the enrollment and the recovery codes) takes them and nothing else.
#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <cstdio>

#include "conformance/conformance.hpp"
#include "crypto/crypto.hpp"
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

// An enrollment keeps the digits and period it was made with (sealed with its secret): changing
// the policy's totp_digits / totp_period applies to new enrollments, and the authenticator apps
// already set up keep working. An enrollment made before 0.4 (the secret sealed alone) follows
// the policy, as it always did.
TEST_P(Conformance, AnEnrollmentKeepsTheDigitsAndPeriodItWasMadeWith) {
  auto before = engine(totp_policy(50), true);
  Result old_enrollment = before->enroll_totp("mfa", "gus", "Acme").value();
  Config changed = totp_policy(50);
  changed.policies["mfa"].totp_digits = 8;
  changed.policies["mfa"].totp_period = std::chrono::seconds(60);
  auto after = engine(changed, true);
  const auto now = [&] { return harness->now(); };
  // The old enrollment: its 6-digit, 30-second codes still verify under the new policy.
  EXPECT_EQ(after->verify_totp("mfa", "gus", test::totp_code(old_enrollment.secret.view(), now(), 0))->outcome,
            Outcome::verified);
  EXPECT_EQ(after->verify_totp("mfa", "gus", test::totp_code(old_enrollment.secret.view(), now(), 1, 60, 8))->outcome,
            Outcome::invalid) << "a code of the new policy's shape is a wrong guess for it (counted)";
  EXPECT_EQ(after->verify_totp("mfa", "gus", "12345").error().code, Errc::invalid_argument)
      << "fewer than 6 digits: no enrollment's length, refused before any store is asked";
  EXPECT_EQ(after->verify_totp("mfa", "gus", "1234567")->outcome, Outcome::invalid)
      << "7 digits: a length an enrollment may have, so compared (and counted) against this one's 6";
  // A new enrollment: 8 digits, 60-second steps, and its URI says so.
  Result fresh = after->enroll_totp("mfa", "hal", "Acme").value();
  EXPECT_NE(fresh.url.find("&digits=8&period=60"), std::string::npos) << fresh.url;
  EXPECT_EQ(after->verify_totp("mfa", "hal", test::totp_code(fresh.secret.view(), now(), 0, 60, 8))->outcome,
            Outcome::verified);
  EXPECT_EQ(before->verify_totp("mfa", "hal", test::totp_code(fresh.secret.view(), now(), 1, 60, 8))->outcome,
            Outcome::verified) << "the old policy's engine verifies it by its own digits and period too";

  // Made before 0.4: the secret sealed alone, under this key, into the store directly.
  auto ring = detail::KeyRing::from(KeySet{key, {}, std::nullopt}).value();
  const std::string secret = detail::random_bytes(20);
  TotpEnrollRequest legacy;
  legacy.group = detail::group_tag(ring.index(), "mfa", "ivy");
  legacy.sealed_secret = detail::seal(ring.current(), secret, "totp-secret|" + legacy.group);
  legacy.generation = 7;
  legacy.ttl = std::chrono::hours(1);
  std::optional<Expected<WriteReply>> stored;
  harness->store()->totp_enroll(legacy, [&](Expected<WriteReply>&& r) { stored = std::move(r); });
  for (int i = 0; i < 500 && !stored; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(stored && stored->has_value() && (*stored)->count == 1);
  const std::string b32 = detail::base32_encode(secret);
  EXPECT_EQ(after->verify_totp("mfa", "ivy", test::totp_code(b32, now(), 0, 60, 8))->outcome, Outcome::verified)
      << "a legacy enrollment follows the policy of the engine that checks it";
  EXPECT_EQ(before->verify_totp("mfa", "ivy", test::totp_code(b32, now(), 1))->outcome, Outcome::verified);
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

// Removing second factors takes the authenticator enrollment and every recovery code left, and
// nothing else: OTPs, tokens and the failure budgets stay. revoke_all (and a credential consumed
// with revoke_all_on_use) never takes the second factors: a reset link in a stolen mailbox must
// not strip them.
TEST_P(Conformance, RevokeSecondFactorsTakesTheEnrollmentAndRecoveryCodesOnly) {
  Config c = totp_policy(50);
  c.policies["mfa"].revoke_all_on_use = true;
  auto e = engine(c, true);
  const int codes = Policy{}.recovery_codes;
  ASSERT_GE(codes, 2);
  EXPECT_EQ(e->revoke_second_factors("mfa", "eve").value(), 0) << "nothing enrolled";
  Result enrolled = e->enroll_totp("mfa", "eve", "Acme").value();
  Result set = e->generate_recovery_codes("mfa", "eve").value();
  EXPECT_EQ(e->use_recovery_code("mfa", "eve", set.codes[0].view())->outcome, Outcome::verified);
  EXPECT_EQ(e->use_recovery_code("mfa", "eve", "ABCDE-FGHJK")->outcome, Outcome::invalid);
  EXPECT_EQ(e->verify_totp("mfa", "eve", code_at(*harness, enrolled, -1))->outcome, Outcome::verified);

  // A reset link consumed with revoke_all_on_use, then revoke_all: the second factors stay.
  Result link = e->issue_link("mfa", "eve", "https://example.com/reset").value();
  Result otp = e->issue_otp("mfa", "eve").value();
  EXPECT_EQ(e->consume_link(link.secret.view(), "mfa")->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_otp("mfa", "eve", otp.secret.view())->outcome, Outcome::not_found) << "revoked by the link";
  EXPECT_EQ(e->revoke_all("mfa", "eve").value(), 0);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "eve").value(), codes - 1);
  EXPECT_EQ(e->verify_totp("mfa", "eve", code_at(*harness, enrolled, 0))->outcome, Outcome::verified);

  Result pending = e->issue_otp("mfa", "eve").value();
  EXPECT_EQ(e->revoke_second_factors("mfa", "EVE").value(), 1 + codes - 1)
      << "the enrollment and each code left (the identifier normalised as everywhere)";
  EXPECT_EQ(e->verify_totp("mfa", "eve", code_at(*harness, enrolled, 1))->outcome, Outcome::not_found);
  for (int i = 1; i < codes; ++i)
    EXPECT_EQ(e->use_recovery_code("mfa", "eve", set.codes[i].view())->outcome, Outcome::not_found) << i;
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "eve").value(), 0);
  EXPECT_EQ(e->revoke_second_factors("mfa", "eve").value(), 0) << "nothing left the second time";
  Result seen = e->inspect("mfa", "eve").value();
  ASSERT_TRUE(seen.counters);
  EXPECT_EQ(seen.counters->failures, 1) << "the failure budget stays (unlock refills it)";
  EXPECT_EQ(seen.attempts_remaining, pending.attempts_remaining) << "the pending OTP stays";
  EXPECT_EQ(e->verify_otp("mfa", "eve", pending.secret.view())->outcome, Outcome::verified);

  // Each kind alone; other identifiers and purposes untouched; enrolling again works.
  Result other = e->enroll_totp("mfa", "fay", "Acme").value();
  e->generate_recovery_codes("login", "eve").value();
  Result again = e->enroll_totp("mfa", "eve", "Acme").value();
  EXPECT_EQ(e->revoke_second_factors("mfa", "eve").value(), 1) << "an enrollment alone";
  e->generate_recovery_codes("mfa", "eve").value();
  EXPECT_EQ(e->revoke_second_factors("mfa", "eve").value(), codes) << "recovery codes alone";
  EXPECT_EQ(e->recovery_codes_remaining("login", "eve").value(), codes) << "another purpose";
  EXPECT_EQ(e->verify_totp("mfa", "fay", code_at(*harness, other, 0))->outcome, Outcome::verified) << "another identifier";
  EXPECT_NE(again.secret.view(), enrolled.secret.view());
  EXPECT_EQ(e->revoke_second_factors("bad purpose", "eve").error().code, Errc::invalid_argument);
  EXPECT_EQ(e->revoke_second_factors("mfa", "").error().code, Errc::invalid_argument);
}

// Removal racing with uses: each recovery code is either used (once) or counted as removed, never
// both and never lost; the authenticator code verifies at most once; afterwards nothing verifies.
TEST_P(Conformance, RevokingSecondFactorsWhileTheyAreUsedCountsEachCodeOnce) {
  auto e = engine(totp_policy(1000), true);
  const int codes = Policy{}.recovery_codes;
  for (int round = 0; round < 4; ++round) {
    const std::string id = "race-" + std::to_string(round);
    Result enrolled = e->enroll_totp("mfa", id, "Acme").value();
    Result set = e->generate_recovery_codes("mfa", id).value();
    const std::string code = code_at(*harness, enrolled, 0);
    std::atomic<int> removed{-1};
    const int threads = codes + 4;  // a thread per code, three on the authenticator code, one removes
    const int remover = codes + round;
    auto outcomes = race(threads, [&](int i) {
      if (i == remover) {
        auto n = e->revoke_second_factors("mfa", id);
        if (!n) return Outcome::issued;
        removed = *n;
        return Outcome::valid;
      }
      auto r = i < codes ? e->use_recovery_code("mfa", id, set.codes[i].view())
                         : e->verify_totp("mfa", id, code);
      return r ? r->outcome : Outcome::issued;
    });
    SCOPED_TRACE(id);
    ASSERT_GE(removed.load(), 0) << "the removal failed";
    int used = 0, totp_verified = 0;
    for (int i = 0; i < threads; ++i) {
      if (i == remover) continue;
      const Outcome o = outcomes[i];
      EXPECT_TRUE(o == Outcome::verified || o == Outcome::not_found || (i >= codes && o == Outcome::invalid))
          << i << ": " << to_string(o);
      if (i < codes) used += o == Outcome::verified;
      else totp_verified += o == Outcome::verified;
    }
    EXPECT_LE(totp_verified, 1);
    EXPECT_EQ(used + removed.load() - 1, codes) << "each code used or removed, exactly once (the enrollment counts one)";
    EXPECT_EQ(e->recovery_codes_remaining("mfa", id).value(), 0);
    EXPECT_EQ(e->verify_totp("mfa", id, code_at(*harness, enrolled, 1))->outcome, Outcome::not_found);
  }
}


// A two-step enrollment: begin stores nothing (the enrollment in place keeps working), a wrong
// first code is a counted wrong guess, the right one makes the new secret the enrollment with
// that code's step used; the pending enrollment is then spent, and is nothing for another
// identifier, altered, or not one at all.
TEST_P(Conformance, TwoStepTotpEnrollmentTakesEffectOnlyWhenConfirmed) {
  auto e = engine(totp_policy(50), true);
  Result old = e->enroll_totp("mfa", "dee", "Acme").value();
  Result begun = e->begin_totp_enrollment("mfa", "Dee", "Acme Inc").value();
  EXPECT_EQ(begun.outcome, Outcome::issued);
  EXPECT_EQ(begun.identifier, "dee");
  EXPECT_EQ(begun.secret.view().size(), 32u);
  EXPECT_EQ(begun.url, "otpauth://totp/Acme%20Inc:dee?secret=" + std::string(begun.secret.view()) +
                           "&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30");
  ASSERT_FALSE(begun.pending.view().empty());
  EXPECT_EQ(begun.pending.view().find(begun.secret.view()), std::string_view::npos) << "the secret is sealed";
  ASSERT_TRUE(begun.expires_at.has_value());
  const auto left = *begun.expires_at - harness->now();
  EXPECT_GT(left, seconds(590));
  EXPECT_LE(left, seconds(610)) << "the policy's totp_confirm_ttl, 10 minutes";

  const std::string old_code = code_at(*harness, old, 0), new_code = code_at(*harness, begun, 0);
  EXPECT_EQ(e->verify_totp("mfa", "dee", old_code)->outcome, Outcome::verified) << "begin changed nothing";
  if (new_code != old_code) {
    EXPECT_EQ(e->verify_totp("mfa", "dee", new_code)->outcome, Outcome::invalid) << "not enrolled yet";
  }
  const int failures = e->inspect("mfa", "dee")->counters->failures;

  std::string wrong = new_code;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "dee", begun.pending.view(), wrong)->outcome, Outcome::invalid);
  EXPECT_EQ(e->inspect("mfa", "dee")->counters->failures, failures + 1) << "a wrong first code is counted";
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "dee", begun.pending.view(), "12-34").error().code, Errc::invalid_argument);
  EXPECT_EQ(e->begin_totp_enrollment("mfa", "dee", "a:b").error().code, Errc::invalid_argument);

  // Not this identifier's, altered, or not a pending enrollment: nothing to confirm (not counted).
  Result other = e->begin_totp_enrollment("mfa", "fay", "Acme").value();
  std::string altered(begun.pending.view());
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  for (std::string_view pending : {other.pending.view(), std::string_view(altered), std::string_view(""),
                                   std::string_view("not-a-pending-enrollment"), begun.secret.view()}) {
    EXPECT_EQ(e->confirm_totp_enrollment("mfa", "dee", pending, new_code)->outcome, Outcome::not_found) << pending;
  }
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "dee", std::string(600, 'A'), new_code)->outcome, Outcome::not_found);
  EXPECT_EQ(e->confirm_totp_enrollment("other-purpose", "dee", begun.pending.view(), new_code)->outcome,
            Outcome::not_found);
  EXPECT_EQ(e->inspect("mfa", "dee")->counters->failures, failures + 1);

  Result confirmed = e->confirm_totp_enrollment("mfa", "dee", begun.pending.view(), new_code).value();
  EXPECT_EQ(confirmed.outcome, Outcome::verified);
  EXPECT_EQ(confirmed.identifier, "dee");
  EXPECT_EQ(e->verify_totp("mfa", "dee", new_code)->outcome, Outcome::invalid) << "the confirming code is used";
  const std::string next_old = code_at(*harness, old, 1), next_new = code_at(*harness, begun, 1);
  if (next_old != next_new) {
    EXPECT_EQ(e->verify_totp("mfa", "dee", next_old)->outcome, Outcome::invalid) << "the old secret is gone";
  }
  EXPECT_EQ(e->verify_totp("mfa", "dee", next_new)->outcome, Outcome::verified);
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "dee", begun.pending.view(), code_at(*harness, begun, 1))->outcome,
            Outcome::not_found)
      << "a pending enrollment is confirmed once";
}

// A pending enrollment confirms only over the enrollment that was current when it began: not
// after another confirmation, a direct enrollment or a removal (a stale one found in a session
// never brings an old secret back), and a wrong code against it costs nothing.
TEST_P(Conformance, APendingTotpEnrollmentIsStaleOnceTheEnrollmentChanged) {
  auto e = engine(totp_policy(50), true);
  Result first = e->begin_totp_enrollment("mfa", "gus", "Acme").value();
  Result second = e->begin_totp_enrollment("mfa", "gus", "Acme").value();
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", second.pending.view(), code_at(*harness, second, 0))->outcome,
            Outcome::verified);
  const int failures = e->inspect("mfa", "gus")->counters->failures;
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", first.pending.view(), code_at(*harness, first, 0))->outcome,
            Outcome::not_found);
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", first.pending.view(), "000000")->outcome, Outcome::not_found);
  EXPECT_EQ(e->inspect("mfa", "gus")->counters->failures, failures) << "a stale pending enrollment is no guess";

  Result third = e->begin_totp_enrollment("mfa", "gus", "Acme").value();
  e->enroll_totp("mfa", "gus", "Acme").value();
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", third.pending.view(), code_at(*harness, third, 0))->outcome,
            Outcome::not_found)
      << "enrolled directly since it began";

  Result fourth = e->begin_totp_enrollment("mfa", "gus", "Acme").value();
  EXPECT_EQ(e->revoke_second_factors("mfa", "gus").value(), 1);
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", fourth.pending.view(), code_at(*harness, fourth, 0))->outcome,
            Outcome::not_found)
      << "removed since it began";
  Result fifth = e->begin_totp_enrollment("mfa", "gus", "Acme").value();
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", fifth.pending.view(), code_at(*harness, fifth, 0))->outcome,
            Outcome::verified)
      << "begun after the removal";
  EXPECT_EQ(e->revoke_second_factors("mfa", "gus").value(), 1) << "one enrollment";

  // A removal is a change too, for every pending enrollment begun before it (including those
  // begun when there was none: "removed" never reads as "never enrolled"), however often it comes.
  // (A removal leaves a record of a new generation for a day and an hour; a pending enrollment
  // lasts a day at most.)
  for (const Result* p : {&first, &second, &third, &fourth, &fifth}) {
    EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", p->pending.view(), code_at(*harness, *p, 0))->outcome,
              Outcome::not_found);
  }
  EXPECT_EQ(e->revoke_second_factors("mfa", "gus").value(), 0) << "nothing left to remove";
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "gus", first.pending.view(), code_at(*harness, first, 0))->outcome,
            Outcome::not_found);
  Result unconfirmed = e->begin_totp_enrollment("mfa", "hope", "Acme").value();  // never enrolled
  EXPECT_EQ(e->revoke_second_factors("mfa", "hope").value(), 0);
  EXPECT_EQ(
      e->confirm_totp_enrollment("mfa", "hope", unconfirmed.pending.view(), code_at(*harness, unconfirmed, 0))->outcome,
      Outcome::verified)
      << "a removal of nothing writes nothing (no record for any identifier named): a set-up begun with none goes on";
  EXPECT_EQ(e->verify_totp("mfa", "gus", code_at(*harness, fifth, 1))->outcome, Outcome::not_found);
}

// A pending enrollment lasts the policy's totp_confirm_ttl of the store's time. It is made here by
// an engine with the same key over a memory store whose clock is set back, so the same check runs
// against every store's own time (Redis's TIME included) with a minute's margin either way.
TEST_P(Conformance, APendingTotpEnrollmentExpires) {
  auto e = engine(totp_policy(50), true);
  auto clock = std::make_shared<ManualClock>();
  Config c = totp_policy(50);
  c.keys = KeySet{key, {}, std::nullopt};
  auto maker = Engine::create(c, make_memory_store(clock)).value();
  clock->set(harness->now() - seconds(11 * 60));
  Result late = maker->begin_totp_enrollment("mfa", "hal", "Acme").value();
  clock->set(harness->now() - seconds(9 * 60));
  Result in_time = maker->begin_totp_enrollment("mfa", "hal", "Acme").value();
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "hal", late.pending.view(), code_at(*harness, late, 0))->outcome,
            Outcome::not_found)
      << "begun 11 minutes ago";
  EXPECT_EQ(e->inspect("mfa", "hal")->counters->failures, 0);
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "hal", in_time.pending.view(), code_at(*harness, in_time, 0))->outcome,
            Outcome::verified)
      << "begun 9 minutes ago";

  // The deadline is checked again in the atomic step (a confirmation held up between its two
  // store steps past the deadline is refused there), against the store's own time.
  auto confirm_until = [&](long long expires_ms, long long expect, std::string group = "deadline-group") {
    TotpConfirmRequest req;
    req.group = std::move(group);
    req.expect_generation = expect;
    req.sealed_secret = "sealed";
    req.step = 7;
    req.expires_ms = expires_ms;
    req.generation = 42;
    req.ttl = std::chrono::hours(24);
    std::optional<Expected<VerifyReply>> got;
    harness->store()->totp_confirm(req, [&](Expected<VerifyReply> r) { got = std::move(r); });
    for (int i = 0; i < 1000 && !got; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_TRUE(got && got->has_value());
    return got && got->has_value() ? (*got)->outcome : Outcome::issued;
  };
  const long long now_ms = harness->now().time_since_epoch().count();
  EXPECT_EQ(confirm_until(now_ms - 60000, 0), Outcome::not_found) << "past its deadline at the store";
  EXPECT_EQ(confirm_until(now_ms + 60000, 0), Outcome::verified) << "the same before it";
  // Begun over a generation that has gone since (an enrollment's or a removal's record reached its
  // end): none is accepted. Another generation is not.
  EXPECT_EQ(confirm_until(now_ms + 60000, 777, "gone-group"), Outcome::verified);
  EXPECT_EQ(confirm_until(now_ms + 60000, 777, "gone-group"), Outcome::not_found) << "now generation 42";
}

// The failure budget guards the confirmation as it guards a verification: spent, nothing is
// compared (the right code too is locked).
TEST_P(Conformance, ConfirmingATotpEnrollmentSpendsTheFailureBudget) {
  auto e = engine(totp_policy(2), true);
  Result begun = e->begin_totp_enrollment("mfa", "ida", "Acme").value();
  const std::string right = code_at(*harness, begun, 0);
  std::string wrong = right;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "ida", begun.pending.view(), wrong)->outcome, Outcome::invalid);
  Result spent = e->confirm_totp_enrollment("mfa", "ida", begun.pending.view(), wrong).value();
  EXPECT_EQ(spent.outcome, Outcome::locked);
  EXPECT_GT(spent.retry_after.count(), 0);
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "ida", begun.pending.view(), right)->outcome, Outcome::locked);
  EXPECT_EQ(e->begin_totp_enrollment("mfa", "ida", "Acme")->outcome, Outcome::issued) << "begin is no guess";
  EXPECT_TRUE(e->unlock("mfa", "ida").value());
  EXPECT_EQ(e->confirm_totp_enrollment("mfa", "ida", begun.pending.view(), right)->outcome, Outcome::verified);
}

// Many confirmations of one pending enrollment at once (a double submit, a replayed request):
// exactly one is verified, the others find it spent.
TEST_P(Conformance, ConcurrentConfirmationsOfOnePendingEnrollmentOneSucceeds) {
  auto e = engine(totp_policy(100), true);
  for (int round = 0; round < 3; ++round) {
    const std::string id = "confirm-race-" + std::to_string(round);
    if (round == 1) e->enroll_totp("mfa", id, "Acme").value();  // over an enrollment too
    Result begun = e->begin_totp_enrollment("mfa", id, "Acme").value();
    const std::string code = code_at(*harness, begun, 0);
    auto outcomes = race(16, [&](int) {
      auto r = e->confirm_totp_enrollment("mfa", id, begun.pending.view(), code);
      return r ? r->outcome : Outcome::issued;
    });
    EXPECT_EQ(count(outcomes, Outcome::verified), 1);
    EXPECT_EQ(count(outcomes, Outcome::not_found), 15);
    EXPECT_EQ(e->inspect("mfa", id)->counters->failures, 0);
  }
}

// A key rotation between begin and confirm: the pending enrollment, sealed under the key current
// at begin, confirms while that key is still a previous key (the enrollment is sealed again under
// the new one, and signs in once the old key is retired); once the old key is retired, the
// pending enrollment is nothing (not_found, not counted).
TEST_P(Conformance, APendingTotpEnrollmentSurvivesAKeyRotationUntilItsKeyIsRetired) {
  const Key next = generate_key(2);
  auto before = engine(totp_policy(50), true);
  Config rotated = totp_policy(50);
  rotated.keys = KeySet{next, {key}, key.bytes};  // the first key stays the index key
  auto during = engine(rotated, true);
  Config retired = totp_policy(50);
  retired.keys = KeySet{next, {}, key.bytes};
  auto after = engine(retired, true);

  Result kept = before->begin_totp_enrollment("mfa", "ida", "Acme").value();
  Result dropped = before->begin_totp_enrollment("mfa", "jon", "Acme").value();
  EXPECT_EQ(during->confirm_totp_enrollment("mfa", "ida", kept.pending.view(), code_at(*harness, kept, 0))->outcome,
            Outcome::verified)
      << "the key it was sealed under is a previous key";
  EXPECT_EQ(after->verify_totp("mfa", "ida", code_at(*harness, kept, 1))->outcome, Outcome::verified)
      << "the confirmed enrollment was sealed under the new key";
  EXPECT_EQ(after->confirm_totp_enrollment("mfa", "jon", dropped.pending.view(), code_at(*harness, dropped, 0))->outcome,
            Outcome::not_found)
      << "its key retired, a pending enrollment is nothing";
  EXPECT_EQ(after->inspect("mfa", "jon")->counters->failures, 0) << "and not a counted guess";
  EXPECT_EQ(after->verify_totp("mfa", "jon", code_at(*harness, dropped, 0))->outcome, Outcome::not_found);
}

}  // namespace
}  // namespace verikit::test
