// Unit tests: keyed hashing, sealing, encodings, code generation (distribution included).
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <map>
#include <new>
#include <set>
#include <thread>
#include <vector>

#include "crypto/crypto.hpp"
#include "crypto/hotp.hpp"
#include "support/stats.hpp"

namespace verikit::detail {
namespace {

KeyRing ring_of(std::initializer_list<std::uint8_t> ids) {
  KeySet set;
  bool first = true;
  for (auto id : ids) {
    Key k = generate_key(id);
    if (first) set.current = k;
    else set.previous.push_back(k);
    first = false;
  }
  if (!set.previous.empty()) set.index = set.previous.back().bytes;  // the first key named records
  return KeyRing::from(set).value();
}

TEST(Base64Url, RoundTripsEveryLengthAndIsUrlSafe) {
  ASSERT_TRUE(crypto_init());
  for (std::size_t n = 0; n < 70; ++n) {
    std::string raw = random_bytes(n);
    std::string text = base64url_encode(raw);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = base64url_decode(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, raw);
  }
  EXPECT_FALSE(base64url_decode("ab+c").has_value());
  EXPECT_FALSE(base64url_decode("abc=").has_value());
  EXPECT_FALSE(base64url_decode("a b").has_value());
}

// Debian's libsodium 1.0.18 reads any byte 0x80-0xFF as '_': only the exact alphabet decodes.
TEST(Base64Url, AcceptsOnlyTheExactAlphabet) {
  const std::string good = base64url_encode(std::string("\xff\xfe\xfd", 3));  // "__79"
  ASSERT_TRUE(base64url_decode(good).has_value());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int b = 0x80; b <= 0xff; ++b) {
      std::string text = good;
      text[i] = static_cast<char>(b);
      EXPECT_FALSE(base64url_decode(text).has_value()) << i << " " << b;
    }
  }
  for (char c : std::string("+/=.~ \t%*"))
    EXPECT_FALSE(base64url_decode(std::string("ab") + c + "d").has_value()) << c;
}

TEST(KeyedHash, FieldsAreLengthDelimited) {
  KeyRing ring = ring_of({1});
  const auto& k = ring.index().index;
  EXPECT_NE(keyed_hash(k, {"ab", "c"}), keyed_hash(k, {"a", "bc"}));
  EXPECT_NE(keyed_hash(k, {"a:b", "c"}), keyed_hash(k, {"a", "b:c"}));
  EXPECT_EQ(keyed_hash(k, {"a", "b"}), keyed_hash(k, {"a", "b"}));
  EXPECT_NE(group_tag(ring.index(), "login", "a:b"), group_tag(ring.index(), "login:a", "b"));
}

TEST(KeyedHash, DependsOnTheKey) {
  KeyRing a = ring_of({1}), b = ring_of({1});
  EXPECT_NE(group_tag(a.index(), "login", "alice"), group_tag(b.index(), "login", "alice"));
  EXPECT_NE(secret_hash(a.current(), "g", "123456"), secret_hash(b.current(), "g", "123456"));
  EXPECT_EQ(group_tag(a.index(), "login", "alice").size(), 22u);
  EXPECT_EQ(secret_hash(a.current(), "g", "123456").size(), kHashBytes);
}

TEST(KeyedHash, IsSipHash24With128BitsOverTheLengthPrefixedFields) {
  // The framing: each field as a 4-byte big-endian length, then its bytes, hashed by libsodium's
  // SipHash-2-4-128 under the subkey's first 16 bytes (libsodium's self-tests pin the algorithm).
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  std::string msg;
  for (int i = 0; i < 11; ++i) msg.push_back(static_cast<char>(i));
  std::string framed = std::string("\0\0\0\x0b", 4) + msg;
  unsigned char want[16];
  crypto_shorthash_siphashx24(want, reinterpret_cast<const unsigned char*>(framed.data()), framed.size(), key.data());
  EXPECT_EQ(keyed_hash(key, {msg}), std::string(reinterpret_cast<const char*>(want), 16));
  // Only the first 16 bytes of the subkey are SipHash's key; a long field goes through the heap.
  const std::string big(5000, 'x');
  EXPECT_EQ(keyed_hash(key, {big}).size(), 16u);
  EXPECT_NE(keyed_hash(key, {big}), keyed_hash(key, {big.substr(1)}));
}

