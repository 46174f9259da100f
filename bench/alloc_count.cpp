// verikit allocation count: heap allocations per OTP issue and per OTP verify (right code),
// synchronous C API, as the embedded benchmark row calls them. This program defines malloc and
// calloc (forwarding to glibc's) and counts the calls made while the operations run, on every
// thread, so what it reports is every allocation of the library, libstdc++, libsodium and
// hiredis on that path (the Redis client's I/O thread included).
//
//   alloc_count [N [URL]]   N identifiers (default 100,000): N issues, then N verifies, on the
//                           store at URL (default memory://; a redis:// URL for the Redis path)
//
// Exits non-zero if an operation fails or a verify is not verified.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_engine.hpp"
#include "verikit.h"

extern "C" void* __libc_malloc(size_t);  // glibc's own: what these forward to
extern "C" void* __libc_calloc(size_t, size_t);

namespace {
std::atomic<bool> g_counting{false};
std::atomic<unsigned long long> g_calls{0};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_calls.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  if (n == 0) return 2;
  uint8_t key[VERIKIT_KEY_BYTES];
  verikit_key_generate(key, sizeof key);
  const char* url = argc > 2 ? argv[2] : "memory://";
  verikit_engine* e = bench_engine(url, key, bench_policy());  // as verikit_bench: abuse controls off
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
  std::printf("%s, synchronous C API, %zu identifiers: %.2f allocations per OTP issue, %.2f per OTP verify\n",
              url, n, static_cast<double>(issued) / static_cast<double>(n), static_cast<double>(verified) / static_cast<double>(n));
  verikit_engine_free(e);
  return 0;
}
