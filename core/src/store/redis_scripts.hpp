// verikit — the Lua scripts of the Redis store, one per operation: each script's source is
// core/src/store/lua/<name>.lua (embedded at build time), and its descriptor here says, once,
// what the store and the script agree on: flags, keys, arguments in ARGV order, reply.
//
// Keys: a script's KEYS[i] is `<prefix>:{<group tag>}:<keys[i-1]>`. All keys of one
// (purpose, identifier) group share the hash tag, so every script touches one slot:
//   g  the group's state, one string (a verify reads it with one GET), packed as struct's
//      '<BBc0BBddddBc0Bc0Bc0I2c0' (lua/prelude.lua REC: g_read, g_write): a layout tag (1), the
//      OTP — h (key id + secret hash, '' for none), a (attempts left), f (flags), x (expiry,
//      ms) — and the abuse-control state — cd (cooldown until), tat (send-limit GCRA), ft
//      (failure-budget GCRA) — then ph (keyed payload hash, resend_same only), b (keyed hash of
//      the flow binding, bound codes only), c (sealed code, resend_same only), p (sealed
//      payload), each '' when unset. A part past its deadline (x; the value of cd, tat, ft)
//      counts as absent; key TTL = the latest deadline (at least the latest live one). A wrong
//      guess and a used code patch it in place (SETRANGE: a and ft; x = 0). 0.3 kept it as a
//      hash of those fields: such a record is read as it is and replaced at its next write.
//      The record's sizes (kRecord* below): h, ph, b and c up to 255 bytes each, p up to 65,535,
//      attempts 1..255 (struct would cut a longer one short, or wrap a larger number, silently:
//      the store refuses them first)
//   t  tokens and links, a hash: token id -> cmsgpack {kind, purpose tag, flags, expires ms,
//      sealed identity, sealed payload, binding hash ('' or absent: not bound)}; key TTL = latest expiry, expired fields are dropped
//      by the scripts that touch the hash
//   p  failure budget per client key of the group, a hash: client tag -> GCRA tat; key TTL =
//      the latest
//   k  recovery codes, a set of key id byte + keyed hash of each code left; key TTL = the set's
//      lifetime
//   a  an authenticator (TOTP) enrollment, a hash: s (sealed secret), g (generation), l (last
//      accepted time step, -1: none); key TTL = the enrollment's lifetime
//   c  a client key's limits, in the group `c:<client tag>` (its own slot), a hash: i / f
//      (GCRA of issues and of failed verifications)
//   v  the prefix's key-check record, in the group `key-check` (no group tag is 9 characters), a
//      string: the tag of the index key the prefix's records are named with; key TTL 5 years,
//      renewed at each engine start
// Flags (record field f, token record [3]): bit 0 one-time use, bit 1 revoke the group on use.
// Times are ms since the epoch, from redis.call('TIME'). The rules mirror core/src/store/limits.cpp.
//
// Packed arguments: the hot scripts (otp_issue, otp_verify, token_issue) take their arguments
// packed into one, "packed": first each of the descriptor's `numbers`, in order, as an IEEE 754
// double, 8 bytes little-endian (every value is an integer within 2^53: exact, and a Lua number
// is a double anyway; a double decodes the same on a 32-bit server, where struct's 8-byte integers
// would not), then each of its `strings`, in order, as its length in 4 bytes little-endian and
// its bytes (struct's 'I4c0'), read by one `local <the numbers' and strings' names> =
// struct.unpack('<dd...I4c0...', ARGV[n])` after now_ms() (which binds `struct` when the script
// runs by EVAL). Each argument, and each `ARGV[i] + 0`, costs Redis instructions (`bash
// scripts/redis_parts.sh`: otp_issue's 15 arguments with 10 numbers converted, about 31,000 per
// call; the same with the numbers packed, about 21,500); an argument passed as its own string
// about 1,100 more than the same bytes unpacked from "packed" (Redis makes it an object, then a
// Lua string in a table that grows as it fills; README, "Fewer arguments per script call"). The
// other scripts are not hot enough to be worth it.
//
// Packed replies: the hot scripts (otp_issue, otp_verify, token_issue) return their reply's
// fields as one string instead of a table, `return struct.pack('<...', ...)` with the format
// reply_format() makes of the descriptor: in order, each 'o' and 'i' an IEEE 754 double, 8 bytes
// little-endian (every value is an integer within 2^53), each 's' its length in 4 bytes
// little-endian, then its bytes (struct's 'I4c0': the script passes the length, then the
// string). The store reads it back into the fields the descriptor names, all of them always
// there, and refuses anything else (a length past the end, bytes after the last field, a number
// that is not an integer). A table costs Redis about 3,700 instructions plus 650 per element to
// turn into a reply; the string, packed, about 3,300 for six (`bash scripts/redis_parts.sh`:
// reply6, reply6p).
//
// Script text as Redis runs it: the `#!lua` flags line (Redis decides before a script runs:
// one that may grow memory is refused whole under OOM, so a guess is counted or refused, never
// free; scripts that only remove state carry allow-oom: they delete, or write the group's record
// again without what they remove; inspect carries no-writes), then, when
// `prelude` is set, the outcome constants (`local VERIFIED, ... = 0, ...`, generated from
// verikit::Outcome: the enum is their one source) and lua/prelude.lua, then the script.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace verikit::detail::scripts {

