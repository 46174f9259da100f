// verikit::detail — an authenticator (TOTP) enrollment in the embedded store and the rules of
// its two verification steps, as pure functions (lua/totp_load.lua and lua/totp_commit.lua
// mirror them). Times are ms.
#pragma once

#include <optional>
#include <string>

#include "verikit/store.hpp"

namespace verikit::detail {

struct TotpRecord {
  std::string sealed_secret;
  long long last_step = -1;
  long long generation = 0;
  TimePoint expires_at;
};

TotpLoadReply load_totp(const TotpRecord* rec, const RateState& rate, long long pair_tat, long long now,
                        const FailureBudget& budget);
VerifyReply commit_totp(TotpRecord* rec, RateState& rate, long long& pair_tat, long long now,
                        const TotpCommitRequest& req);
// The second step of a two-step enrollment (TotpConfirmRequest): the reply, and the enrollment
// that replaces `rec` when it is verified.
std::optional<TotpRecord> confirm_totp(const TotpRecord* rec, RateState& rate, long long& pair_tat, long long now,
                                       const TotpConfirmRequest& req, VerifyReply& reply);

}  // namespace verikit::detail
