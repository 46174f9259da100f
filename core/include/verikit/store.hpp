// verikit — the Store interface: one atomic operation per engine step, completed by callback.
//
// The engine hashes and encrypts before it calls a store: a store only ever sees key-group
// tags (keyed hashes of purpose + identifier), keyed hashes of secrets and sealed blobs.
// Time is the store's own (the embedded store's injected clock, Redis TIME), so expiry
// never depends on the clocks of the application servers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "verikit/clock.hpp"
#include "verikit/error.hpp"
#include "verikit/result.hpp"
#include "verikit/small_bytes.hpp"
#include "verikit/small_vector.hpp"

namespace verikit {

template <class T>
using Callback = std::function<void(Expected<T>&&)>;

enum class TokenKind : std::uint8_t { token = 1, link = 2 };

// A GCRA limit in store terms: one event per `interval`, `burst` at once. interval 0: off.
struct GcraLimit {
  std::chrono::milliseconds interval{0};
  int burst = 1;
  bool enabled() const noexcept { return interval.count() > 0; }
};

// What an issue must pass before anything is written, checked in the same atomic step.
struct IssueGate {
  std::chrono::milliseconds cooldown{0};
  GcraLimit send;
  bool lock_blocks_issue = true;  // refused (locked) while the failure budget allows no guess
  GcraLimit failures;             // the identifier's failure budget
};

// The failure budget of a (purpose, identifier) and, when the caller named a client key, of
// (purpose, identifier, client key): wrong guesses are counted in both, across re-issued codes.
struct FailureBudget {
  GcraLimit identifier;  // off: no budget
  GcraLimit pair;        // off, or no client key: none
  std::string client;    // tag of the client key (empty: none)
};

// A group's abuse-control state; times in ms since the epoch (store time), 0: never set.
struct RateState {
  long long cooldown_until = 0;
  long long send_tat = 0;        // GCRA theoretical arrival time of the send limit
  long long failure_tat = 0;     // GCRA theoretical arrival time of the failure budget
};

// A keyed hash of a secret under one key of the key set; a verify request carries one per
// key that may have made the record, and the store compares the one the record names.
struct SecretHash {
  std::uint8_t key_id = 0;
  SmallBytes hash;
};

struct OtpIssueRequest {
  std::string group;          // key-group tag
  std::uint8_t key_id = 0;    // key that made secret_hash
  SmallBytes secret_hash;
  std::string sealed_code;    // the code, encrypted (resend_same only; else empty)
  std::string sealed_payload; // may be empty
  std::string payload_hash;   // resend_same: keyed hash of the payload (a live code is re-sent
                              // only to a request with the same payload)
  std::chrono::milliseconds ttl{0};
  int max_attempts = 0;
  bool resend_same = false;   // keep a live code that has sealed_code (and the same payload_hash)
  bool one_time = true;       // a verified code is consumed
  bool revoke_group = false;  // a verified code revokes every credential of its group
  IssueGate gate;
  std::string binding_hash;   // keyed hash of the flow binding; empty: not bound
};

struct OtpIssueReply {
  Outcome outcome = Outcome::issued;  // or locked / cooldown / rate_limited (nothing written)
  std::chrono::milliseconds retry_after{0};
  bool reused = false;        // the live code was kept; sealed_code holds it
  std::string sealed_code;
  TimePoint expires_at;
  int attempts_remaining = 0;
};

struct OtpVerifyRequest {
  std::string group;
  SmallVector<SecretHash, 2> candidates;  // one per key that may have made the record
  FailureBudget budget;
  std::string binding_hash;  // presented flow binding's keyed hash (empty: none); a bound code
                             // matches only with its own, else it is a wrong guess
};

struct TokenIssueRequest {
  std::string group;
  std::string token_id;        // keyed hash of the token's secret: the record's name
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;     // keyed hash of the purpose: checked before consuming
  std::string sealed_identity; // purpose + identifier, encrypted
  std::string sealed_payload;
  std::chrono::milliseconds ttl{0};
  bool one_time = true;        // a consumed token is deleted
  bool revoke_group = false;   // a consumed token revokes every credential of its group
  IssueGate gate;
  int max_active = 0;          // live tokens and links of the group; 0: no cap
  bool refuse_when_full = false;  // else the oldest live one is revoked
  std::string binding_hash;    // keyed hash of the flow binding; empty: not bound
};

struct TokenIssueReply {
  Outcome outcome = Outcome::issued;  // or locked / cooldown / rate_limited (nothing written)
  std::chrono::milliseconds retry_after{0};
  TimePoint expires_at;
};

struct TokenVerifyRequest {
  std::string group;
  std::string token_id;
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;     // empty: any purpose (the engine asks for it explicitly)
  bool consume = true;         // false: peek (never changes anything, ignores bindings)
  // Consume only. Empty: no binding presented (a bound record is not_found, nothing counted).
  // Else a bound record is used only with this binding; another is not_found and counted in
  // `budget` (the identifier's failure budget), and a spent budget answers locked.
  std::string binding_hash;
  GcraLimit budget;
};

// What a write that replaces a second factor left (recovery_set: how many codes the set holds;
// totp_enroll: 1), and how many replicas acknowledged it (-1: not asked, as for a verify).
struct WriteReply {
  int count = 0;
  int replicas_confirmed = -1;
};

// What a verify (OTP or token) found. Sealed fields are returned only on success.
struct VerifyReply {
  Outcome outcome = Outcome::not_found;
  std::chrono::milliseconds retry_after{0};  // locked: until the next guess is allowed
  bool counted_failure = false;              // a wrong guess was counted
  int attempts_remaining = -1;
  TimePoint expires_at;
  int replicas_confirmed = -1;  // with durability on: replicas that acknowledged it; -1: not asked
  std::string sealed_identity;
  std::string sealed_payload;
};

struct InspectReply {
  bool otp_live = false;
  int otp_attempts_remaining = -1;
  TimePoint otp_expires_at;
  int active_tokens = 0;
  RateState rate;
  TimePoint now;  // the store's time when it answered
};

// A new set of recovery codes for the group, replacing any earlier one.
struct RecoverySetRequest {
  std::string group;
  std::vector<SecretHash> codes;  // keyed hashes, each naming the key that made it
  std::chrono::milliseconds ttl{0};
};

// One recovery code tried against the group's set, within the failure budgets.
struct RecoveryUseRequest {
  std::string group;
  SmallVector<SecretHash, 2> candidates;  // the code's hash under each key that may have made the set
  FailureBudget budget;
};

// An authenticator (TOTP) enrollment: replaces any earlier one; its last accepted step starts over.
struct TotpEnrollRequest {
  std::string group;
  std::string sealed_secret;
  long long generation = 0;  // random: tells this enrollment from a later one
  std::chrono::milliseconds ttl{0};
};

// What a TOTP verification needs first (read-only): the sealed secret, the last accepted step
// and the store's time; locked (budget spent) or not_found (no enrollment) carry no secret. The
// store's time and the generation (0: no enrollment) are there whatever the outcome (what a
// two-step enrollment starts from).
struct TotpLoadReply {
  Outcome outcome = Outcome::not_found;  // valid when enrolled
  std::chrono::milliseconds retry_after{0};
  std::string sealed_secret;
  long long last_step = -1;
  long long generation = 0;
  long long now_ms = 0;
};

// The second step: `step` is the time step the code matched (-1: none). Atomically: a spent
// budget is locked; another generation (re-enrolled meanwhile) is not_found; a step later than
// the last accepted one is stored and verified; anything else (no match, a replay) is a wrong
// guess counted in the budgets (invalid, or locked when it spent them).
struct TotpCommitRequest {
  std::string group;
  long long step = -1;
  long long generation = 0;
  FailureBudget budget;
};

// Removes a group's second factors (see Store::second_factors_revoke). What stays of an
// enrollment (or of an earlier removal's record) is a new generation (`tombstone_generation`,
// random, no secret) lasting `tombstone_ttl`: a removed enrollment never reads as another
// generation or as none to a pending two-step enrollment begun before the removal
// (TotpConfirmRequest). Where there was no enrollment record, nothing is written.
struct SecondFactorsRevokeRequest {
  std::string group;
  long long tombstone_generation = 0;
  std::chrono::milliseconds tombstone_ttl{0};
};

// The second step of a two-step enrollment, atomically: a spent budget is locked; one past
// `expires_ms` is not_found; a generation other than the one current when it began
// (`expect_generation`) and other than none (0) — so confirmed already, enrolled again or removed
// since — is not_found; no matching step (a wrong first code) is a wrong
// guess counted in the budgets (invalid, or locked when it spent them); otherwise `sealed_secret`
// becomes the enrollment (generation `generation`, lasting `ttl`) with `step` as its last accepted
// step (the confirming code is never accepted again), replacing any earlier one: verified.
struct TotpConfirmRequest {
  std::string group;
  std::string sealed_secret;
  long long step = -1;
  long long expires_ms = 0;  // the pending enrollment's deadline, store time: at or past it, not_found
  long long expect_generation = 0;
  long long generation = 0;
  std::chrono::milliseconds ttl{0};
  FailureBudget budget;
};

// A per-client-key limit (an IP address, a device id), in its own key group.
struct ClientLimitRequest {
  std::string client;   // keyed hash of the client key
  char bucket = 'i';    // 'i' issues, 'f' failed verifications
  GcraLimit limit;
  bool refund = false;  // give back one event taken earlier (the guess was not a failure)
};

struct ClientLimitReply {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0};
};