// The group record's limits (its length prefixes and attempts byte; see g above).
inline constexpr std::size_t kRecordShortBytes = 255;     // h, ph, b, c
inline constexpr std::size_t kRecordPayloadBytes = 65535; // p
inline constexpr int kRecordMaxAttempts = 255;

// One element of a script's array reply: 'o' an Outcome value, 'i' an integer, 's' a string.
struct Field {
  std::string_view name;
  char type;
};

struct Script {
  std::size_t id = 0;                          // index in kAll
  std::string_view name;                       // lua/<name>.lua
  std::string_view flags;                      // `#!lua flags=<flags>`; empty: a bare `#!lua`
  bool prelude = true;                         // outcome constants + lua/prelude.lua first
  std::string_view keys;                       // KEYS[i]: the key suffix keys[i-1]
  std::span<const std::string_view> args = {}; // ARGV[i]: args[i-1]
  std::span<const std::string_view> numbers = {}; // packed into the argument "packed" (above)
  std::span<const std::string_view> strings = {}; // packed into "packed" after the numbers
  bool more_args = false;                      // further ARGV after these (otp_verify: candidates)
  std::span<const Field> reply = {};           // array reply; empty: a single integer
  std::size_t reply_always = 0;                // elements always present (the rest: see the comment)
  bool packed_reply = false;                   // the reply's fields packed into one string (below)

  // Position in `args` of an argument, at compile time (a misspelt name does not compile).
  consteval std::size_t arg(std::string_view n) const {
    for (std::size_t i = 0; i < args.size(); ++i)
      if (args[i] == n) return i;
    throw "no such argument";
  }
  // Position in `numbers` of a number, at compile time.
  consteval std::size_t number(std::string_view n) const {
    for (std::size_t i = 0; i < numbers.size(); ++i)
      if (numbers[i] == n) return i;
    throw "no such number";
  }
  // Position in `strings` of a packed string, at compile time; strings.size() when it is not one.
  consteval std::size_t packed_string(std::string_view n) const {
    for (std::size_t i = 0; i < strings.size(); ++i)
      if (strings[i] == n) return i;
    return strings.size();
  }
  // Position of a reply element, at compile time.
  consteval std::size_t at(std::string_view n) const {
    for (std::size_t i = 0; i < reply.size(); ++i)
      if (reply[i].name == n) return i;
    throw "no such reply element";
  }
};

// The six numbers of an issue's gate, in this order (the scripts make them the table g of
// lua/prelude.lua check_gate).
#define VERIKIT_GATE_NUMBERS                                                                      \
  "gate_cooldown_ms", "gate_send_interval_ms", "gate_send_burst", "gate_lock_blocks_issue" /* 1/0 */, \
      "gate_failure_interval_ms", "gate_failure_burst"

// A new OTP for the group, or the live one again (resend_same), behind the gate.
inline constexpr std::string_view otp_issue_args[] = {"packed"};
inline constexpr std::string_view otp_issue_numbers[] = {
    "ttl_ms", "max_attempts",
    "resend_same",  // 1/0
    "flags",        // one-time / revoke-group bits
    VERIKIT_GATE_NUMBERS};
