// Authenticator codes as an authenticator app computes them, for the C API's tests: RFC 6238
// (6 digits, 30 s steps) over OpenSSL's HMAC-SHA-1, not the library under test (whose own
// HOTP the core's tests use through totp_codes.hpp). Link the test with OpenSSL::Crypto.
#pragma once

#include <openssl/hmac.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

namespace verikit::test {

// The code of a base32 secret at `now`, `offset` steps away.
inline std::string rfc6238_code(const std::string& base32, std::chrono::system_clock::time_point now, int offset = 0) {
  std::string key;
  unsigned bits = 0, acc = 0;
  for (char ch : base32) {
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    acc = (acc << 5) | static_cast<unsigned>(std::strchr(alphabet, ch) - alphabet);
    bits += 5;
    if (bits >= 8) {
      key.push_back(static_cast<char>((acc >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  const auto step = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() / 30 + offset);
  unsigned char msg[8];
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<unsigned char>(step >> (56 - 8 * i));
  unsigned char mac[20];
  unsigned mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &mac_len);
  const int off = mac[19] & 0x0f;
  const std::uint32_t bin = ((mac[off] & 0x7fu) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  std::string code = std::to_string(bin % 1000000);
  return std::string(6 - code.size(), '0') + code;
}

}  // namespace verikit::test
