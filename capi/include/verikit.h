/*
 * verikit.h — the stable C API of verikit (the only ABI).
 *
 * verikit issues and checks one-time codes (OTP), opaque tokens and magic links, with expiry,
 * attempt limits and atomic check-and-consume. This header compiles as C99 and as C++.
 *
 * Conventions (they hold for every declaration below unless its comment says otherwise):
 *  - Every function whose name does not end in _name/_version/_bytes returns an int: 0
 *    (VERIKIT_OK) on success or a negative VERIKIT_E_* code. The codes never change meaning.
 *  - After a failure, verikit_error_code() and verikit_error_message() describe it. They are
 *    thread-local: a failure on one thread is never seen on another.
 *  - Outcomes of verification (a wrong code, an expired token, ...) are NOT failures: the call
 *    returns VERIKIT_OK and fills a verikit_result whose status says what happened.
 *  - Out-parameters come first. On failure, *out is set to NULL (handles) or left untouched
 *    (numbers).
 *  - Handles are opaque and come in create/free pairs; every free function accepts NULL.
 *  - Text and binary inputs are pointer + length (binary-safe, need not be NUL-terminated);
 *    a NULL pointer is allowed only with length 0. Purposes, URLs and store locations are
 *    NUL-terminated strings. Inputs are copied before a call returns.
 *  - Memory the library returns (result fields, error messages) is owned by the library and
 *    valid until the owning handle is freed (or, for errors, until the next failing call on
 *    the same thread). Never pass it to free().
 *  - Thread safety: a verikit_engine may be used from any number of threads at once. A
 *    verikit_config or verikit_result must not be modified while another thread uses it;
 *    reading a result from several threads is safe.
 *  - Versioned option structs: set `version` to the *_VERSION macro (or use *_INIT /
 *    *_init()); a version this library does not know fails with VERIKIT_E_VERSION.
 *  - Every declaration here appeared in 0.1.0 unless its comment names a later version.
 */
#ifndef VERIKIT_H
#define VERIKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verikit/version.h"

#ifndef VERIKIT_EXTERN
#if defined(__GNUC__) || defined(__clang__)
#define VERIKIT_EXTERN(type) __attribute__((visibility("default"))) type
#else
#define VERIKIT_EXTERN(type) type
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Error codes: pinned forever.
 * ---------------------------------------------------------------------------------------- */
#define VERIKIT_OK 0
#define VERIKIT_E_INVALID_ARGUMENT (-1)  /* a bad argument: NULL, empty, too long, malformed */
#define VERIKIT_E_CONFIG (-2)            /* a bad configuration or policy */
#define VERIKIT_E_STORE_UNAVAILABLE (-3) /* the store cannot be reached: the request was NOT sent
                                            (no connection, connect failed or timed out,
                                            shutting down), or the store refused it with an error
                                            reply */
#define VERIKIT_E_STORE_PROTOCOL (-4)    /* the store answered something unexpected */
#define VERIKIT_E_TIMEOUT (-5)           /* the request WAS sent and no reply came in time
                                            (command_timeout_ms), or its connection was lost
                                            after it was sent: it MAY HAVE TAKEN EFFECT (a code
                                            consumed, an attempt counted, a credential issued),
                                            or take effect after this error is reported.
                                            Never used for a request that was not sent. */
#define VERIKIT_E_NO_MEMORY (-6)         /* an allocation failed */
#define VERIKIT_E_UNSUPPORTED (-7)       /* not available in this build */
#define VERIKIT_E_VERSION (-8)           /* an options struct has an unknown version */
#define VERIKIT_E_CRYPTO (-9)            /* a stored record fails authentication, or no key opens it */
#define VERIKIT_E_INTERNAL (-10)         /* a bug in verikit: please report it */

/* The code and message of the most recent failed call on this thread. The message is never
 * NULL ("" when no call has failed) and is owned by the library. Thread-safe. */
VERIKIT_EXTERN(int) verikit_error_code(void);
VERIKIT_EXTERN(const char *) verikit_error_message(void);
/* Forgets this thread's last error. */
VERIKIT_EXTERN(void) verikit_error_clear(void);
/* "VERIKIT_OK", "VERIKIT_E_CONFIG", ...; "VERIKIT_E_UNKNOWN" for other values. Static string. */
VERIKIT_EXTERN(const char *) verikit_error_name(int code);
/* The error schema (0.2): how many error codes there are (VERIKIT_E_INVALID_ARGUMENT .. _INTERNAL,
 * in that order), and kind i's code, name ("invalid_argument"), class name ("InvalidArgumentError";
 * "" for a code without a class of its own: the binding's base error class), the code of the kind
 * whose class it extends (VERIKIT_OK: the base class; it always comes earlier) and a one-line
 * description. The bindings make their error classes from this. Static strings; any
 * out-parameter may be NULL. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (i out of range). */
VERIKIT_EXTERN(size_t) verikit_error_kind_count(void);
VERIKIT_EXTERN(int) verikit_error_kind(size_t i, int *code_out, const char **name_out, const char **class_out,
                                       int *parent_out, const char **doc_out);

/* ------------------------------------------------------------------------------------------
 * Version and constants (macros for C, functions for FFI users).
 * ---------------------------------------------------------------------------------------- */
/* "MAJOR.MINOR.PATCH" of the loaded library (static string); compare with VERIKIT_VERSION_STRING. */
VERIKIT_EXTERN(const char *) verikit_version(void);
/* VERIKIT_VERSION_NUMBER of the loaded library. */
VERIKIT_EXTERN(int) verikit_version_number(void);

#define VERIKIT_KEY_BYTES 32
/* The key id the bindings give a key when the caller names none (0.2). */
#define VERIKIT_DEFAULT_KEY_ID 1
VERIKIT_EXTERN(size_t) verikit_key_bytes(void);

/* Fills key[0..key_len) with a new random key; key_len must be VERIKIT_KEY_BYTES.
 * Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. Thread-safe. */
VERIKIT_EXTERN(int) verikit_key_generate(uint8_t *key, size_t key_len);

/* ------------------------------------------------------------------------------------------
 * Statuses: the outcome of an operation (not an error). Pinned forever.
 * ---------------------------------------------------------------------------------------- */
typedef enum verikit_status {
  VERIKIT_STATUS_VERIFIED = 0,           /* verify/consume: right secret (consumed if one-time) */
  VERIKIT_STATUS_VALID = 1,              /* peek/inspect: live; nothing was consumed */
  VERIKIT_STATUS_ISSUED = 2,             /* issue: created (or the live code re-sent) */
  VERIKIT_STATUS_INVALID = 3,            /* wrong secret; attempts remain */
  VERIKIT_STATUS_NOT_FOUND = 4,          /* never issued, expired, used, revoked or malformed */
  VERIKIT_STATUS_ATTEMPTS_EXHAUSTED = 5, /* wrong secret, no attempts left: credential is dead */
  VERIKIT_STATUS_LOCKED = 6,             /* the identifier is locked out */
  VERIKIT_STATUS_RATE_LIMITED = 7,       /* too many requests; see retry-after */
  VERIKIT_STATUS_COOLDOWN = 8            /* re-issue too soon; see retry-after */
} verikit_status;

/* "verified", "invalid", ...; "unknown" for other values. Static string. */
VERIKIT_EXTERN(const char *) verikit_status_name(int status);
/* 1 for a success (verified, valid, issued), 0 for every other status and unknown values. 0.2. */
VERIKIT_EXTERN(int) verikit_status_ok(int status);
/* The status schema (0.2): how many statuses there are (values 0 .. count-1), and status i's
 * name, whether it is a success, and a one-line description. Static strings; any out-parameter
 * may be NULL. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (i out of range). */
VERIKIT_EXTERN(size_t) verikit_status_count(void);
VERIKIT_EXTERN(int) verikit_status_info(size_t i, const char **name_out, int *ok_out, const char **doc_out);

/* ------------------------------------------------------------------------------------------
 * Policies: per purpose (login, verify-email, reset-password, ...). Zero means "the default"
 * in every field, so VERIKIT_POLICY_INIT is the documented defaults: 600 s TTL, 5 attempts,
 * 6 digits, replace on re-issue, one-time use, 32-byte tokens, link parameter "token".
 * ---------------------------------------------------------------------------------------- */
