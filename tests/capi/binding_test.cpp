// C API tests of flow binding (options version 2, the _ext checks) and of link origins, through
// libverikit.so; version-1 option structs keep working.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>

#include <chrono>

#include "support/rfc6238.hpp"
#include "verikit.h"

namespace {

struct Engine {
  verikit_engine* e = nullptr;
  explicit Engine(verikit_config* c) { EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_OK) << verikit_error_message(); }
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
    return std::string(d, n);
  }
};

verikit_config* config() {
  verikit_config* c = nullptr;
  EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
  // every abuse control off but the failure budget
  for (const char* off : {"send_limit", "client_issue_limit", "client_failure_limit", "client_pair_failure_limit"})
    EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, off, "off"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, "resend_cooldown", "0"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, "max_active_tokens", "0"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, "failure_limit", "10/86400/10"), VERIKIT_OK);
  return c;
}

const uint8_t* u8(const char* s) { return reinterpret_cast<const uint8_t*>(s); }

verikit_issue_options issue_bound(const char* binding) {
  verikit_issue_options o = VERIKIT_ISSUE_OPTIONS_INIT;
  o.binding = u8(binding);
  o.binding_len = std::strlen(binding);
  return o;
}
verikit_verify_options verify_bound(const char* binding) {
  verikit_verify_options o = VERIKIT_VERIFY_OPTIONS_INIT;
  o.binding = u8(binding);
  o.binding_len = std::strlen(binding);
  return o;
}

