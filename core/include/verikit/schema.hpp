// verikit — the schema, defined once: every policy field and every engine option by name with
// its type and range, every status (outcome) and every error kind with its class. The C API
// (verikit_config_set_policy_field, verikit_policy_field, verikit_config_set_option,
// verikit_config_option, verikit_status_info, verikit_error_kind) exposes it and the bindings
// read it from there, so a new field, option, status or error is one entry here (plus its
// documentation).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "verikit/config.hpp"
#include "verikit/error.hpp"
#include "verikit/result.hpp"

namespace verikit {

enum class FieldType : int {
  integer = 0,     // a whole number in [min, max]
  seconds = 1,     // a duration in whole seconds in [min, max]
  boolean = 2,     // true / false (also 1 / 0)
  choice = 3,      // one of `choices` (names separated by '|')
  rate_limit = 4,  // "count/period_seconds/burst", or "off" (also "false", "0")
  text = 5,        // a string (its own rule: see `doc`)
  list = 6,        // items separated by ',' (engine options only: see verikit/config_fields.hpp)
};

struct FieldInfo {
  std::string_view name;     // snake_case, as in the README's tables
  FieldType type;
  long long min = 0, max = 0;  // integer, seconds; text: its length; list: its items
  std::string_view choices;  // choice
  std::string_view doc;
};

const char* to_string(FieldType type) noexcept;

// Every policy field, in the order of the README's tables.
std::span<const FieldInfo> policy_fields() noexcept;

// Sets one field from its text form; an unknown field or a value that does not parse is
// invalid_argument, one out of range is config (the message names the field either way).
Status set_policy_field(Policy& policy, std::string_view name, std::string_view value);
// The text form of one field (what set_policy_field accepts).
Expected<std::string> get_policy_field(const Policy& policy, std::string_view name);
// Checks every field's range (validate(Policy) runs this and the rules across fields).
Status check_policy_fields(const Policy& policy);

// Every engine option (verikit/config_fields.hpp), in its order there: FieldType text, boolean,
// integer or list.
std::span<const FieldInfo> config_options() noexcept;
// Sets one option from its text form (list: "a,b"; "" is the empty list), with the errors of
// set_policy_field: an unknown option or a value that does not parse is invalid_argument, one
// out of range is config; the message names the option, and a failed set changes nothing.
Status set_config_option(Config& config, std::string_view name, std::string_view value);
// The text form of one option (what set_config_option accepts).
Expected<std::string> get_config_option(const Config& config, std::string_view name);
// Checks every option's range and form (validate(Config) runs this and the rules across options).
Status check_config_options(const Config& config);

// Every status, in value order (values are pinned forever: the C API's verikit_status).
struct StatusInfo {
  Outcome status;
  std::string_view name;  // "verified", "not_found", ... (the C API's verikit_status_name)
  bool ok;                // a success: verified, valid, issued (Result::ok, a result's truth value)
  std::string_view doc;
};
std::span<const StatusInfo> statuses() noexcept;

// Every error code, in the order of its value (pinned forever: the C API's VERIKIT_E_*). Kinds
// with a class of their own name it (bindings: VerikitError subclasses in Node, verikit.Error
// subclasses in Python); `parent` is the kind whose class it extends (Errc::ok: the base class),
// and always comes earlier in the table.
struct ErrorInfo {
  Errc code;
  std::string_view name;        // "invalid_argument", ...
  std::string_view c_name;      // "VERIKIT_E_INVALID_ARGUMENT" (verikit_error_name)
  std::string_view class_name;  // "InvalidArgumentError"; empty: the base class
  Errc parent;
  std::string_view doc;
};
std::span<const ErrorInfo> error_kinds() noexcept;

}  // namespace verikit
