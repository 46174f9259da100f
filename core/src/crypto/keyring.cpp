// verikit::detail — the key ring: subkeys derived per configured key, tags and secret hashes.
#include <sodium.h>

#include <cstring>
#include <memory>
#include <set>
#include <type_traits>

#include "crypto/crypto.hpp"

namespace verikit::detail {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "verikit1";
enum Subkey : std::uint64_t { kIndex = 1, kHash = 2, kSeal = 3 };

IndexKey derive_index(const std::array<std::uint8_t, kKeyBytes>& bytes) {
  IndexKey k;
  crypto_kdf_derive_from_key(k.index.data(), k.index.size(), kIndex, kKdfContext, bytes.data());
  return k;
}

DerivedKey derive(const Key& key) {
  DerivedKey d;
  d.id = key.id;
  crypto_kdf_derive_from_key(d.hash.data(), d.hash.size(), kHash, kKdfContext, key.bytes.data());
  crypto_kdf_derive_from_key(d.seal.data(), d.seal.size(), kSeal, kKdfContext, key.bytes.data());
  return d;
}


}  // namespace

IndexKey::~IndexKey() { sodium_memzero(index.data(), index.size()); }

DerivedKey::~DerivedKey() {
  sodium_memzero(hash.data(), hash.size());
  sodium_memzero(seal.data(), seal.size());
}

Expected<KeyRing> KeyRing::from(const KeySet& keys) {
  if (!crypto_init()) return make_error(Errc::crypto, "libsodium could not be initialised");
  std::set<std::uint8_t> ids{keys.current.id};
  KeyRing ring;
  ring.keys_.push_back(derive(keys.current));
  for (const Key& k : keys.previous) {
    if (!ids.insert(k.id).second)
      return make_error(Errc::config, "key id " + std::to_string(k.id) + " is used twice in the key set");
    ring.keys_.push_back(derive(k));
  }
  if (keys.index) {
    ring.index_ = derive_index(*keys.index);
  } else if (keys.previous.empty()) {
    ring.index_ = derive_index(keys.current.bytes);  // the same tags as before any rotation
  } else {
    return make_error(Errc::config,
                      "a key set with previous keys needs an index key (the key that names records: usually "
                      "the first key you used), so that rotating keys does not reset abuse state or split an "
                      "identifier's credentials");
  }
  return ring;
}

KeyRing KeyRing::ephemeral() {
  crypto_init();
  Key key;
  randombytes_buf(key.bytes.data(), key.bytes.size());
  KeyRing ring;
  ring.keys_.push_back(derive(key));
  ring.index_ = derive_index(key.bytes);
  sodium_memzero(key.bytes.data(), key.bytes.size());
  return ring;
}

}  // namespace verikit::detail

namespace verikit {
Key generate_key(std::uint8_t id) {
  detail::crypto_init();
  Key key;
  key.id = id;
  randombytes_buf(key.bytes.data(), key.bytes.size());
  return key;
}
}  // namespace verikit

namespace verikit::detail {

const DerivedKey* KeyRing::find(std::uint8_t id) const noexcept {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

// SipHash-2-4 with a 128-bit output (libsodium crypto_shorthash_siphashx24), a PRF under the
// first 16 bytes of the 32-byte subkey, over the fields each preceded by its length (4 bytes,
// big-endian). A PRF is what these hashes need: without the key, nobody can tell which code,
// identifier or token a stored hash belongs to, or make two inputs share one. It replaced
// keyed BLAKE2b (0.2), which cost about 3,000 instructions per hash, two of them per
// verification (the embedded store's verify: 15,800 instructions, half of them hashing).
void keyed_hash(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields,
                std::span<std::uint8_t, kHashBytes> out) {
  static_assert(crypto_shorthash_siphashx24_BYTES == kTagBytes && kTagBytes == kHashBytes);
  static_assert(crypto_shorthash_siphashx24_KEYBYTES <= std::tuple_size_v<std::remove_cvref_t<decltype(key)>>);
  std::size_t total = 0;
  for (std::string_view f : fields) total += 4 + f.size();
  unsigned char stack[512];
  std::unique_ptr<unsigned char[]> heap;
  unsigned char* message = stack;
  if (total > sizeof stack) {
    heap = std::make_unique<unsigned char[]>(total);
    message = heap.get();
  }
  unsigned char* at = message;
  for (std::string_view f : fields) {
    const std::size_t n = f.size();
    *at++ = static_cast<unsigned char>(n >> 24);
    *at++ = static_cast<unsigned char>(n >> 16);
    *at++ = static_cast<unsigned char>(n >> 8);
    *at++ = static_cast<unsigned char>(n);
    if (n > 0) std::memcpy(at, f.data(), n);
    at += n;
  }
  crypto_shorthash_siphashx24(out.data(), message, total, key.data());
  if (heap) sodium_memzero(heap.get(), total);  // (inputs may be secrets: codes, tokens)
  else sodium_memzero(stack, total);
}

std::string keyed_hash(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields) {
  std::string out(kHashBytes, '\0');
  keyed_hash(key, fields, std::span<std::uint8_t, kHashBytes>(reinterpret_cast<std::uint8_t*>(out.data()), kHashBytes));
  return out;
}

namespace {
// The text of a keyed hash of `fields` (hashed into a buffer on the stack: one string made, not two).
std::string keyed_tag(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields) {
  std::array<std::uint8_t, kHashBytes> hash;
  keyed_hash(key, fields, hash);
  return tag_text(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}
// A keyed hash of `fields`, held in the object (no allocation).
SmallBytes keyed_bytes(const std::array<std::uint8_t, 32>& key, std::initializer_list<std::string_view> fields) {
  std::array<std::uint8_t, kHashBytes> hash;
  keyed_hash(key, fields, hash);
  return SmallBytes(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}
}  // namespace

std::string group_tag(const IndexKey& key, std::string_view purpose, std::string_view identifier) {
  return keyed_tag(key.index, {"group", purpose, identifier});
}

std::string key_check_tag(const IndexKey& key) { return keyed_tag(key.index, {"key-check", "1"}); }

std::string purpose_tag(const IndexKey& key, std::uint8_t kind, std::string_view purpose) {
  const char k = static_cast<char>(kind);
  return keyed_hash(key.index, {"purpose", std::string_view(&k, 1), purpose});
}

std::string client_tag(const IndexKey& key, std::string_view client_key) {
  return keyed_tag(key.index, {"client", client_key});
}

std::string payload_hash(const IndexKey& key, std::string_view group, std::string_view payload,
                         std::string_view binding_hash) {
  if (binding_hash.empty()) return keyed_hash(key.index, {"payload", group, payload});
  return keyed_hash(key.index, {"payload", group, payload, binding_hash});
}

SmallBytes recovery_hash(const DerivedKey& key, std::string_view group, std::string_view code) {
  return keyed_bytes(key.hash, {"recovery", group, code});
}

std::string binding_hash(const IndexKey& key, std::string_view group, std::string_view binding) {
  if (binding.empty()) return {};
  return keyed_hash(key.index, {"binding", group, binding});
}

SmallBytes secret_hash(const DerivedKey& key, std::string_view group, std::string_view secret) {
  return keyed_bytes(key.hash, {"secret", group, secret});
}

}  // namespace verikit::detail
