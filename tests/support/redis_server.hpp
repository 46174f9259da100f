// Test support: a redis-server of the test's own on a free loopback port, in a temporary
// folder, stopped (and its folder removed) when the object is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace verikit::test {

struct RedisServerOptions {
  std::vector<std::string> extra_args;  // e.g. {"--requirepass", "pw"}
  bool tls = false;                     // serve TLS only, with a CA and certificate made here
  // Non-empty: run as a Sentinel (redis-server <conf> --sentinel) whose config file has these
  // lines after port, bind, dir, logfile and unixsocket (e.g. "sentinel monitor m 127.0.0.1 P 2").
  std::vector<std::string> sentinel_lines;
  // Where the port comes from (default: free_port()); a cluster node needs port + 10000 free too.
  int (*port_source)() = nullptr;
  // With tls: the folder of certificates made by make_test_certificates() to serve (shared by
  // the nodes of a cluster); empty: a set of the server's own.
  std::string certificates_from;
};

// A CA (ca.crt), a server certificate it signed for localhost and 127.0.0.1 (server.crt,
// server.key) and an unrelated CA (other-ca.crt), made with openssl in `dir`.
void make_test_certificates(const std::string& dir);

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const;           // redis://127.0.0.1:PORT or rediss://... with the CA
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return certificates() + "/ca.crt"; }
  std::string other_ca_file() const { return certificates() + "/other-ca.crt"; }
  std::string unix_socket() const { return dir_ + "/redis.sock"; }

  pid_t pid() const { return pid_; }
  void kill();     // SIGKILL and reap
  void restart();  // start again on the same port
  void pause();    // SIGSTOP
  void resume();   // SIGCONT

  // Runs redis-cli against the server and returns its output (for test set-up and checks).
  std::string cli(const std::string& args) const;
  // How many times the server ran `command` (lower case: "eval", "fcall"), from INFO commandstats.
  long long calls(const std::string& command) const;

 private:
  void start();
  std::string certificates() const { return options_.certificates_from.empty() ? dir_ : options_.certificates_from; }
  RedisServerOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound, then released).
int free_port();
// A free port P below 55536 whose cluster bus port P + 10000 is free too.
int free_cluster_port();

}  // namespace verikit::test