TEST(TagText, IsBase64UrlWithoutPaddingLikeTheConstantTimeEncoder) {
  std::string bytes;
  for (int n = 0; n <= 40; ++n) {
    EXPECT_EQ(tag_text(bytes), base64url_encode(bytes)) << n << " bytes";
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
  EXPECT_EQ(tag_text(std::string(16, '\xff')), "_____________________w");
}

TEST(KeyRing, RejectsDuplicateIds) {
  KeySet set{generate_key(3), {generate_key(3)}, std::nullopt};
  auto ring = KeyRing::from(set);
  ASSERT_FALSE(ring.has_value());
  EXPECT_EQ(ring.error().code, Errc::config);
}

TEST(Seal, RoundTripsAndAuthenticatesContext) {
  KeyRing ring = ring_of({7, 2});
  std::string sealed = seal(ring.current(), std::string("pay\0load", 8), "ctx-1");
  EXPECT_EQ(static_cast<std::uint8_t>(sealed[0]), 7);
  EXPECT_EQ(sealed.find("pay"), std::string::npos);
  auto opened = open(ring, sealed, "ctx-1");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->view(), std::string_view("pay\0load", 8));

  auto moved = open(ring, sealed, "ctx-2");  // the same blob under another record
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code, Errc::crypto);

  std::string tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(open(ring, tampered, "ctx-1").has_value());
  EXPECT_FALSE(open(ring, sealed.substr(0, 20), "ctx-1").has_value());

  KeyRing other = ring_of({9});
  auto unknown = open(other, sealed, "ctx-1");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("key id 7"), std::string::npos);
}

TEST(Seal, PreviousKeysStillOpen) {
  Key old_key = generate_key(1), new_key = generate_key(2);
  KeyRing before = KeyRing::from(KeySet{old_key, {}, std::nullopt}).value();
  KeyRing after = KeyRing::from(KeySet{new_key, {old_key}, old_key.bytes}).value();
  std::string sealed = seal(before.current(), "secret", "c");
  ASSERT_TRUE(open(after, sealed, "c").has_value());
}

// The index key names records; it does not rotate with the keys that hash and seal.
TEST(KeyRing, TheIndexKeyOutlivesRotationsAndIsRequiredWithPreviousKeys) {
  Key first = generate_key(1), second = generate_key(2), third = generate_key(3);
  KeyRing before = KeyRing::from(KeySet{first, {}, std::nullopt}).value();
  KeyRing rotated = KeyRing::from(KeySet{second, {first}, first.bytes}).value();
  KeyRing retired = KeyRing::from(KeySet{third, {second}, first.bytes}).value();
  EXPECT_EQ(group_tag(before.index(), "login", "a"), group_tag(rotated.index(), "login", "a"));
  EXPECT_EQ(group_tag(before.index(), "login", "a"), group_tag(retired.index(), "login", "a"));
  EXPECT_EQ(client_tag(before.index(), "10.0.0.1"), client_tag(retired.index(), "10.0.0.1"));
  EXPECT_EQ(payload_hash(before.index(), "g", "p"), payload_hash(retired.index(), "g", "p"));
  EXPECT_NE(payload_hash(before.index(), "g", "p"), payload_hash(before.index(), "g", "q"));
  auto missing = KeyRing::from(KeySet{second, {first}, std::nullopt});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::config);
  EXPECT_NE(missing.error().message.find("index key"), std::string::npos);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(equal_ct("abc", "abc"));
  EXPECT_FALSE(equal_ct("abc", "abd"));
  EXPECT_FALSE(equal_ct("abc", "abcd"));
  EXPECT_TRUE(equal_ct("", ""));
}

// Whether the bytes of `storage` (an object's representation) still hold `secret`, or what an
// emptied string leaves of it (all but the first byte, which becomes the terminator).
bool holds(const void* storage, std::size_t size, std::string_view secret) {
  return std::string_view(static_cast<const char*>(storage), size).find(secret.substr(1)) != std::string_view::npos;
}

