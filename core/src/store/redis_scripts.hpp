// verikit — the Lua scripts of the Redis store, one per operation.
//
// Keys of one (purpose, identifier) group share the hash tag {<group tag>}:
//   <prefix>:{g}:o  OTP, a hash: h (key id + secret hash), a (attempts left), f (flags),
//                   c (sealed code, resend_same only), ph (keyed payload hash, resend_same
//                   only), p (sealed payload); expiry = key TTL
//   <prefix>:{g}:t  tokens and links, a hash: token id -> cmsgpack {kind, purpose tag, flags,
//                   expires ms, sealed identity, sealed payload}; key TTL = latest expiry,
//                   expired fields are dropped by the scripts that touch the hash
//   <prefix>:{g}:r  abuse-control state, a hash: cd (cooldown until), tat (send-limit GCRA),
//                   ft (failure-budget GCRA); key TTL = the latest of these
//   <prefix>:{g}:p  failure budget per client key of the group, a hash: client tag -> GCRA
//                   tat; key TTL = the latest
// A client key has its own slot: <prefix>:{c:<client tag>}:c, a hash: i / f (GCRA of issues
// and of failed verifications). The rules mirror core/src/store/limits.cpp.
// Flags: bit 0 one-time use, bit 1 revoke the whole group on use.
// Status numbers are verikit's Outcome values. Time is redis.call('TIME').
// Every script starts with a `#!lua` line whose flags let Redis decide before it runs: scripts
// that may grow memory are refused whole under OOM (a guess is counted or refused, never free);
// scripts that only delete carry allow-oom; inspect carries no-writes.
#pragma once

#include <string>
#include <string_view>

namespace verikit::detail::scripts {

struct Script {
  std::string_view name;
  std::string body;
};

// Gate ARGV (issues): cooldown ms, send interval ms (0: off), send burst, lock blocks issue (1/0),
// failure-budget interval ms (0: off), failure-budget burst.
extern const Script otp_issue;     // KEYS o, r;    ARGV h, sealed code, sealed payload, ttl ms, max attempts, resend_same, flags, payload hash, gate...
extern const Script otp_verify;    // KEYS o, t, r, p; ARGV budget interval, burst, pair interval, burst, client tag or "", candidate h...
extern const Script otp_revoke;    // KEYS o
extern const Script token_issue;   // KEYS t, r;    ARGV id, kind, purpose tag, flags, ttl ms, identity, payload, gate..., max active, refuse (1/0)
extern const Script token_verify;  // KEYS t, o;    ARGV id, kind, purpose tag or "", consume (1/0)
extern const Script token_revoke;  // KEYS t;       ARGV id
extern const Script revoke_all;    // KEYS o, t
extern const Script inspect;       // KEYS o, t, r
extern const Script unlock;        // KEYS r, p;    ARGV budget interval ms, burst
extern const Script client_limit;  // KEYS c;       ARGV bucket (i/f), interval ms, burst, refund (1/0)

}  // namespace verikit::detail::scripts
