// Integration tests of the Redis client against redis-server processes the tests start.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "redis/client.hpp"
#include "support/redis_server.hpp"

namespace verikit::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::RedisServerOptions;

std::unique_ptr<Client> connect(const std::string& url, RedisOptions options = {}) {
  auto ep = parse_endpoint(url, options);
  EXPECT_TRUE(ep.has_value()) << (ep ? "" : ep.error().message);
  auto c = Client::connect(*ep);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return c ? std::move(c).value() : nullptr;
}

Reply ok(Expected<Reply> r) {
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(r).value() : Reply{};
}

// A loopback listening socket of the test's own, for a server that says what the test wants.
struct Listener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  explicit Listener(int backlog = 4) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, backlog), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

// Accepts the client's connection and answers its handshake: without a password that is one
// PING (a server wanting a password says NOAUTH to it), so the test's server then sees only
// the test's own commands.
int accept_client(const Listener& listener) {
  const int fd = ::accept(listener.fd, nullptr, nullptr);
  const std::string hello = "*1\r\n$4\r\nPING\r\n";
  std::string in;
  char buf[64];
  while (in.size() < hello.size()) {
    const ssize_t n = ::recv(fd, buf, hello.size() - in.size(), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(in, hello);
  EXPECT_EQ(::send(fd, "+PONG\r\n", 7, MSG_NOSIGNAL), 7);
  return fd;
}

// Counts completions and waits for a number of them.
struct Tally {
  std::mutex m;
  std::condition_variable cv;
  int done = 0, errors = 0;
  std::vector<Errc> codes;
  void add(const Expected<Reply>& r) {
    std::lock_guard<std::mutex> lock(m);
    ++done;
    if (!r) {
      ++errors;
      codes.push_back(r.error().code);
    }
    cv.notify_all();
  }
  bool wait(int n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, limit, [&] { return done >= n; });
  }
};

// ----------------------------------------------------------------- URLs

TEST(Endpoint, ParsesEveryForm) {
  auto a = parse_endpoint("redis://user:p%40ss@example.com:6380/3?command_timeout_ms=250&pool_size=4").value();
  EXPECT_EQ(a.host, "example.com");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(a.username, "user");
  EXPECT_EQ(a.password, "p@ss");
  EXPECT_EQ(a.options.command_timeout, 250ms);
  EXPECT_EQ(a.options.pool_size, 4);
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.describe(), "example.com:6380");  // no credentials in messages

  auto b = parse_endpoint("rediss://secret@[::1]/?tls_ca=/ca.pem&tls_server_name=redis.local&tls_verify=1").value();
  EXPECT_TRUE(b.tls);
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.password, "secret");
  EXPECT_TRUE(b.username.empty());
  EXPECT_EQ(b.options.tls_ca_file, "/ca.pem");
  EXPECT_EQ(b.options.tls_server_name, "redis.local");

  auto c = parse_endpoint("unix:///var/run/redis.sock?db=2").value();
  EXPECT_TRUE(c.unix_socket);
  EXPECT_EQ(c.path, "/var/run/redis.sock");
  EXPECT_EQ(c.db, 2);
}

