// verikit — the Lua scripts of the Redis store, one per operation.
//
// Keys of one (purpose, identifier) group share the hash tag {<group tag>}:
//   <prefix>:{g}:o  OTP, a hash: h (key id + secret hash), a (attempts left), f (flags),
//                   c (sealed code, resend_same only), p (sealed payload); expiry = key TTL
//   <prefix>:{g}:t  tokens and links, a hash: token id -> cmsgpack {kind, purpose tag, flags,
//                   expires ms, sealed identity, sealed payload}; key TTL = latest expiry,
//                   expired fields are dropped by the scripts that touch the hash
//   <prefix>:{g}:r  abuse-control state, a hash: cd (cooldown until), tat (send-limit GCRA),
//                   f/fw (failures, window end), lk (locked until), lv/lvx (lockout level, its
//                   end); key TTL = the latest of these
// A client key has its own slot: <prefix>:{c:<client tag>}:c, a hash: i / f (GCRA of issues
// and of failed verifications). The rules mirror core/src/store/limits.cpp.
// Flags: bit 0 one-time use, bit 1 revoke the whole group on use.
// Status numbers are verikit's Outcome values. Time is redis.call('TIME').
#pragma once

#include <string>
#include <string_view>

namespace verikit::detail::scripts {

struct Script {
  std::string_view name;
  std::string body;
};

// Gate ARGV (issues): cooldown ms, send interval ms (0: off), send burst, lock blocks issue (1/0).
// Lockout ARGV: failures (0: off), window, duration, max, decay (ms).
extern const Script otp_issue;     // KEYS o, r;    ARGV h, sealed code, sealed payload, ttl ms, max attempts, resend_same, flags, gate...
extern const Script otp_verify;    // KEYS o, t, r; ARGV lockout..., candidate h...
extern const Script otp_revoke;    // KEYS o
extern const Script token_issue;   // KEYS t, r;    ARGV id, kind, purpose tag, flags, ttl ms, identity, payload, gate..., max active, refuse (1/0)
extern const Script token_verify;  // KEYS t, o;    ARGV id, kind, purpose tag or "", consume (1/0)
extern const Script token_revoke;  // KEYS t;       ARGV id
extern const Script revoke_all;    // KEYS o, t
extern const Script inspect;       // KEYS o, t, r
extern const Script unlock;        // KEYS r
extern const Script client_limit;  // KEYS c;       ARGV bucket (i/f), interval ms, burst, refund (1/0)

}  // namespace verikit::detail::scripts
