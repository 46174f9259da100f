// verikit::detail — caller input checks and identifier normalisation.
#include "engine/inputs.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"
#include "verikit/engine.hpp"

namespace verikit::detail {
namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

Status check_purpose(std::string_view purpose) {
  if (purpose.empty()) return make_error(Errc::invalid_argument, "purpose is empty");
  if (purpose.size() > kMaxPurposeBytes)
    return make_error(Errc::invalid_argument,
                      "purpose is longer than " + std::to_string(kMaxPurposeBytes) + " bytes");
  for (char c : purpose)
    if (c <= 0x20 || c >= 0x7f)
      return make_error(Errc::invalid_argument, "purpose must be printable ASCII without spaces");
  if (purpose == kAnyPurpose)
    return make_error(Errc::invalid_argument, "purpose \"*\" is reserved: it means any purpose when checking a token");
  return Unit{};
}

Expected<bool> check_purpose_filter(std::string_view purpose) {
  if (purpose.empty())
    return make_error(Errc::invalid_argument,
                      "purpose is required when checking a token or link (\"*\" accepts any purpose)");
  if (purpose == kAnyPurpose) return true;
  if (auto s = check_purpose(purpose); !s) return std::move(s).error();
  return false;
}

Status check_binding(std::string_view binding) {
  if (binding.size() > kMaxBindingBytes)
    return make_error(Errc::invalid_argument, "binding is longer than " + std::to_string(kMaxBindingBytes) + " bytes");
  return Unit{};
}

Status check_payload(std::string_view payload) {
  if (payload.size() > kMaxPayloadBytes)
    return make_error(Errc::invalid_argument,
                      "payload is longer than " + std::to_string(kMaxPayloadBytes) + " bytes");
  return Unit{};
}

Expected<std::string> normalize_identifier(std::string_view identifier, const Policy& policy) {
  if (policy.trim_identifier) {
    while (!identifier.empty() && is_space(identifier.front())) identifier.remove_prefix(1);
    while (!identifier.empty() && is_space(identifier.back())) identifier.remove_suffix(1);
  }
  if (identifier.empty()) return make_error(Errc::invalid_argument, "identifier is empty");
  if (identifier.size() > kMaxIdentifierBytes)
    return make_error(Errc::invalid_argument,
                      "identifier is longer than " + std::to_string(kMaxIdentifierBytes) + " bytes");
  std::string out(identifier);
  if (policy.lowercase_identifier)
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Expected<std::string> normalize_code(std::string_view code, const Policy& policy) {
  if (code.empty()) return make_error(Errc::invalid_argument, "code is empty");
  if (code.size() > kMaxSecretBytes)
    return make_error(Errc::invalid_argument,
                      "code is longer than " + std::to_string(kMaxSecretBytes) + " bytes");
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (is_space(c) || c == '-') continue;
    if (policy.alphabet == Alphabet::unambiguous && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  // A code that cannot be right is refused before any store is asked: it costs no attempt and
  // says nothing about the live code (the same error whatever the store holds).
  const std::string_view symbols = alphabet_symbols(policy.alphabet);
  // (digits, the default, by range: a search of the symbols per character cost more than the rest)
  auto symbol = [&](char c) {
    if (policy.alphabet == Alphabet::digits) return c >= '0' && c <= '9';
    return symbols.find(c) != std::string_view::npos;
  };
  const bool well_formed = out.size() == static_cast<std::size_t>(policy.otp_length) &&
                           std::all_of(out.begin(), out.end(), symbol);
  if (!well_formed)
    return make_error(Errc::invalid_argument,
                      "code must be " + std::to_string(policy.otp_length) +
                          (policy.alphabet == Alphabet::digits ? " digits" : " characters of " + std::string(symbols)) +
                          " (spaces and dashes are ignored)");
  return out;
}

Expected<std::chrono::milliseconds> effective_ttl(std::chrono::seconds requested, const Policy& policy) {
  if (requested.count() < 0 || requested > kMaxTtl)
    return make_error(Errc::invalid_argument, "ttl must be between 1 second and 30 days (0: the policy's)");
  return std::chrono::milliseconds(requested.count() == 0 ? policy.ttl : requested);
}

}  // namespace verikit::detail