TEST(Endpoint, RejectsBadUrlsClearly) {
  for (const char* bad : {"http://x", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000", "redis://h:x",
                          "redis://h/notadb", "redis://h?pool_size=0", "redis://h?pool_size=65", "redis://h?nope=1",
                          "redis://h?tls_verify=2", "redis://h?tls_ca=/x", "unix://relative", "redis://h k",
                          "redis://[::1", "rediss://h?tls_cert=/c", "redis://h?command_timeout_ms=0",
                          "redis://h?db"}) {
    auto r = parse_endpoint(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::config) << bad;
    EXPECT_NE(r.error().message.find("Redis URL"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(is_redis_url("rediss://h"));
  EXPECT_FALSE(is_redis_url("memory://"));
}

// ----------------------------------------------------------------- replies

TEST(RedisClient, EveryReplyType) {
  RedisServer server;
  auto c = connect(server.url());
  ASSERT_TRUE(c);
  Reply status = ok(c->command_sync({"SET", "k", "v"}));
  EXPECT_EQ(status.type, Reply::Type::status);
  EXPECT_EQ(status.str, "OK");
  Reply str = ok(c->command_sync({"GET", "k"}));
  EXPECT_EQ(str.type, Reply::Type::string);
  EXPECT_EQ(str.str, "v");
  EXPECT_TRUE(ok(c->command_sync({"GET", "missing"})).is_nil());
  Reply integer = ok(c->command_sync({"INCRBY", "n", "-42"}));
  EXPECT_EQ(integer.type, Reply::Type::integer);
  EXPECT_EQ(integer.integer, -42);
  Reply err = ok(c->command_sync({"INCR", "k"}));
  EXPECT_TRUE(err.is_error());
  EXPECT_NE(err.str.find("not an integer"), std::string::npos);
  Reply nested = ok(c->command_sync({"EVAL", "return {1, 'two', {3, 'four'}, false}", "0"}));
  ASSERT_EQ(nested.type, Reply::Type::array);
  ASSERT_EQ(nested.elements.size(), 4u);
  EXPECT_EQ(nested.elements[0].integer, 1);
  EXPECT_EQ(nested.elements[1].str, "two");
  ASSERT_EQ(nested.elements[2].elements.size(), 2u);
  EXPECT_EQ(nested.elements[2].elements[1].str, "four");
  EXPECT_TRUE(nested.elements[3].is_nil());
  Reply empty = ok(c->command_sync({"LRANGE", "nolist", "0", "-1"}));
  EXPECT_EQ(empty.type, Reply::Type::array);
  EXPECT_TRUE(empty.elements.empty());
}

TEST(RedisClient, LargeAndBinarySafeValues) {
  RedisServer server;
  auto c = connect(server.url());
  ASSERT_TRUE(c);
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 256);
  const std::string key("bin\0key\r\n", 9);
  EXPECT_EQ(ok(c->command_sync({"SET", key, big})).str, "OK");
  Reply back = ok(c->command_sync({"GET", key}));
  EXPECT_EQ(back.str.size(), big.size());
  EXPECT_TRUE(back.str == big);
  EXPECT_EQ(ok(c->command_sync({"STRLEN", key})).integer, 1 << 20);
  EXPECT_EQ(ok(c->command_sync({"SET", "empty", ""})).str, "OK");
  EXPECT_EQ(ok(c->command_sync({"GET", "empty"})).str, "");
}

TEST(RedisClient, UnixSocketAndDatabaseSelection) {
  RedisServer server;
  auto c = connect("unix://" + server.unix_socket() + "?db=5");
  ASSERT_TRUE(c);
  ok(c->command_sync({"SET", "where", "db5"}));
  EXPECT_NE(server.cli("-n 5 GET where").find("db5"), std::string::npos);
  EXPECT_EQ(server.cli("-n 0 GET where"), "\n");
  auto tcp = connect(server.url() + "/5");
  EXPECT_EQ(ok(tcp->command_sync({"GET", "where"})).str, "db5");
}

// ----------------------------------------------------------------- concurrency

TEST(RedisClient, ManyThreadsEveryCallbackExactlyOnce) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.pool_size = 2});
  ASSERT_TRUE(c);
  constexpr int kThreads = 8, kPerThread = 5000;
  std::vector<std::vector<long long>> seen(kThreads);
  std::vector<std::mutex> locks(kThreads);
  Tally tally;
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const std::string key = "counter:" + std::to_string(t);
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i)
        c->command({"INCR", key}, [&, t](Expected<Reply> r) {
          if (r) {
            std::lock_guard<std::mutex> lock(locks[t]);
            seen[t].push_back(r->integer);
          }
          tally.add(r);
        });
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(tally.wait(kThreads * kPerThread, 30s));
  EXPECT_EQ(tally.errors, 0);
  EXPECT_EQ(tally.done, kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    std::set<long long> values(seen[t].begin(), seen[t].end());
    EXPECT_EQ(values.size(), static_cast<std::size_t>(kPerThread));  // each INCR answered once
    EXPECT_EQ(*values.rbegin(), kPerThread);
  }
}

TEST(RedisClient, OneConnectionRepliesInOrder) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.pool_size = 1});
  ASSERT_TRUE(c);
  std::vector<long long> order;
  Tally tally;
  for (int i = 0; i < 20000; ++i)
    c->command({"INCR", "seq"}, [&](Expected<Reply> r) {
      order.push_back(r ? r->integer : -1);  // callbacks run on the one I/O thread
      tally.add(r);
    });
  ASSERT_TRUE(tally.wait(20000, 30s));
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(order[i], i + 1);
}

TEST(RedisClient, CallbacksThatSubmitKeepEveryChainInOrder) {
  // Each reply's callback (on the I/O thread) submits the next command of its chain: what they
  // submit is sent between replies (Connection::set_progress), on one connection and on two.
  RedisServer server;
  for (int pool : {1, 2}) {
    auto c = connect(server.url(), RedisOptions{.pool_size = pool});
    ASSERT_TRUE(c);
    constexpr int kChains = 64, kLength = 300;
    std::vector<std::vector<long long>> seen(kChains);
    Tally tally;
    std::vector<std::function<void()>> next(kChains);
    for (int k = 0; k < kChains; ++k) {
      const std::string key = "chain:" + std::to_string(pool) + ":" + std::to_string(k);
      next[k] = [&, k, key] {
        c->command({"INCR", key}, [&, k](Expected<Reply> r) {
          seen[k].push_back(r ? r->integer : -1);  // the one I/O thread: no lock needed
          if (r && seen[k].size() < static_cast<std::size_t>(kLength)) next[k]();
          tally.add(r);  // last: the test may end as soon as the final one is counted
        });
      };
    }
    for (auto& start : next) start();
    ASSERT_TRUE(tally.wait(kChains * kLength, 30s));
    EXPECT_EQ(tally.errors, 0);
    for (int k = 0; k < kChains; ++k) {
      ASSERT_EQ(seen[k].size(), static_cast<std::size_t>(kLength));
      for (int i = 0; i < kLength; ++i) ASSERT_EQ(seen[k][i], i + 1) << "chain " << k;
    }
  }
}

