// C API lifecycle events, through libverikit.so, on the embedded store and on a real Redis:
// every kind from the operation that makes it, with its fields; no code, token or link in any
// event; a full queue drops and counts; freeing the engine delivers what is queued and never
// calls the handler after it returns.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"
#include "support/rfc6238.hpp"
#include "verikit.h"

namespace {

using namespace std::chrono_literals;

// One event as the handler read it through the getters (copies: the event dies with the call).
struct Seen {
  std::string name;
  int kind = -1, credential = -1, status = -2;
  std::string purpose, identifier_tag, identifier, client_tag;
  int32_t used = -2, remaining = -2, count = -2;
  int64_t retry_after_ms = -1, at_ms = 0;
  std::string all_text() const { return name + purpose + identifier_tag + identifier + client_tag; }
};

std::string text(int (*get)(const verikit_event*, const char**, size_t*), const verikit_event* e) {
  const char* d = nullptr;
  size_t n = 0;
  EXPECT_EQ(get(e, &d, &n), VERIKIT_OK);
  EXPECT_EQ(d[n], '\0');
  return std::string(d, n);
}

// Collects events; `wait_for(n)` waits (up to 20 s: a condition, not a timing claim) for n.
struct Collector {
  std::mutex m;
  std::condition_variable cv;
  std::vector<Seen> events;

  static void on_event(void* user, const verikit_event* e) {
    Seen s;
    s.name = verikit_event_name(e);
    EXPECT_EQ(verikit_event_kind(e, &s.kind), VERIKIT_OK);
    EXPECT_EQ(verikit_event_credential(e, &s.credential), VERIKIT_OK);
    EXPECT_EQ(verikit_event_status(e, &s.status), VERIKIT_OK);
    s.purpose = text(verikit_event_purpose, e);
    s.identifier_tag = text(verikit_event_identifier_tag, e);
    s.identifier = text(verikit_event_identifier, e);
    s.client_tag = text(verikit_event_client_tag, e);
    EXPECT_EQ(verikit_event_attempts(e, &s.used, &s.remaining), VERIKIT_OK);
    EXPECT_EQ(verikit_event_retry_after_ms(e, &s.retry_after_ms), VERIKIT_OK);
    EXPECT_EQ(verikit_event_count(e, &s.count), VERIKIT_OK);
    EXPECT_EQ(verikit_event_at_ms(e, &s.at_ms), VERIKIT_OK);
    EXPECT_EQ(std::string(verikit_credential_name(s.credential)) + "." + verikit_kind_name(s.kind), s.name);
    auto* self = static_cast<Collector*>(user);
    std::lock_guard<std::mutex> lock(self->m);
    self->events.push_back(std::move(s));
    self->cv.notify_all();
  }

  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, 20s, [&] { return events.size() >= n; });
  }
  // The next event (waits for it), in order.
  Seen next() {
    EXPECT_TRUE(wait_for(taken + 1)) << "no event after " << taken;
    std::lock_guard<std::mutex> lock(m);
    if (events.size() <= taken) return Seen{};
    return events[taken++];
  }
  std::size_t taken = 0;
};

bool is_hex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Res {
  verikit_result* r = nullptr;
  ~Res() { verikit_result_free(r); }
  int status() const {
    int s = -1;
    verikit_result_status(r, &s);
    return s;
  }
  std::string secret() const {
    const char* d = nullptr;
    size_t n = 0;
    verikit_result_secret(r, &d, &n);
    return std::string(d, n);
  }
  std::string url() const {
    const char* d = nullptr;
    size_t n = 0;
    verikit_result_url(r, &d, &n);
    return std::string(d, n);
  }
};

// A right-format code that is not `code` (its first digit moved on by one).
std::string wrong(std::string code) {
  code[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  return code;
}

// The stores every test runs on: the embedded one, and a redis-server of the test's own.
class Events : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "redis") {
      server_ = std::make_unique<verikit::test::RedisServer>();
      url_ = server_->url();
    } else {
      url_ = "memory://";
    }
  }

  // A configuration on this test's store with a key, abuse controls off by default, and
  // purposes that each turn one control on.
  verikit_config* config(verikit_event_handler handler, void* user) {
    verikit_config* c = nullptr;
    EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
    EXPECT_EQ(verikit_config_set_store(c, url_.c_str()), VERIKIT_OK);
    uint8_t key[VERIKIT_KEY_BYTES] = {42};
    EXPECT_EQ(verikit_config_set_key(c, 1, key, sizeof key), VERIKIT_OK);
    verikit_policy p = VERIKIT_POLICY_INIT;
    p.flags = VERIKIT_POLICY_NO_COOLDOWN | VERIKIT_POLICY_NO_SEND_LIMIT | VERIKIT_POLICY_NO_LOCKOUT |
              VERIKIT_POLICY_NO_CLIENT_LIMITS | VERIKIT_POLICY_NO_ACTIVE_CAP;
    p.max_attempts = 2;
    EXPECT_EQ(verikit_config_set_default_policy(c, &p), VERIKIT_OK);
    auto field = [&](const char* purpose, const char* name, const char* value) {
      EXPECT_EQ(verikit_config_set_policy_field(c, purpose, name, value), VERIKIT_OK) << verikit_error_message();
    };
    // "cool": a resend cooldown only.
    field("cool", "send_limit", "off");
    field("cool", "failure_limit", "off");
    field("cool", "client_pair_failure_limit", "off");
    field("cool", "resend_cooldown", "60");
    // "limit": one issue per client key.
    field("limit", "resend_cooldown", "0");
    field("limit", "client_issue_limit", "1/3600/1");
    // "lock": a failure budget of two wrong guesses.
    field("lock", "resend_cooldown", "0");
    field("lock", "max_attempts", "10");
    field("lock", "failure_limit", "1/86400/2");
    field("lock", "client_pair_failure_limit", "off");
    // "guard": one wrong guess per client key.
    field("guard", "client_failure_limit", "1/3600/1");
    if (handler != nullptr) {
      EXPECT_EQ(verikit_config_set_event_handler(c, handler, user), VERIKIT_OK);
    }
    return c;
  }

  verikit_engine* engine(verikit_config* c) {
    verikit_engine* e = nullptr;
    EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_OK) << verikit_error_message();
    verikit_config_free(c);
    return e;
  }

  std::unique_ptr<verikit::test::RedisServer> server_;
  std::string url_;
};

