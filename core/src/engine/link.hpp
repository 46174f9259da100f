// verikit::detail — building magic-link URLs from a base URL (pure function).
#pragma once

#include <string>
#include <string_view>

#include "verikit/error.hpp"

namespace verikit::detail {

// Checks that `base` is an absolute http(s) URL with a host, then adds `param=value` to its
// query (keeping path, query and fragment), percent-encoding the name and value.
Expected<std::string> build_link(std::string_view base, std::string_view param, std::string_view value);
std::string percent_encode(std::string_view text);  // RFC 3986: all but unreserved characters

}  // namespace verikit::detail
