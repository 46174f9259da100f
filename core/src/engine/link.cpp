// verikit::detail — magic-link URLs.
#include "engine/link.hpp"

#include "verikit/engine.hpp"

namespace verikit::detail {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Expected<std::string> build_link(std::string_view base, std::string_view param, std::string_view value) {
  auto bad = [](const std::string& why) { return make_error(Errc::invalid_argument, "base URL " + why); };
  if (base.size() > kMaxUrlBytes) return bad("is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  for (unsigned char c : base)
    if (c <= 0x20 || c >= 0x7f) return bad("contains a space, a control or a non-ASCII character");
  std::size_t rest = 0;
  if (starts_with_ci(base, "https://")) rest = 8;
  else if (starts_with_ci(base, "http://")) rest = 7;
  else return bad("must be an absolute http:// or https:// URL");
  const std::size_t authority_end = base.find_first_of("/?#", rest);
  const std::string_view authority = base.substr(rest, authority_end - rest);
  const std::size_t at = authority.rfind('@');
  const std::string_view host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host_port.empty() || host_port.front() == ':') return bad("has no host");

  const std::size_t hash = base.find('#');
  const std::string_view before = base.substr(0, hash);
  const std::string_view fragment = hash == std::string_view::npos ? std::string_view{} : base.substr(hash);
  std::string url(before);
  if (authority_end == std::string_view::npos || authority_end == hash) url.push_back('/');
  const std::size_t query = before.find('?');
  if (query == std::string_view::npos) url.push_back('?');
  else if (url.back() != '?' && url.back() != '&') url.push_back('&');
  url += percent_encode(param);
  url.push_back('=');
  url += percent_encode(value);
  url += fragment;
  return url;
}

}  // namespace verikit::detail