typedef enum verikit_alphabet {
  VERIKIT_ALPHABET_DIGITS = 0,     /* 0-9 */
  VERIKIT_ALPHABET_UNAMBIGUOUS = 1 /* A-Z and 2-9 without 0 O 1 I L; verification ignores case */
} verikit_alphabet;

typedef enum verikit_reissue {
  VERIKIT_REISSUE_REPLACE = 0,    /* a new issue replaces the live code; failed attempts carry over */
  VERIKIT_REISSUE_RESEND_SAME = 1 /* a new issue re-sends the live code (kept encrypted) */
} verikit_reissue;

/* Identifiers are canonicalised by default (0.2): ASCII white space around them is stripped and
 * ASCII letters are lower-cased (bytes >= 0x80 are kept as they are), so `Alice@Example.com `
 * and `alice@example.com` are one identifier with one budget. The two flags below ask for what
 * is now the default; the KEEP_* flags turn it off for case- or space-sensitive identifiers. */
#define VERIKIT_POLICY_TRIM_IDENTIFIER 0x1u      /* (the default since 0.2) */
#define VERIKIT_POLICY_LOWERCASE_IDENTIFIER 0x2u /* (the default since 0.2) */
#define VERIKIT_POLICY_REUSABLE 0x4u             /* not one-time: verification does not consume */
#define VERIKIT_POLICY_REVOKE_ALL_ON_USE 0x8u    /* a consumed credential revokes all the others of
                                                    its (purpose, identifier) */
/* Abuse controls are on by default (README: "Abuse controls"); these turn them off. */
#define VERIKIT_POLICY_NO_COOLDOWN 0x10u         /* no resend cooldown */
#define VERIKIT_POLICY_NO_SEND_LIMIT 0x20u       /* no send rate limit per identifier */
#define VERIKIT_POLICY_NO_LOCKOUT 0x40u          /* no failure budget (per identifier and per
                                                    identifier + client key): unlimited guesses */
#define VERIKIT_POLICY_NO_CLIENT_LIMITS 0x80u    /* no per-client-key limits */
#define VERIKIT_POLICY_NO_ACTIVE_CAP 0x100u      /* no cap on live tokens and links */
#define VERIKIT_POLICY_LOCKOUT_ALLOWS_ISSUE 0x200u /* an identifier whose failure budget is spent
                                                      may still be issued codes */
#define VERIKIT_POLICY_ACTIVE_CAP_REFUSE 0x400u  /* over the cap, refuse the issue (default: revoke
                                                    the first issued live token or link) */
#define VERIKIT_POLICY_KEEP_IDENTIFIER_CASE 0x800u   /* 0.2: do not lower-case identifiers */
#define VERIKIT_POLICY_KEEP_IDENTIFIER_SPACE 0x1000u /* 0.2: do not strip white space around them */

/* Version 2 (0.2) adds the failure_* fields; version 1 structs are still accepted (their
 * lockout_failures, if set, becomes the failure budget's burst; the other lockout_* fields of
 * the fixed-window lockout that the budget replaced are ignored). */
#define VERIKIT_POLICY_VERSION 2
typedef struct verikit_policy {
  unsigned int version;  /* VERIKIT_POLICY_VERSION */
  uint32_t ttl_seconds;  /* lifetime of a credential: 1 .. 2592000 (30 days) */
  uint32_t max_attempts; /* wrong OTP guesses a code survives: 1 .. 100 */
  uint32_t otp_length;   /* 4 .. 10 */
  int alphabet;          /* verikit_alphabet */
  int reissue;           /* verikit_reissue */
  uint32_t flags;        /* VERIKIT_POLICY_* bits */
  uint32_t token_bytes;  /* secret randomness in tokens and links: 16 .. 64 */
  const char *link_param; /* query parameter of magic links; NULL: "token". Copied. */
  /* Abuse controls (0: the default; turn one off with its VERIKIT_POLICY_NO_* flag). */
  uint32_t cooldown_seconds;              /* between two issues for one identifier: default 30 */
  uint32_t send_limit_count;              /* issues per identifier per period: default 10 ... */
  uint32_t send_limit_period_seconds;     /* ... per 3600 s ... */
  uint32_t send_limit_burst;              /* ... at most 5 at once (GCRA) */
  uint32_t lockout_failures;              /* deprecated (version 1): the failure budget's burst */
  uint32_t lockout_window_seconds;        /* deprecated, ignored */
  uint32_t lockout_seconds;               /* deprecated, ignored */
  uint32_t lockout_max_seconds;           /* deprecated, ignored */
  uint32_t lockout_decay_seconds;         /* deprecated, ignored */
  uint32_t client_issue_count;            /* issues per client key: default 20 ... */
  uint32_t client_issue_period_seconds;   /* ... per 3600 s ... */
  uint32_t client_issue_burst;            /* ... 10 at once */
  uint32_t client_failure_count;          /* wrong guesses per client key: default 30 ... */
  uint32_t client_failure_period_seconds; /* ... per 3600 s ... */
  uint32_t client_failure_burst;          /* ... 10 at once */
  uint32_t max_active_tokens;             /* live tokens + links per identifier: default 5 */
  /* Version 2. The failure budget: wrong OTP guesses per (purpose, identifier), across codes,
   * client keys and key rotations, as a GCRA (it never forgets at a window edge): at most
   * burst + floor(W / (period / count)) in any window W. Once spent, verify answers LOCKED
   * without comparing the code. Default 20 per 86400 s, burst 10: at most 10 wrong guesses in
   * any hour and 30 in any 24 hours (README: "Abuse controls"). */
  uint32_t failure_count;
  uint32_t failure_period_seconds;
  uint32_t failure_burst;
  /* Wrong guesses per (purpose, identifier, client key), spent before the identifier's budget
   * when a verification names a client key. Default 20 per 86400 s, burst 3. */
  uint32_t pair_failure_count;
  uint32_t pair_failure_period_seconds;
  uint32_t pair_failure_burst;
} verikit_policy;
#define VERIKIT_POLICY_INIT {VERIKIT_POLICY_VERSION, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
/* Sets *policy to VERIKIT_POLICY_INIT for the given version (1 or 2; for FFI users): writes
 * only the fields that version has.
 * Returns VERIKIT_OK, VERIKIT_E_INVALID_ARGUMENT (NULL) or VERIKIT_E_VERSION. */
VERIKIT_EXTERN(int) verikit_policy_init(verikit_policy *policy, unsigned int version);

/* ------------------------------------------------------------------------------------------
 * Configuration: built once, then given to verikit_engine_new (which copies it).
 * ---------------------------------------------------------------------------------------- */
typedef struct verikit_config verikit_config;

/* Creates a configuration with the defaults: store "memory://", key prefix "vk", no key (the
 * embedded store then makes an ephemeral one; a shared store requires a key). Free it with
 * verikit_config_free. Returns VERIKIT_OK, VERIKIT_E_INVALID_ARGUMENT or VERIKIT_E_NO_MEMORY. */
VERIKIT_EXTERN(int) verikit_config_new(verikit_config **out);
VERIKIT_EXTERN(void) verikit_config_free(verikit_config *config);

/* Where state lives: "memory://" (embedded, default), "file:///path/to/dir" (shared by the
 * processes of one machine), "redis://..." and the other Redis URLs (README: Stores). Checked
 * by verikit_engine_new.
 * Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_set_store(verikit_config *config, const char *url);
/* Prefix of every store key (several applications may share one store). 1..64 printable
 * ASCII bytes without spaces or braces; checked by verikit_engine_new. */