TEST(RedisClient, WhatCallbacksSubmitIsSentBeforeTheRestOfABatchIsHandled) {
  // A server of the test's own: it answers eight PINGs in one write, then waits for a ninth.
  // The first reply's callback submits the ninth; the fifth reply's callback waits until the
  // server has received it, which only happens if the client sends between replies (otherwise
  // Redis would sit idle while the client works through a whole batch of callbacks).
  Listener listener;
  std::mutex m;
  std::condition_variable cv;
  int pings_received = 0;
  std::thread fake([&] {
    const int fd = accept_client(listener);
    std::string in;
    bool answered_eight = false;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      int pings = 0;
      for (std::size_t at = in.find("PING\r\n"); at != std::string::npos; at = in.find("PING\r\n", at + 1)) ++pings;
      {
        std::lock_guard<std::mutex> lock(m);
        pings_received = pings;
      }
      cv.notify_all();
      if (pings >= 8 && !answered_eight) {
        std::string replies;
        for (int i = 0; i < 8; ++i) replies += "+PONG\r\n";
        ASSERT_EQ(::send(fd, replies.data(), replies.size(), MSG_NOSIGNAL), static_cast<ssize_t>(replies.size()));
        answered_eight = true;
      }
      if (pings >= 9) {
        ASSERT_EQ(::send(fd, "+PONG\r\n", 7, MSG_NOSIGNAL), 7);
        break;
      }
    }
    std::this_thread::sleep_for(200ms);  // let the client read the last reply before closing
    ::close(fd);
  });
  {
    auto c = connect("redis://" + listener.address() + "?pool_size=1");
    ASSERT_TRUE(c);
    Tally tally;
    bool fifth_saw_ninth = false;
    for (int i = 0; i < 8; ++i)
      c->command({"PING"}, [&, i](Expected<Reply> r) {
        if (i == 0) c->command({"PING"}, [&](Expected<Reply> r9) { tally.add(r9); });
        if (i == 4) {
          std::unique_lock<std::mutex> lock(m);
          fifth_saw_ninth = cv.wait_for(lock, 10s, [&] { return pings_received >= 9; });
        }
        tally.add(r);
      });
    ASSERT_TRUE(tally.wait(9, 20s));
    EXPECT_EQ(tally.errors, 0);
    EXPECT_TRUE(fifth_saw_ninth) << "the ninth PING was not sent until the batch's callbacks had all run";
  }
  fake.join();
}

TEST(RedisClient, AReplyHiredisCannotParseFailsItsConnectionCleanly) {
  // Replies are built in place as hiredis parses them; one that breaks off half-way (after two
  // of three elements) is freed whole, and its request fails as a protocol error.
  Listener listener;
  std::thread fake([&] {
    const int fd = accept_client(listener);
    std::string in;
    char buf[4096];
    while (in.find("PING\r\n") == std::string::npos || in.find("PING\r\n") == in.rfind("PING\r\n")) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    const std::string replies = "*-1\r\n*3\r\n:1\r\n*1\r\n$2\r\nab\r\n!oops\r\n";
    EXPECT_EQ(::send(fd, replies.data(), replies.size(), MSG_NOSIGNAL), static_cast<ssize_t>(replies.size()));
    std::this_thread::sleep_for(200ms);
    ::close(fd);
  });
  {
    auto c = connect("redis://" + listener.address() + "?pool_size=1");
    ASSERT_TRUE(c);
    std::mutex m;
    std::vector<Expected<Reply>> got;
    Tally tally;
    for (int i = 0; i < 2; ++i)
      c->command({"PING"}, [&](Expected<Reply> r) {
        {
          std::lock_guard<std::mutex> lock(m);
          got.push_back(r);
        }
        tally.add(r);
      });
    ASSERT_TRUE(tally.wait(2, 10s));
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(got[0].has_value());
    EXPECT_TRUE(got[0]->is_nil());  // a nil multi-bulk
    ASSERT_FALSE(got[1].has_value());
    EXPECT_EQ(got[1].error().code, Errc::store_protocol);
    EXPECT_NE(got[1].error().message.find("protocol error"), std::string::npos) << got[1].error().message;
  }
  fake.join();
}

// A server of the test's own: it answers the first PING with `reply`, then sends nothing more and
// waits (up to 30 s) for the client to hang up.
struct OneReplyServer {
  Listener listener;
  std::atomic<bool> client_hung_up{false};
  std::thread thread;
  explicit OneReplyServer(std::string reply) {
    thread = std::thread([this, reply = std::move(reply)] {
      const int fd = accept_client(listener);
      std::string in;
      char buf[4096];
      while (in.find("PING\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      for (std::size_t at = 0; at < reply.size();) {
        const ssize_t n = ::send(fd, reply.data() + at, reply.size() - at, MSG_NOSIGNAL);
        if (n <= 0) break;  // the client may hang up half-way through
        at += static_cast<std::size_t>(n);
      }
      timeval tv{30, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      // A hang-up is an orderly close (0) or a reset: a client that closes with unread bytes in
      // its receive buffer (the rest of a refused reply) sends RST, and recv fails ECONNRESET.
      // Only the receive timeout (EAGAIN) means the client kept the connection.
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      client_hung_up = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      ::close(fd);
    });
  }
  ~OneReplyServer() { thread.join(); }
  // PING through a fresh client; the result, within `limit`.
  Expected<Reply> ping() {
    auto c = connect("redis://" + listener.address() + "?pool_size=1&command_timeout_ms=30000");
    if (!c) return make_error(Errc::internal, "no client");
    auto r = c->command_sync({"PING"});
    for (int i = 0; i < 1000 && !client_hung_up; ++i) std::this_thread::sleep_for(10ms);  // up to 10 s (sanitizers are slow)
    return r;
  }
};

void expect_refused(const std::string& reply, const std::string& why) {
  OneReplyServer server(reply);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = server.ping();
  ASSERT_FALSE(r.has_value()) << "accepted: " << reply.substr(0, 40);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "it waited for more data instead of refusing";
  EXPECT_EQ(r.error().code, Errc::store_protocol) << r.error().message;
  EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  EXPECT_TRUE(server.client_hung_up) << "the connection was not dropped";
}

TEST(RedisClient, HostileLengthsAreProtocolErrorsNotAllocations) {
  // Each would have the client allocate (or buffer) gigabytes on a few bytes' say-so.
  expect_refused("*2147483647\r\n", "an array of 2147483647 elements (the limit is 1048576)");
  expect_refused("*1048577\r\n:1\r\n", "an array of 1048577 elements");
  expect_refused("$1073741824\r\nabc", "a bulk string of 1073741824 bytes (the limit is 67108864)");
  expect_refused("*2\r\n:1\r\n$9223372036854775807\r\n", "a bulk string of 9223372036854775807 bytes");
  expect_refused("+" + std::string(100000, 'x'), "a reply line longer than 65536 bytes");
  expect_refused("$" + std::string(100, '1'), "a bulk length line that does not end");
  expect_refused(std::string("*1\r\n").append(std::string("*1\r\n") + "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
                 "depth > 7");
  // Arrays within the limit that together declare more than 2,097,152 elements.
  std::string many = "*3\r\n*1048576\r\n";
  for (int i = 0; i < 1048576; ++i) many += ":1\r\n";
  many += "*1048576\r\n:1\r\n";
  expect_refused(many, "a reply of more than 2097152 elements");
}

TEST(RedisClient, RepliesUpToTheLimitsAreRead) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 30000ms});
  ASSERT_TRUE(c);
  Reply big = ok(c->command_sync({"EVAL", "local t = {} for i = 1, 1048576 do t[i] = i end return t", "0"}));
  ASSERT_EQ(big.elements.size(), 1048576u);
  EXPECT_EQ(big.elements.back().integer, 1048576);
  std::string value(32 << 20, 'v');
  ok(c->command_sync({"SET", "big", value}));
  EXPECT_EQ(ok(c->command_sync({"GET", "big"})).str.size(), value.size());
  Reply nested = ok(c->command_sync({"EVAL", "return {{{{{{{1}}}}}}}", "0"}));  // depth 7
  const Reply* r = &nested;
  for (int depth = 0; depth < 7; ++depth) {
    ASSERT_EQ(r->type, Reply::Type::array);
    ASSERT_EQ(r->elements.size(), 1u);
    r = &r->elements[0];
  }
  EXPECT_EQ(r->integer, 1);
}

