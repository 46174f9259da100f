// verikit — the Lua scripts of the Redis store, one per operation.
//
// Keys of one (purpose, identifier) group share the hash tag {<group tag>}:
//   <prefix>:{g}:o  OTP, a hash: h (key id + secret hash), a (attempts left), f (flags),
//                   c (sealed code, resend_same only), p (sealed payload); expiry = key TTL
//   <prefix>:{g}:t  tokens and links, a hash: token id -> cmsgpack {kind, purpose tag, flags,
//                   expires ms, sealed identity, sealed payload}; key TTL = latest expiry,
//                   expired fields are dropped by the scripts that touch the hash
// Flags: bit 0 one-time use, bit 1 revoke the whole group on use.
// Status numbers are verikit's Outcome values. Time is redis.call('TIME').
#pragma once

#include <string_view>

namespace verikit::detail::scripts {

struct Script {
  std::string_view name;
  std::string_view body;
};

extern const Script otp_issue;     // KEYS o;    ARGV h, sealed code, sealed payload, ttl ms, max attempts, resend_same, flags
extern const Script otp_verify;    // KEYS o, t; ARGV candidate h...
extern const Script otp_revoke;    // KEYS o
extern const Script token_issue;   // KEYS t;    ARGV id, kind, purpose tag, flags, ttl ms, identity, payload
extern const Script token_verify;  // KEYS t, o; ARGV id, kind, purpose tag or "", consume (1/0)
extern const Script token_revoke;  // KEYS t;    ARGV id
extern const Script revoke_all;    // KEYS o, t
extern const Script inspect;       // KEYS o, t

}  // namespace verikit::detail::scripts
