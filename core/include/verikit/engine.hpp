// verikit — the Engine: issue, verify, peek, consume, revoke and inspect OTPs, tokens and
// magic links. Thread-safe; one per process is the usual shape.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "verikit/config.hpp"
#include "verikit/error.hpp"
#include "verikit/result.hpp"
#include "verikit/store.hpp"

namespace verikit {

// Input limits, checked before anything reaches a store.
inline constexpr std::size_t kMaxPurposeBytes = 64;
inline constexpr std::size_t kMaxIdentifierBytes = 512;
inline constexpr std::size_t kMaxPayloadBytes = 8192;
inline constexpr std::size_t kMaxSecretBytes = 512;  // a submitted code or token
inline constexpr std::size_t kMaxUrlBytes = 4096;
inline constexpr std::chrono::seconds kMaxTtl{30L * 24 * 3600};
// Checking a token or link names its purpose; this one accepts a token of any purpose (an
// explicit opt-in; no purpose can be issued under this name).
inline constexpr std::string_view kAnyPurpose = "*";

struct IssueOptions {
  std::string_view payload;       // returned on successful verification; stored encrypted
  std::chrono::seconds ttl{0};    // 0: the purpose's policy
  std::string_view client_key;    // an IP address, a device id: limited across identifiers
  // Flow binding: a value the application keeps with the flow that asked (a random value in the
  // requesting browser's cookie or session). Only a keyed hash is stored; the credential then
  // verifies only when the same value is presented. Empty: not bound.
  std::string_view binding{};
};

struct VerifyOptions {
  std::string_view client_key;    // failed guesses are limited per client key too (OTPs only)
  // The flow's binding value. A bound OTP with another (or no) binding is a wrong guess
  // (invalid, counted); a bound token or link with another binding is not_found and counted in
  // the identifier's failure budget (README: "Flow binding"). Ignored for unbound credentials.
  std::string_view binding{};
};

inline constexpr std::size_t kMaxClientKeyBytes = 256;
inline constexpr std::size_t kMaxBindingBytes = 256;

struct EventCounts {
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
};

namespace detail {
class EngineImpl;
}

class Engine {
 public:
  // Opens the store named by config.store_url ("memory://").
  static Expected<std::shared_ptr<Engine>> create(Config config);
  // Uses the given store; the clock is the store's.
  static Expected<std::shared_ptr<Engine>> create(Config config, std::shared_ptr<Store> store);

  ~Engine();
  // Ends the store's threads now (Store::stop_threads): for an owner that must know no thread of
  // the engine outlives it (the C API's verikit_engine_free, before a dlclose). Call it after the
  // last completion has run, not from a completion; calls after it may fail with store_unavailable.
  void stop_threads() noexcept;
  // Delivers the lifecycle events already queued and ends the event thread (what the destructor
  // does; called from the event handler itself, the queued events are dropped): for an owner
  // whose handler must not run after a point (the C API's verikit_engine_free, before the
  // handler's state goes). No event is delivered after it.
  void stop_events() noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- synchronous: wait for the store's completion ---
  Expected<Result> issue_otp(std::string_view purpose, std::string_view identifier,
                             const IssueOptions& options = {});
  Expected<Result> verify_otp(std::string_view purpose, std::string_view identifier,
                              std::string_view code, const VerifyOptions& options = {});
  Expected<bool> revoke_otp(std::string_view purpose, std::string_view identifier);

  Expected<Result> issue_token(std::string_view purpose, std::string_view identifier,
                               const IssueOptions& options = {});
  // `purpose` is required: a token of another purpose is not_found; kAnyPurpose ("*") accepts
  // a token of any purpose (the result names it); empty is an invalid_argument error.
  Expected<Result> verify_token(std::string_view token, std::string_view purpose);
  // With a flow binding (options.binding; options.client_key must be empty for tokens); a
  // binding needs the token's own purpose (kAnyPurpose is an invalid_argument error then).
  Expected<Result> verify_token(std::string_view token, std::string_view purpose, const VerifyOptions& options);
  Expected<Result> peek_token(std::string_view token, std::string_view purpose);
  Expected<bool> revoke_token(std::string_view token);