TEST(RedisClient, ASubmissionWhileRepliesAreDueIsSentWhenTheyArrive) {
  // With replies due the sleeping I/O thread is not woken for a new request (it wakes for the
  // replies and sends it then): the request must still go out and complete, after them.
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 10000ms, .pool_size = 1});
  ASSERT_TRUE(c);
  server.pause();
  std::mutex m;
  std::vector<long long> order;
  Tally tally;
  auto record = [&](Expected<Reply> r) {
    {
      std::lock_guard<std::mutex> lock(m);
      order.push_back(r ? r->integer : -1);
    }
    tally.add(r);
  };
  for (int i = 0; i < 8; ++i) c->command({"INCR", "due"}, record);
  std::this_thread::sleep_for(100ms);  // the I/O thread has sent them and sleeps
  std::thread other([&] { c->command({"INCR", "due"}, record); });
  other.join();
  std::this_thread::sleep_for(100ms);
  server.resume();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(tally.wait(9, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms);  // not left for the loop's 1 s tick
  EXPECT_EQ(tally.errors, 0);
  EXPECT_EQ(order, (std::vector<long long>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(RedisClient, SynchronousCallersBesideAFloodAreNeverLeftWaiting) {
  // Threads with one request each, next to bursts that make replies due and then not: no request
  // waits for the I/O thread's 1 s tick (a lost wake-up would show as a call of about a second).
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.pool_size = 2});
  ASSERT_TRUE(c);
  std::atomic<bool> flooding{true};
  Tally flood;
  std::atomic<int> flood_sent{0};
  std::thread flooder([&] {  // bursts, each answered before a short pause: replies due, then none
    while (flooding) {
      for (int i = 0; i < 32; ++i) c->command({"INCR", "flood"}, [&](Expected<Reply> r) { flood.add(r); });
      flood_sent += 32;
      flood.wait(flood_sent, 30s);
      std::this_thread::sleep_for(200us);
    }
  });
  std::vector<std::thread> callers;
  std::atomic<long long> worst_us{0};
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = c->command_sync({"INCR", "sync:" + std::to_string(t)});
        const long long us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        if (!r || r->integer != i + 1) ++failures;
        long long seen = worst_us;
        while (us > seen && !worst_us.compare_exchange_weak(seen, us)) {
        }
      }
    });
  for (auto& th : callers) th.join();
  flooding = false;
  flooder.join();
  ASSERT_TRUE(flood.wait(flood_sent, 30s));
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(flood.errors, 0);
  EXPECT_LT(worst_us, 900000) << "a synchronous call waited " << worst_us << " us";
}

// ----------------------------------------------------------------- TLS and AUTH

TEST(RedisClient, TlsVerifiedByCa) {
  RedisServer server(RedisServerOptions{.tls = true});
  auto c = connect(server.url());
  ASSERT_TRUE(c);
  EXPECT_EQ(ok(c->command_sync({"PING"})).str, "PONG");
  auto by_name = connect("rediss://localhost:" + std::to_string(server.port()) + "?tls_ca=" + server.ca_file());
  ASSERT_TRUE(by_name);
  std::string big(300000, 'x');
  EXPECT_EQ(ok(by_name->command_sync({"SET", "big", big})).str, "OK");
  EXPECT_EQ(ok(by_name->command_sync({"GET", "big"})).str.size(), big.size());
}

