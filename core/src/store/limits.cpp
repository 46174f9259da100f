// verikit::detail — abuse-control rules (mirrored by the Redis scripts).
#include "store/limits.hpp"

#include <algorithm>

namespace verikit::detail {

Gcra gcra_take(long long tat, long long now, const GcraLimit& limit) {
  if (!limit.enabled()) return Gcra{true, tat, 0};
  const long long t = limit.interval.count();
  const long long next = std::max(tat, now) + t;
  const long long over = next - now - t * limit.burst;
  if (over > 0) return Gcra{false, tat, over};
  return Gcra{true, next, 0};
}

long long gcra_refund(long long tat, long long now, const GcraLimit& limit) {
  if (!limit.enabled() || tat <= now) return tat;
  return std::max(now, tat - limit.interval.count());
}

int gcra_available(long long tat, long long now, const GcraLimit& limit) {
  if (!limit.enabled()) return -1;
  const long long t = limit.interval.count();
  const long long used = std::max(0LL, tat - now);
  return static_cast<int>(std::clamp((t * limit.burst - used) / t, 0LL, static_cast<long long>(limit.burst)));
}

GateCheck check_gate(const RateState& s, long long now, const IssueGate& gate) {
  if (gate.lock_blocks_issue && s.locked_until > now) return GateCheck{Outcome::locked, s.locked_until - now, 0};
  if (s.cooldown_until > now) return GateCheck{Outcome::cooldown, s.cooldown_until - now, 0};
  const Gcra g = gcra_take(s.send_tat, now, gate.send);
  if (!g.allowed) return GateCheck{Outcome::rate_limited, g.retry_ms, 0};
  return GateCheck{Outcome::issued, 0, g.tat};
}

void commit_gate(RateState& s, long long now, const IssueGate& gate, const GateCheck& check) {
  s.send_tat = check.send_tat;
  if (gate.cooldown.count() > 0) s.cooldown_until = now + gate.cooldown.count();
}

bool count_failure(RateState& s, long long now, const LockoutRule& rule) {
  if (rule.failures <= 0) return false;
  if (s.failures_until > now) {
    ++s.failures;
  } else {
    s.failures = 1;
    s.failures_until = now + rule.window.count();
  }
  if (s.failures < rule.failures) return false;
  s.lockout_level = s.level_until > now ? s.lockout_level + 1 : 1;
  long long duration = rule.duration.count();
  for (int i = 1; i < s.lockout_level && duration < rule.max.count(); ++i) duration *= 2;
  duration = std::min<long long>(duration, rule.max.count());
  s.locked_until = now + duration;
  s.level_until = s.locked_until + rule.decay.count();
  s.failures = 0;
  s.failures_until = 0;
  return true;
}

long long keep_until(const RateState& s) {
  return std::max({s.cooldown_until, s.send_tat, s.failures_until, s.locked_until, s.level_until});
}

}  // namespace verikit::detail
