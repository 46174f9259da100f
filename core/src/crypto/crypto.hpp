// verikit::detail — cryptography for the engine (the only door to libsodium; this header
// itself includes none of it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "verikit/config.hpp"
#include "verikit/error.hpp"
#include "verikit/secret.hpp"
#include "verikit/small_bytes.hpp"

namespace verikit::detail {

// Initialises libsodium once per process (std::call_once); false if it cannot.
bool crypto_init() noexcept;

// --- randomness (libsodium's, drawn through a per-thread pool that a forked child discards;
// random_uniform has no modulo bias) ---
void random_fill(void* out, std::size_t n);
const void* random_pool_of_this_thread() noexcept;  // its page (tests: what a forked child holds); null: none
std::string random_bytes(std::size_t n);
std::uint32_t random_uniform(std::uint32_t upper_bound);  // [0, upper_bound)
std::string_view alphabet_symbols(Alphabet alphabet) noexcept;
Secret random_code(int length, Alphabet alphabet);

// --- comparisons and encodings ---
bool equal_ct(std::string_view a, std::string_view b) noexcept;  // constant time in the length
std::string base64url_encode(std::string_view bytes);             // no padding
std::optional<std::string> base64url_decode(std::string_view text);

// The subkey that names records (key-group tags, client tags, purpose tags), derived from
// the index key; it does not rotate with the keys that hash and seal. Wiped on destruction.
struct IndexKey {
  std::array<std::uint8_t, 32> index{};
  IndexKey() = default;
  IndexKey(const IndexKey&) = default;
  IndexKey& operator=(const IndexKey&) = default;
  ~IndexKey();
};

// Subkeys of one configured key, derived with crypto_kdf; wiped on destruction.
struct DerivedKey {
  std::uint8_t id = 0;
  std::array<std::uint8_t, 32> hash{};   // secret hashes
  std::array<std::uint8_t, 32> seal{};   // XChaCha20-Poly1305
  DerivedKey() = default;
  DerivedKey(const DerivedKey&) = default;
  DerivedKey& operator=(const DerivedKey&) = default;
  ~DerivedKey();
};

inline constexpr std::size_t kTagBytes = 16;   // key-group and purpose tags
inline constexpr std::size_t kHashBytes = 16;  // secret hashes (keyed: 128 bits is ample)

// The key set in derived form: the current key first, then the previous ones, and the index.
class KeyRing {
 public:
  // A set with previous keys must name its index key (config error otherwise).
  static Expected<KeyRing> from(const KeySet& keys);
  static KeyRing ephemeral();

  const DerivedKey& current() const noexcept { return keys_.front(); }
  const DerivedKey* find(std::uint8_t id) const noexcept;
  const std::vector<DerivedKey>& all() const noexcept { return keys_; }
  const IndexKey& index() const noexcept { return index_; }

 private:
  std::vector<DerivedKey> keys_;
  IndexKey index_;
};

// Keyed hash (kHashBytes) of length-delimited fields: no choice of bytes makes two field lists
// collide. SipHash-2-4-128 (see keyring.cpp for why).
std::string keyed_hash(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields);
// The same, written to `out` (no allocation).
void keyed_hash(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields,
                std::span<std::uint8_t, kHashBytes> out);
// A tag's text form: base64url without padding (22 characters for 16 bytes). Not constant-time:
// tags are names the store sees, never secrets (secrets go through base64url_encode).
std::string tag_text(std::string_view bytes);

// The key-group tag of (purpose, identifier): base64url of a keyed hash (22 characters).
std::string group_tag(const IndexKey& key, std::string_view purpose, std::string_view identifier);
// A tag binding a credential kind and purpose (raw bytes).
std::string purpose_tag(const IndexKey& key, std::uint8_t kind, std::string_view purpose);
// The key-check record's value: a keyed hash of a constant under the index key (base64url), so a
// store can tell whether an engine names records as the ones that wrote it did.
std::string key_check_tag(const IndexKey& key);
// The tag of a client key (an IP address, a device id): base64url of a keyed hash.
std::string client_tag(const IndexKey& key, std::string_view client_key);
// A keyed hash of a payload (raw bytes): equal payloads, equal hashes, under any signing key.
// With a flow binding's hash (non-empty), the hash names the payload within that flow.
std::string payload_hash(const IndexKey& key, std::string_view group, std::string_view payload,
                         std::string_view binding_hash = {});
// A keyed hash of a flow binding value within a key group (empty value: empty, not bound).
// A keyed hash of a recovery code within a key group (under a hashing key, like secret_hash).
SmallBytes recovery_hash(const DerivedKey& key, std::string_view group, std::string_view code);
std::string binding_hash(const IndexKey& key, std::string_view group, std::string_view binding);
// The stored form of a code or token secret, bound to its group (raw bytes).
SmallBytes secret_hash(const DerivedKey& key, std::string_view group, std::string_view secret);

// Authenticated encryption: [key id][24-byte nonce][ciphertext + 16-byte tag]; `context` is
// authenticated but not stored, so a blob cannot be moved to another record.
std::string seal(const DerivedKey& key, std::string_view plaintext, std::string_view context);
Expected<Secret> open(const KeyRing& ring, std::string_view sealed, std::string_view context);

}  // namespace verikit::detail
