// verikit — authenticator codes (TOTP, RFC 6238): enrollment (a sealed secret and an otpauth://
// URI) and verification in two store steps: load (budget, sealed secret, last step, store time),
// compare in the engine, commit (replay protection and the count of a wrong guess, atomically).
#include <cstring>
#include <optional>

#include "crypto/hotp.hpp"
#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "engine/link.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

constexpr std::size_t kSecretBytes = 20;  // 160 bits, as RFC 4226 recommends
constexpr int kMinDigits = 6, kMaxDigits = 8;  // the range of the policy's totp_digits

std::string secret_context(std::string_view group) { return "totp-secret|" + std::string(group); }

// What an enrollment was made with travels with its secret, sealed together (authenticated,
// encrypted): [2][digits][period, seconds, 2 bytes big-endian][the secret]. A later change of the
// policy's totp_digits or totp_period applies to new enrollments only: the authenticator apps
// already set up keep computing what their QR code told them. Enrollments made before 0.4 seal
// the secret alone (20 bytes): they follow the policy, as they always did.
constexpr char kEnrollmentV2 = 2;

struct Enrollment {
  Secret secret;
  int digits = 6;
  long long period_s = 30;
};

Secret seal_plaintext(std::string_view secret, const Policy& policy) {
  const auto period = static_cast<unsigned>(policy.totp_period.count());
  std::string plain;
  plain.push_back(kEnrollmentV2);
  plain.push_back(static_cast<char>(policy.totp_digits));
  plain.push_back(static_cast<char>((period >> 8) & 0xff));
  plain.push_back(static_cast<char>(period & 0xff));
  plain.append(secret);
  return Secret(std::move(plain));
}

Expected<Enrollment> read_enrollment(Secret plain, const Policy& policy) {
  const std::string_view v = plain.view();
  Enrollment e;
  if (v.size() == kSecretBytes) {  // before 0.4: the policy's digits and period
    e.digits = policy.totp_digits;
    e.period_s = policy.totp_period.count();
    e.secret = std::move(plain);
    return e;
  }
  if (v.size() != 4 + kSecretBytes || v[0] != kEnrollmentV2)
    return make_error(Errc::store_protocol, "an authenticator enrollment in a form this verikit cannot read "
                                            "(made by a newer verikit?)");
  e.digits = static_cast<unsigned char>(v[1]);
  e.period_s = static_cast<long long>((static_cast<unsigned char>(v[2]) << 8) | static_cast<unsigned char>(v[3]));
  if (e.digits < kMinDigits || e.digits > kMaxDigits || e.period_s <= 0)
    return make_error(Errc::store_protocol, "an authenticator enrollment with digits or period out of range");
  e.secret = Secret(std::string(v.substr(4)));
  return e;
}

Status check_issuer(std::string_view issuer) {
  if (issuer.empty() || issuer.size() > 64)
    return make_error(Errc::invalid_argument, "issuer must be 1 to 64 bytes");
  for (char c : issuer)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ':')
      return make_error(Errc::invalid_argument, "issuer must be printable, without ':'");
  return Unit{};
}

// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=N&period=P
std::string provisioning_uri(std::string_view issuer, std::string_view account, std::string_view secret32,
                             const Policy& policy) {
  return "otpauth://totp/" + detail::percent_encode(issuer) + ":" + detail::percent_encode(account) +
         "?secret=" + std::string(secret32) + "&issuer=" + detail::percent_encode(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(policy.totp_digits) +
         "&period=" + std::to_string(policy.totp_period.count());
}

// A pending enrollment (two-step): sealed under the current key, bound to the group (so to the
// purpose, the identifier and the index key), as text (base64url):
// [1][expect_generation, 8 bytes][generation, 8][expires, ms, 8][the enrollment's plaintext].
constexpr char kPendingV1 = 1;
constexpr std::size_t kPendingHead = 1 + 3 * 8;
constexpr std::size_t kPendingMaxText = 512;  // longer is none of ours: not decoded

std::string pending_context(std::string_view group) { return "totp-pending|" + std::string(group); }

void put_u64(std::string& out, long long v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((static_cast<unsigned long long>(v) >> shift) & 0xff));
}
long long get_u64(std::string_view in) {
  unsigned long long v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  return static_cast<long long>(v);
}

