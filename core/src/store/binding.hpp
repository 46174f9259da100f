// verikit::detail — the flow-binding rule of a token or link consume, as a pure function on a
// group's RateState (the embedded store runs it; lua/token_verify_bound.lua mirrors it). Times
// are ms.
#pragma once

#include <string>

#include "verikit/store.hpp"

namespace verikit::detail {

struct BindingCheck {
  bool pass = true;                   // the token may be used
  Outcome outcome = Outcome::not_found;  // when not
  long long retry_ms = 0;             // locked: until the budget allows a guess
  bool counted = false;               // a mismatch was counted in the failure budget
};

// `stored`: the record's binding hash (empty: unbound, always passes). No binding presented:
// not_found, nothing counted. A spent failure budget: locked, nothing compared. A mismatch:
// not_found, counted. The same binding: passes.
BindingCheck check_token_binding(RateState& rate, long long now, const std::string& stored,
                                 const TokenVerifyRequest& req);

}  // namespace verikit::detail