VERIKIT_EXTERN(int) verikit_config_set_key_prefix(verikit_config *config, const char *prefix);
/* The current key (new records are made with it), VERIKIT_KEY_BYTES bytes, and its id (stored
 * in every record). Copied. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_set_key(verikit_config *config, uint8_t key_id, const uint8_t *key,
                                           size_t key_len);
/* A previous key: records made with it still verify. Ids must be distinct. Needs a current key
 * at verikit_engine_new. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_add_previous_key(verikit_config *config, uint8_t key_id,
                                                    const uint8_t *key, size_t key_len);
/* 0.2: the index key, VERIKIT_KEY_BYTES bytes: it names where an identifier's records live in the
 * store (keyed hashes of purpose + identifier, of client keys, of purposes), and unlike the
 * current key it does not rotate, so abuse state, the one live code of an identifier and
 * revoke-all are the same whichever key made a record. Without it the current key is the index
 * key; a configuration with previous keys must set it (VERIKIT_E_CONFIG otherwise): use the
 * bytes of the first key you ran with. Copied. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_set_index_key(verikit_config *config, const uint8_t *key, size_t key_len);
/* The policy of purposes that have none of their own. Checked here: returns VERIKIT_OK,
 * VERIKIT_E_INVALID_ARGUMENT, VERIKIT_E_VERSION or VERIKIT_E_CONFIG (a field out of range). */
VERIKIT_EXTERN(int) verikit_config_set_default_policy(verikit_config *config, const verikit_policy *policy);
/* The policy of one purpose (replacing any earlier one). Same returns. */
VERIKIT_EXTERN(int) verikit_config_set_policy(verikit_config *config, const char *purpose,
                                              const verikit_policy *policy);

/* Policies by field name (0.2): the schema of policy fields lives once, in the core, and this
 * is how FFI users and the bindings set them. `purpose` NULL sets the default policy; otherwise
 * the purpose's policy, which starts from the documented defaults the first time one of its
 * fields is set. `field` is a name from the README's tables (snake_case: "max_attempts",
 * "failure_limit", ...); `value` its text form: whole numbers (seconds for durations), "true" /
 * "false", a choice by name ("resend_same"), a rate limit as "count/period_seconds/burst" or
 * "off". Returns VERIKIT_OK; VERIKIT_E_INVALID_ARGUMENT (NULL, an unknown field, a value that
 * does not parse) or VERIKIT_E_CONFIG (out of range); the message names the field, and a failed
 * call changes nothing. */
VERIKIT_EXTERN(int) verikit_config_set_policy_field(verikit_config *config, const char *purpose, const char *field,
                                                    const char *value);
/* 0 turns every abuse control off in every policy of this configuration, as set before or after
 * (failure budgets, cooldown, send limit, client-key limits, active cap), at verikit_engine_new:
 * for tests and for callers that enforce limits elsewhere; 1 (the default) keeps them. 0.2.
 * Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (NULL). */
VERIKIT_EXTERN(int) verikit_config_set_abuse_controls(verikit_config *config, int enabled);
/* 0.3: an origin magic links may point to, "https://host[:port]" (no path, query or user
 * info). Once any is added, verikit_link_issue refuses a base URL of any other origin
 * (VERIKIT_E_INVALID_ARGUMENT: a forged Host header cannot send a user's link elsewhere); with
 * none, any https origin is allowed. Checked by verikit_engine_new (VERIKIT_E_CONFIG: malformed,
 * or http:// without verikit_config_set_link_allow_http). Copied. Returns VERIKIT_OK or
 * VERIKIT_E_INVALID_ARGUMENT (NULL). */
VERIKIT_EXTERN(int) verikit_config_add_link_origin(verikit_config *config, const char *origin);
/* 0.3: 1 allows http:// base URLs and origins (for development on localhost); 0 (the default):
 * links are https only. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (NULL). */
VERIKIT_EXTERN(int) verikit_config_set_link_allow_http(verikit_config *config, int allow);
/* The schema (0.2): how many policy fields there are, and field i's name, type ("integer",
 * "seconds", "boolean", "choice", "rate_limit", "text"), range (integer, seconds), choices
 * ("a|b", choice; else "") and a one-line description. Static strings; any out-parameter may be
 * NULL. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (i out of range). Thread-safe. */
VERIKIT_EXTERN(size_t) verikit_policy_field_count(void);
VERIKIT_EXTERN(int) verikit_policy_field(size_t i, const char **name_out, const char **type_out, int64_t *min_out,
                                         int64_t *max_out, const char **choices_out, const char **doc_out);
/* Engine options by name (0.3): the schema of engine-level options lives once, in the core
 * (verikit/config_fields.hpp), and this is how FFI users and the bindings set them. `name` is a
 * name from the README's "Engine options" table ("key_prefix", "abuse_controls",
 * "event_queue_capacity", "events_include_identifier", "link_origins", "link_allow_http");
 * `value` its text form: "true" / "false" (also "1" / "0"), a whole number, text, or a list as
 * items separated by ',' (white space around each item is ignored; "" is the empty list; it
 * replaces the whole list, where verikit_config_add_link_origin adds one). The typed setters
 * (verikit_config_set_key_prefix, ...) set the same options. Returns VERIKIT_OK;
 * VERIKIT_E_INVALID_ARGUMENT (NULL, an unknown option, a value that does not parse) or
 * VERIKIT_E_CONFIG (out of range); the message names the option, and a failed call changes
 * nothing. Link origins themselves are checked by verikit_engine_new. */
VERIKIT_EXTERN(int) verikit_config_set_option(verikit_config *config, const char *name, const char *value);
/* The engine-option schema (0.3): how many options there are, and option i's name, type
 * ("text", "boolean", "integer", "list"), range (integer: its values; text: its length in bytes;
 * list: its number of items; boolean: 0 and 1) and a one-line description. Static strings; any
 * out-parameter may be NULL. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (i out of range).
 * Thread-safe. */
VERIKIT_EXTERN(size_t) verikit_config_option_count(void);
VERIKIT_EXTERN(int) verikit_config_option(size_t i, const char **name_out, const char **type_out, int64_t *min_out,
                                          int64_t *max_out, const char **doc_out);

/* ------------------------------------------------------------------------------------------
 * Engine.
 * ---------------------------------------------------------------------------------------- */
typedef struct verikit_engine verikit_engine;

/* Creates an engine from a configuration (copied: free it whenever you like).
 * Returns VERIKIT_OK, VERIKIT_E_INVALID_ARGUMENT, VERIKIT_E_CONFIG (bad configuration, or a
 * shared store without a key; for Redis also: any authentication failure — no password, a
 * wrong one, an unknown user —, a maxmemory-policy other than noeviction without
 * allow_eviction=1, Cluster mode, a replica, Redis older than 7.0, an ACL user lacking a
 * command or key the scripts need; the message names the fix), VERIKIT_E_UNSUPPORTED (a store
 * this build lacks), VERIKIT_E_STORE_UNAVAILABLE (Redis unreachable, or no connection within
 * connect_timeout_ms), VERIKIT_E_TIMEOUT (a start-up check got no reply within
 * command_timeout_ms) or VERIKIT_E_NO_MEMORY. Warnings (an eviction policy accepted with
 * allow_eviction=1, a server that refuses to say its policy) go to stderr. */
VERIKIT_EXTERN(int) verikit_engine_new(verikit_engine **out, const verikit_config *config);
/* The engine's counters in the Prometheus text exposition format (0.2): operations by kind and
 * outcome (verikit_operations_total), errors by kind and code (verikit_errors_total), latency
 * histograms (verikit_operation_seconds) — serve it on your /metrics. The text (NUL-terminated)
 * goes into buffer[0..capacity); *needed_out is always set to the bytes it takes with its NUL.
 * Returns VERIKIT_OK, or VERIKIT_E_INVALID_ARGUMENT (NULL arguments, or a buffer too small:
 * call again with *needed_out bytes; buffer may be NULL with capacity 0 to ask). Thread-safe. */