TEST(RedisClient, TlsFailsAgainstTheWrongCaOrName) {
  RedisServer server(RedisServerOptions{.tls = true});
  const std::string base = "rediss://127.0.0.1:" + std::to_string(server.port());
  auto wrong_ca = Client::connect(parse_endpoint(base + "?tls_ca=" + server.other_ca_file()).value());
  ASSERT_FALSE(wrong_ca.has_value());
  EXPECT_EQ(wrong_ca.error().code, Errc::store_unavailable);
  EXPECT_NE(wrong_ca.error().message.find("certificate verification failed"), std::string::npos)
      << wrong_ca.error().message;
  auto wrong_name = Client::connect(
      parse_endpoint(base + "?tls_ca=" + server.ca_file() + "&tls_server_name=evil.example").value());
  ASSERT_FALSE(wrong_name.has_value());
  EXPECT_NE(wrong_name.error().message.find("certificate"), std::string::npos) << wrong_name.error().message;
  auto plain = Client::connect(parse_endpoint("redis://127.0.0.1:" + std::to_string(server.port()) +
                                              "?connect_timeout_ms=500&command_timeout_ms=500").value());
  if (plain) EXPECT_FALSE((*plain)->command_sync({"PING"}).has_value());  // TLS port, plain client
}

TEST(RedisClient, AuthWithPasswordAndAclUser) {
  RedisServer server(RedisServerOptions{.extra_args = {"--requirepass", "s3cret"}});
  const std::string hostport = "127.0.0.1:" + std::to_string(server.port());
  auto pw = connect("redis://:s3cret@" + hostport);
  ASSERT_TRUE(pw);
  EXPECT_EQ(ok(pw->command_sync({"PING"})).str, "PONG");
  ok(pw->command_sync({"ACL", "SETUSER", "app", "on", ">apppw", "~*", "+@all"}));
  auto acl = connect("redis://app:apppw@" + hostport + "/2");
  ASSERT_TRUE(acl);
  EXPECT_EQ(ok(acl->command_sync({"ACL", "WHOAMI"})).str, "app");

  auto wrong = Client::connect(parse_endpoint("redis://:nope@" + hostport).value());
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, Errc::config);
  EXPECT_NE(wrong.error().message.find("AUTH failed"), std::string::npos) << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find("nope"), std::string::npos) << "the password must not be echoed";
  // No password for a server that wants one: the same code, at connect (not NOAUTH per command).
  auto none = Client::connect(parse_endpoint("redis://" + hostport).value());
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Errc::config);
  EXPECT_NE(none.error().message.find("authentication required (NOAUTH"), std::string::npos) << none.error().message;
}

// ----------------------------------------------------------------- faults

TEST(RedisClient, ServerKilledMidLoadFailsInFlightRequests) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 3000ms});
  ASSERT_TRUE(c);
  Tally tally;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread load([&] {
    while (!stop) {  // keeps about 2000 requests in flight until told to stop
      int done = 0;
      {
        std::lock_guard<std::mutex> lock(tally.m);
        done = tally.done;
      }
      if (sent - done > 2000) {
        std::this_thread::yield();
        continue;
      }
      c->command({"INCR", "x"}, [&](Expected<Reply> r) { tally.add(r); });
      ++sent;
    }
  });
  std::this_thread::sleep_for(100ms);
  server.kill();
  std::this_thread::sleep_for(100ms);
  stop = true;
  load.join();
  // Every request completes (reply or error), none hangs.
  ASSERT_TRUE(tally.wait(sent.load(), 10s)) << tally.done << " of " << sent.load() << " completed";
  EXPECT_EQ(tally.done, sent.load());
  EXPECT_GT(tally.errors, 0);
  for (Errc code : tally.codes) EXPECT_TRUE(code == Errc::store_unavailable || code == Errc::timeout);
  auto after = c->command_sync({"PING"});
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, Errc::store_unavailable);
}

TEST(RedisClient, RecoversAfterAServerRestart) {
  RedisServer server;
  auto c = connect(server.url());
  ASSERT_TRUE(c);
  ok(c->command_sync({"SET", "a", "1"}));
  server.restart();
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    auto r = c->command_sync({"PING"});
    recovered = r.has_value() && r->str == "PONG";
    if (!recovered) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(recovered);
}

TEST(RedisClient, CommandTimeoutFiresOnAStoppedServer) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 300ms});
  ASSERT_TRUE(c);
  server.pause();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c->command_sync({"PING"});
  const auto waited = std::chrono::steady_clock::now() - t0;
  server.resume();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_NE(r.error().message.find("did not reply within 300 ms"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("may have taken effect"), std::string::npos) << r.error().message;
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 3s);
  // The connection stayed up: the late PONG is matched to the timed-out request and dropped,
  // and the next request gets its own reply at once.
  Reply after = ok(c->command_sync({"ECHO", "after"}));
  EXPECT_EQ(after.str, "after");
}

