// verikit::detail — the token format: base64url( version | key id | group locator | secret ).
// The locator lets a token alone find its record (and its key-group slot) in one step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "verikit/secret.hpp"

namespace verikit::detail {

inline constexpr std::uint8_t kTokenVersion = 1;
inline constexpr int kMinTokenBytes = 16;
inline constexpr int kMaxTokenBytes = 64;

struct TokenParts {
  std::uint8_t key_id = 0;
  std::string group;  // the key-group tag (base64url)
  Secret secret;      // raw random bytes
};

std::string encode_token(std::uint8_t key_id, std::string_view group, std::string_view secret);
// Nothing for text that is not a well-formed token of this version.
std::optional<TokenParts> parse_token(std::string_view text);

}  // namespace verikit::detail
