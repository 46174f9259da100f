// The Redis store's start-up checks against real redis-server processes (and, for an old
// version, a server of the test's own): eviction policy, Cluster, replicas, ACL permissions,
// authentication.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>
#include <thread>

#include "store/redis_preflight.hpp"
#include "support/redis_server.hpp"
#include "verikit/verikit.hpp"

namespace verikit {
namespace {

using test::RedisServer;
using test::RedisServerOptions;

struct Started {
  Expected<std::shared_ptr<Engine>> engine = make_error(Errc::internal, "not started");
  std::vector<std::string> warnings;
};

Started start(const std::string& url, RedisOptions options = {}) {
  Started out;
  Config c;
  c.store_url = url;
  c.redis = options;
  static const Key key = generate_key(1);  // one key for every engine: the key check passes
  c.keys = KeySet{key, {}};
  auto* warnings = &out.warnings;
  c.on_warning = [warnings](std::string_view w) { warnings->emplace_back(w); };
  out.engine = Engine::create(c);
  return out;
}

std::string hostport(const RedisServer& s) { return "127.0.0.1:" + std::to_string(s.port()); }

void expect_refused(const Started& s, const std::vector<std::string>& words) {
  ASSERT_FALSE(s.engine.has_value()) << "started";
  EXPECT_EQ(s.engine.error().code, Errc::config) << s.engine.error().message;
  for (const auto& w : words) EXPECT_NE(s.engine.error().message.find(w), std::string::npos) << s.engine.error().message;
}

bool any_has(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

// ----------------------------------------------------------------- eviction

TEST(RedisPreflight, EvictingPoliciesAreRefused) {
  for (const char* policy : {"allkeys-lru", "volatile-lru", "volatile-ttl", "allkeys-random"}) {
    RedisServer server(RedisServerOptions{.extra_args = {"--maxmemory-policy", policy}});
    auto s = start(server.url());
    expect_refused(s, {policy, "noeviction", "allow_eviction=1", "volatile-*"});
  }
  RedisServer fine(RedisServerOptions{.extra_args = {"--maxmemory-policy", "noeviction"}});
  auto s = start(fine.url());
  ASSERT_TRUE(s.engine.has_value()) << s.engine.error().message;
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  EXPECT_EQ((*s.engine)->issue_otp("login", "ann")->outcome, Outcome::issued);
}

TEST(RedisPreflight, EvictionCanBeAcceptedExplicitlyWithAWarning) {
  RedisServer server(RedisServerOptions{.extra_args = {"--maxmemory-policy", "allkeys-lru"}});
  auto by_url = start(server.url() + "?allow_eviction=1");
  ASSERT_TRUE(by_url.engine.has_value()) << by_url.engine.error().message;
  ASSERT_EQ(by_url.warnings.size(), 1u);
  EXPECT_NE(by_url.warnings[0].find("WARNING"), std::string::npos) << by_url.warnings[0];
  EXPECT_NE(by_url.warnings[0].find("allkeys-lru"), std::string::npos) << by_url.warnings[0];
  EXPECT_NE(by_url.warnings[0].find("allow_eviction"), std::string::npos) << by_url.warnings[0];

  auto by_option = start(server.url(), RedisOptions{.allow_eviction = true});
  ASSERT_TRUE(by_option.engine.has_value()) << by_option.engine.error().message;
  EXPECT_EQ(by_option.warnings.size(), 1u);
  auto off = start(server.url() + "?allow_eviction=0", RedisOptions{.allow_eviction = true});  // the URL wins
  expect_refused(off, {"allkeys-lru"});
}

TEST(RedisPreflight, WhereThePolicyCannotBeReadItIsAWarning) {
  RedisServer server(RedisServerOptions{.extra_args = {"--maxmemory-policy", "allkeys-lru"}});
  server.cli("ACL SETUSER blind on '>pw' ~* +@all -config -info");
  auto s = start("redis://blind:pw@" + hostport(server));
  ASSERT_TRUE(s.engine.has_value()) << s.engine.error().message;
  EXPECT_TRUE(any_has(s.warnings, "could not read Redis maxmemory-policy")) << testing::PrintToString(s.warnings);
  EXPECT_EQ(s.warnings.size(), 1u) << "HELLO told the version, mode and role";
  EXPECT_EQ((*s.engine)->issue_otp("login", "ann")->outcome, Outcome::issued);

  // A server without INFO, HELLO and CONFIG at all (renamed away, as some managed services do):
  // what cannot be checked is a warning too.
  RedisServer mute(RedisServerOptions{.extra_args = {"--maxmemory-policy", "allkeys-lru", "--rename-command", "INFO", "",
                                                     "--rename-command", "HELLO", "", "--rename-command", "CONFIG", ""}});
  auto m = start(mute.url());
  ASSERT_TRUE(m.engine.has_value()) << m.engine.error().message;
  EXPECT_TRUE(any_has(m.warnings, "refused INFO")) << testing::PrintToString(m.warnings);
  EXPECT_TRUE(any_has(m.warnings, "could not read Redis maxmemory-policy")) << testing::PrintToString(m.warnings);

  // Without CONFIG but with INFO (as managed services often are), the policy is still read.
  server.cli("ACL SETUSER noconfig on '>pw' ~* +@all -config");
  auto t = start("redis://noconfig:pw@" + hostport(server));
  expect_refused(t, {"allkeys-lru"});
}

// ----------------------------------------------------------------- topology and version

TEST(RedisPreflight, AClusterNodeNamedAsOneServerIsRefused) {
  RedisServer node(RedisServerOptions{.extra_args = {"--cluster-enabled", "yes"}});
  expect_refused(start(node.url()), {"Cluster mode", "redis+cluster://"});
  node.cli("ACL SETUSER noinfo on '>pw' ~* +@all -info");  // HELLO says the mode
  expect_refused(start("redis://noinfo:pw@" + hostport(node)), {"Cluster mode", "redis+cluster://"});
}

TEST(RedisPreflight, AStandaloneServerNamedAsAClusterIsRefused) {
  RedisServer server;
  expect_refused(start("redis+cluster://" + hostport(server)), {"not in Cluster mode", "redis://"});
}

TEST(RedisPreflight, AReplicaIsRefused) {
  RedisServer master;
  RedisServer replica(RedisServerOptions{.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())}});
  expect_refused(start(replica.url()), {"replica of 127.0.0.1:" + std::to_string(master.port()), "master"});
  ASSERT_TRUE(start(master.url()).engine.has_value());
  // A user without INFO: HELLO says the role.
  replica.cli("ACL SETUSER noinfo on '>pw' ~* +@all -info");
  expect_refused(start("redis://noinfo:pw@" + hostport(replica)), {"is a replica", "master"});
}

// A server of the test's own that answers PING and INFO as an old Redis would.
// A server of the test's own on a loopback port, for one connection: PING answers +PONG, INFO
// answers `info`, any other command `other` (a RESP reply). Stops when the client hangs up.
class FakeRedis {
 public:
  FakeRedis(std::string info, std::string other) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, info = std::move(info), other = std::move(other)] { serve(info, other); });
  }
  ~FakeRedis() {
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "?pool_size=1"; }

 private:
  // The first whole command in `in` (its arguments), taken out of it; nullopt until one is whole.
  static std::optional<std::vector<std::string>> take_command(std::string& in) {
    std::size_t at = 0;
    auto line = [&]() -> std::optional<std::string> {
      const auto end = in.find("\r\n", at);
      if (end == std::string::npos) return std::nullopt;
      std::string l = in.substr(at, end - at);
      at = end + 2;
      return l;
    };
    const auto count = line();
    if (!count || count->empty() || (*count)[0] != '*') return std::nullopt;
    std::vector<std::string> args;
    for (int i = 0, n = std::stoi(count->substr(1)); i < n; ++i) {
      const auto size = line();
      if (!size) return std::nullopt;
      const auto bytes = static_cast<std::size_t>(std::stoul(size->substr(1)));
      if (in.size() < at + bytes + 2) return std::nullopt;
      args.push_back(in.substr(at, bytes));
      at += bytes + 2;
    }
    in.erase(0, at);
    return args;
  }
  void serve(const std::string& info, const std::string& other) {
    const int fd = ::accept(listener_, nullptr, nullptr);
    std::string in;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      while (auto args = take_command(in)) {
        std::string reply = other;
        if (args->size() == 1 && (*args)[0] == "PING") reply = "+PONG\r\n";
        if (args->size() == 1 && (*args)[0] == "INFO") reply = "$" + std::to_string(info.size()) + "\r\n" + info + "\r\n";
        (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    }
    ::close(fd);
  }
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(RedisPreflight, AnOldRedisIsRefusedNamingTheMinimum) {
  FakeRedis fake("# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n",
                 "-ERR unexpected\r\n");
  expect_refused(start(fake.url()), {"Redis 6.2.14", "needs Redis 7.0 or later"});
}

// A server that cannot run the permission check for now (a Cluster node while the cluster is
// down, as a failover review met on a newly promoted primary) is not ready, not short of
// permissions: no ACL advice for a CLUSTERDOWN.
TEST(RedisPreflight, AClusterDownIsNotReadyNotAMissingPermission) {
  FakeRedis fake("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n"
                 "\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n",
                 "-CLUSTERDOWN The cluster is down\r\n");
  auto s = start(fake.url());
  ASSERT_FALSE(s.engine.has_value()) << "started";
  EXPECT_EQ(s.engine.error().code, Errc::store_unavailable) << s.engine.error().message;
  EXPECT_NE(s.engine.error().message.find("is not ready: CLUSTERDOWN"), std::string::npos) << s.engine.error().message;
  EXPECT_EQ(s.engine.error().message.find("ACL SETUSER"), std::string::npos) << s.engine.error().message;
}

// ----------------------------------------------------------------- permissions and authentication

TEST(RedisPreflight, MissingPermissionsAreRefusedNamingThem) {
  RedisServer server;
  struct Case {
    const char* rules;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"+@all -evalsha", {"EVALSHA", "ACL SETUSER app", "+evalsha"}},
      {"+@all -script", {"SCRIPT LOAD", "ACL SETUSER app"}},
      {"+@all -eval", {"EVAL", "+eval"}},
      {"+@all -hset", {"run HSET", "+hset"}},
      {"+@all -set -get", {"GET, SET", "+get +set"}},
      {"+@all -time -pexpire", {"PEXPIRE, TIME", "+pexpire +time"}},
  };
  for (const Case& c : cases) {
    server.cli("ACL DELUSER app");
    server.cli(std::string("ACL SETUSER app on '>apppw' ~* ") + c.rules);
    auto s = start("redis://app:apppw@" + hostport(server));
    SCOPED_TRACE(c.rules);
    expect_refused(s, c.words);
    if (!s.engine) EXPECT_EQ(s.engine.error().message.find("apppw"), std::string::npos) << "the password leaked";
  }
  server.cli("ACL DELUSER app");
  server.cli("ACL SETUSER app on '>apppw' ~other:* +@all");
  expect_refused(start("redis://app:apppw@" + hostport(server)), {"vk:{verikit-preflight}:p", "~vk:*"});
  // Exactly what verikit needs is enough.
  server.cli("ACL DELUSER app");
  std::string rules = "ACL SETUSER app on '>apppw' ~vk:* -@all +ping +eval +evalsha '+script|load'";
  for (const char* cmd : {"del", "exists", "get", "hdel", "hget", "hgetall", "hmget", "hset", "pexpire", "pexpireat", "pttl", "sadd", "scard", "set", "setrange", "srem", "time"})
    rules += std::string(" +") + cmd;
  server.cli(rules);
  auto s = start("redis://app:apppw@" + hostport(server));
  ASSERT_TRUE(s.engine.has_value()) << s.engine.error().message;
  EXPECT_EQ((*s.engine)->issue_otp("login", "ann")->outcome, Outcome::issued);
}

