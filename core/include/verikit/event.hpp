// verikit — lifecycle events: one record per operation that changed or refused something,
// handed to a handler on the engine's event thread (never on the operation's own path).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "verikit/clock.hpp"

namespace verikit {

// What the event is about. One-to-one with verikit_credential in the C API; pinned forever.
enum class Credential : int {
  otp = 0,
  token = 1,
  link = 2,
  all = 3,  // revoke_all: every credential of a (purpose, identifier)
  second_factors = 4,  // revoke_second_factors: the authenticator enrollment and recovery codes
  recovery_code = 5,   // generate_recovery_codes (issued: a new set), use_recovery_code
  totp = 6,            // enroll_totp and a confirmed two-step enrollment (issued), verify_totp
};

// What happened. One-to-one with verikit_event_kind in the C API; pinned forever.
enum class EventKind : int {
  issued = 0,              // issue: created (or the live code re-sent); an authenticator enrolled
  verified = 1,            // verify/consume: right secret
  invalid = 2,             // OTP verify: wrong code, attempts remain
  not_found = 3,           // verify/consume: nothing live matched (never issued, expired, used, ...)
  attempts_exhausted = 4,  // OTP verify: wrong code and the credential is now dead
  locked = 5,              // issue or verify refused: the identifier's failure budget is spent
  rate_limited = 6,        // issue or verify refused by a rate limit or the active cap
  cooldown = 7,            // issue refused: too soon after the last one
  revoked = 8,             // revoke, revoke_all: at least one live credential was revoked
  unlocked = 9,            // unlock: a locked identifier was unlocked
};

const char* to_string(Credential credential) noexcept;
const char* to_string(EventKind kind) noexcept;
// "otp.verified", "link.issued", "all.revoked", ...: credential + "." + kind (a static string).
const char* event_name(Credential credential, EventKind kind) noexcept;

// One event. It never holds a code, a token or a link; the identifier itself only when
// Config::events_include_identifier is set. Tags are hex keyed hashes (SipHash-2-4-128 under a subkey
// of the index key): the same input gives the same tag for the life of the index key, across
// purposes, processes and key rotations, so an operator can correlate without seeing it.
struct Event {
  Credential credential = Credential::otp;
  EventKind kind = EventKind::issued;
  int status = -1;               // the operation's Outcome as an int; -1 for revoke and unlock
  std::string purpose;           // empty when unknown (a token that named no live record, checked with "*")
  std::string identifier_tag;    // 32 hex digits; empty when unknown (token revoke, token not found)
  std::string identifier;        // the normalised identifier, only with events_include_identifier
  std::string client_tag;        // 32 hex digits of the client key; empty when none was given
  int attempts_used = -1;        // OTPs: wrong guesses this code has taken; -1 where unknown
  int attempts_remaining = -1;   // OTPs: wrong guesses it still survives; -1 where unknown
  std::chrono::milliseconds retry_after{0};  // rate_limited, cooldown, locked: wait this long
  int count = -1;                // revoked: credentials revoked; -1 otherwise
  TimePoint at;                  // the host's wall clock when the outcome was known

  const char* name() const noexcept { return event_name(credential, kind); }
};

// Called on the engine's one event thread, one event at a time, in the order the outcomes were
// known. The event is valid during the call only. An exception it throws is swallowed.
using EventHandler = std::function<void(const Event&)>;

inline constexpr std::size_t kDefaultEventQueueCapacity = 4096;
inline constexpr std::size_t kMaxEventQueueCapacity = std::size_t{1} << 20;

}  // namespace verikit
