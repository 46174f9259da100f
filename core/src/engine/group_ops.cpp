// verikit — operations on all of an identifier's credentials for a purpose: revoke, inspect, unlock.
#include "engine/engine_impl.hpp"
#include "store/limits.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

// Inspect's answer from the store's reply: what is live, every counter and when it resets.
Result inspect_result(const detail::Subject& subject, const InspectReply& reply) {
  Result res;
  res.outcome = reply.otp_live || reply.active_tokens > 0 ? Outcome::valid : Outcome::not_found;
  res.purpose = subject.purpose;
  res.identifier = subject.identifier;
  res.active_tokens = reply.active_tokens;
  if (reply.otp_live) {
    res.attempts_remaining = reply.otp_attempts_remaining;
    res.expires_at = reply.otp_expires_at;
  }
  const RateState& r = reply.rate;
  const long long now = reply.now.time_since_epoch().count();
  auto when = [now](long long t) -> std::optional<TimePoint> {
    if (t <= now) return std::nullopt;
    return TimePoint(std::chrono::milliseconds(t));
  };
  Counters c;
  // (the policy's budget off: failures held all the same are authenticator or recovery codes',
  // counted under the default budget that guards them)
  const GcraLimit budget = r.failure_tat > now ? detail::second_factor_limit(*subject.policy)
                                               : detail::gcra_of(subject.policy->failure_limit);
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
  const GcraLimit send = detail::gcra_of(subject.policy->send_limit);
  c.sends_available = detail::gcra_available(r.send_tat, now, send);
  c.send_limit_reset_at = send.enabled() ? when(r.send_tat) : std::nullopt;
  res.counters = c;
  if (c.locked_until) {
    res.outcome = Outcome::locked;
    res.retry_after = std::chrono::milliseconds(r.failure_tat - now) - budget.interval * (budget.burst - 1);
  }
  return res;
}

}  // namespace

void Engine::revoke_otp(std::string_view purpose, std::string_view identifier, Callback<bool> done) {
  done = detail::track<bool>(impl_->stats, detail::Op::otp_revoke, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<bool>(impl_->stats, {Credential::otp, subject->purpose, subject->identifier}, done);
  impl_->store->otp_revoke(subject->group, std::move(done));
}

void Engine::revoke_all(std::string_view purpose, std::string_view identifier, Callback<int> done) {
  done = detail::track<int>(impl_->stats, detail::Op::revoke_all, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<int>(impl_->stats, {Credential::all, subject->purpose, subject->identifier}, done);
  impl_->store->revoke_all(subject->group, std::move(done));
}

void Engine::revoke_second_factors(std::string_view purpose, std::string_view identifier, Callback<int> done) {
  done = detail::track<int>(impl_->stats, detail::Op::second_factors_revoke, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<int>(impl_->stats, {Credential::second_factors, subject->purpose, subject->identifier}, done);
  SecondFactorsRevokeRequest req;
  req.group = subject->group;
  req.tombstone_generation = detail::random_generation();
  // (an hour more: a wall clock stepped back between a begin and the removal still leaves it)
  req.tombstone_ttl = detail::longest_totp_confirm_ttl() + std::chrono::hours(1);
  impl_->store->second_factors_revoke(req, std::move(done));
}

void Engine::inspect(std::string_view purpose, std::string_view identifier, Callback<Result> done) {
  done = detail::track<Result>(impl_->stats, detail::Op::inspect, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  // The subject's policy points into the configuration: `impl` keeps it alive until the reply.
  auto s = std::make_shared<const detail::Subject>(std::move(subject).value());
  impl_->store->inspect(s->group, [impl = impl_, s, done = std::move(done)](Expected<InspectReply> r) {
    if (!r) return done(std::move(r).error());
    done(inspect_result(*s, *r));
  });
}

void Engine::unlock(std::string_view purpose, std::string_view identifier, Callback<bool> done) {
  done = detail::track<bool>(impl_->stats, detail::Op::unlock, std::move(done));
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<bool>(impl_->stats, {Credential::otp, subject->purpose, subject->identifier, {}, -1,
                                          EventKind::unlocked}, done);
  impl_->store->unlock(subject->group, detail::second_factor_limit(*subject->policy), std::move(done));
}

}  // namespace verikit