VERIKIT_EXTERN(int) verikit_engine_metrics(verikit_engine *engine, char *buffer, size_t capacity, size_t *needed_out);
/* Frees the engine. Call it when no other thread is calling into it. It first waits until every
 * asynchronous call made on it has called back and its callback has returned (calls in flight on
 * a network store complete with their answer, or with VERIKIT_E_TIMEOUT after the command
 * timeout), so a caller may free its callback data after it. Do not call it from inside one of
 * the engine's callbacks: there it cannot wait for the others (it frees without waiting for
 * them), and it still waits for the event thread, so an event handler inside a synchronous call
 * on the engine at that moment never gets its answer (both threads stop for good); inside another
 * engine's callback it waits as anywhere else (for the freed engine's event thread too: if that
 * engine's handler makes synchronous calls on the engine whose callback frees it, the two wait
 * for each other; free such an engine outside that engine's callbacks). From the moment it is called, calls on the engine
 * (an event handler's, while the queued events are delivered) fail with
 * VERIKIT_E_INVALID_ARGUMENT ("the engine is being freed"; an asynchronous one through its
 * callback, at once). The library may be unloaded (dlclose) only after every engine made with it
 * has been freed: an engine's threads run the library's code until verikit_engine_free returns. */
VERIKIT_EXTERN(void) verikit_engine_free(verikit_engine *engine);

/* ------------------------------------------------------------------------------------------
 * Store check (0.2): is a Redis server fit for verikit? For operators (`verikit doctor`).
 * ---------------------------------------------------------------------------------------- */
typedef struct verikit_store_report verikit_store_report;

/* The verdict of one checked item. Pinned forever. */
#define VERIKIT_CHECK_OK 0   /* fit */
#define VERIKIT_CHECK_WARN 1 /* works, with a risk the item's text names */
#define VERIKIT_CHECK_FAIL 2 /* unfit: verikit_engine_new would refuse it, or it cannot work */

/* Checks the Redis server the configuration's store URL names (with its URL options and key
 * prefix; a Cluster or Sentinel URL: every primary, each item's text naming its server), item by
 * item: "version" (7.0 or later), "role" (a standalone master, or a Cluster primary), "eviction"
 * (maxmemory-policy noeviction, or allow_eviction=1: WARN), "memory" (maxmemory headroom for
 * `pending_credentials` live codes; 0: just report the room), "persistence" (AOF / RDB and what a
 * crash can lose), "replicas" (asynchronous replicas without wait_replicas: WARN), "permissions"
 * (the ACL commands and keys the scripts need), "keys" (how many the store holds under the key
 * prefix: SCAN) and "tls". Keys are not needed. It changes nothing
 * on the server but a probe script in its script cache. On VERIKIT_OK, *out holds a report the
 * caller frees with verikit_store_report_free.
 * Returns VERIKIT_OK (whatever the verdicts), VERIKIT_E_INVALID_ARGUMENT (NULL, or a store URL that
 * is not redis://, rediss:// or unix://), VERIKIT_E_CONFIG (a malformed URL, an authentication
 * failure), VERIKIT_E_STORE_UNAVAILABLE (unreachable, or not ready: loading), VERIKIT_E_TIMEOUT,
 * VERIKIT_E_STORE_PROTOCOL or VERIKIT_E_NO_MEMORY. Thread-safe. */
VERIKIT_EXTERN(int) verikit_store_check(verikit_store_report **out, const verikit_config *config,
                                        uint64_t pending_credentials);
/* The number of items in a report (0 for NULL). A report is read-only: any number of threads may
 * read it at once; free it once, with verikit_store_report_free (NULL is accepted). 0.2. */
VERIKIT_EXTERN(size_t) verikit_store_report_count(const verikit_store_report *report);
/* Item i: its name ("version", ...), verdict (VERIKIT_CHECK_*) and a sentence saying what was
 * found and, for WARN and FAIL, what to do. Strings owned by the report; any out-parameter may be
 * NULL; the strings stay valid until the report is freed. Returns VERIKIT_OK or
 * VERIKIT_E_INVALID_ARGUMENT (NULL report, i out of range). 0.2. */
VERIKIT_EXTERN(int) verikit_store_report_item(const verikit_store_report *report, size_t i, const char **name_out,
                                              int *verdict_out, const char **detail_out);
VERIKIT_EXTERN(void) verikit_store_report_free(verikit_store_report *report);

/* ------------------------------------------------------------------------------------------
 * Lifecycle events (0.2). With a handler configured, every operation that changes or refuses
 * something produces one event once its outcome is known: issue (issued, cooldown,
 * rate_limited, locked), verify/consume (verified, invalid, not_found, attempts_exhausted,
 * locked, rate_limited), revoke and revoke-all (revoked, when something live was revoked),
 * unlock (unlocked, when the identifier was locked). Peek, inspect and failed calls (errors)
 * produce none. The name of an event is "<credential>.<kind>": "otp.verified", "link.issued",
 * "token.not_found", "all.revoked", "otp.unlocked".
 *
 * An event never holds a code, a token or a link. It names the identifier by a tag: 32 hex
 * digits of a keyed hash (BLAKE2b under a subkey of the index key), the same for the same
 * normalised identifier across purposes, processes and key rotations, so logs can be
 * correlated without holding e-mail addresses; the identifier itself only with
 * verikit_config_set_events_include_identifier. The client key is tagged the same way.
 *
 * Delivery: the operation puts the event on a bounded queue and goes on (it never waits for
 * the handler); one engine thread takes events off the queue, in order, and calls the handler
 * with one at a time. A full queue drops the event; verikit_engine_event_counts and
 * verikit_engine_metrics (verikit_events_delivered_total, verikit_events_dropped_total) count
 * both. The handler runs on that engine thread: it may block (events queue up behind it, then
 * drop), and may call the engine (synchronous calls included). verikit_engine_free delivers
 * the events already queued (the handler's calls on the engine then fail with
 * VERIKIT_E_INVALID_ARGUMENT), then ends the thread: the handler is never called after it
 * returns. Called from inside the handler, verikit_engine_free drops the queued events instead
 * (the handler is not called again).
 * ---------------------------------------------------------------------------------------- */
typedef enum verikit_credential {
  VERIKIT_CREDENTIAL_OTP = 0,
  VERIKIT_CREDENTIAL_TOKEN = 1,
  VERIKIT_CREDENTIAL_LINK = 2,
  VERIKIT_CREDENTIAL_ALL = 3, /* revoke-all: every credential of a (purpose, identifier) */
  VERIKIT_CREDENTIAL_SECOND_FACTORS = 4, /* 0.4. revoke-second-factors: the authenticator enrollment
                                           and the recovery codes of a (purpose, identifier) */
  VERIKIT_CREDENTIAL_RECOVERY_CODE = 5,  /* 0.4. recovery codes: a new set (ISSUED), a use */
  VERIKIT_CREDENTIAL_TOTP = 6            /* 0.4. authenticator codes: an enrollment that took effect
                                            (ISSUED: verikit_totp_enroll, or a VERIFIED
                                            verikit_totp_confirm), a check (verikit_totp_verify) */
} verikit_credential;

typedef enum verikit_kind {
  VERIKIT_EVENT_ISSUED = 0,
  VERIKIT_EVENT_VERIFIED = 1,
  VERIKIT_EVENT_INVALID = 2,            /* OTP: wrong code, attempts remain */
  VERIKIT_EVENT_NOT_FOUND = 3,          /* verify/consume: nothing live matched */
  VERIKIT_EVENT_ATTEMPTS_EXHAUSTED = 4, /* OTP: wrong code, the code is now dead */
  VERIKIT_EVENT_LOCKED = 5,             /* refused: the identifier's failure budget is spent */
  VERIKIT_EVENT_RATE_LIMITED = 6,       /* refused by a rate limit or the active cap */
  VERIKIT_EVENT_COOLDOWN = 7,           /* issue refused: too soon after the last one */
  VERIKIT_EVENT_REVOKED = 8,
  VERIKIT_EVENT_UNLOCKED = 9
} verikit_kind;

/* An event, valid only during the handler's call (copy what you keep). Read it with the
 * verikit_event_* getters below. */
typedef struct verikit_event verikit_event;
/* Called on the engine's event thread with `user` as given to verikit_config_set_event_handler. */
typedef void (*verikit_event_handler)(void *user, const verikit_event *event);

/* The event handler (NULL: none, the default; then no event is built and the only cost is one
 * branch per operation). `user` is passed to it as it is and must stay valid until
 * verikit_engine_free of every engine made from this configuration has returned.
 * Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT (config NULL). */