struct Pending {
  long long expect_generation = 0;
  long long generation = 0;
  long long expires_ms = 0;
  Secret enrollment;  // seal_plaintext's form
};

// The pending enrollment `text` for this group, or nothing (not one of ours, another subject's,
// tampered with, sealed by a key no longer in the ring).
std::optional<Pending> read_pending(const detail::KeyRing& ring, std::string_view text, std::string_view group) {
  if (text.empty() || text.size() > kPendingMaxText) return std::nullopt;
  auto sealed = detail::base64url_decode(text);
  if (!sealed) return std::nullopt;
  auto opened = detail::open(ring, *sealed, pending_context(group));
  if (!opened) return std::nullopt;
  const std::string_view v = opened->view();
  if (v.size() != kPendingHead + 4 + kSecretBytes || v[0] != kPendingV1) return std::nullopt;
  Pending p;
  p.expect_generation = get_u64(v.substr(1));
  p.generation = get_u64(v.substr(9));
  p.expires_ms = get_u64(v.substr(17));
  p.enrollment = Secret(std::string(v.substr(kPendingHead)));
  return p;
}

// The step within the window whose code is `code` and is later than `last` (-1: none), with the
// enrollment's digits and period and the policy's window. Every step of the window is computed
// and compared, whichever matches; a code of another length than the enrollment's matches none.
long long matching_step(const Enrollment& e, std::string_view code, long long now_ms, long long last, int window) {
  const long long current = now_ms / 1000 / e.period_s;
  long long found = -1;
  for (long long s = current - window; s <= current + window; ++s) {
    if (s < 0) continue;
    const std::string expected = detail::hotp(e.secret.view(), static_cast<std::uint64_t>(s), e.digits);
    if (detail::equal_ct(expected, code) && s > last && found < 0) found = s;
  }
  return found;
}

// A submitted code: digits (spaces and dashes dropped), of the policy's length or of any other
// an enrollment may have been made with (6 to 8); anything else is refused before any store is
// asked, with the policy's length in the message.
Expected<std::string> typed_code(std::string_view code, const Policy& policy) {
  Policy shape;
  shape.alphabet = Alphabet::digits;
  shape.otp_length = policy.totp_digits;
  auto typed = detail::normalize_code(code, shape);
  for (int n = kMinDigits; !typed.has_value() && n <= kMaxDigits; ++n) {
    if (n == policy.totp_digits) continue;
    shape.otp_length = n;
    if (auto other = detail::normalize_code(code, shape)) return other;
  }
  return typed;
}

// What both checks of an authenticator code (at sign-in, and a two-step enrollment's confirming
// code) take from their arguments, each checked before any store is asked.
struct CodeCheck {
  std::shared_ptr<const detail::Subject> subject;
  Secret submitted;      // the code, normalized
  std::string client;    // the client key's tag (empty: none)
  FailureBudget budget;  // the identifier's (and the client's) failure budgets
};

Expected<CodeCheck> code_check(const detail::EngineImpl& impl, std::string_view purpose, std::string_view identifier,
                               std::string_view code, const VerifyOptions& options) {
  auto subject = detail::second_factor_subject(impl, purpose, identifier, options.client_key, options.binding,
                                               "authenticator codes");
  if (!subject) return std::move(subject).error();
  auto typed = typed_code(code, *subject->policy);
  if (!typed) return std::move(typed).error();
  CodeCheck c;
  c.submitted = Secret(std::move(typed).value());
  c.client = options.client_key.empty() ? std::string{} : detail::client_tag(impl, options.client_key);
  c.budget = detail::second_factor_budget(*subject->policy, c.client);
  c.subject = std::make_shared<const detail::Subject>(std::move(subject).value());
  return c;
}

}  // namespace

