// verikit — one-time codes: issue and verify (check and consume in one atomic store step).
#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {
std::string code_context(std::string_view group) { return "otp-code|" + std::string(group); }
std::string payload_context(std::string_view group) { return "otp-payload|" + std::string(group); }
}  // namespace

void Engine::issue_otp(std::string_view purpose, std::string_view identifier, const IssueOptions& options,
                       Callback<Result> done) {
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  const Policy& policy = *subject->policy;
  if (auto s = detail::check_payload(options.payload); !s) return done(std::move(s).error());
  if (auto s = detail::check_client_key(options.client_key); !s) return done(std::move(s).error());
  auto ttl = detail::effective_ttl(options.ttl, policy);
  if (!ttl) return done(std::move(ttl).error());

  const detail::DerivedKey& key = impl_->ring.current();
  const std::string& group = subject->groups.front();
  Secret code = detail::random_code(policy.otp_length, policy.alphabet);

  OtpIssueRequest req;
  req.group = group;
  req.key_id = key.id;
  req.secret_hash = detail::secret_hash(key, group, code.view());
  if (policy.reissue == Reissue::resend_same) req.sealed_code = detail::seal(key, code.view(), code_context(group));
  if (!options.payload.empty()) req.sealed_payload = detail::seal(key, options.payload, payload_context(group));
  req.ttl = *ttl;
  req.max_attempts = policy.max_attempts;
  req.resend_same = policy.reissue == Reissue::resend_same;
  req.one_time = policy.one_time_use;
  req.revoke_group = policy.revoke_all_on_use;
  req.gate = detail::gate_of(policy);

  // Shared, not copied, by the closures below (each copy of a Subject is several allocations).
  auto issue = [impl = impl_, req = std::move(req), s = std::make_shared<const detail::Subject>(std::move(subject).value()),
                code = std::move(code)](Callback<Result> done) {
    impl->store->otp_issue(req, [impl, s, code, done = std::move(done)](Expected<OtpIssueReply> r) {
      if (!r) return done(std::move(r).error());
      Result res;
      res.outcome = r->outcome;
      res.purpose = s->purpose;
      res.identifier = s->identifier;
      if (r->outcome != Outcome::issued) {  // refused: nothing was stored, nothing to send
        res.retry_after = r->retry_after;
        return done(std::move(res));
      }
      if (r->reused) {
        auto opened = detail::open(impl->ring, r->sealed_code, code_context(s->groups.front()));
        if (!opened) return done(std::move(opened).error());
        res.secret = std::move(opened).value();
      } else {
        res.secret = code;
      }
      res.expires_at = r->expires_at;
      res.attempts_remaining = r->attempts_remaining;
      done(std::move(res));
    });
  };
  detail::with_client_limit(impl_, options.client_key, 'i', policy.client_issue_limit, std::move(done), std::move(issue));
}

void Engine::verify_otp(std::string_view purpose, std::string_view identifier, std::string_view code,
                        const VerifyOptions& options, Callback<Result> done) {
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  if (auto s = detail::check_client_key(options.client_key); !s) return done(std::move(s).error());
  auto typed = detail::normalize_code(code, *subject->policy);
  if (!typed) return done(std::move(typed).error());
  Secret submitted(std::move(typed).value());
  const Policy& policy = *subject->policy;

  // Shared, not copied, by the closures below; `groups` points into it.
  auto s = std::make_shared<const detail::Subject>(std::move(subject).value());
  std::shared_ptr<const std::vector<std::string>> groups(s, &s->groups);
  const LockoutRule lockout = detail::lockout_of(policy);
  auto call = [impl = impl_, groups, submitted, lockout](const std::string& group, Callback<VerifyReply> cb) {
    OtpVerifyRequest req;
    req.group = group;
    req.lockout = lockout;
    const auto& keys = impl->ring.all();
    const std::size_t i = static_cast<std::size_t>(std::find(groups->begin(), groups->end(), group) - groups->begin());
    req.candidates.push_back({keys[i].id, detail::secret_hash(keys[i], group, submitted.view())});
    impl->store->otp_verify(req, std::move(cb));
  };
  // Stop at the first group that holds a code (under a rotated-out key, a later one may).
  auto step = [](VerifyReply& acc, VerifyReply&& r) {
    acc = std::move(r);
    return acc.outcome != Outcome::not_found;
  };
  // A client key's failure budget is taken before the guess (so concurrent guesses cannot
  // overrun it) and given back when the guess was not a failure.
  const std::string client = options.client_key.empty() ? std::string{} : detail::client_tag(*impl_, options.client_key);
  auto verify = [impl = impl_, groups, call, step, s, client,
                 limit = policy.client_failure_limit](Callback<Result> done) {
    detail::fold_groups<VerifyReply, VerifyReply>(
        groups, 0, VerifyReply{}, call, step, [impl, s, client, limit, done = std::move(done)](Expected<VerifyReply> r) {
          if (!client.empty() && limit.enabled() && !(r && r->counted_failure))
            detail::refund_client_limit(impl, client, 'f', limit);
          if (!r) return done(std::move(r).error());
          Result res;
          res.outcome = r->outcome;
          res.attempts_remaining = r->attempts_remaining;
          res.retry_after = r->retry_after;
          if (r->outcome != Outcome::not_found && r->outcome != Outcome::locked) res.expires_at = r->expires_at;
          res.purpose = s->purpose;
          res.identifier = s->identifier;
          if (r->outcome == Outcome::verified && !r->sealed_payload.empty()) {
            // The payload was sealed under the group tag of the key that made the record.
            Expected<Secret> opened = make_error(Errc::crypto, "no key opens the payload");
            for (const std::string& g : s->groups)
              if ((opened = detail::open(impl->ring, r->sealed_payload, payload_context(g)))) break;
            if (!opened) return done(std::move(opened).error());
            res.payload = std::move(opened).value();
          }
          done(std::move(res));
        });
  };
  detail::with_client_limit(impl_, options.client_key, 'f', policy.client_failure_limit, std::move(done),
                            std::move(verify));
}

}  // namespace verikit