TEST(CApiBinding, OtpTokenAndLinkVerifyOnlyWithTheirBinding) {
  verikit_config* c = config();
  Engine eng(c);
  verikit_config_free(c);
  const verikit_issue_options io = issue_bound("cookie-1");
  const verikit_verify_options right = verify_bound("cookie-1"), wrong = verify_bound("cookie-2");

  Res code, r1, r2;
  ASSERT_EQ(verikit_otp_issue(&code.r, eng.e, "login", "ann", 3, &io), VERIKIT_OK);
  const std::string k = code.secret();
  ASSERT_EQ(verikit_otp_verify(&r1.r, eng.e, "login", "ann", 3, k.data(), k.size(), &wrong), VERIKIT_OK);
  EXPECT_EQ(r1.status(), VERIKIT_STATUS_INVALID);
  ASSERT_EQ(verikit_otp_verify(&r2.r, eng.e, "login", "ann", 3, k.data(), k.size(), &right), VERIKIT_OK);
  EXPECT_EQ(r2.status(), VERIKIT_STATUS_VERIFIED);

  Res tok, t0, t1, t2, t3;
  ASSERT_EQ(verikit_token_issue(&tok.r, eng.e, "confirm", "ann", 3, &io), VERIKIT_OK);
  const std::string t = tok.secret();
  ASSERT_EQ(verikit_token_verify(&t0.r, eng.e, "confirm", t.data(), t.size()), VERIKIT_OK);
  EXPECT_EQ(t0.status(), VERIKIT_STATUS_NOT_FOUND) << "a bound token without its binding";
  ASSERT_EQ(verikit_token_verify_ext(&t1.r, eng.e, "confirm", t.data(), t.size(), &wrong), VERIKIT_OK);
  EXPECT_EQ(t1.status(), VERIKIT_STATUS_NOT_FOUND);
  ASSERT_EQ(verikit_token_verify_ext(&t2.r, eng.e, "confirm", t.data(), t.size(), &right), VERIKIT_OK);
  EXPECT_EQ(t2.status(), VERIKIT_STATUS_VERIFIED);
  ASSERT_EQ(verikit_token_verify_ext(&t3.r, eng.e, "confirm", t.data(), t.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(t3.status(), VERIKIT_STATUS_NOT_FOUND);

  Res link, l1, l2;
  ASSERT_EQ(verikit_link_issue(&link.r, eng.e, "login", "ann", 3, "https://app.example/m", &io), VERIKIT_OK);
  const std::string l = link.secret();
  ASSERT_EQ(verikit_link_consume_ext(&l1.r, eng.e, "login", l.data(), l.size(), &wrong), VERIKIT_OK);
  EXPECT_EQ(l1.status(), VERIKIT_STATUS_NOT_FOUND);
  // the asynchronous form (the embedded store completes before the call returns)
  struct Seen {
    int error = 1;
    int status = -1;
  } seen;
  auto record = [](void* user, int error, const char*, verikit_result* result) {
    auto* s = static_cast<Seen*>(user);
    s->error = error;
    if (result != nullptr) verikit_result_status(result, &s->status);
    verikit_result_free(result);
  };
  ASSERT_EQ(verikit_link_consume_ext_async(eng.e, "login", l.data(), l.size(), &right, record, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.error, VERIKIT_OK);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_VERIFIED);
  ASSERT_EQ(verikit_token_verify_ext_async(eng.e, "login", l.data(), l.size(), &right, record, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_NOT_FOUND) << "a link is not a token";
  Res inspected;
  ASSERT_EQ(verikit_inspect(&inspected.r, eng.e, "login", "ann", 3), VERIKIT_OK);
  int64_t failures = -1;
  ASSERT_EQ(verikit_result_counter(inspected.r, VERIKIT_COUNTER_FAILURES, &failures), VERIKIT_OK);
  EXPECT_EQ(failures, 2) << "the OTP's and the link's wrong binding, in one budget";
}

TEST(CApiBinding, BadOptionsAreErrors) {
  verikit_config* c = config();
  Engine eng(c);
  verikit_config_free(c);
  Res tok, r;
  ASSERT_EQ(verikit_token_issue(&tok.r, eng.e, "confirm", "bo", 2, nullptr), VERIKIT_OK);
  const std::string t = tok.secret();
  verikit_verify_options o = VERIKIT_VERIFY_OPTIONS_INIT;
  o.binding_len = 3;  // NULL with a length
  EXPECT_EQ(verikit_token_verify_ext(&r.r, eng.e, "confirm", t.data(), t.size(), &o), VERIKIT_E_INVALID_ARGUMENT);
  o = verify_bound("x");
  o.client_key = u8("1.2.3.4");
  o.client_key_len = 7;
  EXPECT_EQ(verikit_token_verify_ext(&r.r, eng.e, "confirm", t.data(), t.size(), &o), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_NE(std::string(verikit_error_message()).find("client_key"), std::string::npos);
  o = verify_bound("x");
  EXPECT_EQ(verikit_token_verify_ext(&r.r, eng.e, VERIKIT_ANY_PURPOSE, t.data(), t.size(), &o),
            VERIKIT_E_INVALID_ARGUMENT);
  o.version = 3;
  EXPECT_EQ(verikit_token_verify_ext(&r.r, eng.e, "confirm", t.data(), t.size(), &o), VERIKIT_E_VERSION);
  EXPECT_EQ(verikit_token_verify_ext(nullptr, eng.e, "confirm", t.data(), t.size(), nullptr), VERIKIT_E_INVALID_ARGUMENT);
  verikit_issue_options io = VERIKIT_ISSUE_OPTIONS_INIT;
  io.binding_len = 1;
  EXPECT_EQ(verikit_otp_issue(&r.r, eng.e, "login", "bo", 2, &io), VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_EQ(verikit_token_verify_ext(&r.r, eng.e, "confirm", t.data(), t.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(r.status(), VERIKIT_STATUS_VERIFIED) << "nothing was spent by the refused calls";
}

// A program built against version 1 of the option structs (no binding fields) keeps working,
// and _init(1) writes only what a version-1 struct has.
TEST(CApiBinding, VersionOneOptionStructsAreStillAccepted) {
  unsigned char buf[sizeof(verikit_issue_options) + 16];
  std::memset(buf, 0xAB, sizeof buf);
  auto* io = reinterpret_cast<verikit_issue_options*>(buf);
  ASSERT_EQ(verikit_issue_options_init(io, 1), VERIKIT_OK);
  EXPECT_EQ(io->version, 1u);
  EXPECT_EQ(buf[offsetof(verikit_issue_options, binding)], 0xAB) << "beyond a version-1 struct: untouched";
  unsigned char vbuf[sizeof(verikit_verify_options) + 16];
  std::memset(vbuf, 0xAB, sizeof vbuf);
  auto* vo = reinterpret_cast<verikit_verify_options*>(vbuf);
  ASSERT_EQ(verikit_verify_options_init(vo, 1), VERIKIT_OK);
  EXPECT_EQ(vbuf[offsetof(verikit_verify_options, binding)], 0xAB);

  verikit_config* c = config();
  Engine eng(c);
  verikit_config_free(c);
  Res code, r;
  ASSERT_EQ(verikit_otp_issue(&code.r, eng.e, "login", "cy", 2, io), VERIKIT_OK) << "garbage past v1 is not read";
  const std::string k = code.secret();
  ASSERT_EQ(verikit_otp_verify(&r.r, eng.e, "login", "cy", 2, k.data(), k.size(), vo), VERIKIT_OK);
  EXPECT_EQ(r.status(), VERIKIT_STATUS_VERIFIED);
}

TEST(CApiLinks, OriginsAndHttp) {
  verikit_config* c = config();
  ASSERT_EQ(verikit_config_add_link_origin(c, "https://app.example"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_add_link_origin(c, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  EXPECT_EQ(verikit_config_set_link_allow_http(nullptr, 1), VERIKIT_E_INVALID_ARGUMENT);
  {
    Engine eng(c);
    Res ok, bad;
    ASSERT_EQ(verikit_link_issue(&ok.r, eng.e, "login", "dee", 3, "https://app.example/m?x=1", nullptr), VERIKIT_OK);
    EXPECT_EQ(verikit_link_issue(&bad.r, eng.e, "login", "dee", 3, "https://evil.example/m", nullptr),
              VERIKIT_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(verikit_error_message()).find("link origins"), std::string::npos);
  }
  ASSERT_EQ(verikit_config_add_link_origin(c, "http://localhost:8080"), VERIKIT_OK);
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG) << "http origin without link_allow_http";
  ASSERT_EQ(verikit_config_set_link_allow_http(c, 1), VERIKIT_OK);
  {
    Engine eng(c);
    Res ok;
    EXPECT_EQ(verikit_link_issue(&ok.r, eng.e, "login", "dee", 3, "http://localhost:8080/m", nullptr), VERIKIT_OK);
  }
  ASSERT_EQ(verikit_config_add_link_origin(c, "https://app.example/path"), VERIKIT_OK);
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_E_CONFIG);
  verikit_config_free(c);
}

}  // namespace

namespace {

TEST(CApiRecovery, GenerateUseCountAndAsync) {
  verikit_config* c = config();
  ASSERT_EQ(verikit_config_set_policy_field(c, "mfa", "recovery_codes", "4"), VERIKIT_OK);
  Engine eng(c);
  verikit_config_free(c);
  Res set;
  ASSERT_EQ(verikit_recovery_generate(&set.r, eng.e, "mfa", "ann", 3), VERIKIT_OK);
  EXPECT_EQ(set.status(), VERIKIT_STATUS_ISSUED);
  size_t n = 0;
  ASSERT_EQ(verikit_result_code_count(set.r, &n), VERIKIT_OK);
  ASSERT_EQ(n, 4u);
  const char* code = nullptr;
  size_t len = 0;
  ASSERT_EQ(verikit_result_code(set.r, 1, &code, &len), VERIKIT_OK);
  EXPECT_EQ(len, 11u);
  EXPECT_EQ(code[len], '\0');
  EXPECT_EQ(verikit_result_code(set.r, 4, &code, &len), VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_EQ(verikit_result_code(set.r, 0, &code, &len), VERIKIT_OK);
  Res used, again, bad;
  ASSERT_EQ(verikit_recovery_use(&used.r, eng.e, "mfa", "ann", 3, code, len, nullptr), VERIKIT_OK);
  EXPECT_EQ(used.status(), VERIKIT_STATUS_VERIFIED);
  ASSERT_EQ(verikit_recovery_use(&again.r, eng.e, "mfa", "ann", 3, code, len, nullptr), VERIKIT_OK);
  EXPECT_EQ(again.status(), VERIKIT_STATUS_INVALID);
  EXPECT_EQ(verikit_recovery_use(&bad.r, eng.e, "mfa", "ann", 3, "ABC", 3, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  int left = -1;
  ASSERT_EQ(verikit_recovery_remaining(&left, eng.e, "mfa", "ann", 3), VERIKIT_OK);
  EXPECT_EQ(left, 3);
  size_t none = 9;
  ASSERT_EQ(verikit_result_code_count(used.r, &none), VERIKIT_OK);
  EXPECT_EQ(none, 0u);

  struct Seen {
    int error = 1, status = -1, count = -1;
  } seen;
  auto on_result = [](void* user, int error, const char*, verikit_result* result) {
    auto* s = static_cast<Seen*>(user);
    s->error = error;
    if (result != nullptr) verikit_result_status(result, &s->status);
    verikit_result_free(result);
  };
  auto on_count = [](void* user, int error, const char*, int count) {
    static_cast<Seen*>(user)->error = error;
    static_cast<Seen*>(user)->count = count;
  };
  ASSERT_EQ(verikit_result_code(set.r, 2, &code, &len), VERIKIT_OK);
  ASSERT_EQ(verikit_recovery_use_async(eng.e, "mfa", "ann", 3, code, len, nullptr, on_result, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_VERIFIED);
  ASSERT_EQ(verikit_recovery_remaining_async(eng.e, "mfa", "ann", 3, on_count, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.count, 2);
  ASSERT_EQ(verikit_recovery_generate_async(eng.e, "mfa", "ann", 3, on_result, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_ISSUED);
  ASSERT_EQ(verikit_recovery_remaining_async(eng.e, "mfa", "ann", 3, on_count, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.count, 4) << "regenerated: a full set again";
  EXPECT_EQ(verikit_recovery_remaining(nullptr, nullptr, "mfa", "ann", 3), VERIKIT_E_INVALID_ARGUMENT);
}

}  // namespace

namespace {

TEST(CApiTotp, EnrollAndVerify) {
  verikit_config* c = config();
  Engine eng(c);
  verikit_config_free(c);
  Res enrolled, none;
  ASSERT_EQ(verikit_totp_verify(&none.r, eng.e, "mfa", "ann", 3, "123456", 6, nullptr), VERIKIT_OK);
  EXPECT_EQ(none.status(), VERIKIT_STATUS_NOT_FOUND);
  ASSERT_EQ(verikit_totp_enroll(&enrolled.r, eng.e, "mfa", "ann", 3, "Acme"), VERIKIT_OK);
  EXPECT_EQ(enrolled.status(), VERIKIT_STATUS_ISSUED);
  EXPECT_EQ(enrolled.secret().size(), 32u);
  const char* url = nullptr;
  size_t len = 0;
  ASSERT_EQ(verikit_result_url(enrolled.r, &url, &len), VERIKIT_OK);
  EXPECT_EQ(std::string(url, len).rfind("otpauth://totp/Acme:ann?secret=" + enrolled.secret(), 0), 0u);
  Res wrong;
  EXPECT_EQ(verikit_totp_verify(&wrong.r, eng.e, "mfa", "ann", 3, "12345", 5, nullptr), VERIKIT_E_INVALID_ARGUMENT);
  Res bad_issuer;
  EXPECT_EQ(verikit_totp_enroll(&bad_issuer.r, eng.e, "mfa", "ann", 3, "a:b"), VERIKIT_E_INVALID_ARGUMENT);
  struct Seen {
    int error = 1, status = -1;
  } seen;
  auto record = [](void* user, int error, const char*, verikit_result* result) {
    auto* s = static_cast<Seen*>(user);
    s->error = error;
    if (result != nullptr) verikit_result_status(result, &s->status);
    verikit_result_free(result);
  };
  // 000000 and 999999 cannot both be the current code: at least one answer is invalid.
  ASSERT_EQ(verikit_totp_verify_async(eng.e, "mfa", "ann", 3, "000000", 6, nullptr, record, &seen), VERIKIT_OK);
  const int first = seen.status;
  ASSERT_EQ(verikit_totp_verify_async(eng.e, "mfa", "ann", 3, "999999", 6, nullptr, record, &seen), VERIKIT_OK);
  EXPECT_TRUE(first == VERIKIT_STATUS_INVALID || seen.status == VERIKIT_STATUS_INVALID);
  ASSERT_EQ(verikit_totp_enroll_async(eng.e, "mfa", "bea", 3, "Acme", record, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_ISSUED);
}

// The two-step enrollment through the C API, both forms: begin hands out the pending enrollment
// (and nothing else has it), confirm takes it once with the first code.
TEST(CApiTotp, TwoStepEnrollment) {
  verikit_config* c = config();
  Engine eng(c);
  verikit_config_free(c);
  auto text = [](const verikit_result* r, int (*get)(const verikit_result*, const char**, size_t*)) {
    const char* d = nullptr;
    size_t n = 0;
    EXPECT_EQ(get(r, &d, &n), VERIKIT_OK);
    EXPECT_EQ(d[n], '\0');
    return std::string(d, n);
  };
  Res begun;
  ASSERT_EQ(verikit_totp_begin(&begun.r, eng.e, "mfa", "cy", 2, "Acme"), VERIKIT_OK);
  EXPECT_EQ(begun.status(), VERIKIT_STATUS_ISSUED);
  const std::string pending = text(begun.r, verikit_result_pending);
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(text(begun.r, verikit_result_url).rfind("otpauth://totp/Acme:cy?secret=" + begun.secret(), 0), 0u);
  int64_t expires = 0;
  ASSERT_EQ(verikit_result_expires_at_ms(begun.r, &expires), VERIKIT_OK);
  const auto now = std::chrono::system_clock::now();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(expires), static_cast<double>(now_ms + 600000), 60000.0);
  Res none;
  ASSERT_EQ(verikit_totp_verify(&none.r, eng.e, "mfa", "cy", 2, "123456", 6, nullptr), VERIKIT_OK);
  EXPECT_EQ(none.status(), VERIKIT_STATUS_NOT_FOUND) << "begin enrolls nothing";
  EXPECT_TRUE(text(none.r, verikit_result_pending).empty());

  const std::string code = verikit::test::rfc6238_code(begun.secret(), now);
  Res foreign, null_pending;
  ASSERT_EQ(verikit_totp_confirm(&foreign.r, eng.e, "mfa", "cy", 2, "abc", 3, code.data(), code.size(), nullptr),
            VERIKIT_OK);
  EXPECT_EQ(foreign.status(), VERIKIT_STATUS_NOT_FOUND);
  EXPECT_EQ(verikit_totp_confirm(&null_pending.r, eng.e, "mfa", "cy", 2, nullptr, 3, code.data(), code.size(), nullptr),
            VERIKIT_E_INVALID_ARGUMENT);
  struct Seen {
    int calls = 0, error = 1, status = -1;
  } seen;
  auto record = [](void* user, int error, const char*, verikit_result* result) {
    auto* s = static_cast<Seen*>(user);
    ++s->calls;
    s->error = error;
    if (result != nullptr) verikit_result_status(result, &s->status);
    verikit_result_free(result);
  };
  ASSERT_EQ(verikit_totp_confirm_async(eng.e, "mfa", "cy", 2, pending.data(), pending.size(), code.data(), code.size(),
                                       nullptr, record, &seen),
            VERIKIT_OK);
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_VERIFIED);
  Res again;
  ASSERT_EQ(verikit_totp_confirm(&again.r, eng.e, "mfa", "cy", 2, pending.data(), pending.size(), code.data(),
                                 code.size(), nullptr),
            VERIKIT_OK);
  EXPECT_EQ(again.status(), VERIKIT_STATUS_NOT_FOUND) << "confirmed once";
  Res replay;
  ASSERT_EQ(verikit_totp_verify(&replay.r, eng.e, "mfa", "cy", 2, code.data(), code.size(), nullptr), VERIKIT_OK);
  EXPECT_EQ(replay.status(), VERIKIT_STATUS_INVALID) << "the confirming code is used";
  ASSERT_EQ(verikit_totp_begin_async(eng.e, "mfa", "cy", 2, "a:b", record, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.calls, 2);
  EXPECT_EQ(seen.error, VERIKIT_E_INVALID_ARGUMENT);
  ASSERT_EQ(verikit_totp_begin_async(eng.e, "mfa", "cy", 2, "Acme", record, &seen), VERIKIT_OK);
  EXPECT_EQ(seen.calls, 3);
  EXPECT_EQ(seen.status, VERIKIT_STATUS_ISSUED);
}

}  // namespace
