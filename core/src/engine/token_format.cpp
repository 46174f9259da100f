// verikit::detail — token encoding and parsing.
#include "engine/token_format.hpp"

#include "crypto/crypto.hpp"

namespace verikit::detail {

std::string encode_token(std::uint8_t key_id, std::string_view group, std::string_view secret) {
  std::string raw;
  const auto locator = base64url_decode(group);  // tags are always valid base64url
  raw.reserve(2 + kTagBytes + secret.size());
  raw.push_back(static_cast<char>(kTokenVersion));
  raw.push_back(static_cast<char>(key_id));
  raw += *locator;
  raw += secret;
  std::string out = base64url_encode(raw);
  wipe(raw.data(), raw.size());
  return out;
}

std::optional<TokenParts> parse_token(std::string_view text) {
  auto raw = base64url_decode(text);
  if (!raw) return std::nullopt;
  Secret guard(std::move(*raw));
  const std::string_view bytes = guard.view();
  const std::size_t head = 2 + kTagBytes;
  if (bytes.size() < head + kMinTokenBytes || bytes.size() > head + kMaxTokenBytes) return std::nullopt;
  if (static_cast<std::uint8_t>(bytes[0]) != kTokenVersion) return std::nullopt;
  TokenParts parts;
  parts.key_id = static_cast<std::uint8_t>(bytes[1]);
  parts.group = tag_text(bytes.substr(2, kTagBytes));
  parts.secret = Secret(std::string(bytes.substr(head)));
  return parts;
}

}  // namespace verikit::detail
