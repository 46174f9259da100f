// verikit — abuse-control policies in store terms, and the per-client-key limits around an operation.
#include "engine/engine_impl.hpp"
#include "verikit/engine.hpp"

namespace verikit {

Policy without_abuse_controls(Policy p) {
  p.resend_cooldown = std::chrono::seconds(0);
  p.send_limit = RateLimit{};
  p.failure_limit = RateLimit{};
  p.client_pair_failure_limit = RateLimit{};
  p.client_issue_limit = RateLimit{};
  p.client_failure_limit = RateLimit{};
  p.max_active_tokens = 0;
  return p;
}

namespace detail {

GcraLimit gcra_of(const RateLimit& limit) {
  if (!limit.enabled()) return GcraLimit{};
  const long long interval = std::max<long long>(1, limit.period.count() * 1000 / limit.count);
  return GcraLimit{std::chrono::milliseconds(interval), limit.burst};
}

IssueGate gate_of(const Policy& p) {
  return IssueGate{std::chrono::milliseconds(p.resend_cooldown), gcra_of(p.send_limit), p.lockout_blocks_issue,
                   gcra_of(p.failure_limit)};
}

FailureBudget budget_of(const Policy& p, std::string client) {
  return FailureBudget{gcra_of(p.failure_limit), gcra_of(p.client_pair_failure_limit), std::move(client)};
}

GcraLimit second_factor_limit(const Policy& p) {
  return gcra_of(p.failure_limit.enabled() ? p.failure_limit : Policy{}.failure_limit);
}

FailureBudget second_factor_budget(const Policy& p, std::string client) {
  return FailureBudget{second_factor_limit(p), gcra_of(p.client_pair_failure_limit), std::move(client)};
}

Callback<VerifyReply> second_factor_answer(std::shared_ptr<EngineImpl> impl, std::string purpose, std::string identifier,
                                           std::string client, RateLimit limit, Callback<Result> done) {
  return [impl = std::move(impl), purpose = std::move(purpose), identifier = std::move(identifier),
          client = std::move(client), limit, done = std::move(done)](Expected<VerifyReply> r) {
    if (!client.empty() && limit.enabled() && r && !r->counted_failure) refund_client_limit(impl, client, 'f', limit);
    if (!r) return done(std::move(r).error());
    Result res;
    res.outcome = r->outcome;
    res.retry_after = r->retry_after;
    res.replicas_confirmed = r->replicas_confirmed;
    res.purpose = purpose;
    res.identifier = identifier;
    done(std::move(res));
  };
}

Status check_client_key(std::string_view client_key) {
  if (client_key.size() > kMaxClientKeyBytes)
    return make_error(Errc::invalid_argument, "client key is longer than " + std::to_string(kMaxClientKeyBytes) + " bytes");
  return Unit{};
}

std::string client_tag(const EngineImpl& impl, std::string_view client_key) {
  return detail::client_tag(impl.ring.index(), client_key);
}

void next_after_client_limit(const std::shared_ptr<EngineImpl>& impl, std::string_view client_key, char bucket,
                             const RateLimit& limit, Callback<Result> done, std::function<void(Callback<Result>)> next) {
  ClientLimitRequest req{client_tag(*impl, client_key), bucket, gcra_of(limit), false};
  impl->store->client_limit(req, [done = std::move(done), next = std::move(next)](Expected<ClientLimitReply> r) mutable {
    if (!r) return done(std::move(r).error());
    if (!r->allowed) {
      Result res;
      res.outcome = Outcome::rate_limited;
      res.retry_after = r->retry_after;
      return done(std::move(res));
    }
    next(std::move(done));
  });
}

void refund_client_limit(const std::shared_ptr<EngineImpl>& impl, const std::string& tag, char bucket,
                         const RateLimit& limit) {
  impl->store->client_limit(ClientLimitRequest{tag, bucket, gcra_of(limit), true}, [](Expected<ClientLimitReply>) {});
}

}  // namespace detail
}  // namespace verikit