VERIKIT_EXTERN(int) verikit_config_set_event_handler(verikit_config *config, verikit_event_handler handler,
                                                     void *user);
/* Events the queue holds before it drops: 1 .. 1048576, default 4096 (checked by
 * verikit_engine_new: VERIKIT_E_CONFIG). Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_set_event_queue_capacity(verikit_config *config, size_t capacity);
/* 1: events also carry the normalised identifier itself (verikit_event_identifier); 0 (the
 * default): only its tag. Returns VERIKIT_OK or VERIKIT_E_INVALID_ARGUMENT. */
VERIKIT_EXTERN(int) verikit_config_set_events_include_identifier(verikit_config *config, int include);

/* "otp.verified", ...: the event's name ("" for NULL). Static string. */
VERIKIT_EXTERN(const char *) verikit_event_name(const verikit_event *event);
/* "verified", "revoked", ...; "otp", "token", "link", "all", "second_factors", "recovery_code",
 * "totp"; "unknown" for other values. Static. */
VERIKIT_EXTERN(const char *) verikit_kind_name(int kind);
VERIKIT_EXTERN(const char *) verikit_credential_name(int credential);
/* Getters: VERIKIT_OK, or VERIKIT_E_INVALID_ARGUMENT for a NULL argument. Text is valid during
 * the handler's call, NUL-terminated as well; "" where unknown. */
VERIKIT_EXTERN(int) verikit_event_kind(const verikit_event *event, int *kind_out);             /* verikit_kind */
VERIKIT_EXTERN(int) verikit_event_credential(const verikit_event *event, int *credential_out); /* verikit_credential */
/* The operation's verikit_status; -1 for revoke, revoke-all and unlock. */
VERIKIT_EXTERN(int) verikit_event_status(const verikit_event *event, int *status_out);
/* The purpose; "" when unknown (a token check with VERIKIT_ANY_PURPOSE that found nothing, a
 * token revoke). */
VERIKIT_EXTERN(int) verikit_event_purpose(const verikit_event *event, const char **data_out, size_t *len_out);
/* The identifier's tag (32 hex digits); "" when unknown (a token that named nothing live, a
 * token or link revoke). */
VERIKIT_EXTERN(int) verikit_event_identifier_tag(const verikit_event *event, const char **data_out, size_t *len_out);
/* The normalised identifier, only with verikit_config_set_events_include_identifier; else "". */
VERIKIT_EXTERN(int) verikit_event_identifier(const verikit_event *event, const char **data_out, size_t *len_out);
/* The client key's tag (32 hex digits); "" when the call gave no client key. */
VERIKIT_EXTERN(int) verikit_event_client_tag(const verikit_event *event, const char **data_out, size_t *len_out);
/* OTPs: wrong guesses the code has taken and still survives; -1 where unknown. Either
 * out-parameter may be NULL. */
VERIKIT_EXTERN(int) verikit_event_attempts(const verikit_event *event, int32_t *used_out, int32_t *remaining_out);
/* rate_limited, cooldown, locked: milliseconds to wait; 0 otherwise. */
VERIKIT_EXTERN(int) verikit_event_retry_after_ms(const verikit_event *event, int64_t *ms_out);
/* revoked: how many credentials were revoked; -1 otherwise. */
VERIKIT_EXTERN(int) verikit_event_count(const verikit_event *event, int32_t *count_out);
/* When the outcome was known: the host's wall clock, milliseconds since the Unix epoch. */
VERIKIT_EXTERN(int) verikit_event_at_ms(const verikit_event *event, int64_t *ms_out);
/* Events handed to the handler so far, and dropped (queue full; or completed while the engine
 * was being freed). Either out-parameter may be NULL. Thread-safe. Returns VERIKIT_OK or
 * VERIKIT_E_INVALID_ARGUMENT (engine NULL). */
VERIKIT_EXTERN(int) verikit_engine_event_counts(verikit_engine *engine, uint64_t *delivered_out, uint64_t *dropped_out);

/* ------------------------------------------------------------------------------------------
 * Results: one opaque record for every operation; free with verikit_result_free. Getters
 * return VERIKIT_OK, or VERIKIT_E_INVALID_ARGUMENT for a NULL argument. Fields that do not
 * apply read as: empty strings, -1 attempts, 0 times, -1 active tokens.
 * ---------------------------------------------------------------------------------------- */
typedef struct verikit_result verikit_result;

/* Frees the result and wipes the secrets it holds. */
VERIKIT_EXTERN(void) verikit_result_free(verikit_result *result);
/* A verikit_status. */
VERIKIT_EXTERN(int) verikit_result_status(const verikit_result *result, int *status_out);
/* Issue: the OTP code or the token to deliver to the user (NUL-terminated as well). */
VERIKIT_EXTERN(int) verikit_result_secret(const verikit_result *result, const char **data_out, size_t *len_out);
/* Link issue: the magic link URL (NUL-terminated as well). */
VERIKIT_EXTERN(int) verikit_result_url(const verikit_result *result, const char **data_out, size_t *len_out);
/* 0.4. verikit_totp_begin: the pending enrollment to keep for verikit_totp_confirm (NUL-terminated
 * as well); empty for other operations. */
VERIKIT_EXTERN(int) verikit_result_pending(const verikit_result *result, const char **data_out, size_t *len_out);
/* The purpose and the normalised identifier the credential belongs to (NUL-terminated as
 * well; an identifier may itself contain NUL bytes: use the length). */
VERIKIT_EXTERN(int) verikit_result_purpose(const verikit_result *result, const char **data_out, size_t *len_out);
VERIKIT_EXTERN(int) verikit_result_identifier(const verikit_result *result, const char **data_out,
                                              size_t *len_out);
/* On verified/valid: the payload given at issue (may be empty). */
VERIKIT_EXTERN(int) verikit_result_payload(const verikit_result *result, const uint8_t **data_out,
                                           size_t *len_out);
/* Expiry of the credential, milliseconds since the Unix epoch (store time); 0 if unknown. */
VERIKIT_EXTERN(int) verikit_result_expires_at_ms(const verikit_result *result, int64_t *ms_out);
/* OTPs: wrong guesses the code still survives; -1 where it does not apply. */
VERIKIT_EXTERN(int) verikit_result_attempts_remaining(const verikit_result *result, int32_t *attempts_out);
/* Rate limits and cooldowns: milliseconds to wait before trying again; 0 otherwise. */
VERIKIT_EXTERN(int) verikit_result_retry_after_ms(const verikit_result *result, int64_t *ms_out);
/* Inspect: live tokens and links of the identifier for the purpose; -1 otherwise. */
VERIKIT_EXTERN(int) verikit_result_active_tokens(const verikit_result *result, int32_t *count_out);

/* Verify/consume on Redis with durability on (URL option wait_replicas=N, wait_timeout_ms=T):
 * how many replicas acknowledged the consumption or the counted guess within T ms (fewer than N:
 * a failover now could roll it back); -1 when durability is off or nothing was asked. 0.2. */
VERIKIT_EXTERN(int) verikit_result_replicas_confirmed(const verikit_result *result, int32_t *replicas_out);
/* OTP issue: 1 if the live code was re-sent (reissue = resend_same, same payload), else 0. 0.2. */
VERIKIT_EXTERN(int) verikit_result_reused(const verikit_result *result, int *reused_out);

/* Inspect: the abuse-control counters. Times are ms since the Unix epoch, 0 when not set. */
typedef enum verikit_counter {
  VERIKIT_COUNTER_FAILURES = 0,               /* wrong guesses the failure budget still holds
                                                 (one is forgiven per period / count) */
  VERIKIT_COUNTER_FAILURES_RESET_AT_MS = 1,   /* when all are forgiven */
  VERIKIT_COUNTER_LOCKED_UNTIL_MS = 2,        /* the budget is spent: when the next guess is allowed */
  VERIKIT_COUNTER_LOCKOUT_LEVEL = 3,          /* deprecated: always 0 since 0.2 */
  VERIKIT_COUNTER_LOCKOUT_LEVEL_RESET_AT_MS = 4, /* deprecated: always 0 since 0.2 */
  VERIKIT_COUNTER_COOLDOWN_UNTIL_MS = 5,
  VERIKIT_COUNTER_SENDS_AVAILABLE = 6,        /* issues the send limit allows now; -1: no limit */
  VERIKIT_COUNTER_SEND_LIMIT_RESET_AT_MS = 7, /* when the full burst is available again */
  VERIKIT_COUNTER_GUESSES_AVAILABLE = 8       /* 0.2: wrong guesses the budget allows now; -1: none */
} verikit_counter;
/* Returns VERIKIT_E_INVALID_ARGUMENT for a NULL argument, an unknown counter, or a result that
 * is not from verikit_inspect. */