long long detail::random_generation() {
  const std::string r = random_bytes(6);
  long long g = 0;
  for (unsigned char c : r) g = (g << 8) | c;
  return g == 0 ? 1 : g;
}

void Engine::enroll_totp(std::string_view purpose, std::string_view identifier, std::string_view issuer,
                         Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_enroll, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats, {Credential::totp, subject->purpose, subject->identifier}, done);
  if (auto s = check_issuer(issuer); !s) return done(std::move(s).error());
  const Policy& policy = *subject->policy;
  Secret secret(detail::random_bytes(kSecretBytes));
  TotpEnrollRequest req;
  req.group = subject->group;
  req.sealed_secret = detail::seal(impl_->ring.current(), seal_plaintext(secret.view(), policy).view(), secret_context(req.group));
  req.generation = detail::random_generation();
  req.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(policy.totp_ttl);
  Result res = detail::issued_result(*subject);
  std::string secret32 = detail::base32_encode(secret.view());
  res.url = provisioning_uri(issuer, subject->identifier, secret32, policy);
  res.secret = Secret(std::move(secret32));
  impl_->store->totp_enroll(req, detail::show_when_stored<WriteReply>(std::move(res), std::move(done)));
}

void Engine::begin_totp_enrollment(std::string_view purpose, std::string_view identifier, std::string_view issuer,
                                   Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_begin, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  if (auto s = check_issuer(issuer); !s) return done(std::move(s).error());
  const Policy& policy = *subject->policy;
  Secret secret(detail::random_bytes(kSecretBytes));
  Result res = detail::issued_result(*subject);
  std::string secret32 = detail::base32_encode(secret.view());
  res.url = provisioning_uri(issuer, subject->identifier, secret32, policy);
  res.secret = Secret(std::move(secret32));
  // Nothing is stored: the store is asked for its time and for the enrollment current now (which
  // the confirmation must find still there), whatever the failure budget says.
  const std::string group = subject->group;
  impl_->store->totp_load(
      group, detail::second_factor_budget(policy, {}),
      [impl = impl_, group, ttl = std::chrono::duration_cast<std::chrono::milliseconds>(policy.totp_confirm_ttl),
       plain = seal_plaintext(secret.view(), policy), res = std::move(res),
       done = std::move(done)](Expected<TotpLoadReply> r) mutable {
        if (!r) return done(std::move(r).error());
        if (r->now_ms <= 0)  // (a custom store that leaves it out: a pending enrollment dated 1970 would never confirm)
          return done(make_error(Errc::store_protocol, "the store reported no time for a two-step enrollment "
                                                       "(Store::totp_load must fill now_ms whatever the outcome)"));
        const long long expires_ms = r->now_ms + ttl.count();
        std::string bytes;  // (one buffer, moved into the Secret that wipes it: no copy of the secret left)
        bytes.reserve(kPendingHead + plain.view().size());
        bytes.push_back(kPendingV1);
        put_u64(bytes, r->generation);
        put_u64(bytes, detail::random_generation());
        put_u64(bytes, expires_ms);
        bytes.append(plain.view());
        const Secret pending(std::move(bytes));
        res.pending = Secret(detail::base64url_encode(detail::seal(impl->ring.current(), pending.view(), pending_context(group))));
        res.expires_at = TimePoint(std::chrono::milliseconds(expires_ms));
        done(std::move(res));
      });
}

