// Benchmark: PING, SET and GET throughput through verikit's Redis client, next to
// redis-benchmark -P 16 against the same server in the same run (the ceiling).
//
//   redis_client_bench [seconds-per-row]
//
// Starts its own redis-server on a free loopback port (no persistence). Prints ops/s and the
// ratio client / redis-benchmark. Timings on shared machines are noisy: compare ratios.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "redis/client.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using verikit::redis::Client;
using verikit::redis::Reply;

namespace {

// Keeps `window` requests in flight from one submitting thread for `duration`; returns ops/s.
double pipelined(Client& c, const std::vector<std::string_view>& args, int window, std::chrono::duration<double> duration) {
  std::mutex m;
  std::condition_variable cv;
  long long done = 0, errors = 0, sent = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + duration;
  auto on_reply = [&](verikit::Expected<Reply> r) {
    std::lock_guard<std::mutex> lock(m);
    ++done;
    if (!r || r->is_error()) ++errors;
    cv.notify_one();
  };
  while (std::chrono::steady_clock::now() < end) {
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return sent - done < window; });
    }
    const long long burst = window / 4 + 1;
    for (long long i = 0; i < burst; ++i) c.command(args, on_reply);
    sent += burst;
  }
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done == sent; });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (errors) std::fprintf(stderr, "warning: %lld errors\n", errors);
  return static_cast<double>(done) / secs;
}

// `threads` threads each doing synchronous calls for `duration`; returns ops/s.
double blocking(Client& c, const std::vector<std::string_view>& args, int threads, std::chrono::duration<double> duration) {
  std::atomic<long long> done{0};
  std::vector<std::thread> ts;
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + duration;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&] {
      while (std::chrono::steady_clock::now() < end) {
        if (c.command_sync(args)) ++done;
      }
    });
  for (auto& t : ts) t.join();
  return static_cast<double>(done) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// redis-benchmark's requests per second per test, parsed from --csv output.
std::map<std::string, double> redis_benchmark(int port, const std::string& flags) {
  const std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " " + flags + " --csv 2>/dev/null";
  std::map<std::string, double> out;
  FILE* p = popen(cmd.c_str(), "r");
  char line[512];
  while (p && std::fgets(line, sizeof line, p)) {
    std::string s(line);
    if (s.rfind("\"test\"", 0) == 0) continue;
    auto q1 = s.find('"'), q2 = s.find('"', q1 + 1), q3 = s.find('"', q2 + 1), q4 = s.find('"', q3 + 1);
    if (q4 == std::string::npos) continue;
    out[s.substr(q1 + 1, q2 - q1 - 1)] = std::stod(s.substr(q3 + 1, q4 - q3 - 1));
  }
  if (p) pclose(p);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 2.0;
  const std::chrono::duration<double> d(seconds);
  verikit::test::RedisServer server;
  auto ep = verikit::redis::parse_endpoint(server.url(), verikit::RedisOptions{.pool_size = 1});
  auto client = Client::connect(*ep);
  if (!client) {
    std::fprintf(stderr, "connect: %s\n", client.error().message.c_str());
    return 1;
  }
  Client& c = **client;
  (void)c.command_sync({"SET", "bench:key", "value-of-some-length-xxxxxxxxxxxx"});

  const auto ceiling = redis_benchmark(server.port(), "-t ping,set,get -P 16 -c 50 -n 2000000 -d 32");
  const auto plain = redis_benchmark(server.port(), "-t ping,set,get -c 64 -n 400000 -d 32");
  struct Row { const char* name; std::vector<std::string_view> args; const char* rb; };
  const Row rows[] = {{"PING", {"PING"}, "PING_MBULK"},
                      {"SET", {"SET", "bench:key", "value-of-some-length-xxxxxxxxxxxx"}, "SET"},
                      {"GET", {"GET", "bench:key"}, "GET"}};

  std::printf("Redis client throughput, %g s per row; redis-server on loopback, no persistence\n\n", seconds);
  std::printf("%-5s %22s %24s %10s   %22s %22s %10s\n", "cmd", "client, 800 in flight", "redis-benchmark -P16 -c50",
              "ratio", "client, 64 threads sync", "redis-benchmark -c64", "ratio");
  for (const Row& r : rows) {
    const double async_ops = pipelined(c, r.args, 800, d);
    const double sync_ops = blocking(c, r.args, 64, d);
    const double ceil = ceiling.count(r.rb) ? ceiling.at(r.rb) : 0;
    const double ceil64 = plain.count(r.rb) ? plain.at(r.rb) : 0;
    std::printf("%-5s %22.0f %24.0f %9.2fx   %22.0f %22.0f %9.2fx\n", r.name, async_ops, ceil,
                ceil > 0 ? async_ops / ceil : 0, sync_ops, ceil64, ceil64 > 0 ? sync_ops / ceil64 : 0);
  }
  return 0;
}
