// verikit::detail — payload and identity encryption with XChaCha20-Poly1305.
#include <sodium.h>

#include "crypto/crypto.hpp"

namespace verikit::detail {
namespace {
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kMac = crypto_aead_xchacha20poly1305_ietf_ABYTES;
}  // namespace

std::string seal(const DerivedKey& key, std::string_view plaintext, std::string_view context) {
  std::string out(1 + kNonce + plaintext.size() + kMac, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = key.id;
  random_fill(p + 1, kNonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + 1 + kNonce, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(context.data()), context.size(), nullptr, p + 1,
      key.seal.data());
  return out;
}

Expected<Secret> open(const KeyRing& ring, std::string_view sealed, std::string_view context) {
  if (sealed.size() < 1 + kNonce + kMac) return make_error(Errc::crypto, "sealed record is truncated");
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const DerivedKey* key = ring.find(p[0]);
  if (key == nullptr)
    return make_error(Errc::crypto, "record was sealed with key id " + std::to_string(p[0]) +
                                        ", which is not in the key set");
  std::string plain(sealed.size() - 1 - kNonce - kMac, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr, p + 1 + kNonce,
          sealed.size() - 1 - kNonce, reinterpret_cast<const unsigned char*>(context.data()),
          context.size(), p + 1, key->seal.data()) != 0) {
    return make_error(Errc::crypto, "sealed record failed authentication (wrong key or tampered)");
  }
  plain.resize(plen);
  return Secret(std::move(plain));
}

}  // namespace verikit::detail