TEST(RedisClient, TimedOutRequestsEachCompleteOnceAndTheConnectionStays) {
  // SIGSTOP with 2000 requests in flight on one connection: each completes exactly once, as a
  // timeout ("sent: may have taken effect"); after SIGCONT the late replies are matched to their
  // timed-out requests and dropped, and later requests work on the same connection.
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 500ms, .pool_size = 1});
  ASSERT_TRUE(c);
  const long long id_before = ok(c->command_sync({"CLIENT", "ID"})).integer;
  server.pause();
  constexpr int kThreads = 4, kPerThread = 500, kTotal = kThreads * kPerThread;
  std::vector<std::atomic<int>> calls(kTotal);
  std::vector<std::atomic<long long>> waited_ms(kTotal);
  Tally tally;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        const auto t0 = std::chrono::steady_clock::now();
        c->command({"INCR", "stopped"}, [&, n, t0](Expected<Reply> r) {
          waited_ms[n] = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
          ++calls[n];
          tally.add(r);
        });
      }
    });
  for (auto& th : threads) th.join();
  const bool all_done = tally.wait(kTotal, 20s);
  server.resume();
  ASSERT_TRUE(all_done) << tally.done << " of " << kTotal;
  {
    std::lock_guard<std::mutex> lock(tally.m);
    EXPECT_EQ(tally.errors, kTotal);
    for (Errc code : tally.codes) ASSERT_EQ(code, Errc::timeout);
  }
  long long fastest = 1 << 30, slowest = 0;
  for (int n = 0; n < kTotal; ++n) {
    fastest = std::min<long long>(fastest, waited_ms[n]);
    slowest = std::max<long long>(slowest, waited_ms[n]);
  }
  std::printf("[ measure  ] 500 ms timeout, %d requests on a stopped server: completed after %lld..%lld ms\n", kTotal,
              fastest, slowest);
  EXPECT_GE(fastest, 500);
  // After SIGCONT: the same connection (no reconnect), the next reply is the next request's
  // own, and every timed-out INCR did run (which is why a timeout says "may have taken effect").
  Reply next = ok(c->command_sync({"INCR", "stopped"}));
  EXPECT_EQ(next.integer, kTotal + 1);
  EXPECT_EQ(ok(c->command_sync({"CLIENT", "ID"})).integer, id_before);
  EXPECT_EQ(ok(c->command_sync({"ECHO", "in order"})).str, "in order");
  for (int n = 0; n < kTotal; ++n) ASSERT_EQ(calls[n].load(), 1) << "request " << n;
  EXPECT_EQ(tally.done, kTotal);
}

TEST(RedisClient, TimedOutRequestsKeepTheConnectionOverTlsAndUnixSockets) {
  RedisServer server(RedisServerOptions{.tls = true});
  RedisServer plain;
  for (const std::string& url : {server.url() + "&command_timeout_ms=300&pool_size=1",
                                 "unix://" + plain.unix_socket() + "?command_timeout_ms=300&pool_size=1"}) {
    RedisServer& s = url.starts_with("unix") ? plain : server;
    auto c = connect(url);
    ASSERT_TRUE(c) << url;
    const long long id_before = ok(c->command_sync({"CLIENT", "ID"})).integer;
    s.pause();
    Tally tally;
    for (int i = 0; i < 200; ++i) c->command({"INCR", "tls-or-unix"}, [&](Expected<Reply> r) { tally.add(r); });
    const bool all = tally.wait(200, 10s);
    s.resume();
    ASSERT_TRUE(all) << url;
    for (Errc code : tally.codes) ASSERT_EQ(code, Errc::timeout) << url;
    EXPECT_EQ(ok(c->command_sync({"INCR", "tls-or-unix"})).integer, 201) << url;
    EXPECT_EQ(ok(c->command_sync({"CLIENT", "ID"})).integer, id_before) << url;
  }
}

TEST(RedisClient, DeadlinesAreKeptToTheMillisecond) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 1000ms, .pool_size = 1});
  ASSERT_TRUE(c);
  ok(c->command_sync({"PING"}));
  server.pause();
  std::vector<long long> us;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c->command_sync({"PING"});
    us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::timeout);
  }
  server.resume();
  std::printf("[ measure  ] 1000 ms timeout: command_sync returned after %.1f, %.1f, %.1f ms\n", us[0] / 1000.0,
              us[1] / 1000.0, us[2] / 1000.0);
  for (long long u : us) {
    EXPECT_GE(u, 1000000);
    EXPECT_LT(u, 1000000 + 300000) << "generous: a loaded 2-core machine, sanitizers";
  }
}

TEST(RedisClient, AStalledConnectionIsDroppedAfterItsGrace) {
  // Timed-out requests whose replies never come and nothing read for max(2 s, 3 x timeout) past
  // the oldest one's deadline: the connection is given up and a new one made.
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 200ms, .pool_size = 1});
  ASSERT_TRUE(c);
  const long long id_before = ok(c->command_sync({"CLIENT", "ID"})).integer;
  server.pause();
  Tally tally;
  for (int i = 0; i < 10; ++i) c->command({"INCR", "stall"}, [&](Expected<Reply> r) { tally.add(r); });
  ASSERT_TRUE(tally.wait(10, 10s));
  std::this_thread::sleep_for(3500ms);  // the grace is 2 s past the deadline (at 0.2 s)
  server.resume();
  Expected<Reply> id_after = make_error(Errc::internal, "not tried");
  for (int i = 0; i < 100; ++i) {
    id_after = c->command_sync({"CLIENT", "ID"});
    if (id_after) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(id_after.has_value()) << id_after.error().message;
  EXPECT_NE(id_after->integer, id_before) << "the stalled connection was kept";
  EXPECT_EQ(tally.done, 10);
  for (Errc code : tally.codes) EXPECT_EQ(code, Errc::timeout);
}

