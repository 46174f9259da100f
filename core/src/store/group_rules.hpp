// verikit::detail — the per-group rules of the embedded stores, on a group's records at `now`:
// issue, verify, revoke, inspect, unlock, recovery codes, authenticators and the client-key buckets. The memory store runs them
// under a shard's lock, the file store inside an LMDB write transaction: one set of rules (the
// Redis scripts mirror them; the conformance suite holds all stores to the same behaviour).
// A rule changes only the group it is given; finding, creating, dropping (when empty()) and
// indexing the group by deadline() are the store's.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/limits.hpp"
#include "store/totp.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

struct OtpRecord {
  std::uint8_t key_id = 0;
  std::string hash;
  std::string sealed_code;
  std::string sealed_payload;
  std::string payload_hash;
  int attempts_left = 0;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
  std::string binding_hash;  // empty: not bound
};

struct TokenRecord {
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;
  std::string sealed_identity;
  std::string sealed_payload;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
  std::string binding_hash;  // empty: not bound
};

struct RecoverySet {
  std::vector<SecretHash> codes;
  TimePoint expires_at;
};

struct Group {
  std::optional<OtpRecord> otp;
  std::optional<RecoverySet> recovery;
  std::optional<TotpRecord> totp;
  std::unordered_map<std::string, TokenRecord> tokens;
  RateState rate;
  std::unordered_map<std::string, long long> pairs;  // failure budget per client key tag: GCRA tat
  long long indexed_until = 0;  // the deadline the store's expiry index holds for this group
  bool empty() const {
    return !otp && !recovery && !totp && tokens.empty() && pairs.empty() && keep_until(rate) == 0;
  }
};

struct ClientBuckets {
  long long issue_tat = 0;
  long long failure_tat = 0;
  long long indexed_until = 0;  // the deadline the store's expiry index holds for these buckets
  // Whether nothing in it matters any more at `now` (it can be dropped).
  bool expired(long long now) const { return issue_tat <= now && failure_tat <= now; }
  long long deadline() const { return std::max(issue_tat, failure_tat); }
};

inline long long ms(TimePoint t) { return t.time_since_epoch().count(); }

// Forgets what has expired at `now` (every rule below that reads the group does it first,
// except unlock_group, which only resets).
void drop_expired(Group& g, TimePoint now);
// The latest time anything in the group still matters.
long long deadline(const Group& g);

// Issues: a refusal by the gate (reply.outcome not issued) writes nothing.
OtpIssueReply issue_otp(Group& g, const OtpIssueRequest& req, TimePoint now);
TokenIssueReply issue_token(Group& g, const TokenIssueRequest& req, TimePoint now);
// Check and consume (or count a wrong guess) in the group.
VerifyReply verify_otp(Group& g, const OtpVerifyRequest& req, TimePoint now);
VerifyReply verify_token(Group& g, const TokenVerifyRequest& req, TimePoint now);
// Revocations: whether it was there; how many credentials (abuse-control state stays).
bool revoke_otp(Group& g, TimePoint now);
bool revoke_token(Group& g, const std::string& token_id, TimePoint now);
int revoke_credentials(Group& g, TimePoint now);
// Fills `reply` (reply.now is `now`) from the group.
void inspect_group(Group& g, TimePoint now, InspectReply& reply);
// Refills the failure budgets; whether `budget` was spent.
bool unlock_group(Group& g, const GcraLimit& budget, TimePoint now);
// Recovery codes: a new set (how many it holds); one code used (or a wrong one counted); how
// many are left.
int set_recovery(Group& g, const RecoverySetRequest& req, TimePoint now);
VerifyReply use_recovery(Group& g, const RecoveryUseRequest& req, TimePoint now);
int count_recovery(Group& g, TimePoint now);
// Authenticator codes: a new enrollment; a verification's two steps (load reads only).
void enroll_totp(Group& g, const TotpEnrollRequest& req, TimePoint now);
TotpLoadReply load_totp_step(Group& g, const FailureBudget& budget, TimePoint now);
VerifyReply commit_totp_step(Group& g, const TotpCommitRequest& req, TimePoint now);
// One event (or a refund) against a client key's bucket.
ClientLimitReply take_client_limit(ClientBuckets& b, const ClientLimitRequest& req, long long now);

}  // namespace verikit::detail
