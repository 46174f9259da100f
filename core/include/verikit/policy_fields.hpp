// verikit — every policy field, once: its kind, name, C++ type, default, range and meaning.
// This list makes both the Policy struct (verikit/config.hpp) and the schema that sets and
// checks fields by name (verikit/schema.hpp, the C API, the bindings), so a new field is one
// line here, plus its row in the README's configuration table.
//
// VERIKIT_POLICY_FIELD(kind, name, type, default, min, max, choices, doc)
//   kind: integer | seconds | boolean | choice | rate_limit | text
//   min, max: the range of integer and seconds fields (text: its length); choices: "a|b|..."
//   (choice fields: the enum's values in order). Defaults follow NIST SP 800-63B / OWASP:
//   short-lived, few attempts, one-time use, 256-bit tokens.
// Not a header of its own: include it only with VERIKIT_POLICY_FIELD defined.

// clang-format off
VERIKIT_POLICY_FIELD(seconds, ttl, std::chrono::seconds, std::chrono::seconds{600}, 1, 30 * 86400, "",
                     "lifetime of a credential")
VERIKIT_POLICY_FIELD(integer, max_attempts, int, 5, 1, 100, "", "wrong OTP guesses a code survives")
VERIKIT_POLICY_FIELD(integer, otp_length, int, 6, 4, 10, "", "symbols in an OTP")
VERIKIT_POLICY_FIELD(choice, alphabet, Alphabet, Alphabet::digits, 0, 0, "digits|unambiguous", "the symbols of OTPs")
VERIKIT_POLICY_FIELD(choice, reissue, Reissue, Reissue::replace, 0, 0, "replace|resend_same",
                     "what a second issue does to a live code")
// Identifiers are canonicalised before hashing, so spellings of one identifier share one budget:
// ASCII white space trimmed, ASCII letters lower-cased (bytes >= 0x80 are kept as they are). Turn
// either off for a purpose whose identifiers are case- or space-sensitive.
VERIKIT_POLICY_FIELD(boolean, trim_identifier, bool, true, 0, 1, "", "strip ASCII white space around identifiers")
VERIKIT_POLICY_FIELD(boolean, lowercase_identifier, bool, true, 0, 1, "", "ASCII lower-case identifiers")
VERIKIT_POLICY_FIELD(boolean, one_time_use, bool, true, 0, 1, "", "a verified credential is consumed")
VERIKIT_POLICY_FIELD(boolean, revoke_all_on_use, bool, false, 0, 1, "",
                     "using one credential revokes all the others of its (purpose, identifier)")
VERIKIT_POLICY_FIELD(integer, token_bytes, int, 32, 16, 64, "", "secret randomness of tokens and links")
VERIKIT_POLICY_FIELD(text, link_param, std::string, "token", 1, 64, "",
                     "query parameter of magic links: letters, digits, '_-.'")
VERIKIT_POLICY_FIELD(integer, recovery_codes, int, 10, 1, 100, "", "recovery codes in a set (each single-use)")
VERIKIT_POLICY_FIELD(seconds, recovery_code_ttl, std::chrono::seconds, std::chrono::seconds{5 * 365 * 86400}, 86400,
                     10 * 365 * 86400, "", "lifetime of a set of recovery codes")
VERIKIT_POLICY_FIELD(integer, totp_digits, int, 6, 6, 8, "", "digits of authenticator (TOTP) codes")
VERIKIT_POLICY_FIELD(seconds, totp_period, std::chrono::seconds, std::chrono::seconds{30}, 15, 120, "",
                     "TOTP time step")
VERIKIT_POLICY_FIELD(integer, totp_window, int, 1, 0, 10, "", "TOTP steps accepted before and after the current one")
VERIKIT_POLICY_FIELD(seconds, totp_ttl, std::chrono::seconds, std::chrono::seconds{5 * 365 * 86400}, 86400,
                     10 * 365 * 86400, "", "lifetime of an authenticator enrollment")
VERIKIT_POLICY_FIELD(seconds, totp_confirm_ttl, std::chrono::seconds, std::chrono::seconds{600}, 60, 86400, "",
                     "time to confirm a two-step authenticator enrollment with its first code")

// --- abuse controls (README: "Abuse controls" for the worst case they allow) ---
VERIKIT_POLICY_FIELD(seconds, resend_cooldown, std::chrono::seconds, std::chrono::seconds{30}, 0, 86400, "",
                     "between two issues for one identifier")
VERIKIT_POLICY_FIELD(rate_limit, send_limit, RateLimit, (RateLimit{10, std::chrono::seconds(3600), 5}), 0, 0, "",
                     "issues per identifier (GCRA)")
// The failure budget: wrong OTP guesses per (purpose, identifier), across re-issued codes, client
// keys and key rotations (GCRA: never forgets at a window edge). In any window of length W it
// allows at most burst + floor(W / (period / count)) guesses: under the default, 10 in any hour
// and 30 in any 24 hours. Once spent, verification answers `locked` without comparing the code
// until the budget refills.
VERIKIT_POLICY_FIELD(rate_limit, failure_limit, RateLimit, (RateLimit{20, std::chrono::seconds(86400), 10}), 0, 0, "",
                     "wrong guesses per identifier: the failure budget (GCRA)")
// Wrong guesses per (purpose, identifier, client key), taken before the identifier's budget when
// the caller gives a client key: one client key spends its own budget long before the
// identifier's (it is smaller and refills no faster).
VERIKIT_POLICY_FIELD(rate_limit, client_pair_failure_limit, RateLimit, (RateLimit{20, std::chrono::seconds(86400), 3}),
                     0, 0, "", "wrong guesses per identifier and client key (GCRA)")
VERIKIT_POLICY_FIELD(boolean, lockout_blocks_issue, bool, true, 0, 1, "",
                     "an identifier whose failure budget is spent gets no new credentials")
VERIKIT_POLICY_FIELD(rate_limit, client_issue_limit, RateLimit, (RateLimit{20, std::chrono::seconds(3600), 10}), 0, 0,
                     "", "issues per client key (GCRA)")
VERIKIT_POLICY_FIELD(rate_limit, client_failure_limit, RateLimit, (RateLimit{30, std::chrono::seconds(3600), 10}), 0,
                     0, "", "wrong guesses per client key (GCRA)")
VERIKIT_POLICY_FIELD(integer, max_active_tokens, int, 5, 0, 1000, "", "live tokens + links per identifier")
VERIKIT_POLICY_FIELD(choice, active_cap, CapMode, CapMode::revoke_oldest, 0, 0, "revoke_oldest|refuse",
                     "what an issue beyond the cap does")
// clang-format on