// A code is short enough to live inside the Secret object (not on the heap); emptying, moving
// from, overwriting or destroying it must leave no copy of it there.
TEST(Secret, LeavesNoCopyOfAShortSecretInItsStorage) {
  const std::string code = "493817";
  {
    Secret a{std::string(code)};
    ASSERT_TRUE(holds(&a, sizeof a, code));  // (the check below can see an inline copy)
    Secret b(std::move(a));
    EXPECT_EQ(b.view(), code);
    EXPECT_FALSE(holds(&a, sizeof a, code)) << "moved from";
    Secret c;
    c = std::move(b);
    EXPECT_EQ(c.view(), code);
    EXPECT_FALSE(holds(&b, sizeof b, code)) << "move-assigned from";
    c = Secret(std::string("x"));
    EXPECT_FALSE(holds(&c, sizeof c, code)) << "overwritten by a move";
    Secret d{std::string(code)};
    d = c;
    EXPECT_FALSE(holds(&d, sizeof d, code)) << "overwritten by a copy";
    Secret e{std::string(code)};
    e.clear();
    EXPECT_TRUE(e.empty());
    EXPECT_FALSE(holds(&e, sizeof e, code)) << "cleared";
  }
  std::string source = code;
  const Secret from_string(std::move(source));
  EXPECT_EQ(from_string.view(), code);
  EXPECT_FALSE(holds(&source, sizeof source, code)) << "the string it was made from";
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* s = new (storage) Secret(std::string(code));
  ASSERT_TRUE(holds(storage, sizeof storage, code));
  s->~Secret();
  EXPECT_FALSE(holds(storage, sizeof storage, code)) << "destroyed";
}

// A long secret lives on the heap; a move hands that buffer over and copies nothing.
TEST(Secret, MovesALongSecretWithoutCopyingIt) {
  const std::string token(64, 'k');
  Secret a{std::string(token)};
  const char* buffer = a.data();
  Secret b(std::move(a));
  EXPECT_EQ(b.data(), buffer);
  EXPECT_EQ(b.view(), token);
  EXPECT_TRUE(a.empty());
}

TEST(RandomCode, HasTheRequestedLengthAndAlphabet) {
  for (Alphabet a : {Alphabet::digits, Alphabet::unambiguous}) {
    const std::string_view symbols = alphabet_symbols(a);
    for (int len = 4; len <= 10; ++len) {
      Secret code = random_code(len, a);
      ASSERT_EQ(code.size(), static_cast<std::size_t>(len));
      for (char c : code.view()) EXPECT_NE(symbols.find(c), std::string_view::npos) << c;
    }
  }
  EXPECT_EQ(alphabet_symbols(Alphabet::unambiguous).find_first_of("01OIL"), std::string_view::npos);
  EXPECT_EQ(alphabet_symbols(Alphabet::unambiguous).size(), 31u);
}

// Chi-square goodness of fit of symbol counts, per position and overall. The threshold is the
// 1e-6 upper quantile: a correct generator fails about once in a million runs.
void expect_uniform(Alphabet alphabet, int length, int samples) {
  const std::string_view symbols = alphabet_symbols(alphabet);
  std::vector<std::vector<double>> per_position(length, std::vector<double>(symbols.size(), 0));
  for (int i = 0; i < samples; ++i) {
    Secret code = random_code(length, alphabet);
    for (int p = 0; p < length; ++p) per_position[p][symbols.find(code.view()[p])] += 1;
  }
  const double limit = test::chi_square_quantile(static_cast<int>(symbols.size()) - 1, 1e-6);
  for (int p = 0; p < length; ++p) {
    const double chi = test::chi_square(per_position[p]);
    EXPECT_LT(chi, limit) << "position " << p << " of " << length;
  }
}

TEST(RandomCode, DigitsAreUniformAtEveryPosition) { expect_uniform(Alphabet::digits, 6, 60000); }
TEST(RandomCode, UnambiguousSymbolsAreUniformAtEveryPosition) { expect_uniform(Alphabet::unambiguous, 8, 60000); }

TEST(RandomCode, TheUniformityCheckCatchesModuloBias) {
  // What a naive generator does: a random byte modulo 10 favours 0-5 (26 vs 25 of 256).
  std::vector<double> counts(10, 0);
  for (int i = 0; i < 600000; ++i) counts[static_cast<unsigned char>(random_bytes(1)[0]) % 10] += 1;
  EXPECT_GT(test::chi_square(counts), test::chi_square_quantile(9, 1e-6));
}

