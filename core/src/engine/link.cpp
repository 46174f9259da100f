// verikit::detail — magic-link URLs: a strict parse of the base URL (one that every common
// parser — WHATWG URL, Python's urllib, RFC 3986 — reads the same way), then the token
// parameter added as the query's last parameter.
#include "engine/link.hpp"

#include <algorithm>
#include <optional>

#include "verikit/engine.hpp"

namespace verikit::detail {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_hex(char c) { return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f'); }
int hex_value(char c) { return is_digit(c) ? c - '0' : lower(c) - 'a' + 10; }

bool unreserved(unsigned char c) {
  return is_alpha(static_cast<char>(c)) || is_digit(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// The parts of a base URL, as views into it (scheme and host also in canonical form).
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case; IPv6 with its brackets
  int port = 0;        // as written, else the scheme's default
  std::string_view authority, path, query, fragment;  // fragment with its '#'
  bool has_query = false;
};

Error bad(const std::string& why) { return make_error(Errc::invalid_argument, "base URL " + why); }

// Characters RFC 3986 allows in a URL (unreserved, gen-delims, sub-delims, '%'); no space,
// control, non-ASCII, backslash (WHATWG reads it as '/', urllib does not) or "<>^`{|}.
Status check_characters(std::string_view s) {
  static constexpr std::string_view kAllowed = ":/?#[]@!$&'()*+,;=%";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c >= 0x7f) return bad("contains a space, a control or a non-ASCII character");
    if (!unreserved(c) && kAllowed.find(static_cast<char>(c)) == std::string_view::npos)
      return bad("contains '" + std::string(1, static_cast<char>(c)) + "', which URLs must percent-encode");
    if (c == '%' && (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
      return bad("contains a '%' that is not a percent escape");
  }
  return Unit{};
}

// WHATWG reads a host whose last label is a number as an IPv4 address (with octal and hex
// parts); other parsers do not. Only the plain dotted-quad spelling is accepted.
bool ends_in_number(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const std::size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), is_digit)) return true;
  return last.size() >= 2 && last[0] == '0' && lower(last[1]) == 'x' && std::all_of(last.begin() + 2, last.end(), is_hex);
}
bool dotted_quad(std::string_view host) {
  int parts = 0;
  while (true) {
    const std::size_t dot = host.find('.');
    const std::string_view part = host.substr(0, dot);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit)) return false;
    if (part.size() > 1 && part[0] == '0') return false;  // octal to WHATWG
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

Status check_host(std::string_view host) {
  if (host.empty()) return bad("has no host");
  if (host.front() == '[') {
    const std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.find(':') == std::string_view::npos ||
        !std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; }))
      return bad("has a malformed IPv6 host (no zone ids: only hex digits, ':' and '.' between the brackets)");
    return Unit{};
  }
  for (char c : host)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.')
      return bad("has a host with '" + std::string(1, c) + "' (letters, digits, '-' and '.' only)");
  if (host.front() == '.' || host.find("..") != std::string_view::npos) return bad("has a host with an empty label");
  if (ends_in_number(host) && !dotted_quad(host))
    return bad("has a host that is neither a name nor a dotted-quad IPv4 address");
  return Unit{};
}

Expected<int> parse_port(std::string_view text) {
  if (text.empty()) return bad("has an empty port");
  if (text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit))
    return bad("has a port that is not a number of 1 to 65535");
  const int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) return bad("has a port that is not a number of 1 to 65535");
  return port;
}