TEST(RedisPreflight, EveryAuthenticationFailureIsOneClearError) {
  RedisServer server(RedisServerOptions{.extra_args = {"--requirepass", "s3cret"}});
  server.cli("-a s3cret --no-auth-warning ACL SETUSER app on '>apppw' ~* +@all");
  const std::string at = hostport(server);
  expect_refused(start("redis://" + at), {"authentication required", "NOAUTH", "redis://:password@host"});
  expect_refused(start("redis://" + at + "/3"), {"authentication required"});  // SELECT first, same answer
  auto wrong = start("redis://:nope@" + at);
  expect_refused(wrong, {"AUTH failed", "WRONGPASS"});
  EXPECT_EQ(wrong.engine.error().message.find("nope"), std::string::npos) << "the password leaked";
  expect_refused(start("redis://app:nope@" + at), {"AUTH failed", "WRONGPASS"});
  expect_refused(start("redis://ghost:apppw@" + at), {"AUTH failed", "WRONGPASS"});
  expect_refused(start("unix://" + server.unix_socket()), {"authentication required"});
  ASSERT_TRUE(start("redis://:s3cret@" + at).engine.has_value());
  ASSERT_TRUE(start("redis://app:apppw@" + at).engine.has_value());
}

TEST(RedisPreflight, CommandsCalledAreReadFromTheScripts) {
  auto names = detail::commands_called("local t = redis.call('TIME') redis.call(\"hset\", KEYS[1]) "
                                       "redis.pcall( 'DEL', k) redis.call('HSET', k) local x = redis.call(name)");
  EXPECT_EQ(names, (std::vector<std::string>{"DEL", "HSET", "TIME"}));
}

}  // namespace
}  // namespace verikit