  Expected<Result> issue_link(std::string_view purpose, std::string_view identifier,
                              std::string_view base_url, const IssueOptions& options = {});
  Expected<Result> peek_link(std::string_view token, std::string_view purpose);
  Expected<Result> consume_link(std::string_view token, std::string_view purpose);
  Expected<Result> consume_link(std::string_view token, std::string_view purpose, const VerifyOptions& options);
  Expected<bool> revoke_link(std::string_view token);

  // Revokes the OTP and every token and link of (purpose, identifier); returns how many.
  Expected<int> revoke_all(std::string_view purpose, std::string_view identifier);
  Expected<Result> inspect(std::string_view purpose, std::string_view identifier);
  // Ends a lockout (for support staff); true if the identifier was locked.
  Expected<bool> unlock(std::string_view purpose, std::string_view identifier);

  // Recovery codes (README: "Recovery codes"). generate: a new set of the policy's
  // recovery_codes single-use codes (Result::codes, "XXXXX-XXXXX"; show them once: only keyed
  // hashes are stored), replacing any earlier set; outcome issued. use: verified (the code is
  // spent), invalid (a wrong code: counted in the identifier's failure budget, shared with OTPs),
  // locked (the budget is spent: nothing compared) or not_found (no set); a code that cannot be
  // one (length, alphabet) is an invalid_argument error. remaining: codes left.
  Expected<Result> generate_recovery_codes(std::string_view purpose, std::string_view identifier);
  Expected<Result> use_recovery_code(std::string_view purpose, std::string_view identifier, std::string_view code,
                                     const VerifyOptions& options = {});
  Expected<int> recovery_codes_remaining(std::string_view purpose, std::string_view identifier);

  // Authenticator codes (TOTP, RFC 6238 over HOTP, RFC 4226, HMAC-SHA-1; README "Authenticator
  // codes"). enroll: a new 160-bit secret from libsodium, sealed at rest, replacing any earlier
  // enrollment; the result's secret is its base32 and its url the otpauth:// provisioning URI
  // (`issuer`: 1-64 printable bytes, no ':'). verify: verified (the code of a time step within
  // the policy's totp_window of now, later than the last accepted step, which it becomes: a code
  // is never accepted twice, even concurrently), invalid (a wrong code or a replay, counted in
  // the identifier's failure budget shared with OTPs), locked, not_found (not enrolled).
  Expected<Result> enroll_totp(std::string_view purpose, std::string_view identifier, std::string_view issuer);
  Expected<Result> verify_totp(std::string_view purpose, std::string_view identifier, std::string_view code,
                               const VerifyOptions& options = {});
  // A two-step enrollment (README "Authenticator codes"): begin makes a new secret and stores
  // nothing: issued, with the secret's base32, its otpauth:// URI and `pending` (opaque text
  // holding the sealed secret, bound to this purpose and identifier, the enrollment current now
  // and the policy's totp_confirm_ttl; keep it server-side, in the user's session) to hand to
  // confirm with the first code the authenticator app shows. confirm: verified (the new secret
  // replaced the enrollment current at begin, and that code's step is its last accepted one),
  // invalid (a wrong code, counted in the identifier's failure budget), locked (nothing compared),
  // not_found (the pending enrollment expired, was confirmed already, the enrollment changed
  // since it began, or it is not one of this engine's for this purpose and identifier).
  Expected<Result> begin_totp_enrollment(std::string_view purpose, std::string_view identifier,
                                         std::string_view issuer);
  Expected<Result> confirm_totp_enrollment(std::string_view purpose, std::string_view identifier,
                                           std::string_view pending, std::string_view code,
                                           const VerifyOptions& options = {});
  // Removes the second factors of (purpose, identifier), its authenticator enrollment and its
  // recovery codes (for a user who turns them off, or support staff after proving who asks);
  // returns how many: 1 for an enrollment, plus each recovery code left. revoke_all never touches
  // them (a consumed credential with revoke_all_on_use must not strip them); the failure budgets stay.
  // A two-step enrollment begun before it is not_found at confirm (the removal leaves a record of
  // the enrollment's new generation, without a secret, for a day).
  Expected<int> revoke_second_factors(std::string_view purpose, std::string_view identifier);

