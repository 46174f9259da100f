// verikit::detail — the abuse-control rules as pure functions on a group's RateState: GCRA,
// cooldown, the failure budget. The embedded stores run them (through store/group_rules: memory
// and file); the Redis scripts mirror them line for line (the conformance suite holds all the
// stores to the same behaviour). Times are ms.
#pragma once

#include "verikit/store.hpp"

namespace verikit::detail {

struct Gcra {
  bool allowed = true;
  long long tat = 0;       // the new theoretical arrival time, when allowed
  long long retry_ms = 0;  // when not
};

// One event against a GCRA limit (disabled limit: always allowed, tat unchanged).
Gcra gcra_take(long long tat, long long now, const GcraLimit& limit);
// Gives one event back (never below now).
long long gcra_refund(long long tat, long long now, const GcraLimit& limit);
// Events the limit allows right now; -1 when it is off.
int gcra_available(long long tat, long long now, const GcraLimit& limit);

struct GateCheck {
  Outcome outcome = Outcome::issued;  // or locked / cooldown / rate_limited
  long long retry_ms = 0;
  long long send_tat = 0;             // to commit when issued
};

// Whether an issue may proceed: a spent failure budget (if it blocks issue), cooldown, send limit.
GateCheck check_gate(const RateState& s, long long now, const IssueGate& gate);
void commit_gate(RateState& s, long long now, const IssueGate& gate, const GateCheck& check);

// How long until a GCRA limit allows one more event (0: now; a disabled limit: 0).
long long gcra_wait(long long tat, long long now, const GcraLimit& limit);

// Whether a guess may be compared: both budgets (the client key's first) must allow one more
// failure. `pair_tat` is the (identifier, client key) budget's state (0 when none).
struct BudgetCheck {
  bool allowed = true;
  long long retry_ms = 0;  // when not: until both allow one
};
BudgetCheck check_budget(const RateState& s, long long pair_tat, long long now, const FailureBudget& b);
// Counts a wrong guess in both budgets.
void count_failure(RateState& s, long long& pair_tat, long long now, const FailureBudget& b);
// The latest time any field still matters (the state can be dropped after it).
long long keep_until(const RateState& s);

}  // namespace verikit::detail
