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

long long gcra_wait(long long tat, long long now, const GcraLimit& limit) {
  if (!limit.enabled()) return 0;
  return std::max(0LL, tat - now - limit.interval.count() * (limit.burst - 1));
}

GateCheck check_gate(const RateState& s, long long now, const IssueGate& gate) {
  if (gate.lock_blocks_issue)
    if (const long long wait = gcra_wait(s.failure_tat, now, gate.failures); wait > 0)
      return GateCheck{Outcome::locked, wait, 0};
  if (s.cooldown_until > now) return GateCheck{Outcome::cooldown, s.cooldown_until - now, 0};
  const Gcra g = gcra_take(s.send_tat, now, gate.send);
  if (!g.allowed) return GateCheck{Outcome::rate_limited, g.retry_ms, 0};
  return GateCheck{Outcome::issued, 0, g.tat};
}

void commit_gate(RateState& s, long long now, const IssueGate& gate, const GateCheck& check) {
  s.send_tat = check.send_tat;
  if (gate.cooldown.count() > 0) s.cooldown_until = now + gate.cooldown.count();
}

BudgetCheck check_budget(const RateState& s, long long pair_tat, long long now, const FailureBudget& b) {
  const long long pair = b.client.empty() ? 0 : gcra_wait(pair_tat, now, b.pair);
  const long long wait = std::max(pair, gcra_wait(s.failure_tat, now, b.identifier));
  return BudgetCheck{wait == 0, wait};
}

void count_failure(RateState& s, long long& pair_tat, long long now, const FailureBudget& b) {
  if (b.identifier.enabled()) s.failure_tat = std::max(s.failure_tat, now) + b.identifier.interval.count();
  if (!b.client.empty() && b.pair.enabled()) pair_tat = std::max(pair_tat, now) + b.pair.interval.count();
}

long long keep_until(const RateState& s) {
  return std::max({s.cooldown_until, s.send_tat, s.failure_tat});
}

}  // namespace verikit::detail
