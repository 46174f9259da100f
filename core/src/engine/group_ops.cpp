// verikit — operations on all of an identifier's credentials for a purpose: revoke, inspect.
#include "engine/engine_impl.hpp"
#include "store/limits.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

// Runs one store operation on every key group of (purpose, identifier) — one per key of the
// ring — and folds the replies with `step`.
template <class Acc, class Reply, class Call, class Step>
Expected<Acc> for_all_groups(const detail::EngineImpl& impl, std::string_view purpose, std::string_view identifier,
                             Acc init, Call call, Step step) {
  auto subject = detail::make_subject(impl, purpose, identifier);
  if (!subject) return std::move(subject).error();
  auto groups = std::make_shared<const std::vector<std::string>>(subject->groups);
  auto store = impl.store;
  return detail::wait_for<Acc>([&](Callback<Acc> cb) {
    detail::fold_groups<Acc, Reply>(
        groups, 0, std::move(init), [store, call](const std::string& g, Callback<Reply> c) { call(*store, g, std::move(c)); },
        [step](Acc& acc, Reply&& r) { step(acc, std::move(r)); return false; }, std::move(cb));
  });
}

}  // namespace

Expected<bool> Engine::revoke_otp(std::string_view purpose, std::string_view identifier) {
  return for_all_groups<bool, bool>(
      *impl_, purpose, identifier, false, [](Store& s, const std::string& g, Callback<bool> c) { s.otp_revoke(g, std::move(c)); },
      [](bool& acc, bool&& removed) { acc = acc || removed; });
}

Expected<int> Engine::revoke_all(std::string_view purpose, std::string_view identifier) {
  return for_all_groups<int, int>(
      *impl_, purpose, identifier, 0, [](Store& s, const std::string& g, Callback<int> c) { s.revoke_all(g, std::move(c)); },
      [](int& acc, int&& n) { acc += n; });
}

Expected<Result> Engine::inspect(std::string_view purpose, std::string_view identifier) {
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return std::move(subject).error();
  auto groups = std::make_shared<const std::vector<std::string>>(subject->groups);
  auto store = impl_->store;
  auto merged = detail::wait_for<InspectReply>([&](Callback<InspectReply> cb) {
    detail::fold_groups<InspectReply, InspectReply>(
        groups, 0, InspectReply{}, [store](const std::string& g, Callback<InspectReply> c) { store->inspect(g, std::move(c)); },
        [](InspectReply& acc, InspectReply&& r) {
          if (acc.now == TimePoint{}) {  // the current key's group holds the abuse-control state
            acc.now = r.now;
            acc.rate = r.rate;
          }
          if (!acc.otp_live && r.otp_live) {
            acc.otp_live = true;
            acc.otp_attempts_remaining = r.otp_attempts_remaining;
            acc.otp_expires_at = r.otp_expires_at;
          }
          acc.active_tokens += r.active_tokens;
          return false;
        },
        std::move(cb));
  });
  if (!merged) return std::move(merged).error();
  Result res;
  res.outcome = merged->otp_live || merged->active_tokens > 0 ? Outcome::valid : Outcome::not_found;
  res.purpose = subject->purpose;
  res.identifier = subject->identifier;
  res.active_tokens = merged->active_tokens;
  if (merged->otp_live) {
    res.attempts_remaining = merged->otp_attempts_remaining;
    res.expires_at = merged->otp_expires_at;
  }
  const RateState& r = merged->rate;
  const long long now = merged->now.time_since_epoch().count();
  auto when = [now](long long t) -> std::optional<TimePoint> {
    if (t <= now) return std::nullopt;
    return TimePoint(std::chrono::milliseconds(t));
  };
  Counters c;
  c.failures = r.failures_until > now ? r.failures : 0;
  c.failures_reset_at = when(r.failures_until);
  c.locked_until = when(r.locked_until);
  c.lockout_level = r.level_until > now ? r.lockout_level : 0;
  c.lockout_level_reset_at = when(r.level_until);
  c.cooldown_until = when(r.cooldown_until);
  const GcraLimit send = detail::gcra_of(subject->policy->send_limit);
  c.sends_available = detail::gcra_available(r.send_tat, now, send);
  c.send_limit_reset_at = send.enabled() ? when(r.send_tat) : std::nullopt;
  res.counters = c;
  if (c.locked_until) {
    res.outcome = Outcome::locked;
    res.retry_after = std::chrono::milliseconds(r.locked_until - now);
  }
  return res;
}

Expected<bool> Engine::unlock(std::string_view purpose, std::string_view identifier) {
  return for_all_groups<bool, bool>(
      *impl_, purpose, identifier, false, [](Store& s, const std::string& g, Callback<bool> c) { s.unlock(g, std::move(c)); },
      [](bool& acc, bool&& was) { acc = acc || was; });
}

}  // namespace verikit
