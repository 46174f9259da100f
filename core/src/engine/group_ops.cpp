// verikit — operations on all of an identifier's credentials for a purpose: revoke, inspect, unlock.
#include "engine/engine_impl.hpp"
#include "store/limits.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

// Runs one store operation on the key group of (purpose, identifier) and waits for it.
template <class Reply, class Call>
Expected<Reply> on_group(const detail::EngineImpl& impl, std::string_view purpose, std::string_view identifier,
                         Call call) {
  auto subject = detail::make_subject(impl, purpose, identifier);
  if (!subject) return std::move(subject).error();
  return detail::wait_for<Reply>([&](Callback<Reply> cb) { call(*impl.store, subject->group, std::move(cb)); });
}

}  // namespace

Expected<bool> Engine::revoke_otp(std::string_view purpose, std::string_view identifier) {
  return on_group<bool>(*impl_, purpose, identifier,
                        [](Store& s, const std::string& g, Callback<bool> c) { s.otp_revoke(g, std::move(c)); });
}

Expected<int> Engine::revoke_all(std::string_view purpose, std::string_view identifier) {
  return on_group<int>(*impl_, purpose, identifier,
                       [](Store& s, const std::string& g, Callback<int> c) { s.revoke_all(g, std::move(c)); });
}

Expected<Result> Engine::inspect(std::string_view purpose, std::string_view identifier) {
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return std::move(subject).error();
  auto reply = detail::wait_for<InspectReply>(
      [&](Callback<InspectReply> cb) { impl_->store->inspect(subject->group, std::move(cb)); });
  if (!reply) return std::move(reply).error();
  Result res;
  res.outcome = reply->otp_live || reply->active_tokens > 0 ? Outcome::valid : Outcome::not_found;
  res.purpose = subject->purpose;
  res.identifier = subject->identifier;
  res.active_tokens = reply->active_tokens;
  if (reply->otp_live) {
    res.attempts_remaining = reply->otp_attempts_remaining;
    res.expires_at = reply->otp_expires_at;
  }
  const RateState& r = reply->rate;
  const long long now = reply->now.time_since_epoch().count();
  auto when = [now](long long t) -> std::optional<TimePoint> {
    if (t <= now) return std::nullopt;
    return TimePoint(std::chrono::milliseconds(t));
  };
  Counters c;
  const GcraLimit budget = detail::gcra_of(subject->policy->failure_limit);
  if (budget.enabled()) {
    const long long held = std::max(0LL, r.failure_tat - now);
    const long long interval = budget.interval.count();
    c.failures = static_cast<int>((held + interval - 1) / interval);
    c.failures_reset_at = when(r.failure_tat);
    c.guesses_available = detail::gcra_available(r.failure_tat, now, budget);
    if (const long long wait = detail::gcra_wait(r.failure_tat, now, budget); wait > 0)
      c.locked_until = TimePoint(std::chrono::milliseconds(now + wait));
  }
  c.cooldown_until = when(r.cooldown_until);
  const GcraLimit send = detail::gcra_of(subject->policy->send_limit);
  c.sends_available = detail::gcra_available(r.send_tat, now, send);
  c.send_limit_reset_at = send.enabled() ? when(r.send_tat) : std::nullopt;
  res.counters = c;
  if (c.locked_until) {
    res.outcome = Outcome::locked;
    res.retry_after = std::chrono::milliseconds(r.failure_tat - now) - budget.interval * (budget.burst - 1);
  }
  return res;
}

Expected<bool> Engine::unlock(std::string_view purpose, std::string_view identifier) {
  const GcraLimit budget = detail::gcra_of(impl_->config.policy_for(purpose).failure_limit);
  return on_group<bool>(*impl_, purpose, identifier, [&](Store& s, const std::string& g, Callback<bool> c) {
    s.unlock(g, budget, std::move(c));
  });
}

}  // namespace verikit