TEST(RedisClient, SentAndNotSentFailDifferently) {
  // A server of the test's own. First connection: AUTH +OK, then it reads a PING and hangs up
  // without a reply (sent: may have taken effect -> timeout). Second connection: it reads AUTH
  // and never answers, so the next request waits for a connection and is never sent
  // (-> store_unavailable, "not sent"): the server receives nothing but AUTH.
  Listener listener;
  std::mutex m;
  std::string second_got;
  std::atomic<bool> finish{false};
  std::thread fake([&] {
    auto read_until = [](int fd, std::string& in, const std::string& what) {
      char buf[4096];
      while (in.find(what) == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in.append(buf, static_cast<std::size_t>(n));
      }
      return true;
    };
    const int first = ::accept(listener.fd, nullptr, nullptr);
    std::string in;
    if (read_until(first, in, "AUTH")) (void)::send(first, "+OK\r\n", 5, MSG_NOSIGNAL);
    read_until(first, in, "PING");
    ::close(first);
    const int second = ::accept(listener.fd, nullptr, nullptr);
    ::fcntl(second, F_SETFL, O_NONBLOCK);
    char buf[4096];
    while (!finish) {
      const ssize_t n = ::recv(second, buf, sizeof buf, 0);
      if (n > 0) {
        std::lock_guard<std::mutex> lock(m);
        second_got.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        break;
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
    ::close(second);
  });
  {
    auto c = connect("redis://:pw@" + listener.address() + "?pool_size=1&connect_timeout_ms=20000&command_timeout_ms=300");
    ASSERT_TRUE(c);
    auto sent = c->command_sync({"PING"});
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code, Errc::timeout) << sent.error().message;
    EXPECT_NE(sent.error().message.find("may have taken effect"), std::string::npos) << sent.error().message;
    std::this_thread::sleep_for(100ms);  // the client reconnects; the second handshake hangs
    const auto t0 = std::chrono::steady_clock::now();
    auto unsent = c->command_sync({"ECHO", "never-sent"});
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(unsent.has_value());
    EXPECT_EQ(unsent.error().code, Errc::store_unavailable) << unsent.error().message;
    EXPECT_NE(unsent.error().message.find("not sent"), std::string::npos) << unsent.error().message;
    EXPECT_GE(waited, 300ms);
    EXPECT_LT(waited, 5s);
    std::lock_guard<std::mutex> lock(m);
    EXPECT_NE(second_got.find("AUTH"), std::string::npos);
    EXPECT_EQ(second_got.find("never-sent"), std::string::npos);
  }
  finish = true;
  fake.join();
}

TEST(RedisClient, ALostConnectionFailsWhatWasWrittenAsTimeoutAndTheRestAsNotSent) {
  // The test's server reads one PING, then stops reading (a small receive buffer) and hangs up
  // while a 32 MiB SET is half-way out and another PING waits behind it. Redis runs a command
  // only once all its bytes are in: the first PING may have run (timeout), the SET and the PING
  // behind it cannot have (store_unavailable, not sent).
  Listener listener;
  const int small = 64 * 1024;
  ::setsockopt(listener.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::mutex m;
  std::condition_variable cv;
  bool got_first = false, hang_up = false;
  std::thread fake([&] {
    const int fd = accept_client(listener);
    const std::string ping = "*1\r\n$4\r\nPING\r\n";
    std::string in;
    char buf[64];
    while (in.size() < ping.size()) {
      const ssize_t n = ::recv(fd, buf, ping.size() - in.size(), 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::unique_lock<std::mutex> lock(m);
      got_first = true;
      cv.notify_all();
      cv.wait_for(lock, 20s, [&] { return hang_up; });
    }
    ::close(fd);
  });
  {
    // (Before the client: completions that come as it closes find them still there.)
    std::vector<Expected<Reply>> got(3, make_error(Errc::internal, "no completion"));
    Tally tally;
    // A short connect timeout: a request the client had not yet handed to the connection when
    // it was lost (a slow run: a loaded TSan run once) waits for the next
    // connection, whose handshake this server never answers; it fails as not sent when such an
    // attempt times out (with the default 10 s, past the wait below).
    auto c = connect("redis://" + listener.address() + "?pool_size=1&command_timeout_ms=30000&connect_timeout_ms=1000");
    ASSERT_TRUE(c);
    c->command({"PING"}, [&](Expected<Reply> r) {
      got[0] = r;
      tally.add(r);
    });
    {
      std::unique_lock<std::mutex> lock(m);
      ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return got_first; }));
    }
    const std::string big(32 << 20, 'x');
    c->command({"SET", "big", big}, [&](Expected<Reply> r) {
      got[1] = r;
      tally.add(r);
    });
    c->command({"PING"}, [&](Expected<Reply> r) {
      got[2] = r;
      tally.add(r);
    });
    std::this_thread::sleep_for(300ms);  // the client writes what the kernel takes, then waits
    {
      std::lock_guard<std::mutex> lock(m);
      hang_up = true;
      cv.notify_all();
    }
    // (A request still waiting for a connection fails when a reconnection attempt fails, after a
    // few attempts at most, and in any case at its command timeout: the bound is that, not luck.)
    ASSERT_TRUE(tally.wait(3, 40s));
    ASSERT_FALSE(got[0].has_value());
    EXPECT_EQ(got[0].error().code, Errc::timeout) << got[0].error().message;
    EXPECT_NE(got[0].error().message.find("may have taken effect"), std::string::npos) << got[0].error().message;
    for (int i : {1, 2}) {
      ASSERT_FALSE(got[i].has_value());
      EXPECT_EQ(got[i].error().code, Errc::store_unavailable) << got[i].error().message;
      EXPECT_NE(got[i].error().message.find("not sent"), std::string::npos) << got[i].error().message;
    }
  }
  fake.join();
}

// ----------------------------------------------------------------- completions