  // --- asynchronous: `done` runs exactly once, on the calling thread (embedded store) or on
  // a store thread; arguments are copied before the call returns; bad arguments complete
  // `done` with an invalid_argument error, never an exception. Each synchronous form above
  // is its asynchronous form waited for. One exception to "exactly once": when memory runs out
  // on a store's thread while the answer is made, the completion is dropped there (destroyed,
  // not called); a caller that must hear back keeps a guard in `done` whose destructor answers
  // (the synchronous forms and the C API do: they answer with an internal error). ---
  void issue_otp(std::string_view purpose, std::string_view identifier,
                 const IssueOptions& options, Callback<Result> done);
  void verify_otp(std::string_view purpose, std::string_view identifier, std::string_view code,
                  const VerifyOptions& options, Callback<Result> done);
  void issue_token(std::string_view purpose, std::string_view identifier,
                   const IssueOptions& options, Callback<Result> done);
  void verify_token(std::string_view token, std::string_view purpose, Callback<Result> done);
  void verify_token(std::string_view token, std::string_view purpose, const VerifyOptions& options,
                    Callback<Result> done);
  void peek_token(std::string_view token, std::string_view purpose, Callback<Result> done);
  void issue_link(std::string_view purpose, std::string_view identifier,
                  std::string_view base_url, const IssueOptions& options, Callback<Result> done);
  void peek_link(std::string_view token, std::string_view purpose, Callback<Result> done);
  void consume_link(std::string_view token, std::string_view purpose, Callback<Result> done);
  void consume_link(std::string_view token, std::string_view purpose, const VerifyOptions& options,
                    Callback<Result> done);
  // `done` gets true if a live credential was revoked (a malformed token: false).
  void revoke_otp(std::string_view purpose, std::string_view identifier, Callback<bool> done);
  void revoke_token(std::string_view token, Callback<bool> done);
  void revoke_link(std::string_view token, Callback<bool> done);
  // `done` gets how many credentials were revoked.
  void revoke_all(std::string_view purpose, std::string_view identifier, Callback<int> done);
  void inspect(std::string_view purpose, std::string_view identifier, Callback<Result> done);
  // `done` gets true if the identifier was locked.
  void unlock(std::string_view purpose, std::string_view identifier, Callback<bool> done);
  void generate_recovery_codes(std::string_view purpose, std::string_view identifier, Callback<Result> done);
  void use_recovery_code(std::string_view purpose, std::string_view identifier, std::string_view code,
                         const VerifyOptions& options, Callback<Result> done);
  void recovery_codes_remaining(std::string_view purpose, std::string_view identifier, Callback<int> done);
  void enroll_totp(std::string_view purpose, std::string_view identifier, std::string_view issuer,
                   Callback<Result> done);
  void verify_totp(std::string_view purpose, std::string_view identifier, std::string_view code,
                   const VerifyOptions& options, Callback<Result> done);
  void begin_totp_enrollment(std::string_view purpose, std::string_view identifier, std::string_view issuer,
                             Callback<Result> done);
  void confirm_totp_enrollment(std::string_view purpose, std::string_view identifier, std::string_view pending,
                               std::string_view code, const VerifyOptions& options, Callback<Result> done);
  // `done` gets how many second factors were removed.
  void revoke_second_factors(std::string_view purpose, std::string_view identifier, Callback<int> done);

  const Config& config() const noexcept;

  // Counters of this engine in the Prometheus text exposition format (version 0.0.4): operations
  // by kind and outcome, errors by kind and code, latency histograms; serve it on /metrics.
  std::string metrics() const;
  // Lifecycle events handed to Config::on_event, and dropped (queue full, engine closing).
  EventCounts event_counts() const noexcept;

 private:
  explicit Engine(std::shared_ptr<detail::EngineImpl> impl);
  std::shared_ptr<detail::EngineImpl> impl_;  // shared with operations in flight
};

}  // namespace verikit