inline constexpr std::string_view otp_issue_strings[] = {
    "code_hash",       // key id byte + keyed hash of the code
    "sealed_code",     // resend_same only, else ""
    "sealed_payload",  // may be ""
    "payload_hash",    // resend_same: keyed hash of the payload, else ""
    "binding"};        // keyed hash of the flow binding, "" for none
inline constexpr Field otp_issue_reply[] = {
    {"status", 'o'}, {"reused", 'i'}, {"sealed_code", 's'}, {"expires", 'i'}, {"attempts", 'i'}, {"retry_ms", 'i'}};
inline constexpr Script otp_issue{.id = 0, .name = "otp_issue", .flags = "", .keys = "g", .args = otp_issue_args,
                                  .numbers = otp_issue_numbers, .strings = otp_issue_strings,
                                  .reply = otp_issue_reply, .reply_always = 6, .packed_reply = true};

// A guess against the group's OTP, within the failure budgets (a wrong one is counted).
inline constexpr std::string_view otp_verify_args[] = {"packed"};  // the candidate hashes follow
inline constexpr std::string_view otp_verify_numbers[] = {
    "budget_interval_ms", "budget_burst",  // the identifier's failure budget (interval 0: off)
    "pair_interval_ms",   "pair_burst"};   // the (identifier, client key) one
inline constexpr std::string_view otp_verify_strings[] = {
    "client",    // client tag, "" for none
    "binding"};  // presented binding's hash, ""
inline constexpr Field otp_verify_reply[] = {
    {"status", 'o'}, {"attempts", 'i'}, {"expires", 'i'}, {"payload", 's'}, {"retry_ms", 'i'}, {"counted", 'i'}};
inline constexpr Script otp_verify{.id = 1, .name = "otp_verify", .flags = "", .keys = "gtp", .args = otp_verify_args,
                                   .numbers = otp_verify_numbers, .strings = otp_verify_strings, .more_args = true,
                                   .reply = otp_verify_reply, .reply_always = 6, .packed_reply = true};

// Deletes the group's OTP. Reply: 1 if it was live, else 0.
inline constexpr Script otp_revoke{.id = 2, .name = "otp_revoke", .flags = "allow-oom", .keys = "g"};

// A new token or link in the group's t hash, behind the gate and the cap on live ones.
inline constexpr std::string_view token_issue_args[] = {"packed"};
inline constexpr std::string_view token_issue_numbers[] = {
    "kind", "flags", "ttl_ms", VERIKIT_GATE_NUMBERS,
    "max_active",  // live tokens and links of the group; 0: no cap
    "refuse"};     // 1: refuse when full; 0: revoke the oldest
inline constexpr std::string_view token_issue_strings[] = {
    "id",  // keyed hash of the token's secret: its field in the t hash
    "purpose_tag", "sealed_identity", "sealed_payload",
    "binding"};    // keyed hash of the flow binding, "" for none
inline constexpr Field token_issue_reply[] = {{"status", 'o'}, {"expires", 'i'}, {"retry_ms", 'i'}};
inline constexpr Script token_issue{.id = 3, .name = "token_issue", .flags = "", .keys = "tg", .args = token_issue_args,
                                    .numbers = token_issue_numbers, .strings = token_issue_strings,
                                    .reply = token_issue_reply, .reply_always = 3, .packed_reply = true};

// Checks (consume: and uses) a token or link. Reply: only {status} when it is not_found.
inline constexpr std::string_view token_verify_args[] = {"id", "kind", "purpose_tag" /* "": any */,
                                                         "consume" /* 1/0 (0: peek) */};
inline constexpr Field token_verify_reply[] = {
    {"status", 'o'}, {"expires", 'i'}, {"sealed_identity", 's'}, {"sealed_payload", 's'}};
inline constexpr Script token_verify{.id = 4, .name = "token_verify", .flags = "allow-oom", .keys = "tg",
                                     .args = token_verify_args, .reply = token_verify_reply, .reply_always = 1};

// Deletes one token or link. Reply: 1 if it was live, else 0.
inline constexpr std::string_view token_revoke_args[] = {"id"};
inline constexpr Script token_revoke{.id = 5, .name = "token_revoke", .flags = "allow-oom", .keys = "t",
                                     .args = token_revoke_args};

// Deletes the group's OTP and every token and link. Reply: how many were live.
inline constexpr Script revoke_all{.id = 6, .name = "revoke_all", .flags = "allow-oom", .keys = "gt"};

