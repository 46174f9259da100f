// verikit::detail — the rules of a TOTP verification's two steps.
#include "store/totp.hpp"

#include "store/limits.hpp"

namespace verikit::detail {
namespace {

// Whether the budgets are spent (then `reply` says locked and when to retry).
template <class Reply>
bool locked(const RateState& rate, long long pair_tat, long long now, const FailureBudget& budget, Reply& reply) {
  const auto b = check_budget(rate, pair_tat, now, budget);
  if (b.allowed) return false;
  reply.outcome = Outcome::locked;
  reply.retry_after = std::chrono::milliseconds(b.retry_ms);
  return true;
}

// A wrong guess counted in the budgets: invalid, or locked when it spent them.
void wrong_guess(RateState& rate, long long& pair_tat, long long now, const FailureBudget& budget, VerifyReply& reply) {
  reply.counted_failure = true;
  reply.outcome = Outcome::invalid;
  count_failure(rate, pair_tat, now, budget);
  locked(rate, pair_tat, now, budget, reply);
}

}  // namespace

TotpLoadReply load_totp(const TotpRecord* rec, const RateState& rate, long long pair_tat, long long now,
                        const FailureBudget& budget) {
  TotpLoadReply reply;
  reply.now_ms = now;
  reply.generation = rec ? rec->generation : 0;
  if (locked(rate, pair_tat, now, budget, reply)) return reply;
  if (!rec || rec->sealed_secret.empty()) return reply;  // not_found (none, or a removed one's generation)
  reply.outcome = Outcome::valid;
  reply.sealed_secret = rec->sealed_secret;
  reply.last_step = rec->last_step;
  return reply;
}

VerifyReply commit_totp(TotpRecord* rec, RateState& rate, long long& pair_tat, long long now,
                        const TotpCommitRequest& req) {
  VerifyReply reply;
  if (locked(rate, pair_tat, now, req.budget, reply)) return reply;
  if (!rec || rec->sealed_secret.empty() || rec->generation != req.generation)
    return reply;  // not_found: removed or re-enrolled meanwhile
  if (req.step >= 0 && req.step > rec->last_step) {
    rec->last_step = req.step;  // replay protection: this step and all before it are used
    reply.outcome = Outcome::verified;
    return reply;
  }
  wrong_guess(rate, pair_tat, now, req.budget, reply);
  return reply;
}

std::optional<TotpRecord> confirm_totp(const TotpRecord* rec, RateState& rate, long long& pair_tat, long long now,
                                       const TotpConfirmRequest& req, VerifyReply& reply) {
  if (locked(rate, pair_tat, now, req.budget, reply)) return std::nullopt;
  if (now >= req.expires_ms) return std::nullopt;  // not_found: expired (also when this step came late)
  // Confirmed already, enrolled again or removed since it began: another generation. None (0) is
  // accepted too: a generation that goes (an enrollment's end, a removal's record's) lives longer
  // than any pending enrollment begun while it was there (README: "Authenticator codes").
  const long long current = rec ? rec->generation : 0;
  if (current != req.expect_generation && current != 0) return std::nullopt;  // not_found
  if (req.step >= 0) {
    reply.outcome = Outcome::verified;
    return TotpRecord{req.sealed_secret, req.step, req.generation, TimePoint(std::chrono::milliseconds(now)) + req.ttl};
  }
  wrong_guess(rate, pair_tat, now, req.budget, reply);
  return std::nullopt;
}

}  // namespace verikit::detail
