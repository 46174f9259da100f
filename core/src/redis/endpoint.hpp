// verikit::redis — where and how to connect: parsed from a URL and the client options.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "verikit/config.hpp"
#include "verikit/error.hpp"

namespace verikit::redis {

struct Endpoint {
  // One server; a Redis Cluster reached through `seeds`; a primary named `master_name` that
  // the Sentinels at `seeds` know.
  enum class Topology { single, cluster, sentinel };
  struct Address {
    std::string host;
    int port = 0;
  };

  Topology topology = Topology::single;
  std::vector<Address> seeds;  // cluster nodes to ask for the slot map, or the Sentinels
  std::string master_name;     // Sentinel: the monitored primary's name
  // Sentinel: AUTH for the Sentinels themselves (the URL's credentials are the data nodes').
  std::string sentinel_username;
  std::string sentinel_password;
  // The handshake asks ROLE and refuses (store_unavailable, retried with backoff) a server
  // that is not a master: set on a Sentinel-found primary, checked on every (re)connect.
  bool require_master = false;
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
  // This endpoint's options and credentials for one server at host:port (single topology).
  Endpoint at(const std::string& host, int port) const;
};

// Parses redis://[user:password@]host[:port][/db][?option=value&...], rediss://... (TLS),
// unix:///path/to/socket[?db=N&...], redis+cluster://[cred@]host:port,host:port,...[?...] (and
// rediss+cluster://: a Redis Cluster, database 0 only) and
// redis+sentinel://[cred@]host:port,host:port/master-name[?...] (and rediss+sentinel://: TLS to
// the Sentinels and the primary). Query options (override `base`): connect_timeout_ms,
// command_timeout_ms, pool_size, tls_ca, tls_cert, tls_key, tls_server_name, tls_verify (0/1),
// allow_eviction (0/1), wait_replicas, wait_timeout_ms, db; Sentinel only: sentinel_username,
// sentinel_password.
Expected<Endpoint> parse_endpoint(std::string_view url, const RedisOptions& base = {});

// Whether a store URL names Redis (redis://, rediss://, unix://, redis+cluster://,
// rediss+cluster://, redis+sentinel://, rediss+sentinel://).
bool is_redis_url(std::string_view url) noexcept;

}  // namespace verikit::redis
