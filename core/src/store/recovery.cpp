// verikit::detail — the rule of a recovery-code use.
#include "store/recovery.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"
#include "store/limits.hpp"

namespace verikit::detail {

VerifyReply use_recovery_code(std::vector<SecretHash>& codes, RateState& rate, long long& pair_tat, long long now,
                              const RecoveryUseRequest& req) {
  VerifyReply reply;
  if (const auto b = check_budget(rate, pair_tat, now, req.budget); !b.allowed) {
    reply.outcome = Outcome::locked;
    reply.retry_after = std::chrono::milliseconds(b.retry_ms);
    return reply;
  }
  if (codes.empty()) return reply;  // not_found
  // Every code is compared (constant time each), whichever matches.
  auto match = codes.end();
  for (auto it = codes.begin(); it != codes.end(); ++it)
    for (const SecretHash& c : req.candidates)
      if (c.key_id == it->key_id && equal_ct(c.hash, it->hash) && match == codes.end()) match = it;
  if (match != codes.end()) {
    codes.erase(match);
    reply.outcome = Outcome::verified;
    reply.attempts_remaining = static_cast<int>(codes.size());
    return reply;
  }
  reply.counted_failure = true;
  reply.outcome = Outcome::invalid;
  count_failure(rate, pair_tat, now, req.budget);
  if (const auto b = check_budget(rate, pair_tat, now, req.budget); !b.allowed) {
    reply.outcome = Outcome::locked;  // this guess spent the budget
    reply.retry_after = std::chrono::milliseconds(b.retry_ms);
  }
  return reply;
}

}  // namespace verikit::detail