VERIKIT_EXTERN(int) verikit_result_counter(const verikit_result *result, int counter, int64_t *value_out);

/* Checking a token or link with this purpose accepts any purpose (no purpose may be "*"). 0.2. */
#define VERIKIT_ANY_PURPOSE "*"

/* ------------------------------------------------------------------------------------------
 * Operations. `purpose` is a NUL-terminated string of 1..64 printable ASCII bytes without
 * spaces. `identifier` (e-mail address, phone number, user id: bytes, 1..512 after the
 * policy's normalisation). On VERIKIT_OK, *out holds a result the caller frees.
 * Errors: VERIKIT_E_INVALID_ARGUMENT, VERIKIT_E_VERSION, VERIKIT_E_STORE_*, VERIKIT_E_TIMEOUT,
 * VERIKIT_E_CRYPTO, VERIKIT_E_NO_MEMORY. A store fault is never reported as verified.
 * ---------------------------------------------------------------------------------------- */

#define VERIKIT_ISSUE_OPTIONS_VERSION 2  /* 1 (0.1/0.2: no binding) is still accepted */
typedef struct verikit_issue_options {
  unsigned int version;   /* VERIKIT_ISSUE_OPTIONS_VERSION */
  const uint8_t *payload; /* bytes returned on successful verification, stored encrypted (<= 8192) */
  size_t payload_len;
  uint32_t ttl_seconds;   /* 0: the purpose's policy; else 1 .. 2592000 */
  const uint8_t *client_key; /* optional: an IP address, a device id (<= 256 bytes); issues are
                                limited per client key across identifiers */
  size_t client_key_len;
  /* version 2 (0.3): optional flow binding (<= 256 bytes), typically a random value the
     application keeps in the requesting browser's cookie or session. Only a keyed hash is
     stored; the credential then verifies only when the same value is presented (README: "Flow
     binding"). Empty: not bound. */
  const uint8_t *binding;
  size_t binding_len;
} verikit_issue_options;
#define VERIKIT_ISSUE_OPTIONS_INIT {VERIKIT_ISSUE_OPTIONS_VERSION, NULL, 0, 0, NULL, 0, NULL, 0}
VERIKIT_EXTERN(int) verikit_issue_options_init(verikit_issue_options *options, unsigned int version);

/* OTP: issues a code for (purpose, identifier); the result's secret is the code to send.
 * `options` may be NULL. Status: ISSUED; or refused with nothing stored: LOCKED, COOLDOWN,
 * RATE_LIMITED (see verikit_result_retry_after_ms). The same holds for token and link issues,
 * which are also RATE_LIMITED when the active cap refuses. */
VERIKIT_EXTERN(int) verikit_otp_issue(verikit_result **out, verikit_engine *engine, const char *purpose,
                                      const char *identifier, size_t identifier_len,
                                      const verikit_issue_options *options);
#define VERIKIT_VERIFY_OPTIONS_VERSION 2  /* 1 (0.1/0.2: no binding) is still accepted */
typedef struct verikit_verify_options {
  unsigned int version;      /* VERIKIT_VERIFY_OPTIONS_VERSION */
  const uint8_t *client_key; /* optional: wrong guesses are limited per client key too (OTPs
                                only: token and link checks refuse a client key) */
  size_t client_key_len;
  /* version 2 (0.3): the flow's binding value (<= 256 bytes). A bound OTP presented with another
     or no binding is a wrong guess (INVALID, counted); a bound token or link with another
     binding is NOT_FOUND and counted in the identifier's failure budget (LOCKED once spent),
     with no binding NOT_FOUND (not counted). Ignored by unbound credentials. */
  const uint8_t *binding;
  size_t binding_len;
} verikit_verify_options;
#define VERIKIT_VERIFY_OPTIONS_INIT {VERIKIT_VERIFY_OPTIONS_VERSION, NULL, 0, NULL, 0}
VERIKIT_EXTERN(int) verikit_verify_options_init(verikit_verify_options *options, unsigned int version);

/* OTP: checks a code and, if right, consumes it, in one atomic step. Spaces and dashes in the
 * code are ignored; a code that cannot be right (wrong length, a character outside the
 * policy's alphabet) is VERIKIT_E_INVALID_ARGUMENT before any store is asked: it costs no
 * attempt and is the same error whatever the store holds. `options` may be NULL. Status:
 * VERIFIED, INVALID, NOT_FOUND, ATTEMPTS_EXHAUSTED, LOCKED (the failure budget of the
 * identifier, or of the identifier and this client key, is spent: the code was not compared;
 * or this guess spent it; see retry-after), RATE_LIMITED (the client key's failure limit). */
VERIKIT_EXTERN(int) verikit_otp_verify(verikit_result **out, verikit_engine *engine, const char *purpose,
                                       const char *identifier, size_t identifier_len, const char *code,
                                       size_t code_len, const verikit_verify_options *options);
/* OTP: revokes the live code, if any. *revoked_out (may be NULL) is 1 if one was revoked. */
VERIKIT_EXTERN(int) verikit_otp_revoke(int *revoked_out, verikit_engine *engine, const char *purpose,
                                       const char *identifier, size_t identifier_len);

/* Token: issues an opaque URL-safe token; the result's secret is the token. Status: ISSUED. */
VERIKIT_EXTERN(int) verikit_token_issue(verikit_result **out, verikit_engine *engine, const char *purpose,
                                        const char *identifier, size_t identifier_len,
                                        const verikit_issue_options *options);
/* Token: checks and consumes, by the token alone. `purpose` is required (0.2: NULL or "" is
 * VERIKIT_E_INVALID_ARGUMENT); a token of another purpose is NOT_FOUND (and not consumed).
 * VERIKIT_ANY_PURPOSE ("*") accepts a token of any purpose: an explicit opt-in. The result names the purpose,
 * identifier and payload. Status: VERIFIED or NOT_FOUND (also for malformed tokens). */
VERIKIT_EXTERN(int) verikit_token_verify(verikit_result **out, verikit_engine *engine, const char *purpose,
                                         const char *token, size_t token_len);
/* 0.3. Token: verify with options (the flow binding; a client key is refused). A binding needs
 * the token's own purpose (VERIKIT_ANY_PURPOSE is VERIKIT_E_INVALID_ARGUMENT then). Status:
 * VERIFIED, NOT_FOUND (also: a bound token with another or no binding), LOCKED (a bound token
 * whose identifier's failure budget is spent: nothing compared; see retry-after). `options` may
 * be NULL (then it is verikit_token_verify). */
VERIKIT_EXTERN(int) verikit_token_verify_ext(verikit_result **out, verikit_engine *engine, const char *purpose,
                                             const char *token, size_t token_len,
                                             const verikit_verify_options *options);
/* Token: like verify, without consuming. Status: VALID or NOT_FOUND. Peeking ignores bindings:
 * it answers whoever holds the token (a link page uses it to offer the cross-device fallback). */
VERIKIT_EXTERN(int) verikit_token_peek(verikit_result **out, verikit_engine *engine, const char *purpose,
                                       const char *token, size_t token_len);
/* Token: revokes one token. *revoked_out (may be NULL) is 1 if it was live. */
VERIKIT_EXTERN(int) verikit_token_revoke(int *revoked_out, verikit_engine *engine, const char *token,
                                         size_t token_len);

