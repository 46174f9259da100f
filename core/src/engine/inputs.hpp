// verikit::detail — checks on caller input and identifier normalisation (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "verikit/config.hpp"
#include "verikit/error.hpp"

namespace verikit::detail {

// A purpose to issue under: 1-64 printable ASCII bytes without spaces, not "*".
Status check_purpose(std::string_view purpose);
// The purpose a token or link is checked against: required; "*" (true) accepts any purpose.
Expected<bool> check_purpose_filter(std::string_view purpose);
Status check_payload(std::string_view payload);
Status check_binding(std::string_view binding);  // a flow binding value: 0..kMaxBindingBytes bytes
// Applies the policy's normalisation, then checks the result is 1..kMaxIdentifierBytes.
Expected<std::string> normalize_identifier(std::string_view identifier, const Policy& policy);
// A submitted code as the user typed it: spaces and dashes dropped, upper-cased for letters.
Expected<std::string> normalize_code(std::string_view code, const Policy& policy);
Expected<std::chrono::milliseconds> effective_ttl(std::chrono::seconds requested, const Policy& policy);

}  // namespace verikit::detail
