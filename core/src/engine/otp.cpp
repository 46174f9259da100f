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
                       Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::otp_issue, std::move(callback));
  detail::key_check_again(impl_);
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  const Policy& policy = *subject->policy;
  detail::with_event<Result>(impl_->stats, {Credential::otp, subject->purpose, subject->identifier,
                                            options.client_key, policy.max_attempts}, done);
  if (auto s = detail::check_payload(options.payload); !s) return done(std::move(s).error());
  if (auto s = detail::check_client_key(options.client_key); !s) return done(std::move(s).error());
  if (auto s = detail::check_binding(options.binding); !s) return done(std::move(s).error());
  auto ttl = detail::effective_ttl(options.ttl, policy);
  if (!ttl) return done(std::move(ttl).error());

  const detail::DerivedKey& key = impl_->ring.current();
  const std::string& group = subject->group;
  Secret code = detail::random_code(policy.otp_length, policy.alphabet);

  OtpIssueRequest req;
  req.group = group;
  req.key_id = key.id;
  req.secret_hash = detail::secret_hash(key, group, code.view());
  if (policy.reissue == Reissue::resend_same) req.sealed_code = detail::seal(key, code.view(), code_context(group));
  if (!options.payload.empty()) req.sealed_payload = detail::seal(key, options.payload, payload_context(group));
  req.binding_hash = detail::binding_hash(impl_->ring.index(), group, options.binding);
  // resend_same re-sends a live code only to a request of the same payload and the same flow
  if (policy.reissue == Reissue::resend_same)
    req.payload_hash = detail::payload_hash(impl_->ring.index(), group, options.payload, req.binding_hash);
  req.ttl = *ttl;
  req.max_attempts = policy.max_attempts;
  req.resend_same = policy.reissue == Reissue::resend_same;
  req.one_time = policy.one_time_use;
  req.revoke_group = policy.revoke_all_on_use;
  req.gate = detail::gate_of(policy);

  // The subject and the code move into the completion's state (each closure runs once): no copy,
  // no sharing; the state stays on this frame when the store completes inline (complete_with).
  auto issue = [impl = impl_, req = std::move(req), s = std::move(subject).value(),
                code = std::move(code)](auto then) mutable {
    struct State {
      std::shared_ptr<detail::EngineImpl> impl;
      detail::Subject s;
      Secret code;
      decltype(then) done;
    };
    detail::complete_with<OtpIssueReply>(
        *impl->store, State{impl, std::move(s), std::move(code), std::move(then)},
        [&](Callback<OtpIssueReply> completion) { impl->store->otp_issue(req, std::move(completion)); },
        [](State& st, Expected<OtpIssueReply>&& r) {
          if (!r) return st.done(std::move(r).error());
          Expected<Result> out(std::in_place);
          Result& res = *out;
          res.outcome = r->outcome;
          res.purpose = std::move(st.s.purpose);
          res.identifier = std::move(st.s.identifier);
          if (r->outcome != Outcome::issued) {  // refused: nothing was stored, nothing to send
            res.retry_after = r->retry_after;
            return st.done(std::move(out));
          }
          if (r->reused) {
            res.reused = true;
            auto opened = detail::open(st.impl->ring, r->sealed_code, code_context(st.s.group));
            if (!opened) return st.done(std::move(opened).error());
            res.secret = std::move(opened).value();
          } else {
            res.secret = std::move(st.code);
          }
          res.expires_at = r->expires_at;
          res.attempts_remaining = r->attempts_remaining;
          st.done(std::move(out));
        });
  };
  detail::with_client_limit(impl_, options.client_key, 'i', policy.client_issue_limit, std::move(done), std::move(issue));
}

void Engine::verify_otp(std::string_view purpose, std::string_view identifier, std::string_view code,
                        const VerifyOptions& options, Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::otp_verify, std::move(callback));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats, {Credential::otp, subject->purpose, subject->identifier,
                                            options.client_key, subject->policy->max_attempts}, done);
  if (auto s = detail::check_client_key(options.client_key); !s) return done(std::move(s).error());
  if (auto s = detail::check_binding(options.binding); !s) return done(std::move(s).error());
  auto typed = detail::normalize_code(code, *subject->policy);
  if (!typed) return done(std::move(typed).error());
  Secret submitted(std::move(typed).value());
  const Policy& policy = *subject->policy;

  // The record names the key that made it; the store compares the hash under that key.
  OtpVerifyRequest req;
  req.group = std::move(subject->group);  // (the completion makes it again in the one case it needs it)
  for (const detail::DerivedKey& key : impl_->ring.all())
    req.candidates.push_back({key.id, detail::secret_hash(key, req.group, submitted.view())});
  std::string client = options.client_key.empty() ? std::string{} : detail::client_tag(*impl_, options.client_key);
  req.budget = detail::budget_of(policy, client);
  req.binding_hash = detail::binding_hash(impl_->ring.index(), req.group, options.binding);
  // A client key's failure budget is taken before the guess (so concurrent guesses cannot
  // overrun it) and given back only when the store answered that the guess was not a failure
  // (after a fault it may have been counted: a timeout may have taken effect). The subject moves
  // into the completion's state (on this frame when the store completes inline: complete_with).
  auto verify = [impl = impl_, req = std::move(req), s = std::move(subject).value(), client,
                 limit = policy.client_failure_limit](auto then) mutable {
    struct State {
      std::shared_ptr<detail::EngineImpl> impl;
      detail::Subject s;
      std::string client;
      RateLimit limit;
      decltype(then) done;
    };
    detail::complete_with<VerifyReply>(
        *impl->store, State{impl, std::move(s), std::move(client), limit, std::move(then)},
        [&](Callback<VerifyReply> completion) { impl->store->otp_verify(req, std::move(completion)); },
        [](State& st, Expected<VerifyReply>&& r) {
          if (!st.client.empty() && st.limit.enabled() && r && !r->counted_failure)
            detail::refund_client_limit(st.impl, st.client, 'f', st.limit);
          if (!r) return st.done(std::move(r).error());
          Expected<Result> out(std::in_place);
          Result& res = *out;
          res.outcome = r->outcome;
          res.attempts_remaining = r->attempts_remaining;
          res.retry_after = r->retry_after;
          res.replicas_confirmed = r->replicas_confirmed;
          if (r->outcome != Outcome::not_found && r->outcome != Outcome::locked) res.expires_at = r->expires_at;
          if (r->outcome == Outcome::verified && !r->sealed_payload.empty()) {
            const std::string group = detail::group_tag(st.impl->ring.index(), st.s.purpose, st.s.identifier);
            auto opened = detail::open(st.impl->ring, r->sealed_payload, payload_context(group));
            if (!opened) return st.done(std::move(opened).error());
            res.payload = std::move(opened).value();
          }
          res.purpose = std::move(st.s.purpose);
          res.identifier = std::move(st.s.identifier);
          st.done(std::move(out));
        });
  };
  detail::with_client_limit(impl_, options.client_key, 'f', policy.client_failure_limit, std::move(done),
                            std::move(verify));
}

}  // namespace verikit
