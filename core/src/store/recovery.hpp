// verikit::detail — the rule of a recovery-code use, as a pure function on a group's set and
// failure budgets (the embedded store runs it; lua/recovery_use.lua mirrors it). Times are ms.
#pragma once

#include <vector>

#include "verikit/store.hpp"

namespace verikit::detail {

// A spent budget: locked, nothing compared. A code of the set: removed, verified
// (attempts_remaining: codes left). Else a wrong guess counted in both budgets: invalid, or
// locked when it spent them. `codes` empty: not_found (no set), nothing counted.
VerifyReply use_recovery_code(std::vector<SecretHash>& codes, RateState& rate, long long& pair_tat, long long now,
                              const RecoveryUseRequest& req);

}  // namespace verikit::detail
