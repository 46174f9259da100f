// verikit::detail — the key ring: subkeys derived per configured key, tags and secret hashes.
#include <sodium.h>

#include <set>

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

void put_u32(crypto_generichash_state& st, std::size_t n) {
  const unsigned char len[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  crypto_generichash_update(&st, len, sizeof len);
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

std::string keyed_hash(const std::array<std::uint8_t, 32>& key, std::size_t out_bytes,
                       std::initializer_list<std::string_view> fields) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), out_bytes);
  for (std::string_view f : fields) {
    put_u32(st, f.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(f.data()), f.size());
  }
  std::string out(out_bytes, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out_bytes);
  return out;
}

std::string group_tag(const IndexKey& key, std::string_view purpose, std::string_view identifier) {
  return base64url_encode(keyed_hash(key.index, kTagBytes, {"group", purpose, identifier}));
}

std::string purpose_tag(const IndexKey& key, std::uint8_t kind, std::string_view purpose) {
  const char k = static_cast<char>(kind);
  return keyed_hash(key.index, kTagBytes, {"purpose", std::string_view(&k, 1), purpose});
}

std::string client_tag(const IndexKey& key, std::string_view client_key) {
  return base64url_encode(keyed_hash(key.index, kTagBytes, {"client", client_key}));
}

std::string payload_hash(const IndexKey& key, std::string_view group, std::string_view payload,
                         std::string_view binding_hash) {
  if (binding_hash.empty()) return keyed_hash(key.index, kHashBytes, {"payload", group, payload});
  return keyed_hash(key.index, kHashBytes, {"payload", group, payload, binding_hash});
}

std::string recovery_hash(const DerivedKey& key, std::string_view group, std::string_view code) {
  return keyed_hash(key.hash, kHashBytes, {"recovery", group, code});
}

std::string binding_hash(const IndexKey& key, std::string_view group, std::string_view binding) {
  if (binding.empty()) return {};
  return keyed_hash(key.index, kHashBytes, {"binding", group, binding});
}

std::string secret_hash(const DerivedKey& key, std::string_view group, std::string_view secret) {
  return keyed_hash(key.hash, kHashBytes, {"secret", group, secret});
}

}  // namespace verikit::detail
