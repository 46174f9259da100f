// verikit::detail — building magic-link URLs from a base URL (pure functions).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "verikit/error.hpp"

namespace verikit::detail {

// Where links may point (Config::link_origins, Config::link_allow_http).
struct LinkRules {
  std::span<const std::string> origins;  // empty: any https origin
  bool allow_http = false;
};

// An origin in one spelling: lower-case scheme and host, the port always written
// ("https://example.com:443"). Bad text (not scheme://host[:port][/]) is an invalid_argument error.
Expected<std::string> canonical_origin(std::string_view origin);

// Checks `base` strictly (absolute http(s) URL; a host that is a DNS name, an IPv4 address or a
// bracketed IPv6 address; a port of 1-65535; no user info; only RFC 3986 characters, valid
// percent escapes, no backslash; no `param` already in its query; an origin `rules` allow), then
// adds `param=value` (percent-encoded) as the last query parameter, before any fragment. Every
// refusal is an invalid_argument error whose message starts with "base URL".
Expected<std::string> build_link(std::string_view base, std::string_view param, std::string_view value,
                                 const LinkRules& rules);
std::string percent_encode(std::string_view text);  // RFC 3986: all but unreserved characters

}  // namespace verikit::detail