void Engine::confirm_totp_enrollment(std::string_view purpose, std::string_view identifier, std::string_view pending,
                                     std::string_view code, const VerifyOptions& options, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_confirm, std::move(done));
  auto check = code_check(*impl_, purpose, identifier, code, options);
  if (!check) return done(std::move(check).error());
  detail::EventContext event{Credential::totp, check->subject->purpose, check->subject->identifier, options.client_key};
  event.on_verified = EventKind::issued;  // confirmed: the new secret is the enrollment now
  detail::with_event<Result>(impl_->stats, event, done);
  const RateLimit limit = check->subject->policy->client_failure_limit;
  auto found = read_pending(impl_->ring, pending, check->subject->group);
  auto confirm = [impl = impl_, c = std::move(check).value(),
                  found = std::make_shared<std::optional<Pending>>(std::move(found)), limit](Callback<Result> done) {
    const auto& s = c.subject;
    auto finish = detail::second_factor_answer(impl, s->purpose, s->identifier, c.client, limit, std::move(done));
    if (!found->has_value()) return finish(VerifyReply{});  // not_found: nothing to confirm
    impl->store->totp_load(s->group, c.budget, [impl, c, found, finish](Expected<TotpLoadReply> r) {
      if (!r) return finish(std::move(r).error());
      const auto& s = c.subject;
      const Pending& p = **found;
      if (r->outcome == Outcome::locked) {  // nothing compared
        VerifyReply locked;
        locked.outcome = Outcome::locked;
        locked.retry_after = r->retry_after;
        return finish(std::move(locked));
      }
      // The deadline and the generation are the store's to check, in the atomic step
      // (TotpConfirmRequest): the load gave the time the step is matched at.
      auto enrollment = read_enrollment(Secret(std::string(p.enrollment.view())), *s->policy);
      if (!enrollment) return finish(std::move(enrollment).error());
      TotpConfirmRequest req;
      req.group = s->group;
      req.sealed_secret = detail::seal(impl->ring.current(), p.enrollment.view(), secret_context(s->group));
      req.step = matching_step(*enrollment, c.submitted.view(), r->now_ms, -1, s->policy->totp_window);
      req.expires_ms = p.expires_ms;
      req.expect_generation = p.expect_generation;
      req.generation = p.generation;
      req.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(s->policy->totp_ttl);
      req.budget = c.budget;
      impl->store->totp_confirm(req, finish);
    });
  };
  detail::with_client_limit(impl_, options.client_key, 'f', limit, std::move(done), std::move(confirm));
}

void Engine::verify_totp(std::string_view purpose, std::string_view identifier, std::string_view code,
                         const VerifyOptions& options, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_verify, std::move(done));
  auto check = code_check(*impl_, purpose, identifier, code, options);
  if (!check) return done(std::move(check).error());
  detail::with_event<Result>(impl_->stats,
                             {Credential::totp, check->subject->purpose, check->subject->identifier, options.client_key}, done);
  const RateLimit limit = check->subject->policy->client_failure_limit;
  auto verify = [impl = impl_, c = std::move(check).value(), limit](Callback<Result> done) {
    const auto& s = c.subject;
    auto finish = detail::second_factor_answer(impl, s->purpose, s->identifier, c.client, limit, std::move(done));
    impl->store->totp_load(s->group, c.budget, [impl, c, finish](Expected<TotpLoadReply> r) {
      if (!r) return finish(std::move(r).error());
      const auto& s = c.subject;
      if (r->outcome != Outcome::valid) {  // locked, or not enrolled: nothing compared
        VerifyReply v;
        v.outcome = r->outcome;
        v.retry_after = r->retry_after;
        return finish(std::move(v));
      }
      auto opened = detail::open(impl->ring, r->sealed_secret, secret_context(s->group));
      if (!opened) return finish(std::move(opened).error());
      auto enrollment = read_enrollment(std::move(opened).value(), *s->policy);
      if (!enrollment) return finish(std::move(enrollment).error());
      TotpCommitRequest req;
      req.group = s->group;
      req.step = matching_step(*enrollment, c.submitted.view(), r->now_ms, r->last_step, s->policy->totp_window);
      req.generation = r->generation;
      req.budget = c.budget;
      impl->store->totp_commit(req, finish);
    });
  };
  detail::with_client_limit(impl_, options.client_key, 'f', limit, std::move(done), std::move(verify));
}

}  // namespace verikit
