// Conformance: OTP, token and magic-link rules, identical on every store.
#include <algorithm>

#include "conformance/conformance.hpp"

namespace verikit::test {

std::string harness_name(const ::testing::TestParamInfo<HarnessFactory>& info) { return info.param.name; }

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string wrong_code(std::string_view code) {
  std::string w(code);
  w[0] = w[0] == '0' ? '1' : '0';
  return w;
}

#define ASSERT_OK(expr)                                                  \
  ({                                                                     \
    auto _r = (expr);                                                    \
    ASSERT_TRUE(_r.has_value()) << #expr << ": " << _r.error().message;  \
    std::move(_r).value();                                               \
  })

// ---------------------------------------------------------------- OTP

TEST_P(Conformance, OtpIssueThenVerifyOnce) {
  auto e = engine();
  const TimePoint before = harness->now();
  Result issued = e->issue_otp("login", "alice@example.com").value();
  EXPECT_EQ(issued.outcome, Outcome::issued);
  ASSERT_EQ(issued.secret.size(), 6u);
  EXPECT_TRUE(std::all_of(issued.secret.view().begin(), issued.secret.view().end(), ::isdigit));
  EXPECT_EQ(issued.attempts_remaining, 5);
  ASSERT_TRUE(issued.expires_at.has_value());
  EXPECT_GE(*issued.expires_at, before + seconds(600) - seconds(2));
  EXPECT_LE(*issued.expires_at, harness->now() + seconds(600) + seconds(2));

  Result ok = e->verify_otp("login", "alice@example.com", issued.secret.view()).value();
  EXPECT_EQ(ok.outcome, Outcome::verified);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.identifier, "alice@example.com");
  EXPECT_EQ(ok.purpose, "login");

  Result replay = e->verify_otp("login", "alice@example.com", issued.secret.view()).value();
  EXPECT_EQ(replay.outcome, Outcome::not_found);
  EXPECT_FALSE(replay.ok());
}

TEST_P(Conformance, WrongGuessesCountDownThenKillTheCode) {
  Policy p;
  p.max_attempts = 3;
  auto e = engine(with_policy("login", p));
  Result issued = e->issue_otp("login", "bob").value();
  const std::string wrong = wrong_code(issued.secret.view());

  Result r1 = e->verify_otp("login", "bob", wrong).value();
  EXPECT_EQ(r1.outcome, Outcome::invalid);
  EXPECT_EQ(r1.attempts_remaining, 2);
  Result r2 = e->verify_otp("login", "bob", wrong).value();
  EXPECT_EQ(r2.outcome, Outcome::invalid);
  EXPECT_EQ(r2.attempts_remaining, 1);
  Result r3 = e->verify_otp("login", "bob", wrong).value();
  EXPECT_EQ(r3.outcome, Outcome::attempts_exhausted);
  EXPECT_EQ(r3.attempts_remaining, 0);
  // The credential is dead: even the right code no longer works.
  EXPECT_EQ(e->verify_otp("login", "bob", issued.secret.view())->outcome, Outcome::not_found);
}

TEST_P(Conformance, RightCodeAfterWrongOnesStillVerifies) {
  auto e = engine();
  Result issued = e->issue_otp("login", "carol").value();
  EXPECT_EQ(e->verify_otp("login", "carol", wrong_code(issued.secret.view()))->outcome, Outcome::invalid);
  Result ok = e->verify_otp("login", "carol", issued.secret.view()).value();
  EXPECT_EQ(ok.outcome, Outcome::verified);
  EXPECT_EQ(ok.attempts_remaining, 4);
}

TEST_P(Conformance, TypedCodesIgnoreSpacesAndDashes) {
  auto e = engine();
  std::string code(e->issue_otp("login", "dave")->secret.view());
  EXPECT_EQ(e->verify_otp("login", "dave", " " + code.substr(0, 3) + "-" + code.substr(3) + " ")->outcome,
            Outcome::verified);
}