TEST_P(Events, OtpKindsWithTheirFields) {
  Collector got;
  verikit_engine* e = engine(config(&Collector::on_event, &got));
  const std::string id = "Ann@Example.com ";  // normalised: ann@example.com

  Res issued;
  ASSERT_EQ(verikit_otp_issue(&issued.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  Seen s = got.next();
  EXPECT_EQ(s.name, "otp.issued");
  EXPECT_EQ(s.kind, VERIKIT_EVENT_ISSUED);
  EXPECT_EQ(s.credential, VERIKIT_CREDENTIAL_OTP);
  EXPECT_EQ(s.status, VERIKIT_STATUS_ISSUED);
  EXPECT_EQ(s.purpose, "login");
  EXPECT_TRUE(is_hex32(s.identifier_tag)) << s.identifier_tag;
  EXPECT_EQ(s.identifier, "") << "the identifier only when configured";
  EXPECT_EQ(s.client_tag, "");
  EXPECT_EQ(s.used, 0);
  EXPECT_EQ(s.remaining, 2);
  EXPECT_EQ(s.count, -1);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(s.at_ms, now_ms);
  EXPECT_GT(s.at_ms, now_ms - 60'000);  // (stamped at the outcome, a moment ago; not, say, the boot time)
  const std::string tag = s.identifier_tag;

  // The same identifier however it is spelled, on a verification with a client key.
  const std::string code = issued.secret(), bad = wrong(code);
  verikit_verify_options vo = VERIKIT_VERIFY_OPTIONS_INIT;
  vo.client_key = reinterpret_cast<const uint8_t*>("203.0.113.9");
  vo.client_key_len = 11;
  Res invalid;
  ASSERT_EQ(verikit_otp_verify(&invalid.r, e, "login", "ann@example.com", 15, bad.data(), bad.size(), &vo), VERIKIT_OK);
  s = got.next();
  EXPECT_EQ(s.name, "otp.invalid");
  EXPECT_EQ(s.status, VERIKIT_STATUS_INVALID);
  EXPECT_EQ(s.identifier_tag, tag) << "the tag is stable across spellings and calls";
  EXPECT_TRUE(is_hex32(s.client_tag)) << s.client_tag;
  EXPECT_EQ(s.used, 1);
  EXPECT_EQ(s.remaining, 1);

  Res verified;
  ASSERT_EQ(verikit_otp_verify(&verified.r, e, "login", id.data(), id.size(), code.data(), code.size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(verified.status(), VERIKIT_STATUS_VERIFIED);
  s = got.next();
  EXPECT_EQ(s.name, "otp.verified");
  EXPECT_EQ(s.identifier_tag, tag);
  EXPECT_EQ(s.client_tag, "");

  Res gone;
  ASSERT_EQ(verikit_otp_verify(&gone.r, e, "login", id.data(), id.size(), code.data(), code.size(), nullptr), VERIKIT_OK);
  s = got.next();
  EXPECT_EQ(s.name, "otp.not_found");
  EXPECT_EQ(s.status, VERIKIT_STATUS_NOT_FOUND);
  EXPECT_EQ(s.identifier_tag, tag);

  // Two wrong guesses kill a code of max_attempts 2.
  Res again;
  ASSERT_EQ(verikit_otp_issue(&again.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(got.next().name, "otp.issued");
  const std::string bad2 = wrong(again.secret());
  for (int i = 0; i < 2; ++i) {
    Res r;
    ASSERT_EQ(verikit_otp_verify(&r.r, e, "login", id.data(), id.size(), bad2.data(), bad2.size(), nullptr), VERIKIT_OK);
  }
  EXPECT_EQ(got.next().name, "otp.invalid");
  s = got.next();
  EXPECT_EQ(s.name, "otp.attempts_exhausted");
  EXPECT_EQ(s.status, VERIKIT_STATUS_ATTEMPTS_EXHAUSTED);
  EXPECT_EQ(s.used, 2);
  EXPECT_EQ(s.remaining, 0);

  // Revoke: an event only when something live was revoked.
  Res third;
  ASSERT_EQ(verikit_otp_issue(&third.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(got.next().name, "otp.issued");
  int revoked = 0;
  ASSERT_EQ(verikit_otp_revoke(&revoked, e, "login", id.data(), id.size()), VERIKIT_OK);
  ASSERT_EQ(revoked, 1);
  ASSERT_EQ(verikit_otp_revoke(&revoked, e, "login", id.data(), id.size()), VERIKIT_OK);
  ASSERT_EQ(revoked, 0);
  Res fourth;
  ASSERT_EQ(verikit_otp_issue(&fourth.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  s = got.next();
  EXPECT_EQ(s.name, "otp.revoked");
  EXPECT_EQ(s.status, -1);
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(s.identifier_tag, tag);
  EXPECT_EQ(got.next().name, "otp.issued") << "the revoke of nothing made no event";

  verikit_engine_free(e);
  EXPECT_EQ(got.events.size(), got.taken) << "no event beyond those expected";
}

TEST_P(Events, RefusalsCarryRetryAfterAndUnlock) {
  Collector got;
  verikit_engine* e = engine(config(&Collector::on_event, &got));

  Res first, second;
  ASSERT_EQ(verikit_otp_issue(&first.r, e, "cool", "bo", 2, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_otp_issue(&second.r, e, "cool", "bo", 2, nullptr), VERIKIT_OK);
  ASSERT_EQ(second.status(), VERIKIT_STATUS_COOLDOWN);
  EXPECT_EQ(got.next().name, "otp.issued");
  Seen s = got.next();
  EXPECT_EQ(s.name, "otp.cooldown");
  EXPECT_EQ(s.status, VERIKIT_STATUS_COOLDOWN);
  EXPECT_GT(s.retry_after_ms, 0);
  EXPECT_LE(s.retry_after_ms, 60'000);

  // One issue per client key: the second, for another identifier, is rate limited; both
  // events carry the same client tag.
  verikit_issue_options io = VERIKIT_ISSUE_OPTIONS_INIT;
  io.client_key = reinterpret_cast<const uint8_t*>("198.51.100.7");
  io.client_key_len = 12;
  Res a, b;
  ASSERT_EQ(verikit_token_issue(&a.r, e, "limit", "cy", 2, &io), VERIKIT_OK);
  ASSERT_EQ(verikit_token_issue(&b.r, e, "limit", "di", 2, &io), VERIKIT_OK);
  ASSERT_EQ(b.status(), VERIKIT_STATUS_RATE_LIMITED);
  const Seen ok = got.next();
  s = got.next();
  EXPECT_EQ(ok.name, "token.issued");
  EXPECT_EQ(s.name, "token.rate_limited");
  EXPECT_EQ(s.purpose, "limit");
  EXPECT_TRUE(is_hex32(s.client_tag));
  EXPECT_EQ(s.client_tag, ok.client_tag);
  EXPECT_NE(s.identifier_tag, ok.identifier_tag) << "cy and di are different identifiers";
  EXPECT_TRUE(is_hex32(s.identifier_tag));
  EXPECT_GT(s.retry_after_ms, 0);
  EXPECT_EQ(s.remaining, -1);

  // A failure budget of two: wrong guesses until locked, then unlock.
  Res code;
  ASSERT_EQ(verikit_otp_issue(&code.r, e, "lock", "ed", 2, nullptr), VERIKIT_OK);
  EXPECT_EQ(got.next().name, "otp.issued");
  const std::string bad = wrong(code.secret());
  int status = VERIKIT_STATUS_INVALID;
  for (int i = 0; i < 5 && status != VERIKIT_STATUS_LOCKED; ++i) {
    Res r;
    ASSERT_EQ(verikit_otp_verify(&r.r, e, "lock", "ed", 2, bad.data(), bad.size(), nullptr), VERIKIT_OK);
    status = r.status();
    s = got.next();
    EXPECT_EQ(s.status, status);
  }
  ASSERT_EQ(status, VERIKIT_STATUS_LOCKED);
  EXPECT_EQ(s.name, "otp.locked");
  EXPECT_GT(s.retry_after_ms, 0);
  int was_locked = 0;
  ASSERT_EQ(verikit_unlock(&was_locked, e, "lock", "ed", 2), VERIKIT_OK);
  ASSERT_EQ(was_locked, 1);
  s = got.next();
  EXPECT_EQ(s.name, "otp.unlocked");
  EXPECT_EQ(s.kind, VERIKIT_EVENT_UNLOCKED);
  EXPECT_EQ(s.purpose, "lock");
  EXPECT_TRUE(is_hex32(s.identifier_tag));
  verikit_engine_free(e);
}

TEST_P(Events, TokensAndLinksWithoutSecretsAndPeeksWithoutEvents) {
  Collector got;
  verikit_config* c = config(&Collector::on_event, &got);
  ASSERT_EQ(verikit_config_set_events_include_identifier(c, 1), VERIKIT_OK);
  verikit_engine* e = engine(c);
  std::vector<std::string> secrets;

  Res token;
  ASSERT_EQ(verikit_token_issue(&token.r, e, "confirm", " Fay", 4, nullptr), VERIKIT_OK);
  secrets.push_back(token.secret());
  Seen s = got.next();
  EXPECT_EQ(s.name, "token.issued");
  EXPECT_EQ(s.credential, VERIKIT_CREDENTIAL_TOKEN);
  EXPECT_EQ(s.identifier, "fay") << "the normalised identifier, as configured";
  EXPECT_EQ(s.remaining, -1);
  EXPECT_EQ(s.used, -1);
  const std::string tag = s.identifier_tag;

  Res peeked, verified, again;
  const std::string t = token.secret();
  ASSERT_EQ(verikit_token_peek(&peeked.r, e, "confirm", t.data(), t.size()), VERIKIT_OK);
  ASSERT_EQ(verikit_token_verify(&verified.r, e, VERIKIT_ANY_PURPOSE, t.data(), t.size()), VERIKIT_OK);
  ASSERT_EQ(verified.status(), VERIKIT_STATUS_VERIFIED);
  s = got.next();
  EXPECT_EQ(s.name, "token.verified") << "a peek makes no event";
  EXPECT_EQ(s.purpose, "confirm") << "the token's own purpose, not the filter";
  EXPECT_EQ(s.identifier_tag, tag);
  EXPECT_EQ(s.identifier, "fay");
  ASSERT_EQ(verikit_token_verify(&again.r, e, "confirm", t.data(), t.size()), VERIKIT_OK);
  s = got.next();
  EXPECT_EQ(s.name, "token.not_found");
  EXPECT_EQ(s.purpose, "confirm");
  EXPECT_EQ(s.identifier_tag, "") << "nothing live named the identifier";

  // A magic link, and an OTP for the same identifier in another purpose: one tag.
  Res link, consumed, code;
  ASSERT_EQ(verikit_link_issue(&link.r, e, "reset", "fay", 3, "https://app.example/reset", nullptr), VERIKIT_OK);
  secrets.push_back(link.secret());
  secrets.push_back(link.url());
  s = got.next();
  EXPECT_EQ(s.name, "link.issued");
  EXPECT_EQ(s.identifier_tag, tag) << "one tag for one identifier across purposes";
  const std::string lt = link.secret();
  Res link_peeked;
  ASSERT_EQ(verikit_link_peek(&link_peeked.r, e, "reset", lt.data(), lt.size()), VERIKIT_OK);
  ASSERT_EQ(verikit_link_consume(&consumed.r, e, "reset", lt.data(), lt.size()), VERIKIT_OK);
  EXPECT_EQ(got.next().name, "link.verified");
  ASSERT_EQ(verikit_otp_issue(&code.r, e, "login", "fay", 3, nullptr), VERIKIT_OK);
  secrets.push_back(code.secret());
  EXPECT_EQ(got.next().identifier_tag, tag);

  // Revocations by the token alone, and revoke-all with its count.
  Res t2, l2, t3;
  ASSERT_EQ(verikit_token_issue(&t2.r, e, "confirm", "fay", 3, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_link_issue(&l2.r, e, "confirm", "fay", 3, "https://app.example/c", nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_token_issue(&t3.r, e, "confirm", "fay", 3, nullptr), VERIKIT_OK);
  for (const Res* r : {&t2, &l2, &t3}) secrets.push_back(r->secret());
  int n = 0;
  const std::string s2 = t2.secret(), s3 = l2.secret();
  ASSERT_EQ(verikit_token_revoke(&n, e, s2.data(), s2.size()), VERIKIT_OK);
  ASSERT_EQ(verikit_link_revoke(&n, e, s3.data(), s3.size()), VERIKIT_OK);
  ASSERT_EQ(verikit_revoke_all(&n, e, "confirm", "fay", 3), VERIKIT_OK);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(got.next().name, "token.issued");
  EXPECT_EQ(got.next().name, "link.issued");
  EXPECT_EQ(got.next().name, "token.issued");
  s = got.next();
  EXPECT_EQ(s.name, "token.revoked");
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(got.next().name, "link.revoked");
  s = got.next();
  EXPECT_EQ(s.name, "all.revoked");
  EXPECT_EQ(s.credential, VERIKIT_CREDENTIAL_ALL);
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(s.purpose, "confirm");
  EXPECT_EQ(s.identifier_tag, tag);

  // Second factors: removing them is an event of its own, with its count.
  Res enrolled, set;
  ASSERT_EQ(verikit_totp_enroll(&enrolled.r, e, "confirm", "fay", 3, "Acme"), VERIKIT_OK);
  ASSERT_EQ(verikit_recovery_generate(&set.r, e, "confirm", "fay", 3), VERIKIT_OK);
  size_t codes = 0;
  ASSERT_EQ(verikit_result_code_count(set.r, &codes), VERIKIT_OK);
  ASSERT_GT(codes, 0u);
  secrets.push_back(enrolled.secret());
  ASSERT_EQ(verikit_revoke_second_factors(&n, e, "confirm", "fay", 3), VERIKIT_OK);
  ASSERT_EQ(n, 1 + static_cast<int>(codes));
  EXPECT_EQ(got.next().name, "totp.issued");
  EXPECT_EQ(got.next().name, "recovery_code.issued");
  s = got.next();
  EXPECT_EQ(s.name, "second_factors.revoked");
  EXPECT_EQ(s.credential, VERIKIT_CREDENTIAL_SECOND_FACTORS);
  EXPECT_EQ(s.count, 1 + static_cast<int>(codes));
  EXPECT_EQ(s.purpose, "confirm");
  EXPECT_EQ(s.identifier_tag, tag);
  EXPECT_STREQ(verikit_credential_name(VERIKIT_CREDENTIAL_SECOND_FACTORS), "second_factors");
  EXPECT_STREQ(verikit_credential_name(VERIKIT_CREDENTIAL_RECOVERY_CODE), "recovery_code");
  EXPECT_STREQ(verikit_credential_name(VERIKIT_CREDENTIAL_TOTP), "totp");
  EXPECT_STREQ(verikit_credential_name(VERIKIT_CREDENTIAL_TOTP + 1), "unknown");

  verikit_engine_free(e);
  ASSERT_EQ(got.events.size(), got.taken);
  for (const Seen& ev : got.events)
    for (const std::string& secret : secrets) {
      ASSERT_FALSE(secret.empty());
      EXPECT_EQ(ev.all_text().find(secret), std::string::npos) << ev.name << " holds a secret";
    }
}

// Second factors: a new set of recovery codes, and an enrollment that takes effect, are
// `issued` (a confirmed two-step enrollment too, with its status verified); each check is
// verified, invalid, not_found, locked or rate_limited, with the identifier's and the client key's
// tags; beginning a two-step enrollment stores nothing and makes no event. No event holds a
// recovery code, an authenticator secret or code, or a pending enrollment.
TEST_P(Events, SecondFactorsEmitTheirKinds) {
  Collector got;
  verikit_engine* e = engine(config(&Collector::on_event, &got));
  const auto now = [] { return std::chrono::system_clock::now(); };  // the stores' clocks are this machine's
  std::vector<std::string> secrets;
  auto expect = [&](const char* name, int credential, int status) {
    Seen s = got.next();
    EXPECT_EQ(s.name, name);
    EXPECT_EQ(s.credential, credential) << name;
    EXPECT_EQ(s.status, status) << name;
    EXPECT_EQ(s.purpose, "lock") << name;
    EXPECT_TRUE(is_hex32(s.identifier_tag)) << name;
    EXPECT_EQ(s.count, -1) << name;
    return s;
  };
  constexpr int kRecovery = VERIKIT_CREDENTIAL_RECOVERY_CODE, kTotp = VERIKIT_CREDENTIAL_TOTP;

  // purpose "lock": two wrong guesses, then the identifier's budget is spent.
  Res set;
  ASSERT_EQ(verikit_recovery_generate(&set.r, e, "lock", "gil", 3), VERIKIT_OK);
  size_t count = 0;
  ASSERT_EQ(verikit_result_code_count(set.r, &count), VERIKIT_OK);
  for (size_t i = 0; i < count; ++i) {
    const char* d = nullptr;
    size_t len = 0;
    ASSERT_EQ(verikit_result_code(set.r, i, &d, &len), VERIKIT_OK);
    secrets.emplace_back(d, len);
  }
  const std::string tag = expect("recovery_code.issued", kRecovery, VERIKIT_STATUS_ISSUED).identifier_tag;
  Res used;
  ASSERT_EQ(verikit_recovery_use(&used.r, e, "lock", "gil", 3, secrets[0].data(), secrets[0].size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(used.status(), VERIKIT_STATUS_VERIFIED);
  Seen s = expect("recovery_code.verified", kRecovery, VERIKIT_STATUS_VERIFIED);
  EXPECT_EQ(s.identifier_tag, tag);
  EXPECT_EQ(s.client_tag, "");

  Res enrolled, signed_in;
  ASSERT_EQ(verikit_totp_enroll(&enrolled.r, e, "lock", "gil", 3, "Acme"), VERIKIT_OK);
  secrets.push_back(enrolled.secret());
  expect("totp.issued", kTotp, VERIKIT_STATUS_ISSUED);
  const std::string code = verikit::test::rfc6238_code(enrolled.secret(), now());
  ASSERT_EQ(verikit_totp_verify(&signed_in.r, e, "lock", "gil", 3, code.data(), code.size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(signed_in.status(), VERIKIT_STATUS_VERIFIED);
  expect("totp.verified", kTotp, VERIKIT_STATUS_VERIFIED);

  // A two-step enrollment: begin makes no event; the confirmation is the enrollment's.
  Res begun, confirmed, again;
  ASSERT_EQ(verikit_totp_begin(&begun.r, e, "lock", "gil", 3, "Acme"), VERIKIT_OK);
  const char* pending = nullptr;
  size_t pending_len = 0;
  ASSERT_EQ(verikit_result_pending(begun.r, &pending, &pending_len), VERIKIT_OK);
  secrets.push_back(begun.secret());
  secrets.emplace_back(pending, pending_len);
  const std::string first = verikit::test::rfc6238_code(begun.secret(), now());
  ASSERT_EQ(verikit_totp_confirm(&confirmed.r, e, "lock", "gil", 3, pending, pending_len, first.data(), first.size(),
                                 nullptr), VERIKIT_OK);
  ASSERT_EQ(confirmed.status(), VERIKIT_STATUS_VERIFIED);
  s = expect("totp.issued", kTotp, VERIKIT_STATUS_VERIFIED);
  EXPECT_EQ(s.kind, VERIKIT_EVENT_ISSUED) << "a confirmed set-up is an enrollment that took effect";
  ASSERT_EQ(verikit_totp_confirm(&again.r, e, "lock", "gil", 3, pending, pending_len, first.data(), first.size(),
                                 nullptr), VERIKIT_OK);
  ASSERT_EQ(again.status(), VERIKIT_STATUS_NOT_FOUND);
  expect("totp.not_found", kTotp, VERIKIT_STATUS_NOT_FOUND);

  // Wrong guesses: the second spends the budget (answered locked), then nothing is compared.
  Res wrong_totp, reused, locked_totp;
  const std::string bad = wrong(verikit::test::rfc6238_code(begun.secret(), now()));
  ASSERT_EQ(verikit_totp_verify(&wrong_totp.r, e, "lock", "gil", 3, bad.data(), bad.size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(wrong_totp.status(), VERIKIT_STATUS_INVALID);
  expect("totp.invalid", kTotp, VERIKIT_STATUS_INVALID);
  ASSERT_EQ(verikit_recovery_use(&reused.r, e, "lock", "gil", 3, secrets[0].data(), secrets[0].size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(reused.status(), VERIKIT_STATUS_LOCKED);
  EXPECT_GT(expect("recovery_code.locked", kRecovery, VERIKIT_STATUS_LOCKED).retry_after_ms, 0);
  ASSERT_EQ(verikit_totp_verify(&locked_totp.r, e, "lock", "gil", 3, bad.data(), bad.size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(locked_totp.status(), VERIKIT_STATUS_LOCKED);
  EXPECT_GT(expect("totp.locked", kTotp, VERIKIT_STATUS_LOCKED).retry_after_ms, 0);

  // Nothing to check, and a client key's own limit ("guard": one wrong guess per client key).
  verikit_verify_options vo = VERIKIT_VERIFY_OPTIONS_INIT;
  vo.client_key = reinterpret_cast<const uint8_t*>("203.0.113.9");
  vo.client_key_len = 11;
  Res none_recovery, none_totp;
  ASSERT_EQ(verikit_recovery_use(&none_recovery.r, e, "lock", "hal", 3, secrets[1].data(), secrets[1].size(), nullptr),
            VERIKIT_OK);
  EXPECT_EQ(expect("recovery_code.not_found", kRecovery, VERIKIT_STATUS_NOT_FOUND).identifier_tag == tag, false);
  ASSERT_EQ(verikit_totp_verify(&none_totp.r, e, "lock", "hal", 3, bad.data(), bad.size(), nullptr), VERIKIT_OK);
  expect("totp.not_found", kTotp, VERIKIT_STATUS_NOT_FOUND);
  Res guarded_set, first_guess, second_guess;
  ASSERT_EQ(verikit_recovery_generate(&guarded_set.r, e, "guard", "ivy", 3), VERIKIT_OK);
  EXPECT_EQ(got.next().name, "recovery_code.issued");
  const std::string made_up = "ABCDE-FGHJK";
  ASSERT_EQ(verikit_recovery_use(&first_guess.r, e, "guard", "ivy", 3, made_up.data(), made_up.size(), &vo), VERIKIT_OK);
  ASSERT_EQ(first_guess.status(), VERIKIT_STATUS_INVALID);
  const Seen guessed = got.next();
  EXPECT_EQ(guessed.name, "recovery_code.invalid");
  EXPECT_TRUE(is_hex32(guessed.client_tag));
  ASSERT_EQ(verikit_recovery_use(&second_guess.r, e, "guard", "ivy", 3, made_up.data(), made_up.size(), &vo), VERIKIT_OK);
  ASSERT_EQ(second_guess.status(), VERIKIT_STATUS_RATE_LIMITED);
  s = got.next();
  EXPECT_EQ(s.name, "recovery_code.rate_limited");
  EXPECT_EQ(s.purpose, "guard");
  EXPECT_TRUE(is_hex32(s.identifier_tag));
  EXPECT_EQ(s.client_tag, guessed.client_tag);
  EXPECT_GT(s.retry_after_ms, 0);

  verikit_engine_free(e);
  ASSERT_EQ(got.events.size(), got.taken) << "an event no operation above should have made";
  for (const Seen& ev : got.events)
    for (const std::string& secret : secrets) {
      ASSERT_FALSE(secret.empty());
      EXPECT_EQ(ev.all_text().find(secret), std::string::npos) << ev.name << " holds a secret";
    }
}

TEST_P(Events, IdentifiersStayOutUnlessAsked) {
  Collector got;
  verikit_engine* e = engine(config(&Collector::on_event, &got));
  const std::string id = "grace.hopper@example.com";
  Res code, link;
  ASSERT_EQ(verikit_otp_issue(&code.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_link_issue(&link.r, e, "login", id.data(), id.size(), "https://a.example/", nullptr), VERIKIT_OK);
  ASSERT_TRUE(got.wait_for(2));
  verikit_engine_free(e);
  for (const Seen& ev : got.events) {
    EXPECT_EQ(ev.all_text().find("grace"), std::string::npos) << ev.name;
    EXPECT_TRUE(is_hex32(ev.identifier_tag));
  }
}

TEST_P(Events, AsynchronousFormsEmitToo) {
  Collector got;
  verikit_engine* e = engine(config(&Collector::on_event, &got));
  struct Done {
    std::mutex m;
    std::condition_variable cv;
    verikit_result* r = nullptr;
    bool done = false;
    static void cb(void* user, int, const char*, verikit_result* r) {
      auto* d = static_cast<Done*>(user);
      std::lock_guard<std::mutex> lock(d->m);
      d->r = r;
      d->done = true;
      d->cv.notify_all();
    }
    Res take() {
      std::unique_lock<std::mutex> lock(m);
      EXPECT_TRUE(cv.wait_for(lock, 20s, [&] { return done; }));
      done = false;
      Res out;
      out.r = r;
      return out;
    }
  } d;
  ASSERT_EQ(verikit_otp_issue_async(e, "login", "hal", 3, nullptr, &Done::cb, &d), VERIKIT_OK);
  Res issued = d.take();
  const std::string code = issued.secret();
  ASSERT_EQ(verikit_otp_verify_async(e, "login", "hal", 3, code.data(), code.size(), nullptr, &Done::cb, &d), VERIKIT_OK);
  EXPECT_EQ(d.take().status(), VERIKIT_STATUS_VERIFIED);
  EXPECT_EQ(got.next().name, "otp.issued");
  EXPECT_EQ(got.next().name, "otp.verified");
  verikit_engine_free(e);
}

// A handler that blocks on a latch: the queue fills, the rest is dropped and counted, and the
// operations never wait.
TEST_P(Events, AFullQueueDropsAndCounts) {
  struct Latch {
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, open = false;
    int calls = 0;
    static void on_event(void* user, const verikit_event*) {
      auto* l = static_cast<Latch*>(user);
      std::unique_lock<std::mutex> lock(l->m);
      ++l->calls;
      l->entered = true;
      l->cv.notify_all();
      l->cv.wait(lock, [&] { return l->open; });
    }
  } latch;
  verikit_config* c = config(&Latch::on_event, &latch);
  ASSERT_EQ(verikit_config_set_event_queue_capacity(c, 4), VERIKIT_OK);
  verikit_engine* e = engine(c);
  auto issue = [&](const std::string& id) {
    Res r;
    ASSERT_EQ(verikit_token_issue(&r.r, e, "confirm", id.data(), id.size(), nullptr), VERIKIT_OK);
    ASSERT_EQ(r.status(), VERIKIT_STATUS_ISSUED);
  };
  issue("first");
  {
    std::unique_lock<std::mutex> lock(latch.m);
    ASSERT_TRUE(latch.cv.wait_for(lock, 20s, [&] { return latch.entered; }));
  }
  for (int i = 0; i < 10; ++i) issue("user" + std::to_string(i));  // 4 queue, 6 drop
  uint64_t delivered = 9, dropped = 0;
  ASSERT_EQ(verikit_engine_event_counts(e, &delivered, &dropped), VERIKIT_OK);
  EXPECT_EQ(delivered, 0u) << "the first call is still in the handler";
  EXPECT_EQ(dropped, 6u);
  {
    std::lock_guard<std::mutex> lock(latch.m);
    latch.open = true;
  }
  latch.cv.notify_all();
  verikit_engine* keep = e;
  // Metrics show both counters; freeing delivers the queued four.
  size_t needed = 0;
  verikit_engine_metrics(keep, nullptr, 0, &needed);
  std::string metrics(needed, '\0');
  ASSERT_EQ(verikit_engine_metrics(keep, metrics.data(), metrics.size(), &needed), VERIKIT_OK);
  EXPECT_NE(metrics.find("verikit_events_dropped_total 6\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("# TYPE verikit_events_delivered_total counter"), std::string::npos);
  verikit_engine_free(e);
  EXPECT_EQ(latch.calls, 5);
}

// Freeing with a slow handler and a full queue: every queued event is delivered before free
// returns, and the handler is never called after it.
TEST_P(Events, FreeDeliversWhatIsQueuedAndNeverCallsAfter) {
  struct Slow {
    std::atomic<int> calls{0};
    std::atomic<bool> freed{false};
    std::atomic<int> after_free{0};
    static void on_event(void* user, const verikit_event*) {
      auto* s = static_cast<Slow*>(user);
      if (s->freed.load()) s->after_free.fetch_add(1);
      std::this_thread::sleep_for(5ms);
      s->calls.fetch_add(1);
    }
  } slow;
  verikit_engine* e = engine(config(&Slow::on_event, &slow));
  for (int i = 0; i < 20; ++i) {
    Res r;
    const std::string id = "u" + std::to_string(i);
    ASSERT_EQ(verikit_otp_issue(&r.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  }
  uint64_t dropped = 1;
  ASSERT_EQ(verikit_engine_event_counts(e, nullptr, &dropped), VERIKIT_OK);
  EXPECT_EQ(dropped, 0u);
  verikit_engine_free(e);
  slow.freed = true;
  EXPECT_EQ(slow.calls.load(), 20) << "queued events are delivered before free returns";
  std::this_thread::sleep_for(50ms);  // a late call would have to come now
  EXPECT_EQ(slow.calls.load(), 20);
  EXPECT_EQ(slow.after_free.load(), 0);
}

// A handler that calls the engine (asynchronously and synchronously) for every event, with events
// still queued when the engine is freed: free delivers them while everything is there; their
// calls fail at once with "being freed" (each asynchronous one called back once), and free
// returns after the last. (The asynchronous call used the engine's in-flight count after it was
// destroyed, ASan: SEGV; found by a review.)
TEST_P(Events, AHandlerThatCallsTheEngineWhileItIsFreedIsRefusedNotRunOnFreedState) {
  struct Caller {
    verikit_engine* e = nullptr;
    std::atomic<int> events{0}, started{0}, called_back{0}, refused{0}, sync_refused{0};
    static void on_event(void* user, const verikit_event*) {
      auto* c = static_cast<Caller*>(user);
      if (c->events.fetch_add(1) == 0) std::this_thread::sleep_for(100ms);  // the rest queue up
      const std::string id = "h" + std::to_string(c->events.load());
      c->started.fetch_add(1);
      verikit_otp_issue_async(c->e, "login", id.data(), id.size(), nullptr, &Caller::done, c);
      verikit_result* r = nullptr;
      if (verikit_otp_issue(&r, c->e, "login", id.data(), id.size(), nullptr) == VERIKIT_E_INVALID_ARGUMENT)
        c->sync_refused.fetch_add(1);
      verikit_result_free(r);
    }
    static void done(void* user, int error, const char* message, verikit_result* r) {
      auto* c = static_cast<Caller*>(user);
      if (error == VERIKIT_E_INVALID_ARGUMENT && std::string(message).find("being freed") != std::string::npos)
        c->refused.fetch_add(1);
      verikit_result_free(r);
      c->called_back.fetch_add(1);
    }
  } caller;
  verikit_engine* e = engine(config(&Caller::on_event, &caller));
  caller.e = e;
  for (int i = 0; i < 20; ++i) {
    Res r;
    const std::string id = "u" + std::to_string(i);
    ASSERT_EQ(verikit_otp_issue(&r.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK);
  }
  verikit_engine_free(e);
  const int started = caller.started.load();
  EXPECT_GE(started, 20) << "every queued event was delivered before free returned";
  EXPECT_EQ(caller.called_back.load(), started) << "each asynchronous call called back once, before free returned";
  EXPECT_GT(caller.refused.load(), 0) << "the calls made while the engine was freed were refused";
  EXPECT_GT(caller.sync_refused.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, Events, ::testing::Values("memory", "redis"));

TEST(CApiEvents, ConfigurationAndNullArguments) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_event_handler(nullptr, &Collector::on_event, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_event_queue_capacity(nullptr, 8), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_events_include_identifier(nullptr, 1), VERIKIT_E_INVALID_ARGUMENT);
  Collector got;
  ASSERT_EQ(verikit_config_set_event_handler(c, &Collector::on_event, &got), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_event_queue_capacity(c, 0), VERIKIT_OK);  // checked by verikit_engine_new
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("event_queue_capacity"), std::string::npos);
  ASSERT_EQ(verikit_config_set_event_queue_capacity(c, (size_t{1} << 20) + 1), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);

  // No handler: no events, no event counters in the metrics.
  ASSERT_EQ(verikit_config_set_event_queue_capacity(c, 16), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_event_handler(c, nullptr, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_engine_new(&e, c), VERIKIT_OK);
  verikit_result* r = nullptr;
  ASSERT_EQ(verikit_otp_issue(&r, e, "login", "ida", 3, nullptr), VERIKIT_OK);
  verikit_result_free(r);
  char text[8192];
  size_t needed = 0;
  ASSERT_EQ(verikit_engine_metrics(e, text, sizeof text, &needed), VERIKIT_OK);
  EXPECT_EQ(std::string(text).find("verikit_events"), std::string::npos);
  uint64_t delivered = 7, dropped = 7;
  EXPECT_EQ(verikit_engine_event_counts(e, &delivered, &dropped), VERIKIT_OK);
  EXPECT_EQ(delivered, 0u);
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(verikit_engine_event_counts(nullptr, &delivered, &dropped), VERIKIT_E_INVALID_ARGUMENT);
  verikit_engine_free(e);
  verikit_config_free(c);
  EXPECT_TRUE(got.events.empty());

  // Getters refuse NULL; names are static strings.
  int v = 0;
  int64_t ms = 0;
  const char* d = nullptr;
  size_t n = 0;
  EXPECT_EQ(verikit_event_kind(nullptr, &v), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_event_status(nullptr, &v), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_event_purpose(nullptr, &d, &n), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_event_retry_after_ms(nullptr, &ms), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_event_attempts(nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_STREQ(verikit_event_name(nullptr), "");
  EXPECT_STREQ(verikit_kind_name(VERIKIT_EVENT_ATTEMPTS_EXHAUSTED), "attempts_exhausted");
  EXPECT_STREQ(verikit_kind_name(10), "unknown");
  EXPECT_STREQ(verikit_credential_name(VERIKIT_CREDENTIAL_LINK), "link");
  EXPECT_STREQ(verikit_credential_name(-1), "unknown");
}

}  // namespace