Expected<Url> parse(std::string_view base) {
  if (base.size() > kMaxUrlBytes) return bad("is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  if (auto s = check_characters(base); !s) return std::move(s).error();
  Url u;
  const std::size_t colon = base.find("://");
  if (colon == std::string_view::npos) return bad("must be an absolute http:// or https:// URL");
  u.scheme = lowered(base.substr(0, colon));
  if (u.scheme != "https" && u.scheme != "http") return bad("must be an absolute http:// or https:// URL");
  const std::size_t start = colon + 3;
  const std::size_t end = std::min(base.find_first_of("/?#", start), base.size());
  u.authority = base.substr(start, end - start);
  if (u.authority.find('@') != std::string_view::npos)
    return bad("carries user info ('@' before the host): a link must name its host alone");
  std::string_view host = u.authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '[' in its host");
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("has text after its IPv6 host");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) return bad("has an empty port");
    host = host.substr(0, close + 1);
  } else if (const std::size_t c = host.find(':'); c != std::string_view::npos) {
    port = host.substr(c + 1);
    if (port.empty()) return bad("has an empty port");
    host = host.substr(0, c);
  }
  if (auto s = check_host(host); !s) return std::move(s).error();
  u.host = lowered(host);
  if (port.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    auto p = parse_port(port);
    if (!p) return std::move(p).error();
    u.port = *p;
  }
  std::string_view rest = base.substr(end);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    u.fragment = rest.substr(hash);
    rest = rest.substr(0, hash);
    if (u.fragment.find('#', 1) != std::string_view::npos) return bad("has a second '#'");
  }
  const std::size_t q = rest.find('?');
  u.path = rest.substr(0, q);
  if (q != std::string_view::npos) {
    u.has_query = true;
    u.query = rest.substr(q + 1);
  }
  for (std::string_view part : {u.path, u.query, u.fragment})
    if (part.find_first_of("[]") != std::string_view::npos) return bad("has '[' or ']' outside an IPv6 host");
  return u;
}

std::string origin_of(const Url& u) { return u.scheme + "://" + u.host + ":" + std::to_string(u.port); }

// A query parameter's name as form decoders read it ('+' is a space, %XX a byte).
std::string decoded_name(std::string_view pair) {
  const std::string_view name = pair.substr(0, pair.find('='));
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '+') out.push_back(' ');
    else if (name[i] == '%' && i + 2 < name.size()) {  // escapes were checked whole
      out.push_back(static_cast<char>(hex_value(name[i + 1]) * 16 + hex_value(name[i + 2])));
      i += 2;
    } else out.push_back(name[i]);
  }
  return out;
}

// Whether the query already names `param` (separated by '&' or, for older readers, ';').
bool carries(std::string_view query, std::string_view param) {
  while (!query.empty()) {
    const std::size_t sep = query.find_first_of("&;");
    if (decoded_name(query.substr(0, sep)) == param) return true;
    if (sep == std::string_view::npos) break;
    query.remove_prefix(sep + 1);
  }
  return false;
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

Expected<std::string> canonical_origin(std::string_view origin) {
  auto u = parse(origin);
  if (!u) return make_error(Errc::invalid_argument, "link origin '" + std::string(origin) + "': " + u.error().message);
  if ((!u->path.empty() && u->path != "/") || u->has_query || !u->fragment.empty())
    return make_error(Errc::invalid_argument,
                      "link origin '" + std::string(origin) + "' must be scheme://host[:port] alone (no path or query)");
  return origin_of(*u);
}

Expected<std::string> build_link(std::string_view base, std::string_view param, std::string_view value,
                                 const LinkRules& rules) {
  auto parsed = parse(base);
  if (!parsed) return std::move(parsed).error();
  const Url& u = *parsed;
  if (u.scheme == "http" && !rules.allow_http)
    return bad("uses http://: links are https only unless the configuration allows http (link_allow_http)");
  if (!rules.origins.empty()) {
    const std::string origin = origin_of(u);
    const bool allowed = std::any_of(rules.origins.begin(), rules.origins.end(), [&](const std::string& o) {
      auto c = canonical_origin(o);
      return c && *c == origin;
    });
    if (!allowed) return bad("points to " + origin + ", which is not one of the configuration's link origins");
  }
  const std::string name = percent_encode(param);
  if (carries(u.query, param) || carries(u.query, name))
    return bad("already carries the '" + std::string(param) + "' parameter");
  std::string url = u.scheme + "://";
  url += u.authority;
  url += u.path.empty() ? std::string_view("/") : u.path;
  url.push_back('?');
  url += u.query;
  if (!u.query.empty() && u.query.back() != '&') url.push_back('&');
  url += name;
  url.push_back('=');
  url += percent_encode(value);
  url += u.fragment;
  return url;
}

}  // namespace verikit::detail
