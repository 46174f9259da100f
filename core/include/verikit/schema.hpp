// verikit — the schema of a policy: every field by name, with its type and range, defined once.
// The C API (verikit_config_set_policy_field, verikit_policy_field_*) and the bindings set
// policies through it, so a new field is one entry here (plus its documentation).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "verikit/config.hpp"
#include "verikit/error.hpp"

namespace verikit {

enum class FieldType : int {
  integer = 0,     // a whole number in [min, max]
  seconds = 1,     // a duration in whole seconds in [min, max]
  boolean = 2,     // true / false (also 1 / 0)
  choice = 3,      // one of `choices` (names separated by '|')
  rate_limit = 4,  // "count/period_seconds/burst", or "off" (also "false", "0")
  text = 5,        // a string (its own rule: see `doc`)
};

struct FieldInfo {
  std::string_view name;     // snake_case, as in the README's tables
  FieldType type;
  long long min = 0, max = 0;  // integer, seconds
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

}  // namespace verikit
