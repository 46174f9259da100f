// Test support: a Redis Cluster of the test's own (see redis_cluster.hpp).
#include "support/redis_cluster.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace verikit::test {
namespace {

std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen((command + " 2>&1").c_str(), "r")) {
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    ::pclose(p);
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct NodeLine {
  std::string id;
  int port = 0;
  bool primary = false;
  bool failed = false;
  std::vector<std::pair<int, int>> slots;
};

// CLUSTER NODES as one node sees it.
std::vector<NodeLine> cluster_nodes(const RedisServer& node) {
  std::vector<NodeLine> out;
  for (const auto& line : lines(node.cli("CLUSTER NODES"))) {
    auto w = words(line);
    if (w.size() < 8) continue;
    NodeLine n;
    n.id = w[0];
    const auto colon = w[1].find(':');
    const auto at = w[1].find('@');
    if (colon == std::string::npos) continue;
    n.port = std::stoi(w[1].substr(colon + 1, at - colon - 1));
    n.primary = w[2].find("master") != std::string::npos;
    n.failed = w[2].find("fail") != std::string::npos;
    for (std::size_t i = 8; i < w.size(); ++i) {
      if (w[i].front() == '[') continue;  // a slot being migrated or imported
      const auto dash = w[i].find('-');
      const int lo = std::stoi(w[i].substr(0, dash));
      const int hi = dash == std::string::npos ? lo : std::stoi(w[i].substr(dash + 1));
      n.slots.emplace_back(lo, hi);
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

bool is_primary(const RedisServer& node) {
  auto l = lines(node.cli("ROLE"));
  return !l.empty() && l.front() == "master";
}

RedisCluster::RedisCluster(RedisClusterOptions options) : password_(options.password) {
  if (options.tls) {
    char tmpl[] = "/tmp/verikit-cluster-certs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    certificates_ = tmpl;
    make_test_certificates(certificates_);
  }
  const int count = options.primaries * (1 + options.replicas_per_primary);
  std::string create = "redis-cli --cluster create";
  if (!options.password.empty()) create = "redis-cli --no-auth-warning -a '" + options.password + "' --cluster create";
  for (int i = 0; i < count; ++i) {
    RedisServerOptions node;
    node.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                       std::to_string(options.node_timeout_ms), "--cluster-replica-validity-factor", "0"};
    node.port_source = &free_cluster_port;
    if (options.tls) {
      node.tls = true;
      node.certificates_from = certificates_;
      node.extra_args.insert(node.extra_args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
    }
    if (!password_.empty())
      node.extra_args.insert(node.extra_args.end(), {"--requirepass", password_, "--masterauth", password_});
    nodes_.push_back(std::make_unique<RedisServer>(std::move(node)));
    create += " 127.0.0.1:" + std::to_string(nodes_.back()->port());
  }
  create += " --cluster-replicas " + std::to_string(options.replicas_per_primary) + " --cluster-yes";
  if (options.tls) create += " --tls --cacert " + ca_file();
  const std::string out = run(create);
  if (out.find("[OK] All 16384 slots covered") == std::string::npos)
    throw std::runtime_error("redis-cli --cluster create failed: " + out);
  wait_until_ok();
}

std::string RedisCluster::url() const {
  const bool tls = !certificates_.empty();
  return (tls ? "rediss+cluster://" : "redis+cluster://") + (password_.empty() ? std::string() : ":" + password_ + "@") +
         "127.0.0.1:" + std::to_string(nodes_[0]->port()) + ",127.0.0.1:" + std::to_string(nodes_[1]->port()) +
         (tls ? "?tls_ca=" + ca_file() : std::string());
}

RedisCluster::~RedisCluster() {
  nodes_.clear();
  if (!certificates_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(certificates_, ec);
  }
}

void RedisCluster::wait_until_ok(std::chrono::milliseconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  std::string last;
  while (std::chrono::steady_clock::now() < give_up) {
    bool ok = true;
    std::optional<std::set<int>> primaries;
    for (auto& n : nodes_) {
      if (!alive(*n)) continue;
      last = n->cli("CLUSTER INFO");
      if (last.find("cluster_state:ok") == std::string::npos) {
        ok = false;
        break;
      }
      std::set<int> seen;
      for (const auto& line : cluster_nodes(*n))
        if (line.primary && !line.failed && !line.slots.empty()) seen.insert(line.port);
      if (primaries && *primaries != seen) ok = false;
      primaries = seen;
    }
    // Every primary that serves slots answers as a primary itself.
    if (ok && primaries)
      for (auto& n : nodes_)
        if (alive(*n) && primaries->count(n->port()) != 0 && !is_primary(*n)) ok = false;
    if (ok) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("the Redis Cluster did not settle: " + last);
}

RedisServer& RedisCluster::primary_of(int slot) {
  for (auto& n : nodes_) {
    if (!alive(*n)) continue;
    for (const auto& line : cluster_nodes(*n)) {
      if (!line.primary || line.failed) continue;
      for (auto [lo, hi] : line.slots) {
        if (slot < lo || slot > hi) continue;
        for (auto& m : nodes_)
          if (m->port() == line.port) return *m;
      }
    }
    break;
  }
  throw std::runtime_error("no primary serves slot " + std::to_string(slot));
}

RedisServer& RedisCluster::another_primary(const RedisServer& other) {
  for (auto& n : nodes_)
    if (n.get() != &other && alive(*n) && is_primary(*n)) return *n;
  throw std::runtime_error("no other primary");
}

namespace {

void must_ok(const std::string& out, const std::string& what) {
  if (trimmed(out) != "OK") throw std::runtime_error(what + ": " + out);
}

}  // namespace

void RedisCluster::begin_move(int slot, RedisServer& from, RedisServer& to) {
  const std::string s = std::to_string(slot);
  must_ok(to.cli("CLUSTER SETSLOT " + s + " IMPORTING " + trimmed(from.cli("CLUSTER MYID"))), "SETSLOT IMPORTING");
  must_ok(from.cli("CLUSTER SETSLOT " + s + " MIGRATING " + trimmed(to.cli("CLUSTER MYID"))), "SETSLOT MIGRATING");
}

void RedisCluster::migrate_keys(int slot, RedisServer& from, RedisServer& to, const std::vector<std::string>& only) {
  for (;;) {
    auto keys = only.empty() ? lines(from.cli("CLUSTER GETKEYSINSLOT " + std::to_string(slot) + " 100")) : only;
    if (keys.empty()) return;
    std::string migrate = "MIGRATE 127.0.0.1 " + std::to_string(to.port()) + " '' 0 5000 KEYS";
    for (const auto& k : keys) migrate += " '" + k + "'";
    const std::string out = trimmed(from.cli(migrate));
    if (out != "OK" && out != "NOKEY") throw std::runtime_error("MIGRATE: " + out);
    if (!only.empty()) return;
  }
}

void RedisCluster::finish_move(int slot, RedisServer& from, RedisServer& to) {
  const std::string s = std::to_string(slot);
  const std::string to_id = trimmed(to.cli("CLUSTER MYID"));
  must_ok(to.cli("CLUSTER SETSLOT " + s + " NODE " + to_id), "SETSLOT NODE (target)");
  must_ok(from.cli("CLUSTER SETSLOT " + s + " NODE " + to_id), "SETSLOT NODE (source)");
  for (auto& n : nodes_)
    if (n.get() != &from && n.get() != &to && alive(*n) && is_primary(*n)) n->cli("CLUSTER SETSLOT " + s + " NODE " + to_id);
}

void RedisCluster::move_slot(int slot, RedisServer& to) {
  RedisServer& from = primary_of(slot);
  if (&from == &to) return;
  begin_move(slot, from, to);
  migrate_keys(slot, from, to);
  finish_move(slot, from, to);
}

std::vector<int> RedisCluster::slots_of_keys(const std::string& prefix) {
  std::set<int> slots;
  for (auto& n : nodes_) {
    if (!alive(*n) || !is_primary(*n)) continue;
    for (const auto& key : lines(n->cli("--scan --pattern '" + prefix + ":*'")))
      slots.insert(std::stoi(trimmed(n->cli("CLUSTER KEYSLOT '" + key + "'"))));
  }
  return {slots.begin(), slots.end()};
}

}  // namespace verikit::test
