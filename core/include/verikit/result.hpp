// verikit — outcomes of engine operations (results, not exceptions).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "verikit/clock.hpp"
#include "verikit/secret.hpp"

namespace verikit {

// One-to-one with verikit_status in the C API; values are pinned forever.
enum class Outcome : int {
  verified = 0,            // verify/consume: the secret was right (and consumed if one-time)
  valid = 1,               // peek: the credential is live; nothing was consumed
  issued = 2,              // issue: a credential was created (or re-sent)
  invalid = 3,             // wrong secret; attempts remain
  not_found = 4,           // never issued, expired, used, revoked or malformed: one status
  attempts_exhausted = 5,  // wrong secret and no attempts left: the credential is dead
  locked = 6,              // the identifier is locked out
  rate_limited = 7,        // too many requests; see retry_after
  cooldown = 8,            // re-issue too soon; see retry_after
};

const char* to_string(Outcome outcome) noexcept;
// A success (verified, valid, issued): the `ok` column of the schema's statuses().
bool is_ok(Outcome outcome) noexcept;

// Inspect: every abuse-control counter of a (purpose, identifier) and when it resets.
struct Counters {
  int failures = 0;                           // wrong guesses the failure budget still holds against
                                              // the identifier (they are forgiven one per interval)
  std::optional<TimePoint> failures_reset_at; // when all are forgiven
  std::optional<TimePoint> locked_until;      // the budget is spent: the next guess is allowed then
  int guesses_available = -1;                 // wrong guesses the budget allows now; -1: no budget
  std::optional<TimePoint> cooldown_until;
  int sends_available = -1;                   // issues allowed now by the send limit; -1: no limit
  std::optional<TimePoint> send_limit_reset_at;  // when the full burst is available again
};

struct Result {
  Outcome outcome = Outcome::not_found;
  Secret secret;                         // issue: the OTP code or the token to deliver
  std::string url;                       // link issue: the magic link
  std::optional<TimePoint> expires_at;   // when the credential expires
  int attempts_remaining = -1;           // OTPs: guesses left; -1 where it does not apply
  std::chrono::milliseconds retry_after{0};
  std::string purpose;                   // verify/peek of tokens and links; OTP verify
  std::string identifier;                // normalised identifier the credential was issued to
  Secret payload;                        // bytes given at issue, returned on success
  bool reused = false;                   // OTP issue (resend_same): the live code was re-sent
  int replicas_confirmed = -1;           // verify/consume with durability on (Redis wait_replicas):
                                         // replicas that acknowledged it; -1: not asked
  int active_tokens = -1;                // inspect: live tokens and links of the identifier
  std::optional<Counters> counters;      // inspect only
  std::vector<Secret> codes;             // generate_recovery_codes: the new set, to show once
  Secret pending;                        // begin_totp_enrollment: the pending enrollment (opaque
                                         // text) to keep until confirm_totp_enrollment

  bool ok() const noexcept { return is_ok(outcome); }
};

}  // namespace verikit
