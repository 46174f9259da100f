// Test support: a Redis Cluster of the test's own (redis-server --cluster-enabled yes on free
// loopback ports, joined with redis-cli --cluster create), stopped when the object is destroyed;
// and the operations the tests put it through (find a slot's primary, move a slot, fail over).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace verikit::test {

struct RedisClusterOptions {
  int primaries = 3;
  int replicas_per_primary = 1;
  // cluster-node-timeout: how long a primary may be silent before its replica takes over.
  int node_timeout_ms = 1000;
  std::string password;  // requirepass (and masterauth) on every node; empty: none
  bool tls = false;      // TLS only, between the nodes too, with one CA (ca_file())
};

class RedisCluster {
 public:
  explicit RedisCluster(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis+cluster://[:password@]127.0.0.1:P1,127.0.0.1:P2 (two seeds); with TLS
  // rediss+cluster://...?tls_ca=<ca_file()>.
  std::string url() const;
  std::vector<std::unique_ptr<RedisServer>>& nodes() { return nodes_; }
  std::string ca_file() const { return certificates_ + "/ca.crt"; }
  std::string other_ca_file() const { return certificates_ + "/other-ca.crt"; }

  // The primary now serving `slot`, as the first live node answering CLUSTER SLOTS says.
  RedisServer& primary_of(int slot);
  // A live primary other than `other`.
  RedisServer& another_primary(const RedisServer& other);
  // Moves one slot and its keys to `to`, as redis-cli --cluster reshard does: SETSLOT
  // IMPORTING / MIGRATING (begin_move), MIGRATE the keys in batches (migrate_keys), SETSLOT
  // NODE on every primary (finish_move).
  void move_slot(int slot, RedisServer& to);
  void begin_move(int slot, RedisServer& from, RedisServer& to);
  // MIGRATEs `keys`, or (empty) every key left in the slot.
  void migrate_keys(int slot, RedisServer& from, RedisServer& to, const std::vector<std::string>& keys = {});
  void finish_move(int slot, RedisServer& from, RedisServer& to);
  // The slots of every key under `prefix` (scanned on every live primary).
  std::vector<int> slots_of_keys(const std::string& prefix);
  // Until every live node says cluster_state:ok and agrees on the primaries, or throws.
  void wait_until_ok(std::chrono::milliseconds limit = std::chrono::seconds(20));
  // Whether `node` was killed by the test.
  static bool alive(const RedisServer& node) { return node.pid() > 0; }

 private:
  std::string certificates_;  // with TLS: a temporary folder (removed at the end)
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string password_;
};

// Whether the cluster's node knows itself a primary.
bool is_primary(const RedisServer& node);

}  // namespace verikit::test