// The group's state, read-only (times in ms; cd, tat, ft: the group record's, 0 when unset).
inline constexpr Field inspect_reply[] = {{"otp_live", 'i'},    {"attempts", 'i'}, {"otp_expires", 'i'},
                                          {"live_tokens", 'i'}, {"now", 'i'},      {"cd", 'i'},
                                          {"tat", 'i'},         {"ft", 'i'}};
inline constexpr Script inspect{.id = 7, .name = "inspect", .flags = "no-writes", .keys = "gt",
                                .reply = inspect_reply, .reply_always = 8};

// Refills the identifier's failure budget and every client key's of it. Reply: 1 if the
// identifier's was spent, else 0.
inline constexpr std::string_view unlock_args[] = {"budget_interval_ms", "budget_burst"};
inline constexpr Script unlock{.id = 8, .name = "unlock", .flags = "allow-oom", .keys = "gp", .args = unlock_args};

// One event against (or one refund to) a client key's GCRA limit, in the group c:<client tag>.
inline constexpr std::string_view client_limit_args[] = {"bucket" /* i issues, f failures */, "interval_ms", "burst",
                                                         "refund" /* 1/0 */};
inline constexpr Field client_limit_reply[] = {{"allowed", 'i'}, {"retry_ms", 'i'}};
inline constexpr Script client_limit{.id = 9, .name = "client_limit", .flags = "", .keys = "c",
                                     .args = client_limit_args, .reply = client_limit_reply, .reply_always = 2};

// Consumes a token or link with a flow binding presented (a bound one only with its binding; a
// mismatch is not_found and counted in the identifier's failure budget). May grow memory (the
// count), so no allow-oom.
inline constexpr std::string_view token_verify_bound_args[] = {
    "id", "kind", "purpose_tag" /* "": any */, "binding",  // the presented binding's keyed hash
    "budget_interval_ms", "budget_burst"};                 // the identifier's failure budget
inline constexpr Field token_verify_bound_reply[] = {{"status", 'o'},        {"expires", 'i'},
                                                     {"sealed_identity", 's'}, {"sealed_payload", 's'},
                                                     {"retry_ms", 'i'},      {"counted", 'i'}};
inline constexpr Script token_verify_bound{.id = 10, .name = "token_verify_bound", .flags = "", .keys = "tg",
                                           .args = token_verify_bound_args, .reply = token_verify_bound_reply,
                                           .reply_always = 6};

// Replaces the group's recovery codes (the hashes follow ttl_ms). Reply: how many it holds.
inline constexpr std::string_view recovery_set_args[] = {"ttl_ms"};
inline constexpr Script recovery_set{.id = 11, .name = "recovery_set", .flags = "", .prelude = false, .keys = "k",
                                     .args = recovery_set_args, .more_args = true};

// One recovery code against the group's set, within the failure budgets (candidates follow).
inline constexpr std::string_view recovery_use_args[] = {
    "budget_interval_ms", "budget_burst", "pair_interval_ms", "pair_burst", "client" /* "" for none */};
inline constexpr Field recovery_use_reply[] = {{"status", 'o'}, {"left", 'i'}, {"retry_ms", 'i'}, {"counted", 'i'}};
inline constexpr Script recovery_use{.id = 12, .name = "recovery_use", .flags = "", .keys = "kgp",
                                     .args = recovery_use_args, .more_args = true, .reply = recovery_use_reply,
                                     .reply_always = 4};

// How many recovery codes the group has left. Reply: that number.
inline constexpr Script recovery_count{.id = 13, .name = "recovery_count", .flags = "no-writes", .prelude = false,
                                       .keys = "k"};

// A new TOTP enrollment for the group, replacing any earlier one. Reply: 1.
inline constexpr std::string_view totp_enroll_args[] = {"sealed_secret", "generation", "ttl_ms"};
inline constexpr Script totp_enroll{.id = 14, .name = "totp_enroll", .flags = "", .prelude = false, .keys = "a",
                                    .args = totp_enroll_args};

// The failure budgets' five arguments (lua/prelude.lua load_budget).
#define VERIKIT_BUDGET_ARGS "budget_interval_ms", "budget_burst", "pair_interval_ms", "pair_burst", "client"