/* Magic link: issues a token and builds `base_url` + the token parameter (path, query and
 * fragment kept; the parameter percent-encoded, last in the query, before the fragment).
 * `base_url` must be an absolute https:// URL (http:// only with
 * verikit_config_set_link_allow_http) whose host is a DNS name, a dotted-quad IPv4 or a
 * bracketed IPv6 address, with a port of 1-65535 if any, no user info, only RFC 3986 characters
 * (valid percent escapes, no backslash), no token parameter of its own, and (0.3) an origin of
 * the configuration's link origins if any are set; else VERIKIT_E_INVALID_ARGUMENT and nothing
 * is stored. The result holds the url, the token (secret) and the expiry. Status: ISSUED. */
VERIKIT_EXTERN(int) verikit_link_issue(verikit_result **out, verikit_engine *engine, const char *purpose,
                                       const char *identifier, size_t identifier_len, const char *base_url,
                                       const verikit_issue_options *options);
/* Magic link: is the link's token live? (for a confirmation page: link scanners that follow
 * links must not consume them). Status: VALID or NOT_FOUND. */
VERIKIT_EXTERN(int) verikit_link_peek(verikit_result **out, verikit_engine *engine, const char *purpose,
                                      const char *token, size_t token_len);
/* Magic link: consumes the link's token. Status: VERIFIED or NOT_FOUND (a bound link: NOT_FOUND
 * without its binding; use verikit_link_consume_ext). */
VERIKIT_EXTERN(int) verikit_link_consume(verikit_result **out, verikit_engine *engine, const char *purpose,
                                         const char *token, size_t token_len);
/* 0.3. Magic link: consume with options (the flow binding), as verikit_token_verify_ext. */
VERIKIT_EXTERN(int) verikit_link_consume_ext(verikit_result **out, verikit_engine *engine, const char *purpose,
                                             const char *token, size_t token_len,
                                             const verikit_verify_options *options);
/* Magic link: revokes one link. *revoked_out (may be NULL) is 1 if it was live. */
VERIKIT_EXTERN(int) verikit_link_revoke(int *revoked_out, verikit_engine *engine, const char *token,
                                        size_t token_len);

/* Revokes the OTP and every token and link of (purpose, identifier). *count_out (may be NULL)
 * is how many were live. */
VERIKIT_EXTERN(int) verikit_revoke_all(int *count_out, verikit_engine *engine, const char *purpose,
                                       const char *identifier, size_t identifier_len);
/* For support staff and tests: the live OTP's attempts left and expiry, the number of live
 * tokens and links, and every abuse-control counter (verikit_result_counter). Status: LOCKED,
 * VALID (something is live) or NOT_FOUND. */
VERIKIT_EXTERN(int) verikit_inspect(verikit_result **out, verikit_engine *engine, const char *purpose,
                                    const char *identifier, size_t identifier_len);
/* Ends a lockout and forgets the failure count and lockout level (for support staff).
 * *was_locked_out (may be NULL) is 1 if the identifier was locked. */
VERIKIT_EXTERN(int) verikit_unlock(int *was_locked_out, verikit_engine *engine, const char *purpose,
                                   const char *identifier, size_t identifier_len);

/* 0.3. Recovery codes (README: "Recovery codes"): a set of the policy's `recovery_codes`
 * single-use codes per (purpose, identifier), "XXXXX-XXXXX" (10 symbols of the unambiguous
 * alphabet; dashes, spaces and case are ignored when one is used), stored as keyed hashes.
 * generate: a new set replaces any earlier one; the result's codes (verikit_result_code_count,
 * verikit_result_code) are the only copy: show them once. Status: ISSUED.
 * use: Status VERIFIED (the code is spent), INVALID (a wrong code: counted in the identifier's
 * failure budget, the one wrong OTP guesses spend), LOCKED (the budget is spent: nothing is
 * compared; see retry-after), NOT_FOUND (no set), RATE_LIMITED (the client key's failure limit).
 * A code that cannot be one is VERIKIT_E_INVALID_ARGUMENT before any store is asked. `options`
 * may be NULL (a client key is used as for OTPs; a binding is refused).
 * remaining: *count_out (may be NULL) is how many codes are left. */
VERIKIT_EXTERN(int) verikit_recovery_generate(verikit_result **out, verikit_engine *engine, const char *purpose,
                                              const char *identifier, size_t identifier_len);
VERIKIT_EXTERN(int) verikit_recovery_use(verikit_result **out, verikit_engine *engine, const char *purpose,
                                         const char *identifier, size_t identifier_len, const char *code,
                                         size_t code_len, const verikit_verify_options *options);
VERIKIT_EXTERN(int) verikit_recovery_remaining(int *count_out, verikit_engine *engine, const char *purpose,
                                               const char *identifier, size_t identifier_len);
/* 0.3. The recovery codes a verikit_recovery_generate result holds (0 for other results), and
 * code i (NUL-terminated, owned by the result). VERIKIT_E_INVALID_ARGUMENT: NULL, i out of range. */
VERIKIT_EXTERN(int) verikit_result_code_count(const verikit_result *result, size_t *count_out);
VERIKIT_EXTERN(int) verikit_result_code(const verikit_result *result, size_t i, const char **data_out,
                                        size_t *len_out);

/* 0.3. Authenticator codes (TOTP, RFC 6238 over HOTP, RFC 4226, HMAC-SHA-1; README
 * "Authenticator codes"). enroll: a new 160-bit secret (libsodium), sealed at rest, replacing any
 * earlier enrollment; the result's secret is its base32 and its url the otpauth:// provisioning
 * URI (show it as a QR code once). `issuer`: NUL-terminated, 1-64 printable bytes without ':'.
 * Status: ISSUED. verify: Status VERIFIED (a code of a step within the policy's totp_window of the
 * store's time and later than the last accepted step, which it becomes: a code is accepted once,
 * even concurrently), INVALID (a wrong code or a replay: counted in the identifier's failure
 * budget, the one OTPs and recovery codes spend), LOCKED (spent: nothing compared), NOT_FOUND
 * (not enrolled), RATE_LIMITED (the client key's failure limit). A code that is not 6 to 8 digits
 * is VERIKIT_E_INVALID_ARGUMENT before any store is asked (one of another length than the
 * enrollment's is a wrong code, counted). An enrollment keeps the digits and period it was made
 * with (0.4). `options` may be NULL. */
VERIKIT_EXTERN(int) verikit_totp_enroll(verikit_result **out, verikit_engine *engine, const char *purpose,
                                        const char *identifier, size_t identifier_len, const char *issuer);
VERIKIT_EXTERN(int) verikit_totp_verify(verikit_result **out, verikit_engine *engine, const char *purpose,
                                        const char *identifier, size_t identifier_len, const char *code,
                                        size_t code_len, const verikit_verify_options *options);

/* 0.4. A two-step enrollment (README "Authenticator codes"). begin: a new secret, and nothing
 * stored: Status ISSUED, with the secret's base32 (verikit_result_secret), its otpauth:// URI
 * (verikit_result_url), when it must be confirmed by (verikit_result_expires_at_ms: the policy's
 * totp_confirm_ttl) and the pending enrollment (verikit_result_pending: opaque text holding the
 * sealed secret, bound to this purpose and identifier and to the enrollment current now; keep it
 * server-side, in the user's session). confirm, with it and the first code the authenticator app
 * shows: VERIFIED (the new secret replaced the enrollment current at begin; that code's step is
 * its last accepted one, so it is not accepted again), INVALID (a wrong code: counted in the
 * failure budget, as by verikit_totp_verify), LOCKED, RATE_LIMITED, NOT_FOUND (expired, confirmed
 * already, the enrollment changed since it began, or not a pending enrollment of this engine's for
 * this purpose and identifier; not counted). The enrollment in place keeps working until then. */
VERIKIT_EXTERN(int) verikit_totp_begin(verikit_result **out, verikit_engine *engine, const char *purpose,
                                       const char *identifier, size_t identifier_len, const char *issuer);
VERIKIT_EXTERN(int) verikit_totp_confirm(verikit_result **out, verikit_engine *engine, const char *purpose,
                                         const char *identifier, size_t identifier_len, const char *pending,
                                         size_t pending_len, const char *code, size_t code_len,
                                         const verikit_verify_options *options);

