// verikit allocation count: heap allocations per OTP issue and per OTP verify (right code) on
// the embedded store, synchronous C API, as the embedded benchmark row calls them. This program
// defines malloc (forwarding to glibc's) and counts the calls made while the operations run, so
// what it reports is every allocation of the library, libstdc++ and libsodium on that path.
//
//   alloc_count [N]   N identifiers (default 100,000): N issues, then N verifies
//
// Exits non-zero if an operation fails or a verify is not verified.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_engine.hpp"
#include "verikit.h"

extern "C" void* __libc_malloc(size_t);  // glibc's own: what this malloc forwards to

namespace {
bool g_counting = false;
unsigned long long g_calls = 0;
}  // namespace

extern "C" void* malloc(size_t n) {
  if (g_counting) ++g_calls;
  return __libc_malloc(n);
}

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  if (n == 0) return 2;
  uint8_t key[VERIKIT_KEY_BYTES];
  verikit_key_generate(key, sizeof key);
  verikit_engine* e = bench_engine("memory://", key, bench_policy());  // as verikit_bench: abuse controls off
  std::vector<std::string> ids(n), codes(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = "user-" + std::to_string(i) + "@example.com";
  g_counting = true;
  const unsigned long long start = g_calls;
  for (std::size_t i = 0; i < n; ++i) {
    verikit_result* r = nullptr;
    if (verikit_otp_issue(&r, e, "login", ids[i].data(), ids[i].size(), nullptr) != VERIKIT_OK) return 1;
    const char* s = nullptr;
    size_t len = 0;
    verikit_result_secret(r, &s, &len);
    codes[i].assign(s, len);  // (reserved by the strings' first assignment: 6 bytes fit in place)
    verikit_result_free(r);
  }
  const unsigned long long issued = g_calls - start;
  for (std::size_t i = 0; i < n; ++i) {
    verikit_result* r = nullptr;
    if (verikit_otp_verify(&r, e, "login", ids[i].data(), ids[i].size(), codes[i].data(), codes[i].size(), nullptr) !=
        VERIKIT_OK)
      return 1;
    int status = -1;
    verikit_result_status(r, &status);
    verikit_result_free(r);
    if (status != VERIKIT_STATUS_VERIFIED) return 1;
  }
  const unsigned long long verified = g_calls - start - issued;
  g_counting = false;
  std::printf("embedded store, synchronous C API, %zu identifiers: %.2f allocations per OTP issue, %.2f per OTP verify\n",
              n, static_cast<double>(issued) / static_cast<double>(n), static_cast<double>(verified) / static_cast<double>(n));
  verikit_engine_free(e);
  return 0;
}
