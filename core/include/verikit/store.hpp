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

namespace verikit {

template <class T>
using Callback = std::function<void(Expected<T>)>;

enum class TokenKind : std::uint8_t { token = 1, link = 2 };

// A keyed hash of a secret under one key of the key set; a verify request carries one per
// key that may have made the record, and the store compares the one the record names.
struct SecretHash {
  std::uint8_t key_id = 0;
  std::string hash;
};

struct OtpIssueRequest {
  std::string group;          // key-group tag
  std::uint8_t key_id = 0;    // key that made secret_hash
  std::string secret_hash;
  std::string sealed_code;    // the code, encrypted (resend_same only; else empty)
  std::string sealed_payload; // may be empty
  std::chrono::milliseconds ttl{0};
  int max_attempts = 0;
  bool resend_same = false;   // keep a live code that has sealed_code instead of replacing it
  bool one_time = true;       // a verified code is consumed
  bool revoke_group = false;  // a verified code revokes every credential of its group
};

struct OtpIssueReply {
  bool reused = false;        // the live code was kept; sealed_code holds it
  std::string sealed_code;
  TimePoint expires_at;
  int attempts_remaining = 0;
};

struct OtpVerifyRequest {
  std::string group;
  std::vector<SecretHash> candidates;
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
};

struct TokenIssueReply {
  TimePoint expires_at;
};

struct TokenVerifyRequest {
  std::string group;
  std::string token_id;
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;     // empty: any purpose
  bool consume = true;         // false: peek (never changes anything)
};

// What a verify (OTP or token) found. Sealed fields are returned only on success.
struct VerifyReply {
  Outcome outcome = Outcome::not_found;
  int attempts_remaining = -1;
  TimePoint expires_at;
  std::string sealed_identity;
  std::string sealed_payload;
};

struct InspectReply {
  bool otp_live = false;
  int otp_attempts_remaining = -1;
  TimePoint otp_expires_at;
  int active_tokens = 0;
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

  // Whether records in this store are visible to other processes (then keys must be shared).
  virtual bool shared() const noexcept = 0;
};

}  // namespace verikit