/* 0.4. Removes the second factors of (purpose, identifier): its authenticator enrollment and its
 * recovery codes (for a user who turns them off, or support staff once they know who asks).
 * *count_out (may be NULL) is how many: 1 for an enrollment, plus each recovery code left.
 * verikit_revoke_all never touches them (a credential consumed with REVOKE_ALL_ON_USE must not
 * strip them); the failure budgets stay (see verikit_unlock). A two-step enrollment begun before
 * the removal is NOT_FOUND at verikit_totp_confirm (the removal leaves a record saying so for a
 * day). */
VERIKIT_EXTERN(int) verikit_revoke_second_factors(int *count_out, verikit_engine *engine, const char *purpose,
                                                  const char *identifier, size_t identifier_len);

/* ------------------------------------------------------------------------------------------
 * Asynchronous forms. The callback runs exactly once with either error == VERIKIT_OK and a
 * result the callback owns (free it with verikit_result_free, on any thread), or error < 0,
 * a message (valid during the callback only) and result == NULL.
 * It runs on the calling thread before the call returns (embedded store) or on a verikit
 * thread (network stores): it must not block and must not free the engine. On a network store
 * VERIKIT_E_TIMEOUT means the request was sent and may have taken effect, while
 * VERIKIT_E_STORE_UNAVAILABLE means it was not sent (see the error codes).
 * The call itself returns VERIKIT_E_INVALID_ARGUMENT (and never calls back) only when
 * `engine` or `callback` is NULL; every other failure is reported through the callback.
 * A synchronous verikit call made inside a callback that runs on a verikit I/O thread (of this
 * engine or another: two engines' callbacks each waiting for the other's thread would stop both)
 * could wait for that thread: on a Redis store it fails at once with VERIKIT_E_INVALID_ARGUMENT
 * (use the asynchronous forms there; the embedded stores answer without waiting).
 * ---------------------------------------------------------------------------------------- */
typedef void (*verikit_callback)(void *user, int error, const char *error_message, verikit_result *result);

VERIKIT_EXTERN(int) verikit_otp_issue_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                            size_t identifier_len, const verikit_issue_options *options,
                                            verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_otp_verify_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                             size_t identifier_len, const char *code, size_t code_len,
                                             const verikit_verify_options *options, verikit_callback callback,
                                             void *user);
VERIKIT_EXTERN(int) verikit_token_issue_async(verikit_engine *engine, const char *purpose,
                                              const char *identifier, size_t identifier_len,
                                              const verikit_issue_options *options, verikit_callback callback,
                                              void *user);
VERIKIT_EXTERN(int) verikit_token_verify_async(verikit_engine *engine, const char *purpose, const char *token,
                                               size_t token_len, verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_token_peek_async(verikit_engine *engine, const char *purpose, const char *token,
                                             size_t token_len, verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_link_issue_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                             size_t identifier_len, const char *base_url,
                                             const verikit_issue_options *options, verikit_callback callback,
                                             void *user);
VERIKIT_EXTERN(int) verikit_link_peek_async(verikit_engine *engine, const char *purpose, const char *token,
                                            size_t token_len, verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_link_consume_async(verikit_engine *engine, const char *purpose, const char *token,
                                               size_t token_len, verikit_callback callback, void *user);
/* 0.3: the asynchronous forms of verikit_token_verify_ext and verikit_link_consume_ext. */
VERIKIT_EXTERN(int) verikit_token_verify_ext_async(verikit_engine *engine, const char *purpose, const char *token,
                                                   size_t token_len, const verikit_verify_options *options,
                                                   verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_link_consume_ext_async(verikit_engine *engine, const char *purpose, const char *token,
                                                   size_t token_len, const verikit_verify_options *options,
                                                   verikit_callback callback, void *user);

/* 0.2: the asynchronous forms of revoke, revoke-all, inspect and unlock, with the same rules as
 * the calls above (exactly once; on the calling thread before the call returns with the
 * embedded store, else on a verikit thread; must not block or free the engine; only a NULL
 * `engine` or `callback` is refused by the call itself, every other failure, bad arguments
 * included, goes through the callback). Each gives the same answer as its synchronous form.
 *
 * Revocations and unlock answer with a number instead of a result: `count` is what the
 * synchronous form writes to its out-parameter (see verikit_otp_revoke, verikit_revoke_all,
 * verikit_unlock), with error == VERIKIT_OK; on a failure, error < 0, `count` is 0 and the
 * message is valid during the callback only. There is nothing to free. */
typedef void (*verikit_count_callback)(void *user, int error, const char *error_message, int count);

/* 0.2. OTP: revokes the live code of (purpose, identifier); count: 1 if one was revoked, else 0. */
VERIKIT_EXTERN(int) verikit_otp_revoke_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                             size_t identifier_len, verikit_count_callback callback, void *user);
/* 0.2. Token / magic link: revokes one by the token alone; count: 1 if it was live, else 0
 * (also for a malformed token). */
VERIKIT_EXTERN(int) verikit_token_revoke_async(verikit_engine *engine, const char *token, size_t token_len,
                                               verikit_count_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_link_revoke_async(verikit_engine *engine, const char *token, size_t token_len,
                                              verikit_count_callback callback, void *user);
/* 0.2. Revokes the OTP and every token and link of (purpose, identifier); count: how many were
 * live. */
VERIKIT_EXTERN(int) verikit_revoke_all_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                             size_t identifier_len, verikit_count_callback callback, void *user);
/* 0.2. Like verikit_inspect; the callback owns the result (free it with verikit_result_free, on
 * any thread), which carries the counters (verikit_result_counter). */
VERIKIT_EXTERN(int) verikit_inspect_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                          size_t identifier_len, verikit_callback callback, void *user);
/* 0.2. Ends a lockout (refills the failure budgets); count: 1 if the identifier was locked,
 * else 0. */
VERIKIT_EXTERN(int) verikit_unlock_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                         size_t identifier_len, verikit_count_callback callback, void *user);

/* 0.3. The asynchronous forms of the recovery-code calls; remaining answers with a count. */
VERIKIT_EXTERN(int) verikit_recovery_generate_async(verikit_engine *engine, const char *purpose,
                                                    const char *identifier, size_t identifier_len,
                                                    verikit_callback callback, void *user);
VERIKIT_EXTERN(int) verikit_recovery_use_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                               size_t identifier_len, const char *code, size_t code_len,
                                               const verikit_verify_options *options, verikit_callback callback,
                                               void *user);
VERIKIT_EXTERN(int) verikit_recovery_remaining_async(verikit_engine *engine, const char *purpose,
                                                     const char *identifier, size_t identifier_len,
                                                     verikit_count_callback callback, void *user);

/* 0.3. The asynchronous forms of the authenticator calls. */
VERIKIT_EXTERN(int) verikit_totp_enroll_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                              size_t identifier_len, const char *issuer, verikit_callback callback,
                                              void *user);
VERIKIT_EXTERN(int) verikit_totp_verify_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                              size_t identifier_len, const char *code, size_t code_len,
                                              const verikit_verify_options *options, verikit_callback callback,
                                              void *user);
/* 0.4. The asynchronous forms of the two-step enrollment. */
VERIKIT_EXTERN(int) verikit_totp_begin_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                             size_t identifier_len, const char *issuer, verikit_callback callback,
                                             void *user);
VERIKIT_EXTERN(int) verikit_totp_confirm_async(verikit_engine *engine, const char *purpose, const char *identifier,
                                               size_t identifier_len, const char *pending, size_t pending_len,
                                               const char *code, size_t code_len,
                                               const verikit_verify_options *options, verikit_callback callback,
                                               void *user);
/* 0.4. The asynchronous form of verikit_revoke_second_factors; count: how many were removed. */
VERIKIT_EXTERN(int) verikit_revoke_second_factors_async(verikit_engine *engine, const char *purpose,
                                                        const char *identifier, size_t identifier_len,
                                                        verikit_count_callback callback, void *user);

#ifdef __cplusplus
}
#endif

#endif /* VERIKIT_H */
