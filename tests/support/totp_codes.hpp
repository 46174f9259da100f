// Authenticator codes as an authenticator app computes them, for tests: the enrolled base32
// secret decoded, and the code of the 30-second step at a given time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/hotp.hpp"

namespace verikit::test {

inline std::string base32_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = c >= 'A' && c <= 'Z' ? c - 'A' : c - '2' + 26;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// The code of the step `offset` steps from `now` (6 digits, 30-second steps unless given), for the
// base32 secret `secret`.
template <class TimePoint>
std::string totp_code(std::string_view secret, TimePoint now, int offset = 0, int period_s = 30, int digits = 6) {
  const long long now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return detail::hotp(base32_decode(secret), static_cast<std::uint64_t>(now_s / period_s + offset), digits);
}

}  // namespace verikit::test
