// C API tests, through libverikit.so: error codes, ownership, options versions, thread-local
// errors, asynchronous completions, NULL handling.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cctype>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"
#include "verikit.h"

namespace {

// Abuse controls off: these tests issue several credentials per identifier at once.
constexpr uint32_t kNoAbuseControls = VERIKIT_POLICY_NO_COOLDOWN | VERIKIT_POLICY_NO_SEND_LIMIT |
                                      VERIKIT_POLICY_NO_LOCKOUT | VERIKIT_POLICY_NO_CLIENT_LIMITS |
                                      VERIKIT_POLICY_NO_ACTIVE_CAP;

struct Engine {
  verikit_engine* e = nullptr;
  explicit Engine(verikit_config* c = nullptr) {
    verikit_config* own = nullptr;
    if (c == nullptr) {
      verikit_config_new(&own);
      verikit_policy p = VERIKIT_POLICY_INIT;
      p.flags = kNoAbuseControls;
      verikit_config_set_default_policy(own, &p);
    }
    EXPECT_EQ(verikit_engine_new(&e, c ? c : own), VERIKIT_OK) << verikit_error_message();
    verikit_config_free(own);
  }
  ~Engine() { verikit_engine_free(e); }
};

struct Res {
  verikit_result* r = nullptr;
  ~Res() { verikit_result_free(r); }
  int status() const {
    int s = -1;
    EXPECT_EQ(verikit_result_status(r, &s), VERIKIT_OK);
    return s;
  }
  std::string secret() const {
    const char* d = nullptr;
    size_t n = 0;
    EXPECT_EQ(verikit_result_secret(r, &d, &n), VERIKIT_OK);
    EXPECT_EQ(d[n], '\0');
    return std::string(d, n);
  }
  std::string field(int (*get)(const verikit_result*, const char**, size_t*)) const {
    const char* d = nullptr;
    size_t n = 0;
    EXPECT_EQ(get(r, &d, &n), VERIKIT_OK);
    return std::string(d, n);
  }
};

TEST(CApi, VersionMatchesTheMacros) {
  EXPECT_STREQ(verikit_version(), VERIKIT_VERSION_STRING);
  EXPECT_EQ(verikit_version_number(), VERIKIT_VERSION_NUMBER);
  EXPECT_EQ(verikit_key_bytes(), static_cast<size_t>(VERIKIT_KEY_BYTES));
}

TEST(CApi, ErrorCodesAreNamedAndPinned) {
  const std::pair<int, const char*> codes[] = {
      {0, "VERIKIT_OK"},  {-1, "VERIKIT_E_INVALID_ARGUMENT"}, {-2, "VERIKIT_E_CONFIG"},
      {-3, "VERIKIT_E_STORE_UNAVAILABLE"}, {-4, "VERIKIT_E_STORE_PROTOCOL"}, {-5, "VERIKIT_E_TIMEOUT"},
      {-6, "VERIKIT_E_NO_MEMORY"}, {-7, "VERIKIT_E_UNSUPPORTED"}, {-8, "VERIKIT_E_VERSION"},
      {-9, "VERIKIT_E_CRYPTO"}, {-10, "VERIKIT_E_INTERNAL"}};
  for (auto [code, name] : codes) EXPECT_STREQ(verikit_error_name(code), name);
  EXPECT_STREQ(verikit_error_name(-999), "VERIKIT_E_UNKNOWN");
  const char* statuses[] = {"verified", "valid", "issued", "invalid", "not_found",
                            "attempts_exhausted", "locked", "rate_limited", "cooldown"};
  for (int s = 0; s <= VERIKIT_STATUS_COOLDOWN; ++s) EXPECT_STREQ(verikit_status_name(s), statuses[s]);
  EXPECT_STREQ(verikit_status_name(9), "unknown");
  EXPECT_STREQ(verikit_status_name(-1), "unknown");
}

static std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(CApi, TheErrorAndStatusSchemaNamesEveryCodeOnce) {
  // Every error code from -1 down, once, in order; a class's parent is the base or an earlier kind.
  ASSERT_EQ(verikit_error_kind_count(), 10u);
  std::set<std::string> classes;
  for (size_t i = 0; i < verikit_error_kind_count(); ++i) {
    int code = 0, parent = 99;
    const char *name = nullptr, *cls = nullptr, *doc = nullptr;
    ASSERT_EQ(verikit_error_kind(i, &code, &name, &cls, &parent, &doc), VERIKIT_OK);
    EXPECT_EQ(code, -static_cast<int>(i) - 1);
    EXPECT_EQ("VERIKIT_E_" + upper(name), verikit_error_name(code));
    EXPECT_GT(std::strlen(doc), 10u) << name;
    EXPECT_TRUE(parent == VERIKIT_OK || (parent > code && parent < 0)) << name << " extends " << parent;
    if (*cls != '\0') { EXPECT_TRUE(classes.insert(cls).second) << cls; }
    if (parent != VERIKIT_OK) {
      const char* parent_class = nullptr;
      ASSERT_EQ(verikit_error_kind(static_cast<size_t>(-parent - 1), nullptr, nullptr, &parent_class, nullptr, nullptr),
                VERIKIT_OK);
      EXPECT_STRNE(parent_class, "") << "a class extends a kind without a class: " << name;
    }
  }
  EXPECT_EQ(classes, (std::set<std::string>{"InvalidArgumentError", "ConfigError", "StoreUnavailableError",
                                             "StoreProtocolError", "TimeoutError", "UnsupportedError", "CryptoError"}));
  int timeout_parent = 0;
  ASSERT_EQ(verikit_error_kind(4, nullptr, nullptr, nullptr, &timeout_parent, nullptr), VERIKIT_OK);
  EXPECT_EQ(timeout_parent, VERIKIT_E_STORE_UNAVAILABLE);  // a timeout is a kind of unavailability
  EXPECT_EQ(verikit_error_kind(10, nullptr, nullptr, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);

  ASSERT_EQ(verikit_status_count(), static_cast<size_t>(VERIKIT_STATUS_COOLDOWN) + 1);
  for (size_t i = 0; i < verikit_status_count(); ++i) {
    const char *name = nullptr, *doc = nullptr;
    int ok = -1;
    ASSERT_EQ(verikit_status_info(i, &name, &ok, &doc), VERIKIT_OK);
    EXPECT_STREQ(name, verikit_status_name(static_cast<int>(i)));
    const bool success = i == VERIKIT_STATUS_VERIFIED || i == VERIKIT_STATUS_VALID || i == VERIKIT_STATUS_ISSUED;
    EXPECT_EQ(ok, success ? 1 : 0) << name;
    EXPECT_EQ(verikit_status_ok(static_cast<int>(i)), ok) << name;
    EXPECT_GT(std::strlen(doc), 10u) << name;
  }
  EXPECT_EQ(verikit_status_ok(-1), 0);
  EXPECT_EQ(verikit_status_ok(9), 0);
  EXPECT_EQ(verikit_status_info(9, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
}

TEST(CApi, ReachableErrorCodesCarryMessages) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  Engine eng;

  // VERIKIT_E_INVALID_ARGUMENT
  Res r;
  EXPECT_EQ(verikit_otp_issue(&r.r, eng.e, "login", "", 0, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(r.r, nullptr);
  EXPECT_EQ(verikit_error_code(), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(verikit_error_message()).find("identifier"), std::string::npos);

  // VERIKIT_E_CONFIG
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.otp_length = 3;
  EXPECT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("otp_length"), std::string::npos);
  p = verikit_policy VERIKIT_POLICY_INIT;
  p.flags = 0x10000;
  EXPECT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_E_CONFIG);
  p = verikit_policy VERIKIT_POLICY_INIT;
  p.failure_count = 1;
  p.failure_period_seconds = 40 * 86400;  // longer than 30 days
  EXPECT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("failure_limit"), std::string::npos);

  // VERIKIT_E_VERSION
  p = verikit_policy VERIKIT_POLICY_INIT;
  p.version = 99;
  EXPECT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_E_VERSION);
  EXPECT_EQ(verikit_policy_init(&p, 3), VERIKIT_E_VERSION);
  EXPECT_EQ(verikit_policy_init(&p, 0), VERIKIT_E_VERSION);
  verikit_issue_options o = VERIKIT_ISSUE_OPTIONS_INIT;
  o.version = 7;
  EXPECT_EQ(verikit_otp_issue(&r.r, eng.e, "login", "a", 1, &o), VERIKIT_E_VERSION);
  EXPECT_EQ(verikit_issue_options_init(&o, 0), VERIKIT_E_VERSION);

  // A shared store without a key, an unreachable one, a bad store URL
  verikit_engine* e = nullptr;
  ASSERT_EQ(verikit_config_set_store(c, "redis://127.0.0.1:1"), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("key"), std::string::npos);
  EXPECT_EQ(e, nullptr);
  uint8_t k1[VERIKIT_KEY_BYTES] = {9};
  ASSERT_EQ(verikit_config_set_key(c, 1, k1, sizeof k1), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_STORE_UNAVAILABLE);
  EXPECT_NE(std::string(verikit_error_message()).find("127.0.0.1:1"), std::string::npos);
  ASSERT_EQ(verikit_config_set_store(c, "redis://127.0.0.1:1?pool_size=0"), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  verikit_config_free(c);
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_store(c, "nope://"), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  ASSERT_EQ(verikit_config_set_store(c, "memory://"), VERIKIT_OK);

  // Previous keys without a current one
  uint8_t key[VERIKIT_KEY_BYTES] = {1};
  ASSERT_EQ(verikit_config_add_previous_key(c, 1, key, sizeof key), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  EXPECT_EQ(verikit_config_set_key(c, 2, key, 31), VERIKIT_E_INVALID_ARGUMENT);
  verikit_config_free(c);

  verikit_error_clear();
  EXPECT_EQ(verikit_error_code(), VERIKIT_OK);
  EXPECT_STREQ(verikit_error_message(), "");
}

TEST(CApi, NullArgumentsAreErrorsNeverCrashes) {
  Engine eng;
  Res r;
  int n = 0;
  const char* d = nullptr;
  size_t len = 0;
  EXPECT_EQ(verikit_config_new(nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_engine_new(nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  verikit_engine* none = reinterpret_cast<verikit_engine*>(&n);
  EXPECT_EQ(verikit_engine_new(&none, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr) << "*out is NULL after a failure";
  Engine eng2;
  EXPECT_EQ(verikit_otp_issue(nullptr, eng2.e, "login", "a", 1, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_issue(&r.r, nullptr, "login", "a", 1, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_issue(&r.r, eng2.e, nullptr, "a", 1, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_issue(&r.r, eng2.e, "login", nullptr, 5, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_verify(&r.r, eng2.e, "login", "a", 1, nullptr, 6, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_verify(&r.r, eng2.e, "login", "a", 1, nullptr, 0, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_token_verify(&r.r, eng2.e, nullptr, nullptr, 3), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_token_peek(&r.r, eng2.e, nullptr, "", 0), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_link_issue(&r.r, eng2.e, "login", "a", 1, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_link_consume(&r.r, eng2.e, "login", nullptr, 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_link_peek(nullptr, eng2.e, "login", "x", 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_token_revoke(&n, nullptr, "x", 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_link_revoke(&n, eng2.e, nullptr, 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_revoke(&n, eng2.e, "login", nullptr, 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_revoke_all(&n, eng2.e, nullptr, "a", 1), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_inspect(&r.r, eng2.e, "login", nullptr, 2), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_result_status(nullptr, &n), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_result_secret(nullptr, &d, &len), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_key_generate(nullptr, 32), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_store(nullptr, "memory://"), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_key_prefix(nullptr, "vk"), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_default_policy(nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_policy_init(nullptr, VERIKIT_POLICY_VERSION), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_issue_options_init(nullptr, VERIKIT_ISSUE_OPTIONS_VERSION), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_otp_issue_async(nullptr, "login", "a", 1, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  // Frees accept NULL.
  verikit_engine_free(nullptr);
  verikit_config_free(nullptr);
  verikit_result_free(nullptr);
}

TEST(CApi, FullOtpFlowWithPoliciesAndPayload) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  uint8_t key[VERIKIT_KEY_BYTES];
  ASSERT_EQ(verikit_key_generate(key, sizeof key), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_key(c, 3, key, sizeof key), VERIKIT_OK);
  verikit_policy p;
  ASSERT_EQ(verikit_policy_init(&p, VERIKIT_POLICY_VERSION), VERIKIT_OK);
  p.otp_length = 8;
  p.max_attempts = 2;
  p.alphabet = VERIKIT_ALPHABET_UNAMBIGUOUS;
  p.flags = VERIKIT_POLICY_TRIM_IDENTIFIER | VERIKIT_POLICY_LOWERCASE_IDENTIFIER | kNoAbuseControls;
  ASSERT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);

  const char payload[] = {'a', '\0', 'b'};
  verikit_issue_options o;
  ASSERT_EQ(verikit_issue_options_init(&o, VERIKIT_ISSUE_OPTIONS_VERSION), VERIKIT_OK);
  o.payload = reinterpret_cast<const uint8_t*>(payload);
  o.payload_len = sizeof payload;
  Res issued;
  ASSERT_EQ(verikit_otp_issue(&issued.r, eng.e, "login", " Ann@X.com", 10, &o), VERIKIT_OK);
  EXPECT_EQ(issued.status(), VERIKIT_STATUS_ISSUED);
  const std::string code = issued.secret();
  EXPECT_EQ(code.size(), 8u);
  EXPECT_EQ(issued.field(verikit_result_identifier), "ann@x.com");
  int32_t left = 0;
  ASSERT_EQ(verikit_result_attempts_remaining(issued.r, &left), VERIKIT_OK);
  EXPECT_EQ(left, 2);
  int64_t expires = 0;
  ASSERT_EQ(verikit_result_expires_at_ms(issued.r, &expires), VERIKIT_OK);
  EXPECT_GT(expires, 1'700'000'000'000);

  Res inspect;
  ASSERT_EQ(verikit_inspect(&inspect.r, eng.e, "login", "ann@x.com", 9), VERIKIT_OK);
  EXPECT_EQ(inspect.status(), VERIKIT_STATUS_VALID);
  int32_t active = -5;
  ASSERT_EQ(verikit_result_active_tokens(inspect.r, &active), VERIKIT_OK);
  EXPECT_EQ(active, 0);
  int64_t retry = -1;
  ASSERT_EQ(verikit_result_retry_after_ms(inspect.r, &retry), VERIKIT_OK);
  EXPECT_EQ(retry, 0);

  Res ok;
  std::string lower = code;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
  ASSERT_EQ(verikit_otp_verify(&ok.r, eng.e, "login", "ann@x.com", 9, lower.data(), lower.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(ok.status(), VERIKIT_STATUS_VERIFIED);
  const uint8_t* pd = nullptr;
  size_t pn = 0;
  ASSERT_EQ(verikit_result_payload(ok.r, &pd, &pn), VERIKIT_OK);
  ASSERT_EQ(pn, sizeof payload);
  EXPECT_EQ(std::memcmp(pd, payload, pn), 0);
  EXPECT_EQ(ok.field(verikit_result_purpose), "login");
  EXPECT_EQ(ok.field(verikit_result_url), "");
}

TEST(CApi, TokensLinksAndRevocation) {
  Engine eng;
  Res t, l, v, peek;
  ASSERT_EQ(verikit_token_issue(&t.r, eng.e, "confirm", "bo", 2, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_link_issue(&l.r, eng.e, "login", "bo", 2, "https://e.com/m?x=1", nullptr), VERIKIT_OK);
  const std::string token = t.secret(), link_token = l.secret();
  EXPECT_EQ(l.field(verikit_result_url), "https://e.com/m?x=1&token=" + link_token);
  ASSERT_EQ(verikit_link_peek(&peek.r, eng.e, "login", link_token.data(), link_token.size()), VERIKIT_OK);
  EXPECT_EQ(peek.status(), VERIKIT_STATUS_VALID);
  // The purpose is required; "any purpose" is the explicit VERIKIT_ANY_PURPOSE.
  EXPECT_EQ(verikit_token_peek(&v.r, eng.e, nullptr, token.data(), token.size()), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(v.r, nullptr);
  EXPECT_EQ(verikit_token_verify(&v.r, eng.e, "", token.data(), token.size()), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(verikit_error_message()).find("purpose is required"), std::string::npos);
  ASSERT_EQ(verikit_token_peek(&v.r, eng.e, VERIKIT_ANY_PURPOSE, token.data(), token.size()), VERIKIT_OK);
  EXPECT_EQ(v.status(), VERIKIT_STATUS_VALID);
  EXPECT_EQ(v.field(verikit_result_purpose), "confirm");

  int revoked = -1;
  ASSERT_EQ(verikit_link_revoke(&revoked, eng.e, link_token.data(), link_token.size()), VERIKIT_OK);
  EXPECT_EQ(revoked, 1);
  Res gone;
  ASSERT_EQ(verikit_link_consume(&gone.r, eng.e, "login", link_token.data(), link_token.size()), VERIKIT_OK);
  EXPECT_EQ(gone.status(), VERIKIT_STATUS_NOT_FOUND);

  Res code;
  ASSERT_EQ(verikit_otp_issue(&code.r, eng.e, "confirm", "bo", 2, nullptr), VERIKIT_OK);
  int count = -1;
  ASSERT_EQ(verikit_revoke_all(&count, eng.e, "confirm", "bo", 2), VERIKIT_OK);
  EXPECT_EQ(count, 2);
  ASSERT_EQ(verikit_token_revoke(&revoked, eng.e, token.data(), token.size()), VERIKIT_OK);
  EXPECT_EQ(revoked, 0);
  ASSERT_EQ(verikit_otp_revoke(nullptr, eng.e, "confirm", "bo", 2), VERIKIT_OK);  // NULL out is fine

  Res bad;
  EXPECT_EQ(verikit_link_issue(&bad.r, eng.e, "login", "bo", 2, "javascript:alert(1)", nullptr),
            VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(verikit_error_message()).find("base URL"), std::string::npos);
}

TEST(CApi, ErrorsAreThreadLocal) {
  Engine eng;
  Res r;
  ASSERT_EQ(verikit_otp_issue(&r.r, eng.e, "bad purpose", "a", 1, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  const std::string mine = verikit_error_message();
  std::string theirs = "unset";
  int their_code = 1;
  std::thread([&] {
    their_code = verikit_error_code();
    theirs = verikit_error_message();
    verikit_config* c = nullptr;
    verikit_config_new(&c);
    verikit_policy p = VERIKIT_POLICY_INIT;
    p.ttl_seconds = 9999999;
    verikit_config_set_default_policy(c, &p);  // fails on that thread only
    verikit_config_free(c);
  }).join();
  EXPECT_EQ(their_code, VERIKIT_OK);
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(verikit_error_message(), mine);
  EXPECT_EQ(verikit_error_code(), VERIKIT_E_INVALID_ARGUMENT);
}

TEST(CApi, AbuseControlsCountersAndUnlock) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.lockout_failures = 3;
  p.max_attempts = 10;
  p.client_failure_count = 2;
  p.client_failure_burst = 2;
  ASSERT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);

  Res first, again;
  ASSERT_EQ(verikit_otp_issue(&first.r, eng.e, "login", "dee", 3, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_otp_issue(&again.r, eng.e, "login", "dee", 3, nullptr), VERIKIT_OK);
  EXPECT_EQ(again.status(), VERIKIT_STATUS_COOLDOWN);
  int64_t retry = 0;
  ASSERT_EQ(verikit_result_retry_after_ms(again.r, &retry), VERIKIT_OK);
  EXPECT_GT(retry, 29000);
  EXPECT_LE(retry, 30000);
  EXPECT_EQ(again.secret(), "") << "a refused issue carries no code";

  const std::string code = first.secret();
  const std::string wrong = code == "000000" ? "111111" : "000000";
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    Res r;
    ASSERT_EQ(verikit_otp_verify(&r.r, eng.e, "login", "dee", 3, wrong.data(), 6, nullptr), VERIKIT_OK);
    statuses.push_back(r.status());
  }
  EXPECT_EQ(statuses, (std::vector<int>{VERIKIT_STATUS_INVALID, VERIKIT_STATUS_INVALID, VERIKIT_STATUS_LOCKED}));
  Res locked;
  ASSERT_EQ(verikit_otp_verify(&locked.r, eng.e, "login", "dee", 3, code.data(), 6, nullptr), VERIKIT_OK);
  EXPECT_EQ(locked.status(), VERIKIT_STATUS_LOCKED) << "the right code is not even compared while locked";

  Res seen;
  ASSERT_EQ(verikit_inspect(&seen.r, eng.e, "login", "dee", 3), VERIKIT_OK);
  EXPECT_EQ(seen.status(), VERIKIT_STATUS_LOCKED);
  int64_t v = -1;
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_LOCKOUT_LEVEL, &v), VERIKIT_OK);
  EXPECT_EQ(v, 0) << "deprecated: the failure budget has no levels";
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_FAILURES, &v), VERIKIT_OK);
  EXPECT_EQ(v, 3);
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_GUESSES_AVAILABLE, &v), VERIKIT_OK);
  EXPECT_EQ(v, 0);
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_LOCKED_UNTIL_MS, &v), VERIKIT_OK);
  EXPECT_GT(v, 0);
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_SENDS_AVAILABLE, &v), VERIKIT_OK);
  EXPECT_EQ(v, 4);  // burst 5, one issued
  ASSERT_EQ(verikit_result_counter(seen.r, VERIKIT_COUNTER_COOLDOWN_UNTIL_MS, &v), VERIKIT_OK);
  EXPECT_GT(v, 0);
  EXPECT_EQ(verikit_result_counter(seen.r, 99, &v), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_result_counter(first.r, VERIKIT_COUNTER_FAILURES, &v), VERIKIT_E_INVALID_ARGUMENT);

  int was = -1;
  ASSERT_EQ(verikit_unlock(&was, eng.e, "login", "dee", 3), VERIKIT_OK);
  EXPECT_EQ(was, 1);
  Res ok;
  ASSERT_EQ(verikit_otp_verify(&ok.r, eng.e, "login", "dee", 3, code.data(), 6, nullptr), VERIKIT_OK);
  EXPECT_EQ(ok.status(), VERIKIT_STATUS_VERIFIED);

  // A client key's wrong guesses are limited across identifiers.
  verikit_verify_options vo;
  ASSERT_EQ(verikit_verify_options_init(&vo, VERIKIT_VERIFY_OPTIONS_VERSION), VERIKIT_OK);
  vo.client_key = reinterpret_cast<const uint8_t*>("198.51.100.7");
  vo.client_key_len = 12;
  std::vector<int> sprayed;
  for (const char* who : {"u1", "u2", "u3"}) {
    Res issued, r;
    ASSERT_EQ(verikit_otp_issue(&issued.r, eng.e, "login", who, 2, nullptr), VERIKIT_OK);
    const std::string wrong_code = issued.secret() == "000000" ? "111111" : "000000";
    ASSERT_EQ(verikit_otp_verify(&r.r, eng.e, "login", who, 2, wrong_code.data(), 6, &vo), VERIKIT_OK);
    sprayed.push_back(r.status());
  }
  EXPECT_EQ(sprayed, (std::vector<int>{VERIKIT_STATUS_INVALID, VERIKIT_STATUS_INVALID, VERIKIT_STATUS_RATE_LIMITED}));
  vo.version = 5;
  Res bad;
  EXPECT_EQ(verikit_otp_verify(&bad.r, eng.e, "login", "u1", 2, "1", 1, &vo), VERIKIT_E_VERSION);
  vo.version = VERIKIT_VERIFY_OPTIONS_VERSION;
  EXPECT_EQ(verikit_otp_verify(&bad.r, eng.e, "login", "u1", 2, "12345", 5, &vo), VERIKIT_E_INVALID_ARGUMENT)
      << "a code that cannot be right is an error before any store is asked";
}

// A program built against version 1 of verikit_policy keeps working: its struct is shorter, and
// verikit_policy_init(1) writes only what it has.
TEST(CApi, PolicyVersionOneIsStillAccepted) {
  verikit_policy p;
  std::memset(&p, 0xAB, sizeof p);
  ASSERT_EQ(verikit_policy_init(&p, 1), VERIKIT_OK);
  EXPECT_EQ(p.version, 1u);
  EXPECT_EQ(p.max_attempts, 0u);
  EXPECT_EQ(p.failure_count, 0xABABABABu) << "beyond a version-1 struct: untouched";
  p.lockout_failures = 4;  // version 1's name for the failure budget's burst
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);
  Res code;
  ASSERT_EQ(verikit_otp_issue(&code.r, eng.e, "login", "v1", 2, nullptr), VERIKIT_OK);
  const std::string wrong = code.secret() == "000000" ? "111111" : "000000";
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    Res r;
    ASSERT_EQ(verikit_otp_verify(&r.r, eng.e, "login", "v1", 2, wrong.data(), 6, nullptr), VERIKIT_OK);
    statuses.push_back(r.status());
  }
  EXPECT_EQ(statuses.back(), VERIKIT_STATUS_LOCKED) << "a burst of four";
  EXPECT_EQ(statuses[2], VERIKIT_STATUS_INVALID);
}

// The index key: required with previous keys, and what keeps one identifier one across a rotation.
TEST(CApi, IndexKeyKeepsAnIdentifierWholeAcrossARotation) {
  uint8_t k1[VERIKIT_KEY_BYTES] = {1}, k2[VERIKIT_KEY_BYTES] = {2};
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_key(c, 2, k2, sizeof k2), VERIKIT_OK);
  ASSERT_EQ(verikit_config_add_previous_key(c, 1, k1, sizeof k1), VERIKIT_OK);
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("index key"), std::string::npos);
  EXPECT_EQ(verikit_config_set_index_key(c, k1, 31), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_index_key(nullptr, k1, sizeof k1), VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_EQ(verikit_config_set_index_key(c, k1, sizeof k1), VERIKIT_OK);
  ASSERT_EQ(verikit_engine_new(&e, c), VERIKIT_OK);
  verikit_engine_free(e);
  verikit_config_free(c);
}

TEST(CApi, ResendSameSaysWhenTheCodeWasReused) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.reissue = VERIKIT_REISSUE_RESEND_SAME;
  p.flags = VERIKIT_POLICY_NO_COOLDOWN;
  ASSERT_EQ(verikit_config_set_policy(c, "login", &p), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);
  Res a, b;
  ASSERT_EQ(verikit_otp_issue(&a.r, eng.e, "login", "re", 2, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_otp_issue(&b.r, eng.e, "login", "re", 2, nullptr), VERIKIT_OK);
  int reused = -1;
  ASSERT_EQ(verikit_result_reused(a.r, &reused), VERIKIT_OK);
  EXPECT_EQ(reused, 0);
  ASSERT_EQ(verikit_result_reused(b.r, &reused), VERIKIT_OK);
  EXPECT_EQ(reused, 1);
  EXPECT_EQ(a.secret(), b.secret());
  EXPECT_EQ(verikit_result_reused(nullptr, &reused), VERIKIT_E_INVALID_ARGUMENT);
}

struct AsyncOutcome {
  int calls = 0;
  int error = 1;
  int status = -1;
  std::string message;
  std::string secret;
};

void record(void* user, int error, const char* message, verikit_result* result) {
  auto* out = static_cast<AsyncOutcome*>(user);
  out->calls++;
  out->error = error;
  out->message = message;
  if (result != nullptr) {
    verikit_result_status(result, &out->status);
    const char* d = nullptr;
    size_t n = 0;
    verikit_result_secret(result, &d, &n);
    out->secret.assign(d, n);
  }
  verikit_result_free(result);
}

TEST(CApi, AsynchronousCallsCallBackExactlyOnce) {
  Engine eng;
  AsyncOutcome issued, verified, failed, token, tverify, link, lpeek, lconsume, tpeek;
  ASSERT_EQ(verikit_otp_issue_async(eng.e, "login", "cy", 2, nullptr, record, &issued), VERIKIT_OK);
  EXPECT_EQ(issued.calls, 1);
  EXPECT_EQ(issued.status, VERIKIT_STATUS_ISSUED);
  ASSERT_EQ(verikit_otp_verify_async(eng.e, "login", "cy", 2, issued.secret.data(), issued.secret.size(), nullptr, record,
                                     &verified), VERIKIT_OK);
  EXPECT_EQ(verified.calls, 1);
  EXPECT_EQ(verified.status, VERIKIT_STATUS_VERIFIED);

  // Argument errors go through the callback too.
  ASSERT_EQ(verikit_otp_verify_async(eng.e, "login", "", 0, "1", 1, nullptr, record, &failed), VERIKIT_OK);
  EXPECT_EQ(failed.calls, 1);
  EXPECT_EQ(failed.error, VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_FALSE(failed.message.empty());

  ASSERT_EQ(verikit_token_issue_async(eng.e, "confirm", "cy", 2, nullptr, record, &token), VERIKIT_OK);
  ASSERT_EQ(verikit_token_peek_async(eng.e, "confirm", token.secret.data(), token.secret.size(), record, &tpeek),
            VERIKIT_OK);
  EXPECT_EQ(tpeek.status, VERIKIT_STATUS_VALID);
  ASSERT_EQ(verikit_token_verify_async(eng.e, "confirm", token.secret.data(), token.secret.size(), record, &tverify),
            VERIKIT_OK);
  EXPECT_EQ(tverify.status, VERIKIT_STATUS_VERIFIED);
  ASSERT_EQ(verikit_link_issue_async(eng.e, "login", "cy", 2, "https://e.com/", nullptr, record, &link), VERIKIT_OK);
  ASSERT_EQ(verikit_link_peek_async(eng.e, "login", link.secret.data(), link.secret.size(), record, &lpeek), VERIKIT_OK);
  EXPECT_EQ(lpeek.status, VERIKIT_STATUS_VALID);
  ASSERT_EQ(verikit_link_consume_async(eng.e, "login", link.secret.data(), link.secret.size(), record, &lconsume),
            VERIKIT_OK);
  EXPECT_EQ(lconsume.status, VERIKIT_STATUS_VERIFIED);
  for (auto* o : {&token, &tpeek, &tverify, &link, &lpeek, &lconsume}) EXPECT_EQ(o->calls, 1);

  EXPECT_EQ(verikit_otp_issue_async(eng.e, "login", "cy", 2, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
}

TEST(CApi, OneEngineFromManyThreads) {
  Engine eng;
  std::vector<std::thread> threads;
  std::atomic<int> verified{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string id = std::to_string(t) + ":" + std::to_string(i);
        Res issued, ok;
        if (verikit_otp_issue(&issued.r, eng.e, "login", id.data(), id.size(), nullptr) != VERIKIT_OK) continue;
        const std::string code = issued.secret();
        if (verikit_otp_verify(&ok.r, eng.e, "login", id.data(), id.size(), code.data(), code.size(), nullptr) == VERIKIT_OK &&
            ok.status() == VERIKIT_STATUS_VERIFIED)
          ++verified;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(verified.load(), 8 * 200);
}

// ---- 0.2: revoke, revoke-all, inspect and unlock, asynchronously ----

// One asynchronous call's completion, from whichever thread it comes: how often, on which
// thread, and what it carried (a count, or a result kept until this object goes).
struct Done {
  std::mutex m;
  std::condition_variable cv;
  int calls = 0;
  int error = 1;
  std::string message;
  int count = -1;
  verikit_result* result = nullptr;
  std::thread::id thread;
  ~Done() { verikit_result_free(result); }

  void note(int e, const char* msg) {
    calls++;
    error = e;
    message = msg == nullptr ? "(NULL)" : msg;
    thread = std::this_thread::get_id();
  }
  static void on_count(void* user, int e, const char* msg, int n) {
    auto* d = static_cast<Done*>(user);
    std::lock_guard<std::mutex> lock(d->m);
    d->note(e, msg);
    d->count = n;
    d->cv.notify_all();
  }
  static void on_result(void* user, int e, const char* msg, verikit_result* r) {
    auto* d = static_cast<Done*>(user);
    std::lock_guard<std::mutex> lock(d->m);
    d->note(e, msg);
    if (d->result == nullptr) d->result = r;
    else verikit_result_free(r);
    d->cv.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return calls > 0; });
  }
  int status() {
    int s = -1;
    EXPECT_EQ(verikit_result_status(result, &s), VERIKIT_OK);
    return s;
  }
};

// Every field of an inspect result, as text (times as set/unset: two identifiers are issued at
// different moments).
std::string inspected(const verikit_result* r) {
  int status = -1;
  int32_t attempts = 0, tokens = 0;
  int64_t expires = 0;
  EXPECT_EQ(verikit_result_status(r, &status), VERIKIT_OK);
  EXPECT_EQ(verikit_result_attempts_remaining(r, &attempts), VERIKIT_OK);
  EXPECT_EQ(verikit_result_active_tokens(r, &tokens), VERIKIT_OK);
  EXPECT_EQ(verikit_result_expires_at_ms(r, &expires), VERIKIT_OK);
  std::string out = std::string(verikit_status_name(status)) + " attempts=" + std::to_string(attempts) +
                    " tokens=" + std::to_string(tokens) + " expires=" + (expires > 0 ? "set" : "unset");
  const int counters[] = {VERIKIT_COUNTER_FAILURES, VERIKIT_COUNTER_GUESSES_AVAILABLE, VERIKIT_COUNTER_SENDS_AVAILABLE};
  for (int c : counters) {
    int64_t v = -99;
    EXPECT_EQ(verikit_result_counter(r, c, &v), VERIKIT_OK);
    out += " c" + std::to_string(c) + "=" + std::to_string(v);
  }
  int64_t locked = 0;
  EXPECT_EQ(verikit_result_counter(r, VERIKIT_COUNTER_LOCKED_UNTIL_MS, &locked), VERIKIT_OK);
  return out + (locked > 0 ? " locked" : "");
}

// The operations through either form: `async` waits for the callback (and checks it came once).
struct Forms {
  verikit_engine* e;
  bool async;
  // Where each callback ran, and whether it answered (true) or failed (async only).
  std::vector<std::pair<bool, std::thread::id>>* callbacks;

  // A count-returning call: rc or error, and the count.
  template <class Sync, class Async>
  std::pair<int, int> count(Sync sync, Async start) {
    if (!async) {
      int n = -1;
      int rc = sync(&n);
      return {rc, rc == VERIKIT_OK ? n : -1};
    }
    Done d;
    EXPECT_EQ(start(&Done::on_count, &d), VERIKIT_OK);
    EXPECT_TRUE(d.wait());
    std::lock_guard<std::mutex> lock(d.m);
    EXPECT_EQ(d.calls, 1);
    EXPECT_NE(d.message, "(NULL)");
    if (d.error != VERIKIT_OK) {
      EXPECT_EQ(d.count, 0) << "a failure carries no count";
    }
    callbacks->emplace_back(d.error == VERIKIT_OK, d.thread);
    return {d.error, d.error == VERIKIT_OK ? d.count : -1};
  }
  std::pair<int, int> otp_revoke(const std::string& p, const std::string& id) {
    return count([&](int* n) { return verikit_otp_revoke(n, e, p.c_str(), id.data(), id.size()); },
                 [&](verikit_count_callback cb, void* u) { return verikit_otp_revoke_async(e, p.c_str(), id.data(), id.size(), cb, u); });
  }
  std::pair<int, int> token_revoke(const std::string& t) {
    return count([&](int* n) { return verikit_token_revoke(n, e, t.data(), t.size()); },
                 [&](verikit_count_callback cb, void* u) { return verikit_token_revoke_async(e, t.data(), t.size(), cb, u); });
  }
  std::pair<int, int> link_revoke(const std::string& t) {
    return count([&](int* n) { return verikit_link_revoke(n, e, t.data(), t.size()); },
                 [&](verikit_count_callback cb, void* u) { return verikit_link_revoke_async(e, t.data(), t.size(), cb, u); });
  }
  std::pair<int, int> revoke_all(const std::string& p, const std::string& id) {
    return count([&](int* n) { return verikit_revoke_all(n, e, p.c_str(), id.data(), id.size()); },
                 [&](verikit_count_callback cb, void* u) { return verikit_revoke_all_async(e, p.c_str(), id.data(), id.size(), cb, u); });
  }
  std::pair<int, int> revoke_second_factors(const std::string& p, const std::string& id) {
    return count([&](int* n) { return verikit_revoke_second_factors(n, e, p.c_str(), id.data(), id.size()); },
                 [&](verikit_count_callback cb, void* u) {
                   return verikit_revoke_second_factors_async(e, p.c_str(), id.data(), id.size(), cb, u);
                 });
  }
  std::pair<int, int> unlock(const std::string& p, const std::string& id) {
    return count([&](int* n) { return verikit_unlock(n, e, p.c_str(), id.data(), id.size()); },
                 [&](verikit_count_callback cb, void* u) { return verikit_unlock_async(e, p.c_str(), id.data(), id.size(), cb, u); });
  }
  // inspect: the error code, or the result's fields as text.
  std::string inspect(const std::string& p, const std::string& id) {
    if (!async) {
      Res r;
      int rc = verikit_inspect(&r.r, e, p.c_str(), id.data(), id.size());
      return rc == VERIKIT_OK ? inspected(r.r) : "error " + std::to_string(rc);
    }
    Done d;
    EXPECT_EQ(verikit_inspect_async(e, p.c_str(), id.data(), id.size(), &Done::on_result, &d), VERIKIT_OK);
    EXPECT_TRUE(d.wait());
    std::lock_guard<std::mutex> lock(d.m);
    EXPECT_EQ(d.calls, 1);
    callbacks->emplace_back(d.error == VERIKIT_OK, d.thread);
    if (d.error != VERIKIT_OK) {
      EXPECT_EQ(d.result, nullptr) << "a failure carries no result";
      return "error " + std::to_string(d.error);
    }
    return inspected(d.result);
  }
};

std::string issue(verikit_engine* e, int (*op)(verikit_result**, verikit_engine*, const char*, const char*, size_t,
                                               const verikit_issue_options*), const std::string& id) {
  Res r;
  EXPECT_EQ(op(&r.r, e, "login", id.data(), id.size(), nullptr), VERIKIT_OK) << verikit_error_message();
  return r.secret();
}

// One life of an identifier's credentials through `f` (either form); every answer, in order.
std::vector<std::string> lifecycle(Forms f, const std::string& id) {
  auto pair = [](std::pair<int, int> p) { return std::to_string(p.first) + ":" + std::to_string(p.second); };
  std::vector<std::string> out;
  out.push_back(f.inspect("login", id));
  const std::string code = issue(f.e, verikit_otp_issue, id);
  const std::string t1 = issue(f.e, verikit_token_issue, id), t2 = issue(f.e, verikit_token_issue, id);
  Res l;
  EXPECT_EQ(verikit_link_issue(&l.r, f.e, "login", id.data(), id.size(), "https://e.com/m", nullptr), VERIKIT_OK);
  const std::string link = l.secret();
  out.push_back(f.inspect("login", id));
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 2; ++i) {
    Res r;
    EXPECT_EQ(verikit_otp_verify(&r.r, f.e, "login", id.data(), id.size(), wrong.data(), wrong.size(), nullptr), VERIKIT_OK);
  }
  out.push_back(f.inspect("login", id));  // locked: the budget of two is spent
  out.push_back(pair(f.unlock("login", id)));
  out.push_back(pair(f.unlock("login", id)));
  out.push_back(f.inspect("login", id));
  out.push_back(pair(f.token_revoke(t1)));
  out.push_back(pair(f.token_revoke(t1)));
  out.push_back(pair(f.token_revoke("garbage")));
  out.push_back(pair(f.link_revoke(link)));
  out.push_back(pair(f.link_revoke(link)));
  out.push_back(pair(f.otp_revoke("login", id)));
  out.push_back(pair(f.otp_revoke("login", id)));
  out.push_back(pair(f.revoke_all("login", id)));  // t2
  out.push_back(pair(f.revoke_all("login", id)));
  out.push_back(f.inspect("login", id));
  // Bad arguments: the same error either way (through the callback when asynchronous).
  out.push_back(f.inspect("bad purpose", id));
  out.push_back(pair(f.unlock("login", "")));
  out.push_back(pair(f.revoke_all("", id)));
  out.push_back(pair(f.otp_revoke("login", std::string(513, 'x'))));
  out.push_back(pair(f.token_revoke("")));
  out.push_back(pair(f.link_revoke(std::string(513, 'A'))));
  Res gone;
  EXPECT_EQ(verikit_token_verify(&gone.r, f.e, "login", t2.data(), t2.size()), VERIKIT_OK);
  out.push_back(std::string("t2 ") + verikit_status_name(gone.status()));
  Res enrolled, set;
  EXPECT_EQ(verikit_totp_enroll(&enrolled.r, f.e, "login", id.data(), id.size(), "Acme"), VERIKIT_OK);
  EXPECT_EQ(verikit_recovery_generate(&set.r, f.e, "login", id.data(), id.size()), VERIKIT_OK);
  out.push_back(pair(f.revoke_second_factors("login", id)));  // the enrollment and every code
  out.push_back(pair(f.revoke_second_factors("login", id)));
  out.push_back(pair(f.revoke_second_factors("login", "")));
  return out;
}

verikit_config* budget_of_two(const char* store = nullptr) {
  verikit_config* c = nullptr;
  EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.flags = VERIKIT_POLICY_NO_COOLDOWN | VERIKIT_POLICY_NO_CLIENT_LIMITS;
  p.failure_count = 1;
  p.failure_period_seconds = 3600;
  p.failure_burst = 2;
  EXPECT_EQ(verikit_config_set_default_policy(c, &p), VERIKIT_OK) << verikit_error_message();
  if (store != nullptr) {
    uint8_t key[VERIKIT_KEY_BYTES] = {9};
    EXPECT_EQ(verikit_config_set_store(c, store), VERIKIT_OK);
    EXPECT_EQ(verikit_config_set_key(c, 1, key, sizeof key), VERIKIT_OK);
  }
  return c;
}

// Both forms through one scenario: the same answers; the asynchronous one calls back once each.
// Returns where each asynchronous callback ran.
std::vector<std::pair<bool, std::thread::id>> expect_same_answers(verikit_engine* e) {
  std::vector<std::pair<bool, std::thread::id>> callbacks;
  const std::vector<std::string> by_sync = lifecycle(Forms{e, false, &callbacks}, "sync-id");
  const std::vector<std::string> by_async = lifecycle(Forms{e, true, &callbacks}, "async-id");
  EXPECT_EQ(by_async, by_sync);
  // ... and the answers are the documented ones.
  const std::string invalid = std::to_string(VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(callbacks.size(), 25u) << "one callback per asynchronous call";
  if (by_sync.size() != 26u) {
    ADD_FAILURE() << "the scenario has " << by_sync.size() << " answers";
    return callbacks;
  }
  EXPECT_EQ(by_sync[0].rfind("not_found", 0), 0u) << by_sync[0];
  EXPECT_EQ(by_sync[1].rfind("valid attempts=5 tokens=3 expires=set c0=0 c8=2 c6=1", 0), 0u) << by_sync[1];
  EXPECT_EQ(by_sync[2].rfind("locked attempts=3 tokens=3 expires=set c0=2 c8=0", 0), 0u) << by_sync[2];
  EXPECT_NE(by_sync[2].find(" locked"), std::string::npos) << by_sync[2];
  EXPECT_EQ(std::vector<std::string>(by_sync.begin() + 3, by_sync.begin() + 5), (std::vector<std::string>{"0:1", "0:0"}));
  EXPECT_EQ(by_sync[5].rfind("valid attempts=3 tokens=3 expires=set c0=0 c8=2", 0), 0u) << by_sync[5];
  EXPECT_EQ(std::vector<std::string>(by_sync.begin() + 6, by_sync.begin() + 15),
            (std::vector<std::string>{"0:1", "0:0", "0:0", "0:1", "0:0", "0:1", "0:0", "0:1", "0:0"}));
  EXPECT_EQ(by_sync[15].rfind("not_found attempts=-1 tokens=0", 0), 0u) << by_sync[15];
  EXPECT_EQ(by_sync[16], "error " + invalid);
  for (std::size_t i = 17; i < 22; ++i) EXPECT_EQ(by_sync[i], invalid + ":-1") << "answer " << i;
  EXPECT_EQ(by_sync[22], "t2 not_found");
  EXPECT_EQ(by_sync[23], "0:11") << "an enrollment and 10 recovery codes removed";
  EXPECT_EQ(by_sync[24], "0:0");
  EXPECT_EQ(by_sync[25], invalid + ":-1");
  return callbacks;
}

TEST(CApi, RevokeInspectUnlockHaveAsynchronousFormsWithTheSameAnswers) {
  verikit_config* c = budget_of_two();
  Engine eng(c);
  verikit_config_free(c);
  for (auto [answered, thread] : expect_same_answers(eng.e))
    EXPECT_EQ(thread, std::this_thread::get_id()) << "the embedded store calls back on the calling thread";
}

TEST(CApi, AsynchronousRevocationsCallBackBeforeReturningOnTheEmbeddedStore) {
  Engine eng;
  Res t;
  ASSERT_EQ(verikit_token_issue(&t.r, eng.e, "confirm", "cy", 2, nullptr), VERIKIT_OK);
  const std::string token = t.secret();
  Done revoked, all, seen, unlocked, otp, link;
  ASSERT_EQ(verikit_inspect_async(eng.e, "confirm", "cy", 2, &Done::on_result, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(seen.status(), VERIKIT_STATUS_VALID);
  ASSERT_EQ(verikit_token_revoke_async(eng.e, token.data(), token.size(), &Done::on_count, &revoked), VERIKIT_OK);
  EXPECT_EQ(revoked.calls, 1);
  EXPECT_EQ(revoked.count, 1);
  ASSERT_EQ(verikit_link_revoke_async(eng.e, token.data(), token.size(), &Done::on_count, &link), VERIKIT_OK);
  EXPECT_EQ(link.calls, 1);
  EXPECT_EQ(link.count, 0);
  ASSERT_EQ(verikit_otp_revoke_async(eng.e, "confirm", "cy", 2, &Done::on_count, &otp), VERIKIT_OK);
  ASSERT_EQ(verikit_revoke_all_async(eng.e, "confirm", "cy", 2, &Done::on_count, &all), VERIKIT_OK);
  ASSERT_EQ(verikit_unlock_async(eng.e, "confirm", "cy", 2, &Done::on_count, &unlocked), VERIKIT_OK);
  for (Done* d : {&otp, &all, &unlocked}) {
    EXPECT_EQ(d->calls, 1);
    EXPECT_EQ(d->error, VERIKIT_OK);
    EXPECT_EQ(d->message, "");
    EXPECT_EQ(d->count, 0);
  }
  // An argument error: the call succeeds and the callback says why.
  Done bad;
  ASSERT_EQ(verikit_revoke_all_async(eng.e, "bad purpose", "cy", 2, &Done::on_count, &bad), VERIKIT_OK);
  EXPECT_EQ(bad.calls, 1);
  EXPECT_EQ(bad.error, VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_NE(bad.message.find("purpose"), std::string::npos) << bad.message;
  EXPECT_EQ(verikit_unlock_async(eng.e, "confirm", "cy", 2, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_inspect_async(nullptr, "confirm", "cy", 2, &Done::on_result, &bad), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(bad.calls, 1) << "a refused call never calls back";
}

TEST(CApi, AsynchronousRevokeInspectUnlockOnRedis) {
  verikit::test::RedisServer server;
  const std::string url = server.url() + "?command_timeout_ms=300";
  verikit_config* c = budget_of_two(url.c_str());
  verikit_engine* e = nullptr;
  ASSERT_EQ(verikit_engine_new(&e, c), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(c);
  int answered_elsewhere = 0;
  for (auto [answered, thread] : expect_same_answers(e)) {
    // Argument errors and malformed tokens never reach the store: they complete at once.
    if (answered && thread != std::this_thread::get_id()) ++answered_elsewhere;
  }
  EXPECT_EQ(answered_elsewhere, 17) << "the store's answers come on a verikit thread";

  // A store that does not answer: every asynchronous form reports the timeout through its
  // callback, once, and never an answer.
  const std::string t = issue(e, verikit_token_issue, "x");
  server.pause();
  Done otp, token, link, all, seen, unlocked, second;
  ASSERT_EQ(verikit_otp_revoke_async(e, "login", "x", 1, &Done::on_count, &otp), VERIKIT_OK);
  ASSERT_EQ(verikit_token_revoke_async(e, t.data(), t.size(), &Done::on_count, &token), VERIKIT_OK);
  ASSERT_EQ(verikit_link_revoke_async(e, t.data(), t.size(), &Done::on_count, &link), VERIKIT_OK);
  ASSERT_EQ(verikit_revoke_all_async(e, "login", "x", 1, &Done::on_count, &all), VERIKIT_OK);
  ASSERT_EQ(verikit_inspect_async(e, "login", "x", 1, &Done::on_result, &seen), VERIKIT_OK);
  ASSERT_EQ(verikit_unlock_async(e, "login", "x", 1, &Done::on_count, &unlocked), VERIKIT_OK);
  ASSERT_EQ(verikit_revoke_second_factors_async(e, "login", "x", 1, &Done::on_count, &second), VERIKIT_OK);
  for (Done* d : {&otp, &token, &link, &all, &seen, &unlocked, &second}) {
    ASSERT_TRUE(d->wait());
    std::lock_guard<std::mutex> lock(d->m);
    EXPECT_EQ(d->error, VERIKIT_E_TIMEOUT) << d->message;
    EXPECT_FALSE(d->message.empty());
    EXPECT_EQ(d->result, nullptr);
  }
  server.resume();
  verikit_engine_free(e);  // completes whatever is in flight
  for (Done* d : {&otp, &token, &link, &all, &seen, &unlocked, &second}) EXPECT_EQ(d->calls, 1);
}

// Freeing engine B inside a callback of engine A (on the caller's thread: the embedded store
// calls back before the call returns) waits for B's calls like anywhere else: one count of
// "inside a callback" for every engine let it return at once, and B's callbacks came after
// (their data gone by then; found by a review).
TEST(CApi, FreeingAnEngineInsideAnotherEnginesCallbackWaitsForItsCalls) {
  verikit::test::RedisServer server;
  const std::string url = server.url() + "?command_timeout_ms=300";
  verikit_config* cb = budget_of_two(url.c_str());
  verikit_engine* b = nullptr;
  ASSERT_EQ(verikit_engine_new(&b, cb), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(cb);
  verikit_config* ca = budget_of_two("memory://");
  verikit_engine* a = nullptr;
  ASSERT_EQ(verikit_engine_new(&a, ca), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(ca);
  server.pause();  // B's calls wait for their deadline
  constexpr int kCalls = 50;
  std::atomic<int> b_answered{0};
  auto on_b = [](void* user, int, const char*, verikit_result* r) {
    verikit_result_free(r);
    static_cast<std::atomic<int>*>(user)->fetch_add(1);
  };
  for (int i = 0; i < kCalls; ++i) {
    const std::string id = "b" + std::to_string(i);
    ASSERT_EQ(verikit_otp_issue_async(b, "login", id.data(), id.size(), nullptr, on_b, &b_answered), VERIKIT_OK);
  }
  // 20 callbacks of A deep (each starts the next call on A, answered inline): past any fixed depth
  struct Inside {
    verikit_engine* a;
    verikit_engine* b;
    std::atomic<int>* b_answered;
    int depth = 0;
    int seen_at_return = -1;
  } inside{a, b, &b_answered};
  static verikit_callback on_a = [](void* user, int, const char*, verikit_result* r) {
    verikit_result_free(r);
    auto* in = static_cast<Inside*>(user);
    if (++in->depth < 20) {
      verikit_otp_issue_async(in->a, "login", "a", 1, nullptr, on_a, in);
      return;
    }
    verikit_engine_free(in->b);  // inside A's callbacks: B's own calls are waited for
    in->seen_at_return = in->b_answered->load();
  };
  ASSERT_EQ(verikit_otp_issue_async(a, "login", "a", 1, nullptr, on_a, &inside), VERIKIT_OK);
  EXPECT_EQ(inside.depth, 20);
  EXPECT_EQ(inside.seen_at_return, kCalls) << "verikit_engine_free(B) returned before B's callbacks had run";
  server.resume();
  verikit_engine_free(a);
  EXPECT_EQ(b_answered.load(), kCalls);
}

// A synchronous call on engine B inside a callback of engine A that runs on A's I/O thread is
// refused at once, as one on A is: two engines whose callbacks each waited for the other's
// thread stopped both for good (found by a review).
TEST(CApi, ASynchronousCallOnAnotherEngineInsideAnIoThreadCallbackIsRefused) {
  verikit::test::RedisServer server;
  verikit_config* c1 = budget_of_two(server.url().c_str());
  verikit_config* c2 = budget_of_two(server.url().c_str());
  verikit_engine* a = nullptr;
  verikit_engine* b = nullptr;
  ASSERT_EQ(verikit_engine_new(&a, c1), VERIKIT_OK) << verikit_error_message();
  ASSERT_EQ(verikit_engine_new(&b, c2), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(c1);
  verikit_config_free(c2);
  struct Inside {
    verikit_engine* a;
    verikit_engine* b;
    int on_b = -1, on_a = -1;
    std::string message;
    Done done;
  } inside{a, b};
  auto on_a = [](void* user, int e, const char* msg, verikit_result* r) {
    auto* in = static_cast<Inside*>(user);
    verikit_result* got = nullptr;
    in->on_b = verikit_otp_issue(&got, in->b, "login", "other", 5, nullptr);
    in->message = verikit_error_message();
    verikit_result_free(got);
    in->on_a = verikit_otp_issue(&got, in->a, "login", "same", 4, nullptr);
    verikit_result_free(got);
    Done::on_result(&in->done, e, msg, r);
  };
  ASSERT_EQ(verikit_otp_issue_async(a, "login", "x", 1, nullptr, on_a, &inside), VERIKIT_OK);
  ASSERT_TRUE(inside.done.wait());
  EXPECT_EQ(inside.on_b, VERIKIT_E_INVALID_ARGUMENT) << "a synchronous call on another engine was made";
  EXPECT_NE(inside.message.find("asynchronous form"), std::string::npos) << inside.message;
  EXPECT_EQ(inside.on_a, VERIKIT_E_INVALID_ARGUMENT);
  // outside a callback both engines answer as before
  Res r;
  EXPECT_EQ(verikit_otp_issue(&r.r, b, "login", "y", 1, nullptr), VERIKIT_OK) << verikit_error_message();
  verikit_engine_free(a);
  verikit_engine_free(b);
}

}  // namespace

// Policies by field name, through the core's schema; the schema can be listed.
TEST(CApi, PolicyFieldsByNameAndTheSchema) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_policy_field(c, "login", "max_attempts", "2"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_policy_field(c, "login", "resend_cooldown", "0"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_policy_field(c, nullptr, "otp_length", "8"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_policy_field(c, "login", "max_attempts", "1000"), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("max_attempts"), std::string::npos);
  EXPECT_EQ(verikit_config_set_policy_field(c, "login", "max_attempt", "2"), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_policy_field(c, "signup", "failure_limit", "2/60"), VERIKIT_E_INVALID_ARGUMENT);
  Engine eng(c);
  verikit_config_free(c);
  Res code, other;
  ASSERT_EQ(verikit_otp_issue(&code.r, eng.e, "login", "fi", 2, nullptr), VERIKIT_OK);
  EXPECT_EQ(code.secret().size(), 6u) << "a purpose's policy starts from the documented defaults";
  ASSERT_EQ(verikit_otp_issue(&other.r, eng.e, "signup", "fi", 2, nullptr), VERIKIT_OK);
  EXPECT_EQ(other.secret().size(), 8u) << "the default policy; the failed set on 'signup' created nothing";
  const std::string wrong = code.secret() == "000000" ? "111111" : "000000";
  Res r1, r2;
  ASSERT_EQ(verikit_otp_verify(&r1.r, eng.e, "login", "fi", 2, wrong.data(), 6, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_otp_verify(&r2.r, eng.e, "login", "fi", 2, wrong.data(), 6, nullptr), VERIKIT_OK);
  EXPECT_EQ(r2.status(), VERIKIT_STATUS_ATTEMPTS_EXHAUSTED);

  const size_t n = verikit_policy_field_count();
  ASSERT_GE(n, 20u);
  bool saw_budget = false;
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr, *type = nullptr, *choices = nullptr, *doc = nullptr;
    int64_t lo = -1, hi = -1;
    ASSERT_EQ(verikit_policy_field(i, &name, &type, &lo, &hi, &choices, &doc), VERIKIT_OK);
    ASSERT_TRUE(name && type && choices && doc);
    EXPECT_GT(std::strlen(doc), 0u) << name;
    if (std::string(name) == "failure_limit") saw_budget = std::string(type) == "rate_limit";
    if (std::string(name) == "max_attempts") EXPECT_EQ(hi, 100);
    if (std::string(name) == "reissue") EXPECT_STREQ(choices, "replace|resend_same");
  }
  EXPECT_TRUE(saw_budget);
  EXPECT_EQ(verikit_policy_field(n, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
}

TEST(CApi, AbuseControlsCanBeTurnedOffForAConfiguration) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_policy_field(c, "login", "max_attempts", "100"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_abuse_controls(c, 0), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);
  std::string code;
  for (int i = 0; i < 3; ++i) {  // no cooldown
    Res r;
    ASSERT_EQ(verikit_otp_issue(&r.r, eng.e, "login", "ab", 2, nullptr), VERIKIT_OK);
    ASSERT_EQ(r.status(), VERIKIT_STATUS_ISSUED) << i;
    code = r.secret();
  }
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 40; ++i) {  // no failure budget: the code's own attempts are the limit
    Res r;
    ASSERT_EQ(verikit_otp_verify(&r.r, eng.e, "login", "ab", 2, wrong.data(), 6, nullptr), VERIKIT_OK);
    ASSERT_EQ(r.status(), VERIKIT_STATUS_INVALID) << i;
  }
}

// Engine options by name, through the core's schema (verikit/config_fields.hpp); the schema
// can be listed, and every option it lists is settable by name with a value of its type.
TEST(CApi, EngineOptionsByNameAndTheSchema) {
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "key_prefix", "app1"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "abuse_controls", "false"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "event_queue_capacity", "16"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "events_include_identifier", "1"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "link_origins", "https://a.example:8443, https://b.example"), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "link_allow_http", "0"), VERIKIT_OK);

  auto refused = [&](const char* name, const char* value, int code, const char* says) {
    EXPECT_EQ(verikit_config_set_option(c, name, value), code) << name << "=" << value;
    const std::string message = verikit_error_message();
    EXPECT_NE(message.find(says), std::string::npos) << message;
  };
  refused("link_origin", "https://a.example", VERIKIT_E_INVALID_ARGUMENT, "unknown configuration option 'link_origin'");
  refused("event_queue_capacity", "0", VERIKIT_E_CONFIG, "event_queue_capacity must be 1 to 1048576");
  refused("event_queue_capacity", "99999999999999999999999", VERIKIT_E_CONFIG, "event_queue_capacity must be 1 to");
  refused("event_queue_capacity", "1.5", VERIKIT_E_INVALID_ARGUMENT, "event_queue_capacity: '1.5' is not a whole number");
  refused("abuse_controls", "maybe", VERIKIT_E_INVALID_ARGUMENT, "abuse_controls: 'maybe' is not true or false");
  refused("key_prefix", "a b", VERIKIT_E_CONFIG, "key_prefix must be printable ASCII without spaces or braces");
  refused("key_prefix", "", VERIKIT_E_CONFIG, "key_prefix must be 1 to 64 bytes");
  refused("link_origins", "https://a.example,,https://c.example", VERIKIT_E_INVALID_ARGUMENT, "link_origins:");

  // The failed sets changed nothing: abuse controls stay off, links go to the two origins only.
  Engine eng(c);
  for (int i = 0; i < 3; ++i) {  // no cooldown
    Res r;
    ASSERT_EQ(verikit_otp_issue(&r.r, eng.e, "login", "op", 2, nullptr), VERIKIT_OK);
    EXPECT_EQ(r.status(), VERIKIT_STATUS_ISSUED) << i;
  }
  Res ok, other;
  EXPECT_EQ(verikit_link_issue(&ok.r, eng.e, "login", "op", 2, "https://a.example:8443/m", nullptr), VERIKIT_OK);
  EXPECT_EQ(verikit_link_issue(&other.r, eng.e, "login", "op", 2, "https://c.example/m", nullptr),
            VERIKIT_E_INVALID_ARGUMENT);
  // The whole list is replaced (not added to); "" empties it; an origin is checked by engine_new.
  ASSERT_EQ(verikit_config_set_option(c, "link_origins", ""), VERIKIT_OK);
  Engine any(c);
  Res anywhere;
  EXPECT_EQ(verikit_link_issue(&anywhere.r, any.e, "login", "op", 2, "https://c.example/m", nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_config_set_option(c, "link_origins", "http://localhost:8080"), VERIKIT_OK);
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  EXPECT_NE(std::string(verikit_error_message()).find("link_allow_http"), std::string::npos);
  ASSERT_EQ(verikit_config_set_option(c, "link_allow_http", "true"), VERIKIT_OK);
  ASSERT_EQ(verikit_engine_new(&e, c), VERIKIT_OK);
  verikit_engine_free(e);
  verikit_config_free(c);

  // The schema: every option has a known type and a description, and takes a value of its type.
  const size_t n = verikit_config_option_count();
  std::set<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr, *type = nullptr, *doc = nullptr;
    int64_t lo = -1, hi = -1;
    ASSERT_EQ(verikit_config_option(i, &name, &type, &lo, &hi, &doc), VERIKIT_OK);
    ASSERT_TRUE(name && type && doc);
    names.insert(name);
    EXPECT_GT(std::strlen(doc), 0u) << name;
    const std::string t = type;
    std::string value;
    if (t == "boolean") value = "true";
    else if (t == "integer") value = std::to_string(hi);
    else if (t == "text") value = std::string(name) == "key_check" ? "off" : std::string(static_cast<size_t>(lo), 'x');
    else if (t == "list") value = "";
    else ADD_FAILURE() << name << " has the unknown type " << t;
    verikit_config* fresh = nullptr;
    ASSERT_EQ(verikit_config_new(&fresh), VERIKIT_OK);
    EXPECT_EQ(verikit_config_set_option(fresh, name, value.c_str()), VERIKIT_OK) << name << "=" << value;
    if (t == "integer") {
      EXPECT_EQ(verikit_config_set_option(fresh, name, std::to_string(hi + 1).c_str()), VERIKIT_E_CONFIG) << name;
      EXPECT_EQ(verikit_config_set_option(fresh, name, std::to_string(lo - 1).c_str()), VERIKIT_E_CONFIG) << name;
    }
    if (t == "text") {
      EXPECT_EQ(verikit_config_set_option(fresh, name, std::string(static_cast<size_t>(hi) + 1, 'x').c_str()),
                VERIKIT_E_CONFIG) << name;
    }
    verikit_config_free(fresh);
    if (std::string(name) == "event_queue_capacity") EXPECT_EQ(hi, 1048576);
  }
  {  // a word option: refused when set, whatever its length
    verikit_config* fresh = nullptr;
    ASSERT_EQ(verikit_config_new(&fresh), VERIKIT_OK);
    for (const char* v : {"never", "OFF", "Create", "xxx"})
      EXPECT_EQ(verikit_config_set_option(fresh, "key_check", v), VERIKIT_E_CONFIG) << v;
    EXPECT_NE(std::string(verikit_error_message()).find("key_check must be create, require or off"), std::string::npos);
    for (const char* v : {"create", "require", "off"}) EXPECT_EQ(verikit_config_set_option(fresh, "key_check", v), VERIKIT_OK);
    verikit_config_free(fresh);
  }
  EXPECT_EQ(names, (std::set<std::string>{"key_prefix", "key_check", "abuse_controls", "event_queue_capacity",
                                          "events_include_identifier", "link_origins", "link_allow_http"}));
  EXPECT_EQ(verikit_config_option(n, nullptr, nullptr, nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
}

// verikit_engine_free waits for every asynchronous call in flight: when it returns, each
// callback has run exactly once and returned, so the caller may free what the callbacks use.
TEST(CApi, EngineFreeWaitsForCallbacksInFlight) {
  verikit::test::RedisServer server;
  verikit_config* c = nullptr;
  ASSERT_EQ(verikit_config_new(&c), VERIKIT_OK);
  const std::string url = server.url() + "?command_timeout_ms=300";
  ASSERT_EQ(verikit_config_set_store(c, url.c_str()), VERIKIT_OK);
  uint8_t key[VERIKIT_KEY_BYTES] = {7};
  ASSERT_EQ(verikit_config_set_key(c, 1, key, sizeof key), VERIKIT_OK);
  verikit_engine* e = nullptr;
  ASSERT_EQ(verikit_engine_new(&e, c), VERIKIT_OK);
  verikit_config_free(c);
  struct Seen {
    std::atomic<int> calls{0};
    std::atomic<int> finished{0};
  };
  auto* seen = new Seen;
  server.pause();  // every call now waits for its timeout
  constexpr int kCalls = 50;
  for (int i = 0; i < kCalls; ++i) {
    const std::string who = "free" + std::to_string(i);
    ASSERT_EQ(verikit_otp_verify_async(
                  e, "login", who.data(), who.size(), "123456", 6, nullptr,
                  [](void* user, int, const char*, verikit_result* r) {
                    auto* s = static_cast<Seen*>(user);
                    s->calls++;
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // still running...
                    verikit_result_free(r);
                    s->finished++;  // ... until here
                  },
                  seen),
              VERIKIT_OK);
  }
  verikit_engine_free(e);
  EXPECT_EQ(seen->calls.load(), kCalls) << "every callback ran before verikit_engine_free returned";
  EXPECT_EQ(seen->finished.load(), kCalls) << "and returned";
  delete seen;  // safe now: nothing will call back
  server.resume();
}

// The engine's counters in the Prometheus text format: each operation counted once by kind and
// outcome (a synchronous call is its asynchronous form waited for: not twice), errors by code,
// a latency histogram whose +Inf bucket is the count.
TEST(CApi, MetricsCountOperationsOutcomesAndErrors) {
  Engine eng;
  Res a, b, c;
  ASSERT_EQ(verikit_otp_issue(&a.r, eng.e, "login", "me", 2, nullptr), VERIKIT_OK);
  const std::string wrong = a.secret() == "000000" ? "111111" : "000000";
  ASSERT_EQ(verikit_otp_verify(&b.r, eng.e, "login", "me", 2, wrong.data(), 6, nullptr), VERIKIT_OK);
  ASSERT_EQ(verikit_otp_verify(&c.r, eng.e, "login", "me", 2, a.secret().data(), 6, nullptr), VERIKIT_OK);
  Res bad;
  EXPECT_EQ(verikit_otp_verify(&bad.r, eng.e, "login", "", 0, "123456", 6, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  int revoked = -1;
  ASSERT_EQ(verikit_otp_revoke(&revoked, eng.e, "login", "me", 2), VERIKIT_OK);
  size_t needed = 0;
  EXPECT_EQ(verikit_engine_metrics(eng.e, nullptr, 0, &needed), VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_GT(needed, 100u);
  std::string text(needed, '\0');
  char small[8];
  EXPECT_EQ(verikit_engine_metrics(eng.e, small, sizeof small, &needed), VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_EQ(verikit_engine_metrics(eng.e, text.data(), text.size(), &needed), VERIKIT_OK);
  text.resize(needed - 1);
  for (const char* line : {"verikit_operations_total{op=\"otp_issue\",outcome=\"issued\"} 1\n",
                           "verikit_operations_total{op=\"otp_verify\",outcome=\"invalid\"} 1\n",
                           "verikit_operations_total{op=\"otp_verify\",outcome=\"verified\"} 1\n",
                           "verikit_operations_total{op=\"otp_revoke\",outcome=\"done\"} 1\n",
                           "verikit_errors_total{op=\"otp_verify\",error=\"invalid_argument\"} 1\n",
                           "verikit_operation_seconds_bucket{op=\"otp_verify\",le=\"+Inf\"} 3\n",
                           "verikit_operation_seconds_count{op=\"otp_verify\"} 3\n",
                           "# TYPE verikit_operation_seconds histogram\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  EXPECT_EQ(text.find("op=\"token_issue\""), std::string::npos) << "operations never made are not listed";
}

// The store check for operators (verikit_store_check): a report item by item, each with a
// verdict and a sentence; errors only when the server cannot be asked.
TEST(CApi, StoreCheckReportsEachItem) {
  auto report_of = [](const std::string& url, uint64_t pending, verikit_store_report** out) {
    verikit_config* c = nullptr;
    EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
    EXPECT_EQ(verikit_config_set_store(c, url.c_str()), VERIKIT_OK);
    const int rc = verikit_store_check(out, c, pending);
    verikit_config_free(c);
    return rc;
  };
  auto verdicts = [](const verikit_store_report* r) {
    std::vector<std::pair<std::string, int>> out;
    for (size_t i = 0; i < verikit_store_report_count(r); ++i) {
      const char* name = nullptr;
      const char* detail = nullptr;
      int verdict = -1;
      EXPECT_EQ(verikit_store_report_item(r, i, &name, &verdict, &detail), VERIKIT_OK);
      EXPECT_NE(std::string(detail).find("Redis at 127.0.0.1:"), std::string::npos) << detail;
      out.emplace_back(name, verdict);
    }
    return out;
  };
  verikit::test::RedisServer server(verikit::test::RedisServerOptions{.extra_args = {"--maxmemory", "32mb"}});
  verikit_store_report* r = nullptr;
  ASSERT_EQ(report_of(server.url(), 1000, &r), VERIKIT_OK) << verikit_error_message();
  const std::vector<std::pair<std::string, int>> fit = {
      {"version", VERIKIT_CHECK_OK}, {"role", VERIKIT_CHECK_OK},          {"eviction", VERIKIT_CHECK_OK},
      {"memory", VERIKIT_CHECK_OK},  {"persistence", VERIKIT_CHECK_WARN}, {"replicas", VERIKIT_CHECK_OK},
      {"keys", VERIKIT_CHECK_OK},    {"permissions", VERIKIT_CHECK_OK},   {"tls", VERIKIT_CHECK_OK}};
  EXPECT_EQ(verdicts(r), fit);
  EXPECT_EQ(verikit_store_report_item(r, verikit_store_report_count(r), nullptr, nullptr, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  verikit_store_report_free(r);

  // 100 million pending codes do not fit in 32 MB; an evicting policy fails; with
  // allow_eviction=1 it is a warning.
  ASSERT_EQ(report_of(server.url(), 100'000'000, &r), VERIKIT_OK);
  EXPECT_EQ(verdicts(r)[3], std::make_pair(std::string("memory"), VERIKIT_CHECK_FAIL));
  verikit_store_report_free(r);
  server.cli("CONFIG SET maxmemory-policy volatile-lru");
  ASSERT_EQ(report_of(server.url(), 0, &r), VERIKIT_OK);
  EXPECT_EQ(verdicts(r)[2], std::make_pair(std::string("eviction"), VERIKIT_CHECK_FAIL));
  verikit_store_report_free(r);
  ASSERT_EQ(report_of(server.url() + "?allow_eviction=1", 0, &r), VERIKIT_OK);
  EXPECT_EQ(verdicts(r)[2], std::make_pair(std::string("eviction"), VERIKIT_CHECK_WARN));
  verikit_store_report_free(r);

  // Not Redis, not reachable: errors, and *out is NULL.
  r = reinterpret_cast<verikit_store_report*>(&server);
  EXPECT_EQ(report_of("memory://", 0, &r), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(r, nullptr);
  server.kill();
  EXPECT_EQ(report_of(server.url(), 0, &r), VERIKIT_E_STORE_UNAVAILABLE);
  EXPECT_EQ(r, nullptr);
}
