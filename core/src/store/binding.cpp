// verikit::detail — the flow-binding rule of a token or link consume.
#include "store/binding.hpp"

#include "crypto/crypto.hpp"
#include "store/limits.hpp"

namespace verikit::detail {

BindingCheck check_token_binding(RateState& rate, long long now, const std::string& stored,
                                 const TokenVerifyRequest& req) {
  BindingCheck c;
  if (stored.empty()) return c;
  c.pass = false;
  if (req.binding_hash.empty()) return c;
  if (const long long wait = gcra_wait(rate.failure_tat, now, req.budget); wait > 0) {
    c.outcome = Outcome::locked;
    c.retry_ms = wait;
    return c;
  }
  if (equal_ct(stored, req.binding_hash)) {
    c.pass = true;
    return c;
  }
  long long no_pair = 0;
  count_failure(rate, no_pair, now, FailureBudget{req.budget, {}, {}});
  c.counted = true;
  return c;
}

}  // namespace verikit::detail