TEST_P(Conformance, OtpExpiresAtItsTtl) {
  Policy p;
  p.ttl = seconds(2);  // short: the Redis harness waits for real
  auto e = engine(with_policy("login", p));
  Result a = e->issue_otp("login", "erin").value();
  harness->advance(milliseconds(1000));
  EXPECT_EQ(e->inspect("login", "erin")->outcome, Outcome::valid);
  EXPECT_EQ(e->verify_otp("login", "erin", a.secret.view())->outcome, Outcome::verified);

  Result b = e->issue_otp("login", "erin").value();
  harness->advance(milliseconds(2500));
  EXPECT_EQ(e->verify_otp("login", "erin", b.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(e->inspect("login", "erin")->outcome, Outcome::not_found);
}

TEST_P(Conformance, TtlCanBeSetPerCall) {
  auto e = engine();
  IssueOptions o;
  o.ttl = seconds(1);
  Result a = e->issue_otp("login", "fay", o).value();
  EXPECT_LE(*a.expires_at, harness->now() + milliseconds(1500));
  EXPECT_GE(*a.expires_at, harness->now() + milliseconds(500));
  harness->advance(milliseconds(1500));
  EXPECT_EQ(e->verify_otp("login", "fay", a.secret.view())->outcome, Outcome::not_found);
}

TEST_P(Conformance, ReissueReplacesTheCodeAndKeepsFailedAttempts) {
  auto e = engine();
  Result first = e->issue_otp("login", "gus").value();
  const std::string wrong = wrong_code(first.secret.view());
  e->verify_otp("login", "gus", wrong).value();
  e->verify_otp("login", "gus", wrong).value();
  Result second = e->issue_otp("login", "gus").value();
  EXPECT_EQ(second.attempts_remaining, 3) << "a re-issue must not grant fresh guesses";
  if (second.secret.view() != first.secret.view()) {
    Result old = e->verify_otp("login", "gus", first.secret.view()).value();
    EXPECT_EQ(old.outcome, Outcome::invalid);
    EXPECT_EQ(old.attempts_remaining, 2);
  }
  EXPECT_EQ(e->verify_otp("login", "gus", second.secret.view())->outcome, Outcome::verified);
}

TEST_P(Conformance, ResendSameReturnsTheLiveCodeUntilItExpires) {
  Policy p;
  p.reissue = Reissue::resend_same;
  p.ttl = seconds(2);
  auto e = engine(with_policy("verify-email", p));
  Result first = e->issue_otp("verify-email", "hal").value();
  harness->advance(milliseconds(500));
  Result again = e->issue_otp("verify-email", "hal").value();
  EXPECT_EQ(again.outcome, Outcome::issued);
  EXPECT_EQ(again.secret.view(), first.secret.view());
  ASSERT_TRUE(again.expires_at && first.expires_at);
  EXPECT_LE(std::chrono::abs(*again.expires_at - *first.expires_at), milliseconds(5))
      << "re-sending must not extend the code's life";
  e->verify_otp("verify-email", "hal", wrong_code(first.secret.view())).value();
  EXPECT_EQ(e->issue_otp("verify-email", "hal")->attempts_remaining, 4);
  harness->advance(milliseconds(2000));
  Result fresh = e->issue_otp("verify-email", "hal").value();
  EXPECT_EQ(fresh.attempts_remaining, 5);
  EXPECT_EQ(e->verify_otp("verify-email", "hal", fresh.secret.view())->outcome, Outcome::verified);
}

TEST_P(Conformance, ReusableCodesVerifyUntilExpiry) {
  Policy p;
  p.one_time_use = false;
  auto e = engine(with_policy("device", p));
  Result a = e->issue_otp("device", "ivy").value();
  EXPECT_EQ(e->verify_otp("device", "ivy", a.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_otp("device", "ivy", a.secret.view())->outcome, Outcome::verified);
}

TEST_P(Conformance, OtpPayloadComesBackOnlyOnSuccess) {
  auto e = engine();
  const std::string payload("new\0email@example.com", 21);
  IssueOptions o;
  o.payload = payload;
  Result a = e->issue_otp("change-email", "jo", o).value();
  Result bad = e->verify_otp("change-email", "jo", wrong_code(a.secret.view())).value();
  EXPECT_TRUE(bad.payload.empty());
  Result ok = e->verify_otp("change-email", "jo", a.secret.view()).value();
  EXPECT_EQ(ok.payload.view(), payload);
}

TEST_P(Conformance, UnambiguousCodesIgnoreCase) {
  Policy p;
  p.alphabet = Alphabet::unambiguous;
  p.otp_length = 8;
  auto e = engine(with_policy("login", p));
  std::string code(e->issue_otp("login", "kim")->secret.view());
  ASSERT_EQ(code.size(), 8u);
  std::string lower = code;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(e->verify_otp("login", "kim", lower)->outcome, Outcome::verified);
}

TEST_P(Conformance, IdentifiersAreCanonicalUnlessThePolicyOptsOut) {
  auto e = engine();
  Result a = e->issue_otp("email", "  User@Example.COM ").value();  // the default: trimmed, lower-cased
  EXPECT_EQ(a.identifier, "user@example.com");
  EXPECT_EQ(e->verify_otp("email", "user@example.com", a.secret.view())->outcome, Outcome::verified);
  Result u = e->issue_otp("email", "ÄBC@Example.com").value();
  EXPECT_EQ(u.identifier, "Äbc@example.com") << "bytes beyond ASCII are kept as they are";

  Policy exact;
  exact.trim_identifier = false;
  exact.lowercase_identifier = false;
  auto cs = engine(with_policy("login", exact));
  Result b = cs->issue_otp("login", "User@Example.com").value();  // opted out: exact bytes
  EXPECT_EQ(cs->verify_otp("login", "user@example.com", b.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(cs->verify_otp("login", "User@Example.com", b.secret.view())->outcome, Outcome::verified);
}

TEST_P(Conformance, PurposesAndIdentifiersNeverCollide) {
  auto e = engine();
  Result a = e->issue_otp("a:b", "c").value();
  EXPECT_EQ(e->verify_otp("a", "b:c", a.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_otp("signup", "c", a.secret.view())->outcome, Outcome::not_found);
  const std::string nul_id("x\0y", 3);
  Result b = e->issue_otp("login", nul_id).value();
  EXPECT_EQ(e->verify_otp("login", "x", b.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_otp("login", nul_id, b.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_otp("a:b", "c", a.secret.view())->outcome, Outcome::verified);
}

TEST_P(Conformance, RevokeOtpAndInspect) {
  auto e = engine();
  EXPECT_EQ(e->inspect("login", "lee")->outcome, Outcome::not_found);
  Result a = e->issue_otp("login", "lee").value();
  e->verify_otp("login", "lee", wrong_code(a.secret.view())).value();
  Result seen = e->inspect("login", "lee").value();
  EXPECT_EQ(seen.outcome, Outcome::valid);
  EXPECT_EQ(seen.attempts_remaining, 4);
  ASSERT_TRUE(seen.expires_at && a.expires_at);
  EXPECT_LE(std::chrono::abs(*seen.expires_at - *a.expires_at), milliseconds(5));
  EXPECT_EQ(seen.active_tokens, 0);
  EXPECT_TRUE(e->revoke_otp("login", "lee").value());
  EXPECT_FALSE(e->revoke_otp("login", "lee").value());
  EXPECT_EQ(e->verify_otp("login", "lee", a.secret.view())->outcome, Outcome::not_found);
}

TEST_P(Conformance, BadArgumentsAreErrorsAndChangeNothing) {
  auto e = engine();
  Result a = e->issue_otp("login", "mo").value();
  auto expect_invalid = [](const auto& r) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_FALSE(r.error().message.empty());
  };
  expect_invalid(e->issue_otp("", "mo"));
  expect_invalid(e->issue_otp("login", ""));
  expect_invalid(e->issue_otp("log in", "mo"));
  expect_invalid(e->issue_otp("login", std::string(kMaxIdentifierBytes + 1, 'm')));
  IssueOptions big;
  const std::string huge(kMaxPayloadBytes + 1, 'p');
  big.payload = huge;
  expect_invalid(e->issue_otp("login", "mo", big));
  expect_invalid(e->verify_otp("login", "mo", ""));
  expect_invalid(e->verify_otp("login", "", a.secret.view()));
  IssueOptions ttl;
  ttl.ttl = seconds(-5);
  expect_invalid(e->issue_token("login", "mo", ttl));
  EXPECT_EQ(e->inspect("login", "mo")->attempts_remaining, 5) << "bad input must cost no attempt";
  EXPECT_EQ(e->verify_otp("login", "mo", a.secret.view())->outcome, Outcome::verified);
}

// ---------------------------------------------------------------- tokens

TEST_P(Conformance, TokenVerifiesByItselfAndReturnsWhoItWasFor) {
  auto e = engine();
  const std::string payload = "{\"redirect\":\"/settings\"}";
  IssueOptions o;
  o.payload = payload;
  Result t = e->issue_token("confirm", "nina@example.com", o).value();
  EXPECT_EQ(t.outcome, Outcome::issued);
  EXPECT_EQ(t.secret.size(), 67u);  // 256 bits of secret + locator, base64url
  EXPECT_EQ(t.secret.view().find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string_view::npos);

  Result ok = e->verify_token(t.secret.view(), "confirm").value();
  EXPECT_EQ(ok.outcome, Outcome::verified);
  EXPECT_EQ(ok.identifier, "nina@example.com");
  EXPECT_EQ(ok.purpose, "confirm");
  EXPECT_EQ(ok.payload.view(), payload);
  ASSERT_TRUE(ok.expires_at && t.expires_at);
  EXPECT_LE(std::chrono::abs(*ok.expires_at - *t.expires_at), milliseconds(5));
  EXPECT_EQ(e->verify_token(t.secret.view(), "confirm")->outcome, Outcome::not_found);
}

TEST_P(Conformance, TokenOfAnotherPurposeIsNotFoundAndNotConsumed) {
  auto e = engine();
  Result t = e->issue_token("confirm", "oli").value();
  EXPECT_EQ(e->verify_token(t.secret.view(), "delete-account")->outcome, Outcome::not_found);
  for (std::string_view missing : {std::string_view{}, std::string_view("")}) {  // the purpose is required
    EXPECT_EQ(e->verify_token(t.secret.view(), missing).error().code, Errc::invalid_argument);
    EXPECT_EQ(e->peek_token(t.secret.view(), missing).error().code, Errc::invalid_argument);
    EXPECT_EQ(e->consume_link(t.secret.view(), missing).error().code, Errc::invalid_argument);
    EXPECT_EQ(e->peek_link(t.secret.view(), missing).error().code, Errc::invalid_argument);
  }
  EXPECT_EQ(e->issue_token("*", "oli").error().code, Errc::invalid_argument) << "\"*\" is no purpose";
  EXPECT_EQ(e->peek_token(t.secret.view(), "confirm")->outcome, Outcome::valid) << "nothing was consumed";
  Result any = e->verify_token(t.secret.view(), kAnyPurpose).value();  // the explicit opt-in
  EXPECT_EQ(any.outcome, Outcome::verified);
  EXPECT_EQ(any.purpose, "confirm");
}

TEST_P(Conformance, TokenSizeFollowsThePolicy) {
  Policy p;
  p.token_bytes = 16;
  auto e = engine(with_policy("short", p));
  Result t = e->issue_token("short", "pat").value();
  EXPECT_EQ(t.secret.size(), 46u);  // 34 bytes
  EXPECT_EQ(e->verify_token(t.secret.view(), "short")->outcome, Outcome::verified);
}

TEST_P(Conformance, PeekDoesNotConsume) {
  auto e = engine();
  Result t = e->issue_token("confirm", "quin").value();
  EXPECT_EQ(e->peek_token(t.secret.view(), "confirm")->outcome, Outcome::valid);
  EXPECT_EQ(e->peek_token(t.secret.view(), "confirm")->identifier, "quin");
  EXPECT_EQ(e->verify_token(t.secret.view(), "confirm")->outcome, Outcome::verified);
  EXPECT_EQ(e->peek_token(t.secret.view(), "confirm")->outcome, Outcome::not_found);
}

TEST_P(Conformance, MalformedAndForgedTokensAreNotFound) {
  auto e = engine();
  Result t = e->issue_token("confirm", "ray").value();
  std::string forged(t.secret.view());
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  for (std::string_view bad : {std::string_view("garbage"), std::string_view("AAAA"), std::string_view(forged),
                               t.secret.view().substr(0, 40)}) {
    auto r = e->verify_token(bad, "confirm");
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_EQ(r->outcome, Outcome::not_found) << bad;
  }
  EXPECT_EQ(e->verify_token("", "confirm").error().code, Errc::invalid_argument);
  EXPECT_EQ(e->verify_token(std::string(kMaxSecretBytes + 1, 'A'), "confirm").error().code, Errc::invalid_argument);
  EXPECT_EQ(e->verify_token(t.secret.view(), "bad purpose").error().code, Errc::invalid_argument);
  EXPECT_EQ(e->verify_token(t.secret.view(), "confirm")->outcome, Outcome::verified);
}

TEST_P(Conformance, TokenExpires) {
  Policy p;
  p.ttl = seconds(1);
  auto e = engine(with_policy("confirm", p));
  Result t = e->issue_token("confirm", "sam").value();
  Result u = e->issue_token("confirm", "sam", IssueOptions{{}, seconds(5)}).value();
  harness->advance(milliseconds(1500));
  EXPECT_EQ(e->inspect("confirm", "sam")->active_tokens, 1);
  EXPECT_EQ(e->peek_token(u.secret.view(), "confirm")->outcome, Outcome::valid);
  EXPECT_EQ(e->peek_token(t.secret.view(), "confirm")->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_token(t.secret.view(), "confirm")->outcome, Outcome::not_found);
}

TEST_P(Conformance, ReusableTokensVerifyUntilExpiry) {
  Policy p;
  p.one_time_use = false;
  auto e = engine(with_policy("session", p));
  Result t = e->issue_token("session", "tia").value();
  EXPECT_EQ(e->verify_token(t.secret.view(), "session")->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_token(t.secret.view(), "session")->outcome, Outcome::verified);
}

TEST_P(Conformance, RevokeOneTokenOrEverything) {
  auto e = engine();
  Result t1 = e->issue_token("confirm", "uma").value();
  Result t2 = e->issue_token("confirm", "uma").value();
  Result t3 = e->issue_token("confirm", "uma").value();
  Result code = e->issue_otp("confirm", "uma").value();
  Result other = e->issue_token("confirm", "vic").value();
  EXPECT_EQ(e->inspect("confirm", "uma")->active_tokens, 3);
  EXPECT_TRUE(e->revoke_token(t1.secret.view()).value());
  EXPECT_FALSE(e->revoke_token(t1.secret.view()).value());
  EXPECT_FALSE(e->revoke_token("garbage").value());
  EXPECT_EQ(e->verify_token(t1.secret.view(), "confirm")->outcome, Outcome::not_found);
  EXPECT_EQ(e->revoke_all("confirm", "uma").value(), 3);  // two tokens and the code
  EXPECT_EQ(e->verify_token(t2.secret.view(), "confirm")->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_token(t3.secret.view(), "confirm")->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_otp("confirm", "uma", code.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_token(other.secret.view(), "confirm")->outcome, Outcome::verified);
  EXPECT_EQ(e->revoke_all("confirm", "uma").value(), 0);
}

// ---------------------------------------------------------------- magic links

TEST_P(Conformance, MagicLinkPeekThenConsume) {
  auto e = engine();
  IssueOptions o;
  o.payload = "/welcome";
  Result l = e->issue_link("login", "wes@example.com", "https://app.example.com/magic?src=mail#x", o).value();
  EXPECT_EQ(l.outcome, Outcome::issued);
  EXPECT_EQ(l.url, "https://app.example.com/magic?src=mail&token=" + std::string(l.secret.view()) + "#x");
  Result peek = e->peek_link(l.secret.view(), "login").value();
  EXPECT_EQ(peek.outcome, Outcome::valid);
  EXPECT_EQ(peek.identifier, "wes@example.com");
  Result used = e->consume_link(l.secret.view(), "login").value();
  EXPECT_EQ(used.outcome, Outcome::verified);
  EXPECT_EQ(used.payload.view(), "/welcome");
  EXPECT_EQ(e->consume_link(l.secret.view(), "login")->outcome, Outcome::not_found);
}

TEST_P(Conformance, LinkParameterNameFollowsThePolicy) {
  Policy p;
  p.link_param = "t";
  auto e = engine(with_policy("invite", p));
  Result l = e->issue_link("invite", "xia", "https://e.com/join").value();
  EXPECT_EQ(l.url, "https://e.com/join?t=" + std::string(l.secret.view()));
}

TEST_P(Conformance, LinksAndTokensAreNotInterchangeable) {
  auto e = engine();
  Result l = e->issue_link("login", "yan", "https://e.com/m").value();
  Result t = e->issue_token("login", "yan").value();
  EXPECT_EQ(e->verify_token(l.secret.view(), "login")->outcome, Outcome::not_found);
  EXPECT_EQ(e->consume_link(t.secret.view(), "login")->outcome, Outcome::not_found);
  EXPECT_EQ(e->consume_link(l.secret.view(), "login")->outcome, Outcome::verified);
  EXPECT_EQ(e->verify_token(t.secret.view(), "login")->outcome, Outcome::verified);
}

TEST_P(Conformance, BadBaseUrlStoresNothing) {
  auto e = engine();
  auto r = e->issue_link("login", "zed", "ftp://e.com/m");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(e->inspect("login", "zed")->active_tokens, 0);
}

TEST_P(Conformance, UsingOneResetLinkRevokesTheOthers) {
  Policy p;
  p.revoke_all_on_use = true;
  auto e = engine(with_policy("reset-password", p));
  Result l1 = e->issue_link("reset-password", "abe", "https://e.com/reset").value();
  Result l2 = e->issue_link("reset-password", "abe", "https://e.com/reset").value();
  Result code = e->issue_otp("reset-password", "abe").value();
  EXPECT_EQ(e->peek_link(l1.secret.view(), "reset-password")->outcome, Outcome::valid);  // peek revokes nothing
  EXPECT_EQ(e->consume_link(l2.secret.view(), "reset-password")->outcome, Outcome::verified);
  EXPECT_EQ(e->consume_link(l1.secret.view(), "reset-password")->outcome, Outcome::not_found);
  EXPECT_EQ(e->verify_otp("reset-password", "abe", code.secret.view())->outcome, Outcome::not_found);
}

// ---------------------------------------------------------------- keys and secrecy

TEST_P(Conformance, RecordsMadeBeforeAKeyRotationStillVerify) {
  Key old_key = generate_key(1), new_key = generate_key(2);
  Config before;
  before.keys = KeySet{old_key, {}, std::nullopt};
  auto e1 = engine(before);
  Result code = e1->issue_otp("login", "bea").value();
  Result token = e1->issue_token("confirm", "bea", IssueOptions{"p", seconds(0)}).value();
  Result link = e1->issue_link("login", "bea", "https://e.com/m").value();

  Config after;
  after.keys = KeySet{new_key, {old_key}, old_key.bytes};  // the first key stays the index key
  auto e2 = engine(after);
  EXPECT_EQ(e2->inspect("login", "bea")->outcome, Outcome::valid);
  EXPECT_EQ(e2->verify_otp("login", "bea", code.secret.view())->outcome, Outcome::verified);
  Result t = e2->verify_token(token.secret.view(), "confirm").value();
  EXPECT_EQ(t.outcome, Outcome::verified);
  EXPECT_EQ(t.payload.view(), "p");
  EXPECT_EQ(e2->revoke_all("login", "bea").value(), 1);  // the link made under the old key
  EXPECT_EQ(e2->consume_link(link.secret.view(), "login")->outcome, Outcome::not_found);

  // Retiring the old key retires its records: not_found, and no attempt is spent on them.
  Result fresh = e1->issue_otp("login", "cal").value();
  Config retired;
  retired.keys = KeySet{new_key, {}, old_key.bytes};
  auto e3 = engine(retired);
  EXPECT_EQ(e3->verify_otp("login", "cal", fresh.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(e1->inspect("login", "cal")->attempts_remaining, 5);
  Config no_index;
  no_index.keys = KeySet{new_key, {old_key}, std::nullopt};
  EXPECT_EQ(Engine::create(no_index, harness->store()).error().code, Errc::config) << "previous keys need an index key";
}

// Three keys in the set (two rotations): a verify carries one candidate hash per key, more than
// a request holds in place, and each record is compared under the key that made it: right codes
// verify whichever key made them, a wrong one is counted once, a recovery code made under the
// first key is spent once; with the first key retired its records are not_found.
TEST_P(Conformance, RecordsOfEachOfThreeKeysVerify) {
  Key k1 = generate_key(1), k2 = generate_key(2), k3 = generate_key(3);
  Config c1, c2, c3, retired;
  c1.keys = KeySet{k1, {}, std::nullopt};
  c2.keys = KeySet{k2, {k1}, k1.bytes};
  c3.keys = KeySet{k3, {k2, k1}, k1.bytes};
  retired.keys = KeySet{k3, {k2}, k1.bytes};
  auto e1 = engine(c1), e2 = engine(c2), e3 = engine(c3), e4 = engine(retired);
  Result by1 = e1->issue_otp("login", "dee").value();
  Result by2 = e2->issue_otp("login", "eve").value();
  Result by3 = e3->issue_otp("login", "fay").value();
  Result set = e1->generate_recovery_codes("mfa", "dee").value();
  ASSERT_FALSE(set.codes.empty());
  std::string wrong(by1.secret.view());
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  Result miss = e3->verify_otp("login", "dee", wrong).value();
  EXPECT_EQ(miss.outcome, Outcome::invalid);
  EXPECT_EQ(miss.attempts_remaining, 4) << "one wrong guess, counted once";
  EXPECT_EQ(e3->verify_otp("login", "dee", by1.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e3->verify_otp("login", "eve", by2.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e3->verify_otp("login", "fay", by3.secret.view())->outcome, Outcome::verified);
  EXPECT_EQ(e3->use_recovery_code("mfa", "dee", set.codes[0].view())->outcome, Outcome::verified);
  EXPECT_EQ(e3->use_recovery_code("mfa", "dee", set.codes[0].view())->outcome, Outcome::invalid) << "single use";
  Result late = e1->issue_otp("login", "gus").value();
  EXPECT_EQ(e4->verify_otp("login", "gus", late.secret.view())->outcome, Outcome::not_found) << "key 1 retired";
  EXPECT_EQ(e1->inspect("login", "gus")->attempts_remaining, 5) << "no attempt spent on a retired key's record";
}

// A rotation splits nothing: one live code per identifier, one abuse state, one revoke-all,
// whichever key made a record.
TEST_P(Conformance, AKeyRotationResetsNothingAndSplitsNothing) {
  Key old_key = generate_key(1), new_key = generate_key(2);
  Config before;
  before.keys = KeySet{old_key, {}, std::nullopt};
  Policy p;
  p.resend_cooldown = seconds(0);
  before.default_policy = p;
  auto e1 = engine(before, true);
  Config after = before;
  after.keys = KeySet{new_key, {old_key}, old_key.bytes};
  auto e2 = engine(after, true);

  Result old_code = e1->issue_otp("login", "kit").value();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(e1->verify_otp("login", "kit", "000000")->outcome, Outcome::invalid);
  const Counters c1 = *e1->inspect("login", "kit")->counters;
  const Counters c2 = *e2->inspect("login", "kit")->counters;
  EXPECT_EQ(c2.failures, 3) << "the failure budget survives the rotation";
  EXPECT_EQ(c2.guesses_available, c1.guesses_available);
  EXPECT_EQ(c2.sends_available, c1.sends_available) << "the send budget is not refilled";

  Result new_code = e2->issue_otp("login", "kit").value();  // replace, under the new key
  EXPECT_EQ(new_code.attempts_remaining, 2) << "the new code inherits the spent attempts";
  if (old_code.secret.view() != new_code.secret.view()) {
    EXPECT_EQ(e2->verify_otp("login", "kit", old_code.secret.view())->outcome, Outcome::invalid)
        << "the old code was replaced";
  }
  EXPECT_EQ(e1->verify_otp("login", "kit", new_code.secret.view())->outcome, Outcome::not_found)
      << "an engine without key 2 cannot read its record (and spends no attempt on it)";
  EXPECT_EQ(e2->verify_otp("login", "kit", new_code.secret.view())->outcome, Outcome::verified);

  // revoke-all and revoke-all-on-use reach credentials made under either key.
  Policy reset = p;
  reset.revoke_all_on_use = true;
  before.policies["reset"] = reset;
  after.policies["reset"] = reset;
  auto r1 = engine(before, true), r2 = engine(after, true);
  Result old_link = r1->issue_link("reset", "kit", "https://e.com/r").value();
  Result new_link = r2->issue_link("reset", "kit", "https://e.com/r").value();
  EXPECT_EQ(r2->consume_link(new_link.secret.view(), "reset")->outcome, Outcome::verified);
  EXPECT_EQ(r2->peek_link(old_link.secret.view(), "reset")->outcome, Outcome::not_found);
  r1->issue_token("reset", "kit").value();
  r2->issue_token("reset", "kit").value();
  EXPECT_EQ(r2->revoke_all("reset", "kit").value(), 2);
}

TEST_P(Conformance, EnginesWithDifferentKeysDoNotSeeEachOther) {
  auto a = engine();
  Config other;
  other.keys = KeySet{generate_key(1), {}, std::nullopt};
  other.key_check = "off";  // (else refused at start on a shared store: KeyCheck... below)
  auto b = engine(other);
  Result code = a->issue_otp("login", "dee").value();
  EXPECT_EQ(b->verify_otp("login", "dee", code.secret.view())->outcome, Outcome::not_found);
  Result token = a->issue_token("confirm", "dee").value();
  EXPECT_EQ(b->verify_token(token.secret.view(), "confirm")->outcome, Outcome::not_found);
  EXPECT_EQ(a->verify_otp("login", "dee", code.secret.view())->outcome, Outcome::verified);
}

// The key check: a shared store keeps the tag of the index key its records are named with, and an
// engine with another key (which would find none of them: everything not_found) is refused at
// start; a rotation that keeps the index key starts. "require" refuses a store without the
// record (a mistyped prefix or URL in a support tool); "off" checks nothing. A store no other
// process shares has nothing to check.
TEST_P(Conformance, KeyCheckRefusesAnotherKeyAtStartOnASharedStore) {
  const bool shared = harness->store()->shared();
  auto with = [&](const Key& current, const std::string& mode, std::optional<Key> index = std::nullopt,
                  std::vector<Key> previous = {}) {
    Config c;
    c.keys = KeySet{current, std::move(previous), std::nullopt};
    if (index) c.keys->index = index->bytes;
    c.key_check = mode;
    return Engine::create(std::move(c), harness->store());
  };
  auto fresh = with(key, "require");
  EXPECT_EQ(fresh.has_value(), !shared) << "no record yet: refused with require";
  if (!fresh) {
    EXPECT_EQ(fresh.error().code, Errc::config);
    EXPECT_NE(fresh.error().message.find("no key-check record"), std::string::npos) << fresh.error().message;
  }
  auto first = with(key, "create");  // makes the record
  ASSERT_TRUE(first.has_value()) << first.error().message;
  Result code = (*first)->issue_otp("login", "kim").value();
  EXPECT_TRUE(with(key, "require").has_value()) << "the record is there now";
  EXPECT_TRUE(with(key, "create").has_value()) << "the same key again";

  const Key other = generate_key(2);
  for (const std::string mode : {"create", "require"}) {
    auto wrong = with(other, mode);
    EXPECT_EQ(wrong.has_value(), !shared) << mode;
    if (!wrong) {
      EXPECT_EQ(wrong.error().code, Errc::config) << mode;
      EXPECT_NE(wrong.error().message.find("written with another key"), std::string::npos) << wrong.error().message;
    }
  }
  auto unchecked = with(other, "off");
  ASSERT_TRUE(unchecked.has_value());
  EXPECT_EQ((*unchecked)->verify_otp("login", "kim", code.secret.view())->outcome, Outcome::not_found)
      << "what the check prevents: another key finds nothing";
  auto rotated = with(other, "create", key, {key});  // the new key, the old one as previous and index
  ASSERT_TRUE(rotated.has_value()) << rotated.error().message;
  EXPECT_EQ((*rotated)->verify_otp("login", "kim", code.secret.view())->outcome, Outcome::verified);
  EXPECT_TRUE(with(key, "create").has_value()) << "the record still names the index key";
  Config bad;
  bad.keys = KeySet{key, {}, std::nullopt};
  bad.key_check = "never";
  auto refused = Engine::create(bad, harness->store());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::config);
  EXPECT_NE(refused.error().message.find("key_check"), std::string::npos);
}

TEST_P(Conformance, NothingSecretReachesTheStoreInTheClear) {
  auto recorder = std::make_shared<RecordingStore>(harness->store());
  Config c;
  c.keys = KeySet{key, {}, std::nullopt};
  c.policies["verify-email"].reissue = Reissue::resend_same;
  auto e = Engine::create(c, recorder).value();
  const std::string id = "secret.person@example.com";
  const std::string payload = "PAYLOAD-new-address@example.org";
  IssueOptions o;
  o.payload = payload;
  Result code = e->issue_otp("verify-email", id, o).value();
  e->verify_otp("verify-email", id, wrong_code(code.secret.view())).value();
  Result token = e->issue_token("confirm", id, o).value();
  Result link = e->issue_link("login", id, "https://e.com/m", o).value();
  e->peek_link(link.secret.view(), "login").value();
  e->verify_token(token.secret.view(), "confirm").value();
  e->verify_otp("verify-email", id, code.secret.view()).value();
  e->inspect("login", id).value();

  const std::string token_secret = std::string(token.secret.view());
  for (const std::string& field : recorder->seen()) {
    EXPECT_EQ(field.find(id), std::string::npos);
    EXPECT_EQ(field.find("secret.person"), std::string::npos);
    EXPECT_EQ(field.find(payload), std::string::npos);
    EXPECT_EQ(field.find("PAYLOAD"), std::string::npos);
    EXPECT_EQ(field.find(code.secret.view()), std::string::npos) << "the code appears in a store field";
    EXPECT_EQ(field.find(token_secret), std::string::npos);
    EXPECT_EQ(field.find(token_secret.substr(24)), std::string::npos);  // the secret part
    EXPECT_EQ(field.find(link.secret.view()), std::string::npos);
  }
  EXPECT_GT(recorder->seen().size(), 10u);
}

// ---------------------------------------------------------------- asynchronous forms

TEST_P(Conformance, AsynchronousCallsCompleteExactlyOnce) {
  auto e = engine();
  std::atomic<int> calls{0};
  std::mutex m;
  std::condition_variable cv;
  std::optional<Expected<Result>> issued;
  e->issue_otp("login", "eve", IssueOptions{}, [&](Expected<Result> r) {
    std::lock_guard<std::mutex> lock(m);
    issued.emplace(std::move(r));
    ++calls;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, seconds(10), [&] { return issued.has_value(); }));
  }
  ASSERT_TRUE(issued->has_value());
  std::optional<Expected<Result>> verified;
  e->verify_otp("login", "eve", (*issued)->secret.view(), VerifyOptions{}, [&](Expected<Result> r) {
    std::lock_guard<std::mutex> lock(m);
    verified.emplace(std::move(r));
    ++calls;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(m);
  ASSERT_TRUE(cv.wait_for(lock, seconds(10), [&] { return verified.has_value(); }));
  EXPECT_EQ((*verified)->outcome, Outcome::verified);
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace verikit::test
