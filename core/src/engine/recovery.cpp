// verikit — recovery codes: a set of single-use codes per (purpose, identifier), stored as keyed
// hashes; a wrong code is counted in the identifier's failure budget (shared with OTPs).
#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

constexpr int kRecoveryCodeLength = 10;  // unambiguous symbols: 31^10, about 2^49.5 per code

// The shape of a recovery code, as normalize_code checks codes (spaces and dashes dropped,
// upper-cased): 10 symbols of the unambiguous alphabet.
const Policy& recovery_code_shape() {
  static const Policy shape = [] {
    Policy p;
    p.otp_length = kRecoveryCodeLength;
    p.alphabet = Alphabet::unambiguous;
    return p;
  }();
  return shape;
}

// "ABCDE-FGHJK": easier to copy; the dash is ignored when a code is checked.
Secret displayed(std::string_view code) {
  std::string out(code.substr(0, kRecoveryCodeLength / 2));
  out.push_back('-');
  out += code.substr(kRecoveryCodeLength / 2);
  return Secret(std::move(out));
}

}  // namespace

void Engine::generate_recovery_codes(std::string_view purpose, std::string_view identifier, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::recovery_generate, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats, {Credential::recovery_code, subject->purpose, subject->identifier}, done);
  const Policy& policy = *subject->policy;
  const detail::DerivedKey& key = impl_->ring.current();
  RecoverySetRequest req;
  req.group = subject->group;
  req.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(policy.recovery_code_ttl);
  Result res = detail::issued_result(*subject);
  for (int i = 0; i < policy.recovery_codes; ++i) {
    Secret code = detail::random_code(kRecoveryCodeLength, Alphabet::unambiguous);
    req.codes.push_back({key.id, detail::recovery_hash(key, req.group, code.view())});
    res.codes.push_back(displayed(code.view()));
  }
  impl_->store->recovery_set(req, detail::show_when_stored<WriteReply>(std::move(res), std::move(done)));
}

void Engine::use_recovery_code(std::string_view purpose, std::string_view identifier, std::string_view code,
                               const VerifyOptions& options, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::recovery_use, std::move(done));
  auto subject = detail::second_factor_subject(*impl_, purpose, identifier, options.client_key, options.binding,
                                               "recovery codes");
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats,
                             {Credential::recovery_code, subject->purpose, subject->identifier, options.client_key}, done);
  auto typed = detail::normalize_code(code, recovery_code_shape());
  if (!typed) return done(Error{Errc::invalid_argument, "recovery " + typed.error().message});
  Secret submitted(std::move(typed).value());
  const Policy& policy = *subject->policy;
  RecoveryUseRequest req;
  req.group = subject->group;
  for (const detail::DerivedKey& key : impl_->ring.all())
    req.candidates.push_back({key.id, detail::recovery_hash(key, req.group, submitted.view())});
  const std::string client = options.client_key.empty() ? std::string{} : detail::client_tag(*impl_, options.client_key);
  req.budget = detail::second_factor_budget(policy, client);
  // As for OTPs: the client key's failure limit is taken first, given back unless counted.
  auto use = [impl = impl_, req = std::move(req), purpose = subject->purpose, id = subject->identifier, client,
              limit = policy.client_failure_limit](Callback<Result> done) {
    impl->store->recovery_use(req, detail::second_factor_answer(impl, purpose, id, client, limit, std::move(done)));
  };
  detail::with_client_limit(impl_, options.client_key, 'f', policy.client_failure_limit, std::move(done), std::move(use));
}

void Engine::recovery_codes_remaining(std::string_view purpose, std::string_view identifier, Callback<int> done) {
  done = detail::track<int>(impl_->stats, detail::Op::recovery_count, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  impl_->store->recovery_count(subject->group, std::move(done));
}

}  // namespace verikit
