// Test support: redis-server processes for tests.
#include "support/redis_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace verikit::test {
namespace {

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("test set-up command failed: " + command);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int free_cluster_port() {
  for (;;) {
    const int p = free_port();
    if (p > 55535) continue;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(p + 10000));
    const bool bus_free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (bus_free) return p;
  }
}

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/verikit-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (options_.tls && options_.certificates_from.empty()) make_test_certificates(dir_);
  for (int attempt = 0;; ++attempt) {
    port_ = options_.port_source != nullptr ? options_.port_source() : free_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url() const {
  if (!options_.tls) return "redis://127.0.0.1:" + std::to_string(port_);
  return "rediss://127.0.0.1:" + std::to_string(port_) + "?tls_ca=" + ca_file();
}

void make_test_certificates(const std::string& dir) {
  const std::string& d = dir;
  const std::string q = " >/dev/null 2>&1";
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=verikit-test-ca -keyout " + d + "/ca.key -out " +
      d + "/ca.crt" + q);
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout " + d + "/other-ca.key -out " +
      d + "/other-ca.crt" + q);
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "/server.key -out " + d +
      "/server.csr" + q);
  std::ofstream(d + "/san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -days 2 -extfile " +
      d + "/san.ext -out " + d + "/server.crt" + q);
}

void RedisServer::start() {
  std::vector<std::string> args = {"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", dir_, "--logfile", dir_ + "/redis.log", "--daemonize", "no",
                                   "--unixsocket", unix_socket(), "--unixsocketperm", "700",
                                   "--enable-debug-command", "yes"};
  if (options_.tls) {
    for (const char* a : {"--port", "0", "--tls-auth-clients", "no"}) args.emplace_back(a);
    const std::string certs = certificates();
    args.insert(args.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file", certs + "/server.crt",
                             "--tls-key-file", certs + "/server.key", "--tls-ca-cert-file", certs + "/ca.crt"});
  } else {
    args.insert(args.end(), {"--port", std::to_string(port_)});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (!options_.sentinel_lines.empty()) {
    const std::string conf = dir_ + "/sentinel.conf";
    std::ofstream out(conf);
    out << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nlogfile " << dir_ << "/redis.log\nunixsocket "
        << unix_socket() << "\nunixsocketperm 700\n";
    for (const auto& line : options_.sentinel_lines) out << line << "\n";
    args = {"redis-server", conf, "--sentinel"};
  }
  std::filesystem::remove(dir_ + "/redis.log");

  pid_ = ::fork();
  if (pid_ == 0) {
    // The server must not hold the test's output open (a pipe reader would wait for it).
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    // Stop with the test process, even if it dies without running destructors.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    std::_Exit(127);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start: " + read_file(dir_ + "/redis.log"));
    }
    const char* ready = options_.sentinel_lines.empty() ? "Ready to accept connections" : "Sentinel ID is";
    if (read_file(dir_ + "/redis.log").find(ready) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis-server did not start: " + read_file(dir_ + "/redis.log"));
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::restart() {
  kill();
  start();
}

void RedisServer::pause() { ::kill(pid_, SIGSTOP); }
void RedisServer::resume() { ::kill(pid_, SIGCONT); }

long long RedisServer::calls(const std::string& command) const {
  const std::string stats = cli("INFO commandstats");
  const std::string field = "cmdstat_" + command + ":calls=";
  const auto at = stats.find(field);
  return at == std::string::npos ? 0 : std::atoll(stats.c_str() + at + field.size());
}

std::string RedisServer::cli(const std::string& args) const {
  std::string auth;
  for (std::size_t i = 0; i + 1 < options_.extra_args.size(); ++i)
    if (options_.extra_args[i] == "--requirepass") auth = " --no-auth-warning -a '" + options_.extra_args[i + 1] + "'";
  std::string cmd = "redis-cli -s " + unix_socket() + auth + " " + args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    ::pclose(p);
  }
  return out;
}

}  // namespace verikit::test
