// verikit — authenticator codes (TOTP, RFC 6238): enrollment (a sealed secret and an otpauth://
// URI) and verification in two store steps: load (budget, sealed secret, last step, store time),
// compare in the engine, commit (replay protection and the count of a wrong guess, atomically).
#include <cstring>

#include "crypto/hotp.hpp"
#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "engine/link.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

constexpr std::size_t kSecretBytes = 20;  // 160 bits, as RFC 4226 recommends

std::string secret_context(std::string_view group) { return "totp-secret|" + std::string(group); }

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

long long random_generation() {
  const std::string r = detail::random_bytes(6);
  long long g = 0;
  for (unsigned char c : r) g = (g << 8) | c;
  return g;
}

// The step within the window whose code is `code` and is later than `last` (-1: none). Every
// step of the window is computed and compared, whichever matches.
long long matching_step(std::string_view secret, std::string_view code, long long now_ms, long long last,
                        const Policy& policy) {
  const long long current = now_ms / 1000 / policy.totp_period.count();
  long long found = -1;
  for (long long s = current - policy.totp_window; s <= current + policy.totp_window; ++s) {
    if (s < 0) continue;
    const std::string expected = detail::hotp(secret, static_cast<std::uint64_t>(s), policy.totp_digits);
    if (detail::equal_ct(expected, code) && s > last && found < 0) found = s;
  }
  return found;
}

Policy code_shape(const Policy& policy) {
  Policy shape;
  shape.otp_length = policy.totp_digits;
  shape.alphabet = Alphabet::digits;
  return shape;
}

}  // namespace

void Engine::enroll_totp(std::string_view purpose, std::string_view identifier, std::string_view issuer,
                         Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_enroll, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  if (auto s = check_issuer(issuer); !s) return done(std::move(s).error());
  const Policy& policy = *subject->policy;
  Secret secret(detail::random_bytes(kSecretBytes));
  TotpEnrollRequest req;
  req.group = subject->group;
  req.sealed_secret = detail::seal(impl_->ring.current(), secret.view(), secret_context(req.group));
  req.generation = random_generation();
  req.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(policy.totp_ttl);
  Result res = detail::issued_result(*subject);
  std::string secret32 = detail::base32_encode(secret.view());
  res.url = provisioning_uri(issuer, subject->identifier, secret32, policy);
  res.secret = Secret(std::move(secret32));
  impl_->store->totp_enroll(req, detail::show_when_stored<bool>(std::move(res), std::move(done)));
}

void Engine::verify_totp(std::string_view purpose, std::string_view identifier, std::string_view code,
                         const VerifyOptions& options, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::totp_verify, std::move(done));
  auto subject = detail::second_factor_subject(*impl_, purpose, identifier, options.client_key, options.binding,
                                               "authenticator codes");
  if (!subject) return done(std::move(subject).error());
  const Policy& policy = *subject->policy;
  auto typed = detail::normalize_code(code, code_shape(policy));
  if (!typed) return done(std::move(typed).error());
  const std::string client = options.client_key.empty() ? std::string{} : detail::client_tag(*impl_, options.client_key);
  auto s = std::make_shared<const detail::Subject>(std::move(subject).value());
  auto verify = [impl = impl_, s, submitted = Secret(std::move(typed).value()), budget = detail::second_factor_budget(policy, client),
                 client, limit = policy.client_failure_limit](Callback<Result> done) {
    auto finish = [impl, s, client, limit, done](Expected<VerifyReply> r) {
      if (!client.empty() && limit.enabled() && r && !r->counted_failure) detail::refund_client_limit(impl, client, 'f', limit);
      if (!r) return done(std::move(r).error());
      Result res;
      res.outcome = r->outcome;
      res.retry_after = r->retry_after;
      res.replicas_confirmed = r->replicas_confirmed;
      res.purpose = s->purpose;
      res.identifier = s->identifier;
      done(std::move(res));
    };
    impl->store->totp_load(s->group, budget, [impl, s, submitted, budget, finish](Expected<TotpLoadReply> r) {
      if (!r) return finish(std::move(r).error());
      if (r->outcome != Outcome::valid) {  // locked, or not enrolled: nothing compared
        VerifyReply v;
        v.outcome = r->outcome;
        v.retry_after = r->retry_after;
        return finish(std::move(v));
      }
      auto secret = detail::open(impl->ring, r->sealed_secret, secret_context(s->group));
      if (!secret) return finish(std::move(secret).error());
      TotpCommitRequest req;
      req.group = s->group;
      req.step = matching_step(secret->view(), submitted.view(), r->now_ms, r->last_step, *s->policy);
      req.generation = r->generation;
      req.budget = budget;
      impl->store->totp_commit(req, finish);
    });
  };
  detail::with_client_limit(impl_, options.client_key, 'f', policy.client_failure_limit, std::move(done), std::move(verify));
}

}  // namespace verikit