// A TOTP verification's first step, read-only.
inline constexpr std::string_view totp_load_args[] = {VERIKIT_BUDGET_ARGS};
inline constexpr Field totp_load_reply[] = {{"status", 'o'},     {"sealed_secret", 's'}, {"last_step", 'i'},
                                            {"generation", 'i'}, {"now", 'i'},           {"retry_ms", 'i'}};
inline constexpr Script totp_load{.id = 15, .name = "totp_load", .flags = "no-writes", .keys = "agp",
                                  .args = totp_load_args, .reply = totp_load_reply, .reply_always = 6};

// A TOTP verification's second step: the matched step (-1: none) of that generation.
inline constexpr std::string_view totp_commit_args[] = {VERIKIT_BUDGET_ARGS, "step", "generation"};
inline constexpr Field totp_commit_reply[] = {{"status", 'o'}, {"retry_ms", 'i'}, {"counted", 'i'}};
inline constexpr Script totp_commit{.id = 16, .name = "totp_commit", .flags = "", .keys = "agp",
                                    .args = totp_commit_args, .reply = totp_commit_reply, .reply_always = 3};

// The second step of a two-step enrollment: the new enrollment (sealed secret, generation, ttl)
// with the step its first code matched (-1: none), if the group's is still expect_generation.
inline constexpr std::string_view totp_confirm_args[] = {VERIKIT_BUDGET_ARGS, "sealed_secret", "step", "expires_ms",
                                                         "expect_generation", "generation", "ttl_ms"};
inline constexpr Field totp_confirm_reply[] = {{"status", 'o'}, {"retry_ms", 'i'}, {"counted", 'i'}};
inline constexpr Script totp_confirm{.id = 19, .name = "totp_confirm", .flags = "", .keys = "agp",
                                     .args = totp_confirm_args, .reply = totp_confirm_reply, .reply_always = 3};

// Deletes the group's authenticator enrollment and recovery codes, leaving of the enrollment a new
// generation (no secret) for tombstone_ttl_ms. Reply: how many (1 for an enrollment, plus each
// code left).
inline constexpr std::string_view second_factors_revoke_args[] = {"tombstone_generation", "tombstone_ttl_ms"};
inline constexpr Script second_factors_revoke{.id = 17, .name = "second_factors_revoke", .flags = "allow-oom",
                                              .prelude = false, .keys = "ak", .args = second_factors_revoke_args};

// The prefix's key-check record against the engine's tag; absent: made when create is 1. Reply:
// 0 matched (its TTL renewed), 1 created, 2 absent (not made), 3 another tag. allow-oom: an engine
// starts while Redis is full (the record is one small key, made once).
inline constexpr std::string_view key_check_args[] = {"tag", "create" /* 1/0 */, "ttl_ms"};
inline constexpr Script key_check{.id = 18, .name = "key_check", .flags = "allow-oom", .prelude = false, .keys = "v",
                                  .args = key_check_args};

#undef VERIKIT_BUDGET_ARGS
#undef VERIKIT_GATE_NUMBERS

inline constexpr const Script* kAll[] = {&otp_issue,    &otp_verify, &otp_revoke, &token_issue,  &token_verify,
                                         &token_revoke, &revoke_all, &inspect,    &unlock,       &client_limit,
                                         &token_verify_bound, &recovery_set, &recovery_use, &recovery_count,
                                         &totp_enroll,  &totp_load,  &totp_commit, &second_factors_revoke,
                                         &key_check,    &totp_confirm};

// The script's .lua file as embedded.
std::string_view source(const Script& s);
// The struct format of a packed reply (packed_reply): '<', then 'd' per 'o' or 'i' field and
// 'I4c0' per 's' field, in the descriptor's order.
std::string reply_format(const Script& s);
// The text Redis runs: flags line, [outcome constants, prelude], source.
const std::string& text(const Script& s);

// The same scripts as one Redis 7 function library (FUNCTION LOAD once per server, then FCALL):
// `#!lua name=<library_name>`, the outcome constants and the prelude once, then each script's
// source as the body of `function(KEYS, ARGV) ... end`, registered as function_name(s) with
// the descriptor's flags. The prelude is then made once per load, not once per call (measured:
// about 11,000 of the ~100,000 instructions Redis spends on a verify). The name carries a hash
// of the text, so libraries of different verikit versions live side by side on one server.
const std::string& library();
const std::string& library_name();
const std::string& function_name(const Script& s);

}  // namespace verikit::detail::scripts
