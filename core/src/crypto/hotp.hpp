// verikit::detail — HOTP (RFC 4226) and TOTP (RFC 6238) codes with HMAC-SHA-1, the algorithm
// authenticator apps use, and base32 (RFC 4648) for their secrets. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace verikit::detail {

std::array<std::uint8_t, 20> sha1(std::string_view data);
std::array<std::uint8_t, 20> hmac_sha1(std::string_view key, std::string_view data);
// The `digits`-digit code (6-8) for `counter` (a TOTP step is floor(unix seconds / period)).
std::string hotp(std::string_view secret, std::uint64_t counter, int digits);
// RFC 4648 base32, upper case, without padding (as otpauth:// URIs carry secrets).
std::string base32_encode(std::string_view bytes);

}  // namespace verikit::detail