TEST(RedisClient, CompletionsThatThrowAreCaughtAndTheClientKeepsServing) {
  RedisServer server;
  std::mutex m;
  std::vector<std::string> warnings;
  auto c = Client::connect(parse_endpoint(server.url() + "?pool_size=1&command_timeout_ms=300").value(), [&](std::string_view w) {
    std::lock_guard<std::mutex> lock(m);
    warnings.emplace_back(w);
  }).value();
  std::atomic<int> called{0};
  c->command({"INCR", "n"}, [&](Expected<Reply>) {
    ++called;
    throw std::runtime_error("boom from a callback");
  });
  c->command({"INCR", "n"}, [&](Expected<Reply>) {
    ++called;
    throw std::bad_alloc();
  });
  c->command({"INCR", "n"}, [&](Expected<Reply>) {
    ++called;
    throw 42;
  });
  // The same connection, after the three: its reply comes only once all three callbacks ran.
  Reply after = ok(c->command_sync({"INCR", "n"}));
  EXPECT_EQ(after.integer, 4);
  EXPECT_EQ(called, 3);
  // Timeouts and failures run callbacks too: a throwing one there is caught as well.
  server.pause();
  Tally tally;
  c->command({"PING"}, [&](Expected<Reply> r) {
    tally.add(r);
    throw std::runtime_error("boom on timeout");
  });
  ASSERT_TRUE(tally.wait(1, 10s));
  server.resume();
  EXPECT_EQ(tally.codes, std::vector<Errc>{Errc::timeout});
  EXPECT_EQ(ok(c->command_sync({"ECHO", "alive"})).str, "alive");
  std::lock_guard<std::mutex> lock(m);
  ASSERT_GE(warnings.size(), 4u);
  auto has = [&](const std::string& text) {
    return std::any_of(warnings.begin(), warnings.end(), [&](const std::string& w) { return w.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("boom from a callback"));
  EXPECT_TRUE(has("bad_alloc"));
  EXPECT_TRUE(has("unknown type"));
  EXPECT_TRUE(has("boom on timeout"));
}

TEST(RedisClient, ASynchronousCallInsideACompletionFailsAtOnce) {
  RedisServer server;
  auto c = connect(server.url());
  ASSERT_TRUE(c);
  std::mutex m;
  std::condition_variable cv;
  std::optional<Expected<Reply>> inner;
  bool on_io = false;
  const auto t0 = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](Expected<Reply>) {
    auto r = c->command_sync({"SET", "from-callback", "1"});
    std::lock_guard<std::mutex> lock(m);
    on_io = c->on_io_thread();
    inner.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return inner.has_value(); })) << "the synchronous call deadlocked";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_TRUE(on_io);
  EXPECT_FALSE(c->on_io_thread());
  ASSERT_FALSE(inner->has_value());
  EXPECT_EQ(inner->error().code, Errc::invalid_argument);
  EXPECT_NE(inner->error().message.find("own I/O thread"), std::string::npos) << inner->error().message;
  lock.unlock();
  EXPECT_TRUE(ok(c->command_sync({"GET", "from-callback"})).is_nil()) << "nothing was sent";
}

TEST(RedisClient, CommandTimeoutFiresDuringDebugSleep) {
  RedisServer server;
  auto c = connect(server.url(), RedisOptions{.command_timeout = 300ms, .pool_size = 1});
  auto other = connect(server.url());
  ASSERT_TRUE(c && other);
  Tally sleeper;
  other->command({"DEBUG", "SLEEP", "1.5"}, [&](Expected<Reply> r) { sleeper.add(r); });
  std::this_thread::sleep_for(100ms);
  auto r = c->command_sync({"GET", "x"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::timeout);
  ASSERT_TRUE(sleeper.wait(1, 10s));
}

TEST(RedisClient, ConnectionRefusedIsAClearErrorAtOnce) {
  const int port = test::free_port();
  const auto t0 = std::chrono::steady_clock::now();
  auto c = Client::connect(parse_endpoint("redis://127.0.0.1:" + std::to_string(port)).value());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::store_unavailable);
  EXPECT_NE(c.error().message.find("Connection refused"), std::string::npos) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(RedisClient, ConnectTimeoutFiresWhenTheServerNeverAnswers) {
  // A listener that never accepts, its backlog already full: new SYNs are not answered.
  Listener listener(0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(listener.port));
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(f);
  }
  std::this_thread::sleep_for(50ms);
  // A password makes the handshake wait for a reply too, so the timeout covers either case.
  const std::string url = "redis://:pw@" + listener.address() + "?connect_timeout_ms=400";
  const auto t0 = std::chrono::steady_clock::now();
  auto c = Client::connect(parse_endpoint(url).value());
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::store_unavailable);  // nothing was sent: not "may have taken effect"
  EXPECT_NE(c.error().message.find("connect timed out after 400 ms"), std::string::npos) << c.error().message;
  EXPECT_GE(waited, 350ms);
  EXPECT_LT(waited, 5s);
  for (int f : fillers) ::close(f);
}

TEST(RedisClient, ShutdownCompletesEveryPendingRequestOnce) {
  RedisServer server;
  Tally tally;
  {
    auto c = connect(server.url(), RedisOptions{.command_timeout = 10000ms});
    ASSERT_TRUE(c);
    server.pause();
    for (int i = 0; i < 1000; ++i) c->command({"INCR", "x"}, [&](Expected<Reply> r) { tally.add(r); });
    std::this_thread::sleep_for(300ms);
  }  // destroyed with 1000 requests in flight
  server.resume();
  EXPECT_EQ(tally.done, 1000);
  EXPECT_EQ(tally.errors, 1000);
  // Those sent (to a stopped server, not a gone one) may have taken effect: timeout; any the
  // I/O thread had not written yet: store_unavailable. Nothing else, and at least the first
  // were written in 300 ms.
  int sent = 0;
  for (Errc code : tally.codes) {
    EXPECT_TRUE(code == Errc::timeout || code == Errc::store_unavailable) << static_cast<int>(code);
    sent += code == Errc::timeout;
  }
  EXPECT_GT(sent, 0);
}

}  // namespace
}  // namespace verikit::redis
