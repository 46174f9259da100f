// verikit::redis — where and how to connect: parsed from a URL and the client options.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "verikit/config.hpp"
#include "verikit/error.hpp"

namespace verikit::redis {

struct Endpoint {
  bool unix_socket = false;
  bool tls = false;
  std::string host;   // TCP host (IPv6 without brackets)
  int port = 6379;
  std::string path;   // Unix socket path
  int db = 0;
  std::string username;  // ACL user; empty: "default" (password-only AUTH)
  std::string password;
  RedisOptions options;

  std::string describe() const;  // host:port or the socket path, without credentials
};

// Parses redis://[user:password@]host[:port][/db][?option=value&...], rediss://... (TLS) and
// unix:///path/to/socket[?db=N&...]. Query options (override `base`): connect_timeout_ms,
// command_timeout_ms, pool_size, tls_ca, tls_cert, tls_key, tls_server_name, tls_verify (0/1),
// allow_eviction (0/1).
Expected<Endpoint> parse_endpoint(std::string_view url, const RedisOptions& base = {});

// Whether a store URL names Redis (redis://, rediss:// or unix://).
bool is_redis_url(std::string_view url) noexcept;

}  // namespace verikit::redis