// What a key check found (Engine::create on a shared store): the store's key-check record holds
// the tag of the index key its records are named with.
enum class KeyCheck : std::uint8_t {
  matched,   // the same tag: this engine names records as the ones that wrote them
  created,   // there was none; this tag is now the record (create was asked)
  absent,    // there was none, and none was made (create was not asked)
  mismatch,  // another tag: records were written under another index key
};

class Store {
 public:
  virtual ~Store() = default;

  // Each call completes exactly once, on the calling thread or on a store thread; a
  // completion must not block. Every operation is atomic with respect to all others.
  virtual void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) = 0;
  virtual void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) = 0;
  virtual void otp_revoke(const std::string& group, Callback<bool> done) = 0;
  virtual void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) = 0;
  virtual void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) = 0;
  virtual void token_revoke(const std::string& group, const std::string& token_id,
                            Callback<bool> done) = 0;
  // Deletes the OTP and every token and link of the group; completes with how many.
  virtual void revoke_all(const std::string& group, Callback<int> done) = 0;
  virtual void inspect(const std::string& group, Callback<InspectReply> done) = 0;
  // Refills the failure budgets (identifier and every client key of it); true if it was locked.
  // `budget` is the identifier's failure budget (to tell whether it was spent).
  virtual void unlock(const std::string& group, const GcraLimit& budget, Callback<bool> done) = 0;
  virtual void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) = 0;
  // Recovery codes. set: replaces the group's set; completes with how many it holds. use: a
  // right code is removed (verified; attempts_remaining = codes left), a wrong one counted in
  // the budgets (invalid, or locked once spent; a spent budget compares nothing), no set:
  // not_found. count: codes left. A store without them completes with unsupported.
  virtual void recovery_set(const RecoverySetRequest&, Callback<WriteReply> done) { done(no_recovery()); }
  virtual void recovery_use(const RecoveryUseRequest&, Callback<VerifyReply> done) { done(no_recovery()); }
  virtual void recovery_count(const std::string&, Callback<int> done) { done(no_recovery()); }
  // The store's key-check record against `tag` (the engine's key_check_tag); with `create`, an
  // absent record is made with it. A store no other process shares has nothing to check: matched.
  virtual void key_check(const std::string& tag, bool create, Callback<KeyCheck> done) {
    (void)tag;
    (void)create;
    done(KeyCheck::matched);
  }
  // Authenticator codes (TOTP). A store without them completes with unsupported.
  virtual void totp_enroll(const TotpEnrollRequest&, Callback<WriteReply> done) { done(no_totp()); }
  virtual void totp_load(const std::string&, const FailureBudget&, Callback<TotpLoadReply> done) { done(no_totp()); }
  virtual void totp_commit(const TotpCommitRequest&, Callback<VerifyReply> done) { done(no_totp()); }
  virtual void totp_confirm(const TotpConfirmRequest&, Callback<VerifyReply> done) { done(no_totp()); }
  // Removes the group's second factors, its authenticator enrollment and its recovery codes (which
  // revoke_all never touches), leaving of the enrollment the request's tombstone generation;
  // completes with how many: 1 for an enrollment (not for a tombstone), plus each recovery code
  // left. The failure budgets stay as they are. A store without them completes with unsupported.
  virtual void second_factors_revoke(const SecondFactorsRevokeRequest&, Callback<int> done) { done(no_totp()); }

  // Whether records in this store are visible to other processes (then keys must be shared).
  virtual bool shared() const noexcept = 0;
  // Whether a caller waiting now for a completion would wait forever (it is on the thread that
  // runs this store's completions). The engine's synchronous forms refuse to wait then.
  virtual bool waiting_would_deadlock() const noexcept { return false; }
  // Whether every call completes before it returns, on the calling thread (the embedded stores:
  // each operation runs under a lock and completes there). A synchronous caller then waits for
  // nothing: it reads the completion off its own stack, and the engine keeps an operation's
  // state there too (the completion refers to it). A store that says true must never keep a
  // completion, or a copy of one, past the call's return: the engine stops the process if a
  // call returns without completing.
  virtual bool completes_inline() const noexcept { return false; }
  // Ends the store's own threads (I/O, reaper) now, on the calling thread, which must not be one
  // of them: afterwards no thread of the store is running, whoever holds the last reference to
  // it. Calls made after it may fail with store_unavailable. Completions must have run first.
  virtual void stop_threads() noexcept {}

 protected:
  static Error no_totp() { return make_error(Errc::unsupported, "this store does not keep authenticator enrollments"); }
  static Error no_recovery() { return make_error(Errc::unsupported, "this store does not keep recovery codes"); }
};

}  // namespace verikit
