// verikit::redis — Redis URL parsing.
#include "redis/endpoint.hpp"

#include <charconv>

namespace verikit::redis {
namespace {

Error bad(const std::string& why) { return make_error(Errc::config, "Redis URL: " + why); }

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int v = 0;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

template <class T>
bool to_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status apply_option(Endpoint& ep, std::string_view name, std::string_view raw) {
  auto value = percent_decode(raw);
  if (!value) return bad("bad percent-encoding in option " + std::string(name));
  long long n = 0;
  auto number = [&](long long lo, long long hi) {
    return to_number(*value, n) && n >= lo && n <= hi;
  };
  RedisOptions& o = ep.options;
  if (name == "db") {
    if (!number(0, 1 << 20)) return bad("db must be a non-negative integer");
    ep.db = static_cast<int>(n);
  } else if (name == "connect_timeout_ms") {
    if (!number(1, 600000)) return bad("connect_timeout_ms must be 1..600000");
    o.connect_timeout = std::chrono::milliseconds(n);
  } else if (name == "command_timeout_ms") {
    if (!number(1, 600000)) return bad("command_timeout_ms must be 1..600000");
    o.command_timeout = std::chrono::milliseconds(n);
  } else if (name == "pool_size") {
    if (!number(1, 64)) return bad("pool_size must be 1..64");
    o.pool_size = static_cast<int>(n);
  } else if (name == "tls_ca") {
    o.tls_ca_file = *value;
  } else if (name == "tls_cert") {
    o.tls_cert_file = *value;
  } else if (name == "tls_key") {
    o.tls_key_file = *value;
  } else if (name == "tls_server_name") {
    o.tls_server_name = *value;
  } else if (name == "tls_verify") {
    if (*value != "0" && *value != "1") return bad("tls_verify must be 0 or 1");
    o.tls_verify = *value == "1";
  } else if (name == "wait_replicas") {
    if (!number(0, 100)) return bad("wait_replicas must be 0..100");
    o.wait_replicas = static_cast<int>(n);
  } else if (name == "wait_timeout_ms") {
    if (!number(1, 60000)) return bad("wait_timeout_ms must be 1..60000");
    o.wait_timeout = std::chrono::milliseconds(n);
  } else if (name == "sentinel_username") {
    ep.sentinel_username = *value;
  } else if (name == "sentinel_password") {
    ep.sentinel_password = *value;
  } else if (name == "allow_eviction") {
    if (*value != "0" && *value != "1") return bad("allow_eviction must be 0 or 1");
    o.allow_eviction = *value == "1";
  } else {
    return bad("unknown option '" + std::string(name) + "'");
  }
  return Unit{};
}

// host[:port] or [v6]:port.
Status parse_address(std::string_view authority, Endpoint::Address& out) {
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in an IPv6 host");
    out.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected characters after the IPv6 host");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("has no host");
  if (!port.empty() && (!to_number(port, out.port) || out.port < 1 || out.port > 65535))
    return bad("port must be 1..65535");
  return Unit{};
}

struct Scheme {
  std::string_view prefix;
  bool tls;
  Endpoint::Topology topology;
};
constexpr Scheme kSchemes[] = {
    {"redis://", false, Endpoint::Topology::single},
    {"rediss://", true, Endpoint::Topology::single},
    {"redis+cluster://", false, Endpoint::Topology::cluster},
    {"rediss+cluster://", true, Endpoint::Topology::cluster},
    {"redis+sentinel://", false, Endpoint::Topology::sentinel},
    {"rediss+sentinel://", true, Endpoint::Topology::sentinel},
};

}  // namespace

bool is_redis_url(std::string_view url) noexcept {
  for (const Scheme& s : kSchemes)
    if (url.starts_with(s.prefix)) return true;
  return url.starts_with("unix://");
}

Endpoint Endpoint::at(const std::string& to_host, int to_port) const {
  Endpoint one = *this;
  one.topology = Topology::single;
  one.seeds.clear();
  one.master_name.clear();
  one.unix_socket = false;
  one.host = to_host;
  one.port = to_port;
  return one;
}

std::string Endpoint::describe() const {
  if (unix_socket) return "unix:" + path;
  if (topology != Topology::single) {
    std::string all = topology == Topology::cluster ? "Redis Cluster via " : "Sentinel master '" + master_name + "' via ";
    for (std::size_t i = 0; i < seeds.size(); ++i)
      all += (i ? "," : "") + (seeds[i].host.find(':') != std::string::npos ? "[" + seeds[i].host + "]" : seeds[i].host) +
             ":" + std::to_string(seeds[i].port);
    return all;
  }
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Expected<Endpoint> parse_endpoint(std::string_view url, const RedisOptions& base) {
  Endpoint ep;
  ep.options = base;
  std::string_view rest;
  for (const Scheme& s : kSchemes) {
    if (!url.starts_with(s.prefix)) continue;
    rest = url.substr(s.prefix.size());
    ep.tls = s.tls;
    ep.topology = s.topology;
    break;
  }
  if (rest.data() == nullptr) {
    if (!url.starts_with("unix://"))
      return bad("must start with redis://, rediss://, unix://, redis+cluster://, rediss+cluster://, "
                 "redis+sentinel:// or rediss+sentinel://");
    rest = url.substr(7);
    ep.unix_socket = true;
  }
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("contains a space or a control character");

  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }

  if (ep.unix_socket) {
    if (rest.empty() || rest.front() != '/') return bad("unix:// needs an absolute socket path (unix:///path)");
    auto path = percent_decode(rest);
    if (!path) return bad("bad percent-encoding in the socket path");
    ep.path = *path;
  } else {
    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view path = authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view{};
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      auto colon = userinfo.find(':');
      auto user = percent_decode(userinfo.substr(0, colon));
      auto pass = percent_decode(colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1));
      if (!user || !pass) return bad("bad percent-encoding in the credentials");
      if (colon == std::string_view::npos) {
        ep.password = *user;  // redis://secret@host: a password alone
      } else {
        ep.username = *user;
        ep.password = *pass;
      }
    }
    std::vector<Endpoint::Address> addresses;
    while (true) {
      const auto comma = authority.find(',');
      Endpoint::Address a;
      a.port = ep.topology == Endpoint::Topology::sentinel ? 26379 : 6379;  // the default ports
      if (auto s = parse_address(authority.substr(0, comma), a); !s) return std::move(s).error();
      addresses.push_back(std::move(a));
      if (comma == std::string_view::npos) break;
      authority = authority.substr(comma + 1);
    }
    if (ep.topology == Endpoint::Topology::single) {
      if (addresses.size() > 1) return bad("several hosts: use redis+cluster:// or redis+sentinel://");
      if (!path.empty() && (!to_number(path, ep.db) || ep.db < 0)) return bad("the path must be a database number");
    } else if (ep.topology == Endpoint::Topology::cluster) {
      if (!path.empty() && path != "0") return bad("a Redis Cluster has database 0 only (redis+cluster://host:port,...)");
    } else {
      auto name = percent_decode(path);
      if (!name || name->empty() || name->find('/') != std::string::npos)
        return bad("redis+sentinel:// needs the master's name as its path (redis+sentinel://host:port,.../mymaster)");
      ep.master_name = *name;
    }
    ep.host = addresses.front().host;
    ep.port = addresses.front().port;
    if (ep.topology != Endpoint::Topology::single) ep.seeds = std::move(addresses);
  }

  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query = pair.size() < query.size() ? query.substr(pair.size() + 1) : std::string_view{};
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) return bad("option '" + std::string(pair) + "' has no value");
    if (auto s = apply_option(ep, pair.substr(0, eq), pair.substr(eq + 1)); !s) return std::move(s).error();
  }
  if (ep.options.pool_size < 1 || ep.options.pool_size > 64) return bad("pool_size must be 1..64");
  if (ep.options.connect_timeout.count() <= 0 || ep.options.command_timeout.count() <= 0)
    return bad("timeouts must be positive");
  if (!ep.tls && (!ep.options.tls_ca_file.empty() || !ep.options.tls_cert_file.empty()))
    return bad("TLS files were given for a plain connection: use rediss://");
  if (ep.topology == Endpoint::Topology::cluster && ep.db != 0) return bad("a Redis Cluster has database 0 only");
  if (ep.topology != Endpoint::Topology::sentinel && (!ep.sentinel_username.empty() || !ep.sentinel_password.empty()))
    return bad("sentinel_username and sentinel_password apply to redis+sentinel:// only");
  if (ep.options.tls_cert_file.empty() != ep.options.tls_key_file.empty())
    return bad("a TLS client certificate needs its key, and a key its certificate");
  return ep;
}

}  // namespace verikit::redis