TEST(RandomCode, CodesDoNotRepeatMoreThanChanceAllows) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(std::string(random_code(10, Alphabet::digits).view()));
  EXPECT_GE(seen.size(), 1999u);  // 2000 draws from 1e10: a repeat has probability 2e-4
}

}  // namespace
}  // namespace verikit::detail

namespace verikit::detail {
namespace {

// RFC 4226 Appendix D: secret "12345678901234567890", counters 0-9.
TEST(Hotp, Rfc4226Vectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t c = 0; c < 10; ++c) EXPECT_EQ(hotp("12345678901234567890", c, 6), expected[c]) << c;
}

// RFC 6238 Appendix B, SHA-1: 8 digits, period 30 s.
TEST(Totp, Rfc6238Sha1Vectors) {
  const std::pair<std::uint64_t, const char*> vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                                                           {1111111111, "14050471"}, {1234567890, "89005924"},
                                                           {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& [t, code] : vectors) EXPECT_EQ(hotp("12345678901234567890", t / 30, 8), code) << t;
}

TEST(Sha1, KnownDigestsAndHmac) {
  auto hex = [](const std::array<std::uint8_t, 20>& d) {
    std::string s;
    for (auto b : d) s += "0123456789abcdef"[b >> 4], s += "0123456789abcdef"[b & 15];
    return s;
  };
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1(std::string(1000000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // RFC 2202 test case 2, and a key longer than a block (case 6)
  EXPECT_EQ(hex(hmac_sha1("Jefe", "what do ya want for nothing?")), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(hmac_sha1(std::string(80, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(base32_encode(""), "");
  EXPECT_EQ(base32_encode("f"), "MY");
  EXPECT_EQ(base32_encode("fo"), "MZXQ");
  EXPECT_EQ(base32_encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(base32_encode("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

// 64 bytes drawn by a forked child and 64 by its parent, right after the fork; the draw before the
// fork and the fork itself are made on a fresh thread, whose pool then holds exactly 511 unused
// bytes. `keep_on_fork`: that pool's page is first marked MADV_KEEPONFORK, as on a kernel without
// MADV_WIPEONFORK, and the child checks (exit status 2 if not) that its copy of the page still
// holds the parent's unused bytes when it starts drawing.
struct ForkDraws {
  std::string parent, child;
  int status = -1;
};
ForkDraws draws_after_fork(bool keep_on_fork) {
  ForkDraws d;
  d.child.assign(64, '\0');
  std::size_t got = 0;
  pid_t child = -1;
  std::thread([&] {
    (void)random_bytes(1);
    auto* page = static_cast<const unsigned char*>(random_pool_of_this_thread());
    if (page == nullptr) return;
    if (keep_on_fork && ::madvise(const_cast<unsigned char*>(page), static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)),
                                  MADV_KEEPONFORK) != 0)
      return;
    int fds[2];
    if (::pipe(fds) != 0) return;
    child = ::fork();
    if (child == 0) {
      std::size_t nonzero = 0;
      for (std::size_t i = 0; i < 512; ++i) nonzero += page[i] != 0;
      if (keep_on_fork && nonzero < 400) ::_exit(2);  // the page was wiped after all: not the case tested
      const std::string drawn = random_bytes(64);
      const bool written = ::write(fds[1], drawn.data(), drawn.size()) == 64;
      ::_exit(written ? 0 : 1);
    }
    ::close(fds[1]);
    if (child < 0) return;
    d.parent = random_bytes(64);
    while (got < d.child.size()) {
      const ssize_t n = ::read(fds[0], d.child.data() + got, d.child.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fds[0]);
    ::waitpid(child, &d.status, 0);
  }).join();
  if (got != 64) d.child.clear();
  return d;
}

// Random bytes come from a per-thread pool (one getrandom per 512 bytes). A forked child must not
// hand out what the parent's pool still holds: its draws after the fork differ from the parent's
// (with the pool copied into the child, the two would be equal byte for byte).
TEST(RandomPool, AForkedChildDrawsOtherBytesThanItsParent) {
  const ForkDraws d = draws_after_fork(false);
  ASSERT_TRUE(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 0) << d.status;
  ASSERT_EQ(d.child.size(), 64u);
  ASSERT_EQ(d.parent.size(), 64u);
  EXPECT_NE(d.child.substr(0, 16), d.parent.substr(0, 16));
  EXPECT_NE(d.child.substr(48), d.parent.substr(48));
}

// The same where the kernel copies the pool into the child (no MADV_WIPEONFORK, before Linux
// 4.14): the fork generation, from the library's pthread_atfork handler, makes the forking
// thread's pool wipe itself before the child's first draw.
TEST(RandomPool, WithoutWipeOnForkTheForkGenerationStillKeepsAChildFromRepeatingItsParent) {
  const ForkDraws d = draws_after_fork(true);
  ASSERT_TRUE(WIFEXITED(d.status)) << d.status;
  ASSERT_NE(WEXITSTATUS(d.status), 2) << "the child's copy of the pool was wiped: the fallback was not exercised";
  ASSERT_EQ(WEXITSTATUS(d.status), 0);
  ASSERT_EQ(d.child.size(), 64u);
  ASSERT_EQ(d.parent.size(), 64u);
  EXPECT_NE(d.child.substr(0, 16), d.parent.substr(0, 16));
  EXPECT_NE(d.child.substr(48), d.parent.substr(48));
}

// A forked child holds none of the parent's unused random bytes, not even in the pools of the
// parent's other threads (which do not exist in the child and can never wipe their own): the
// kernel zeroes every pool page in the child (MADV_WIPEONFORK). Another thread fills its pool and
// stays alive across the fork; the child reads that page.
TEST(RandomPool, AForkedChildHoldsNoneOfAnotherThreadsUnusedBytes) {
  std::mutex m;
  std::condition_variable cv;
  const unsigned char* page = nullptr;
  bool forked = false;
  std::thread other([&] {
    (void)random_bytes(1);  // 511 unused bytes now in this thread's pool
    std::unique_lock<std::mutex> lock(m);
    page = static_cast<const unsigned char*>(random_pool_of_this_thread());
    cv.notify_all();
    cv.wait(lock, [&] { return forked; });
  });
  const unsigned char* seen = nullptr;
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return page != nullptr; });
    seen = page;
  }
  std::size_t nonzero_in_parent = 0;
  for (std::size_t i = 0; i < 512; ++i) nonzero_in_parent += seen[i] != 0;
  const pid_t child = ::fork();
  if (child == 0) {
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < 4096; ++i) nonzero += seen[i] != 0;
    ::_exit(nonzero == 0 ? 0 : 1);
  }
  {
    std::lock_guard<std::mutex> lock(m);
    forked = true;
  }
  cv.notify_all();
  other.join();
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_GT(nonzero_in_parent, 400u) << "the parent's page holds the unused bytes (the check below is not vacuous)";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's copy of the other thread's pool was not zeroed";
}

// Each thread draws from its own pool: no two threads (nor two draws) hand out the same bytes,
// and a draw larger than a quarter of the pool, or one that spans a refill, is whole.
TEST(RandomPool, DrawsDoNotRepeatAcrossThreadsSizesAndRefills) {
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < drawn.size(); ++t)
    threads.emplace_back([&drawn, t] {
      for (int i = 0; i < 2000; ++i) drawn[t].push_back(random_bytes(16 + static_cast<std::size_t>(i % 7) * 23));
    });
  for (auto& t : threads) t.join();
  std::set<std::string> prefixes, suffixes;
  std::size_t total = 0;
  const std::string zeros(8, '\0');
  for (const auto& list : drawn)
    for (const std::string& d : list) {
      ASSERT_GE(d.size(), 16u);
      prefixes.insert(d.substr(0, 16));
      suffixes.insert(d.substr(d.size() - 16));
      // A byte handed out twice would be a wiped one (zero) the second time.
      EXPECT_EQ(d.find(zeros), std::string::npos) << "8 zero bytes in a row: probability 2^-64 per place";
      ++total;
    }
  EXPECT_EQ(prefixes.size(), total) << "16 random bytes repeat with probability 2^-128";
  EXPECT_EQ(suffixes.size(), total);
}

}  // namespace
}  // namespace verikit::detail
