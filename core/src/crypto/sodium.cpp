// verikit::detail — libsodium initialisation, randomness, wiping, constant-time comparison.
#include <sodium.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include "crypto/crypto.hpp"
#include "verikit/process.hpp"

namespace verikit::detail {

bool crypto_init() noexcept {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  return ok;
}

void wipe(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) sodium_memzero(data, size);
}

namespace {

// Random bytes from libsodium, drawn 512 at a time by each thread: an OTP takes one 32-bit draw
// per character and a sealed record a 24-byte nonce, and each draw straight from libsodium is a
// getrandom(2) system call (six for a six-digit code: about 2 us of system time per issue).
// Each byte is wiped as it is handed out, so the pool holds only bytes no one has used.
//
// A forked child must never hand out what a pool held at the fork (parent and child would issue
// the same codes, tokens and nonces), nor keep the parent's next bytes in its memory. Each pool
// is a page of its own marked MADV_WIPEONFORK: the kernel gives the child every thread's pool
// zeroed, which reads as empty (`remaining` 0), whatever way the child was made. Where the kernel
// lacks it (before Linux 4.14), the fork generation (a pthread_atfork handler, registered when
// the library loads) tells the forking thread's pool to wipe itself; the other threads' pools
// are then left unwiped in the child, but unused. The page is also kept out of core dumps.
struct PoolPage {
  static constexpr std::size_t kBytes = 512;
  std::size_t remaining;  // bytes[kBytes - remaining ..] are unused; 0 (as the kernel zeroes it): empty
  std::uint64_t generation;
  unsigned char bytes[kBytes];
};

struct Pool {
  PoolPage* page = nullptr;
  bool unavailable = false;  // no page could be mapped: draws go straight to libsodium
  ~Pool() {
    unavailable = true;  // (a later thread_local destructor that draws goes straight to libsodium)
    if (page == nullptr) return;
    wipe(page, sizeof *page);
    ::munmap(page, page_size());
    page = nullptr;
  }
  static std::size_t page_size() noexcept {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
  }
  PoolPage* get() noexcept {
    if (page != nullptr || unavailable) return page;
    static_assert(sizeof(PoolPage) <= 4096);
    void* p = ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      unavailable = true;
      return nullptr;
    }
#ifdef MADV_WIPEONFORK
    (void)::madvise(p, page_size(), MADV_WIPEONFORK);  // (refused by old kernels: the generation check remains)
#endif
#ifdef MADV_DONTDUMP
    (void)::madvise(p, page_size(), MADV_DONTDUMP);
#endif
    page = static_cast<PoolPage*>(p);  // zeroed by mmap: empty
    page->generation = fork_generation();
    return page;
  }
};
thread_local Pool pool;

// The fork handler exists before any pool is filled and before an application's own handlers
// that could draw in a child (handlers run in the order they were registered).
[[maybe_unused]] const std::uint64_t registered_at_load = fork_generation();

}  // namespace

void random_fill(void* out, std::size_t n) {
  if (n == 0) return;
  PoolPage* p = n > PoolPage::kBytes / 4 ? nullptr : pool.get();
  if (p == nullptr) {  // a key or a long token, or no pool: straight from libsodium
    randombytes_buf(out, n);
    return;
  }
  if (const std::uint64_t generation = fork_generation(); p->generation != generation) {  // a forked child
    wipe(p->bytes, sizeof p->bytes);
    p->remaining = 0;
    p->generation = generation;
  }
  if (p->remaining < n) {
    randombytes_buf(p->bytes, sizeof p->bytes);
    p->remaining = sizeof p->bytes;
  }
  unsigned char* from = p->bytes + (sizeof p->bytes - p->remaining);
  std::memcpy(out, from, n);
  wipe(from, n);
  p->remaining -= n;
}

const void* random_pool_of_this_thread() noexcept { return pool.get(); }

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  random_fill(out.data(), n);
  return out;
}

// As libsodium's randombytes_uniform: draws below 2^32 mod upper_bound are rejected, so every
// value is equally likely (no modulo bias).
std::uint32_t random_uniform(std::uint32_t upper_bound) {
  if (upper_bound < 2) return 0;
  const std::uint32_t min = (1U + ~upper_bound) % upper_bound;  // 2^32 mod upper_bound
  std::uint32_t r = 0;
  do random_fill(&r, sizeof r);
  while (r < min);
  return r % upper_bound;
}

std::string_view alphabet_symbols(Alphabet alphabet) noexcept {
  switch (alphabet) {
    case Alphabet::digits: return "0123456789";
    case Alphabet::unambiguous: return "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  }
  return {};
}

Secret random_code(int length, Alphabet alphabet) {
  const std::string_view symbols = alphabet_symbols(alphabet);
  std::string code(static_cast<std::size_t>(length), '\0');
  for (auto& c : code) c = symbols[random_uniform(static_cast<std::uint32_t>(symbols.size()))];
  return Secret(std::move(code));
}

bool equal_ct(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64url_encode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string tag_text(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // Sized once and written by index (push_back per character cost about as much as the hash).
  std::string out((bytes.size() * 4 + 2) / 3, '\0');
  char* at = out.data();
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    *at++ = kAlphabet[(v >> 18) & 63];
    *at++ = kAlphabet[(v >> 12) & 63];
    *at++ = kAlphabet[(v >> 6) & 63];
    *at++ = kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const unsigned v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0u);
    *at++ = kAlphabet[(v >> 18) & 63];
    *at++ = kAlphabet[(v >> 12) & 63];
    if (rest == 2) *at++ = kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Only the exact alphabet: libsodium 1.0.18 reads any byte 0x80-0xFF as '_'.
  for (char c : text)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return std::nullopt;
  std::string out(text.size() * 3 / 4 + 1, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace verikit::detail
