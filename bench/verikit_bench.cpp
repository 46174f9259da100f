// verikit benchmark: throughput and latency through the C API against a redis-server of its own
// (no persistence), next to the ceiling — redis-benchmark running EVALSHA of a script of the
// same work on the same server, in the same run — and the embedded store. Prints a table;
// compare ratios, not absolute figures (shared 2-core machines are noisy).
//
//   verikit_bench [operations-per-row [row-name-part [concurrency]]]
//   verikit_bench [operations-per-row] cluster    (only Redis Cluster vs one node)
//   verikit_bench [operations-per-row] file       (only the file:// rows, next to memory and Redis)
//   verikit_bench [operations-per-row] sync       (only synchronous verifies on Redis, one thread, with CPU per call)
//
// The optional filters run only the rows whose name contains row-name-part, at one concurrency
// (for profiling one path: perf record -g build/bench/verikit_bench 200000 "right code" 64).
// VERIKIT_BENCH_POOL=N sets the Redis connections (pool_size, default 1 here) for a comparison.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "bench_engine.hpp"
#include "verikit.h"

using Clock = std::chrono::steady_clock;

namespace {

// One key for every engine of a run (the durability row verifies codes another engine issued).
const uint8_t* bench_key() {
  static uint8_t key[VERIKIT_KEY_BYTES];
  static bool made = (verikit_key_generate(key, sizeof key), true);
  (void)made;
  return key;
}

// An event handler that only counts (the cost measured is the engine's, not a listener's).
std::atomic<std::uint64_t> g_events{0};
void count_event(void*, const verikit_event*) { g_events.fetch_add(1, std::memory_order_relaxed); }

verikit_engine* make_engine(const std::string& url, const verikit_policy& p = bench_policy(), bool events = false) {
  return bench_engine(url.c_str(), bench_key(), p, events ? count_event : nullptr);
}

std::string secret_of(verikit_result* r) {
  const char* d = nullptr;
  size_t n = 0;
  verikit_result_secret(r, &d, &n);
  return std::string(d, n);
}

// One asynchronous operation: starts the call for item i; `done` must be called exactly once.
using Start = std::function<void(std::size_t i, std::function<void(bool ok)> done)>;

struct Run {
  double ops_per_s = 0;
  std::vector<double> latencies_us;  // concurrency 1 only
  std::size_t failures = 0;
};

// Keeps `concurrency` operations in flight until `count` have completed.
Run drive(std::size_t count, int concurrency, const Start& start, bool record_latency) {
  std::mutex m;
  std::condition_variable cv;
  std::size_t next = 0, completed = 0, failures = 0;
  std::vector<double> lat;
  if (record_latency) lat.reserve(count);
  std::function<void()> launch;
  launch = [&] {
    std::size_t i;
    {
      std::lock_guard<std::mutex> lock(m);
      if (next >= count) return;
      i = next++;
    }
    const auto t0 = Clock::now();
    start(i, [&, t0](bool ok) {
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      bool more = false;
      {
        std::lock_guard<std::mutex> lock(m);
        ++completed;
        if (!ok) ++failures;
        if (record_latency) lat.push_back(us);
        more = next < count;
        if (completed == count) cv.notify_all();
      }
      if (more) launch();
    });
  };
  const auto t0 = Clock::now();
  for (int c = 0; c < concurrency; ++c) launch();
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return completed == count; });
  Run r;
  r.ops_per_s = static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - t0).count();
  r.latencies_us = std::move(lat);
  r.failures = failures;
  return r;
}

// The same, driven from an application thread of its own, the way an event loop (and each
// binding) uses verikit: the store's thread queues completions and an eventfd wakes the loop,
// which handles them in batches and starts the next operations. Two hand-offs per operation
// that `drive` (callbacks starting the next operation on the store's thread) does not have.
Run drive_from_loop(std::size_t count, int concurrency, const Start& start) {
  const int efd = ::eventfd(0, EFD_CLOEXEC);
  std::mutex m;
  std::vector<char> queue;  // completions' outcomes, for the loop
  std::size_t next = 0, completed = 0, failures = 0;
  auto launch = [&] {
    if (next >= count) return;
    start(next++, [&](bool ok) {
      bool signal = false;
      {
        std::lock_guard<std::mutex> lock(m);
        signal = queue.empty();
        queue.push_back(ok ? 1 : 0);
      }
      if (signal) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto w = ::write(efd, &one, sizeof one);
      }
    });
  };
  const auto t0 = Clock::now();
  for (int c = 0; c < concurrency; ++c) launch();
  std::vector<char> batch;
  while (completed < count) {
    std::uint64_t v = 0;
    [[maybe_unused]] auto r = ::read(efd, &v, sizeof v);
    {
      std::lock_guard<std::mutex> lock(m);
      batch.swap(queue);
    }
    for (char ok : batch) {
      ++completed;
      if (!ok) ++failures;
      launch();
    }
    batch.clear();
  }
  Run run;
  run.ops_per_s = static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - t0).count();
  run.failures = failures;
  ::close(efd);
  return run;
}

// C callbacks that forward to a heap std::function.
void forward(void* user, int error, const char*, verikit_result* result) {
  auto* done = static_cast<std::function<void(int, verikit_result*)>*>(user);
  (*done)(error, result);
  delete done;
}
void* wrap(std::function<void(int, verikit_result*)> f) { return new std::function<void(int, verikit_result*)>(std::move(f)); }

int status_of(verikit_result* r) {
  int s = -1;
  verikit_result_status(r, &s);
  return s;
}

std::string id(std::size_t i, const char* tag) { return std::string(tag) + std::to_string(i) + "@example.com"; }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// redis-benchmark's rps for one command line (csv: "test","rps",...).
double redis_benchmark(int port, int clients, int pipeline, std::size_t n, const std::string& command) {
  const std::string out = sh("redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " -c " + std::to_string(clients) +
                             " -P " + std::to_string(pipeline) + " -n " + std::to_string(n) + " --csv " + command + " 2>/dev/null");
  auto line = out.find('\n');
  if (line == std::string::npos) return 0;
  auto q1 = out.find('"', line + 1);
  q1 = out.find('"', out.find('"', q1 + 1) + 1);
  auto q2 = out.find('"', q1 + 1);
  return q2 == std::string::npos ? 0 : std::stod(out.substr(q1 + 1, q2 - q1 - 1));
}

// Scripts of the same work as verikit's on Redis: the same keys and argument shape, the same
// commands, the group's record unpacked and packed the same way (one string), a packed reply
// (core/src/store/lua/prelude.lua, otp_verify.lua, otp_issue.lua), without verikit's rules. The
// verify is a wrong guess's path (TIME, GET, SETRANGE of the attempts: a right code's DEL would
// leave the next call nothing to read); the issue TIME, GET, SET ... PXAT. The first call finds
// no record and stores a default one (the verify) or reads one (the issue). Each is run by EVALSHA with 3 and 1 keys and printable
// arguments (redis-benchmark takes its command on a shell line): verikit's packed argument holds
// its strings each after a 4-byte length (I4c0), which a shell line cannot carry, so here they are
// 4-byte strings (c4) and the code hash 17 bytes (c17), unpacked in the same one call.
#define VERIKIT_BENCH_REC "'<BBc0BBddddBc0Bc0Bc0I2c0'"
const char* kVerifyLike =
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000 "
    "local fi, fb, pi, pb, client, binding = struct.unpack('<ddddc4c4', ARGV[1]) "
    "local s = redis.call('GET', KEYS[1]) "
    "if not s then s = struct.pack(" VERIKIT_BENCH_REC
    ", 1, 17, ARGV[2], 200, 1, 4102444800000, 0, 0, 0, 0, '', 0, '', 0, '', 0, '') redis.call('SET', KEYS[1], s) end "
    "local tag, h, a, f, x, cd, tat, ft, ph, b, c, p, stop = struct.unpack(" VERIKIT_BENCH_REC ", s) "
    "if tag ~= 1 or stop ~= #s + 1 or x - x ~= 0 or ft - ft ~= 0 then return redis.error_reply('layout') end "
    "local hit = ARGV[2] == h and (b == '' or b == binding) "
    "redis.call('SETRANGE', KEYS[1], #h + 2, struct.pack('<B', a)) "
    "return struct.pack('<dddI4c0dd', 3, a, x, 0, '', 0, 1)";
const char* kIssueLike =
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000 "
    "local ttl, attempts, r, fl, g1, g2, g3, g4, g5, g6, code_hash, sc, sp, ph2, bi = "
    "struct.unpack('<ddddddddddc17c4c4c4c4', ARGV[1]) "
    "local s = redis.call('GET', KEYS[1]) or struct.pack(" VERIKIT_BENCH_REC
    ", 1, 0, '', 0, 0, 0, 0, 0, 0, 0, '', 0, '', 0, '', 0, '') "
    "local tag, h, a, f, x, cd, tat, ft, ph, b, c, p, stop = struct.unpack(" VERIKIT_BENCH_REC ", s) "
    "if tag ~= 1 or stop ~= #s + 1 or x - x ~= 0 or ft - ft ~= 0 then return redis.error_reply('layout') end "
    "redis.call('SET', KEYS[1], struct.pack(" VERIKIT_BENCH_REC
    ", 1, #code_hash, code_hash, 5, 1, now + 600000, cd, tat, ft, 0, '', 0, '', 0, '', 0, ''), 'PXAT', now + 600000) "
    "return struct.pack('<ddI4c0ddd', 2, 0, 0, '', now + 600000, 5, 0)";
#undef VERIKIT_BENCH_REC

// Redis's own CPU (INFO cpu: user + sys, in microseconds) and its script time (commandstats:
// the usec of EVALSHA/FCALL and their read-only forms) since the last CONFIG RESETSTAT.
struct RedisCpu {
  double cpu_us = 0, sys_us = 0, script_us = 0, script_calls = 0, reads = 0;
};
// The number after `name` (as in "used_cpu_user:1.5" or "calls=12,"), 0 when absent.
double info_number(const std::string& info, const std::string& name, std::size_t from = 0) {
  const auto at = info.find(name, from);
  return at == std::string::npos ? 0 : std::atof(info.c_str() + at + name.size());
}
RedisCpu redis_cpu(const verikit::test::RedisServer& server) {
  const std::string info = server.cli("INFO all");
  RedisCpu r;
  r.sys_us = 1e6 * info_number(info, "used_cpu_sys:");
  r.reads = info_number(info, "total_reads_processed:");
  r.cpu_us = 1e6 * info_number(info, "used_cpu_user:") + r.sys_us;
  for (const char* cmd : {"evalsha", "evalsha_ro", "fcall", "fcall_ro"}) {
    const auto at = info.find(std::string("cmdstat_") + cmd + ":");
    if (at == std::string::npos) continue;
    r.script_calls += info_number(info, "calls=", at);
    r.script_us += info_number(info, "usec=", at);
  }
  return r;
}

// The process's CPU time (every thread: the caller's, the store's, the event thread), seconds;
// with `system_only`, of it the time in the kernel.
double process_cpu_s(bool system_only = false) {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const double system = static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec);
  return system_only ? system : system + static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec);
}

// The calling thread's CPU time, seconds.
double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// CPU time per verification, µs: the whole process's, and the calling thread's (the one that
// runs an embedded verify; with Redis the client's threads do the work).
struct CpuPerOp {
  double process_us = 0;
  double process_system_us = 0;  // of process_us, in the kernel
  double caller_us = 0;
};

// OTP verify (right code) on one engine: codes issued first (not timed; the identifiers are
// made then too, so the timed loop is verikit's work), then `n` verifies, synchronous calls on
// one thread, or (`async`) 16 in flight. Verifications per second; `cpu`
// (if given): CPU time per verification.
double verify_rate(verikit_engine* e, std::size_t n, const std::string& tag, bool async, CpuPerOp* cpu = nullptr) {
  std::vector<std::string> codes(n), ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& who = ids[i] = id(i, tag.c_str());
    verikit_result* r = nullptr;
    verikit_otp_issue(&r, e, "login", who.data(), who.size(), nullptr);
    codes[i] = secret_of(r);
    verikit_result_free(r);
  }
  const double cpu0 = process_cpu_s(), system0 = process_cpu_s(true), caller0 = thread_cpu_s();
  auto cpu_per_op = [&] {
    if (cpu == nullptr) return;
    cpu->process_us = 1e6 * (process_cpu_s() - cpu0) / static_cast<double>(n);
    cpu->process_system_us = 1e6 * (process_cpu_s(true) - system0) / static_cast<double>(n);
    cpu->caller_us = 1e6 * (thread_cpu_s() - caller0) / static_cast<double>(n);
  };
  if (async) {
    const Run run = drive(n, 16, [&](std::size_t i, std::function<void(bool)> done) {
      const std::string& who = ids[i];
      verikit_otp_verify_async(e, "login", who.data(), who.size(), codes[i].data(), codes[i].size(), nullptr, forward,
                               wrap([done](int err, verikit_result* r) {
                                 const bool ok = err == 0 && status_of(r) == VERIKIT_STATUS_VERIFIED;
                                 verikit_result_free(r);
                                 done(ok);
                               }));
    }, false);
    cpu_per_op();
    return run.failures == 0 ? run.ops_per_s : 0;
  }
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& who = ids[i];
    verikit_result* r = nullptr;
    verikit_otp_verify(&r, e, "login", who.data(), who.size(), codes[i].data(), codes[i].size(), nullptr);
    if (status_of(r) != VERIKIT_STATUS_VERIFIED) std::exit(2);
    verikit_result_free(r);
  }
  const double rate = static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
  cpu_per_op();
  return rate;
}

// The embedded store on one thread, synchronous C API: verifications (right code) per second,
// codes issued first (not timed), best of 3 rounds (noise only ever slows).
void embedded_rows(std::size_t n) {
  verikit_engine* mem = make_engine("memory://");
  double best = 0;
  for (int round = 0; round < 3; ++round) best = std::max(best, verify_rate(mem, n, "emb" + std::to_string(round) + "-", false));
  verikit_engine_free(mem);
  std::printf("\nembedded store (memory://), OTP verify (right code), synchronous C API, one thread: %.0f verifications/s "
              "(best of 3 rounds of %zu)\n", best, n);
}

// Lifecycle events' cost: verify throughput with an event handler attached and without, in the
// same run, in many short rounds that alternate between the two engines (which goes first
// alternates too), so the two halves of a round are measured a moment apart: this shared
// machine's speed drifts by more than the effect over a few seconds, and a round of 100,000
// could not resolve it (two engines without a handler measured 0.94x-1.04x by the median of
// 15 such rounds). Each round issues `chunk` codes into each engine (not timed), then verifies
// them; each engine also holds `n` codes that are never verified, so the store is the size of
// the other rows'. Per round: the ratio of the two rates, and of the CPU time per verify of the
// calling thread (embedded store: the verify itself, whatever else the machine does) and of the
// process (all threads: the event thread's work too, what events cost a machine with no idle
// core). Printed: the median of each, and the middle half of the rounds' rate ratios (25th to
// 75th percentile). First a control row: two engines without a handler measured the same way,
// the method's own bias and spread (its ratios should be 1).
void events_rows(const std::string& redis_url, std::size_t n, bool memory_only = false) {
  // Redis: longer rounds (each starts and ends with fewer than 16 in flight) and fewer of them.
  const std::size_t memory_chunk = std::max<std::size_t>(1000, n / 20), redis_chunk = std::max<std::size_t>(1000, n / 5);
  std::printf("\nlifecycle events: OTP verify (right code) with an event handler vs without, same run, rounds alternating "
              "between the two (memory: 200 rounds of %zu verifies, Redis: 30 of %zu), each engine also holding %zu unverified codes;\n"
              "medians of the rounds' with / without: rate, and CPU time per verify (without / with) of the calling thread and of the "
              "process (all threads)\n%-28s %10s %10s %7s %15s %11s %8s %8s\n",
              memory_chunk, redis_chunk, n, "store", "without/s", "with/s", "ratio", "middle half", "events", "thread", "process");
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
  };
  for (const std::string& url : {std::string("control"), std::string("memory://"), redis_url}) {
    const bool control = url == "control", redis = !control && url != "memory://";
    if (redis && memory_only) break;
    const int rounds = redis ? 30 : 200;
    const std::size_t chunk = redis ? redis_chunk : memory_chunk;
    verikit_engine* plain = make_engine(control ? "memory://" : url);
    verikit_engine* listened = make_engine(control ? "memory://" : url, bench_policy(), !control);
    const std::uint64_t seen0 = g_events.load();
    for (verikit_engine* e : {plain, listened}) {  // the backlog, never verified
      const std::string tag = e == plain ? "ev-held-p" : "ev-held-l";
      for (std::size_t i = 0; i < n; ++i) {
        const std::string who = id(i, tag.c_str());
        verikit_result* r = nullptr;
        verikit_otp_issue(&r, e, "login", who.data(), who.size(), nullptr);
        verikit_result_free(r);
      }
    }
    // A round of each first, not counted (the first verifies after the backlog's issues).
    verify_rate(plain, chunk, "ev-warm-p", redis);
    verify_rate(listened, chunk, "ev-warm-l", redis);
    std::vector<double> without, with, rate_ratio, thread_ratio, process_ratio;
    for (int round = 0; round < rounds; ++round) {
      const std::string tag = "ev" + std::to_string(round) + "-";
      double w = 0, wo = 0;
      CpuPerOp cpu_w, cpu_wo;
      for (int turn = 0; turn < 2; ++turn) {  // which goes first alternates from round to round
        if ((turn == 0) == (round % 2 == 0)) wo = verify_rate(plain, chunk, tag + "p", redis, &cpu_wo);
        else w = verify_rate(listened, chunk, tag + "l", redis, &cpu_w);
      }
      if (w <= 0 || wo <= 0) {
        std::fprintf(stderr, "events rows: a verify failed\n");
        std::exit(2);
      }
      without.push_back(wo);
      with.push_back(w);
      rate_ratio.push_back(w / wo);
      thread_ratio.push_back(cpu_wo.caller_us / cpu_w.caller_us);
      process_ratio.push_back(cpu_wo.process_us / cpu_w.process_us);
    }
    verikit_engine_free(listened);  // delivers the queued events: every one is counted below
    verikit_engine_free(plain);
    const std::uint64_t made = control ? 0 : n + 2 * chunk * static_cast<std::uint64_t>(rounds + 1);
    const std::string events = std::to_string(g_events.load() - seen0) + "/" + std::to_string(made);
    char middle[48];
    std::snprintf(middle, sizeof middle, "%.3f-%.3fx", quantile(rate_ratio, 0.25), quantile(rate_ratio, 0.75));
    char thread[16] = "-";
    if (!redis) std::snprintf(thread, sizeof thread, "%.3fx", median(thread_ratio));
    std::printf("%-28s %10.0f %10.0f %6.3fx %15s %11s %8s %7.3fx\n",
                control ? "control: memory://, neither" : redis ? "Redis (async, 16 in flight)" : "memory:// (sync, 1 thread)",
                median(without), median(with), median(rate_ratio), middle, events.c_str(), thread, median(process_ratio));
  }
}

// The file store (file://, LMDB) next to the embedded store and Redis, same run: OTP verify
// (right code), synchronous C API on one thread per process; codes issued first (not timed).
// Two processes: forked before either opens the store, each verifying its own codes at once
// (their rates summed). durability=sync (the default) pays two fsyncs per verify, nosync none.
double file_rate_in_processes(const std::string& url, std::size_t n, int processes) {
  int start[2], ready[2], results[2];
  if (::pipe(start) != 0 || ::pipe(ready) != 0 || ::pipe(results) != 0) std::exit(1);
  std::fflush(stdout);
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(start[1]);
      verikit_engine* e = make_engine(url);
      std::vector<std::string> codes(n);
      const std::string tag = "f" + std::to_string(::getpid()) + "-";
      for (std::size_t i = 0; i < n; ++i) {  // issued first, not timed
        const std::string who = id(i, tag.c_str());
        verikit_result* r = nullptr;
        verikit_otp_issue(&r, e, "login", who.data(), who.size(), nullptr);
        codes[i] = secret_of(r);
        verikit_result_free(r);
      }
      char c = 'r';
      if (::write(ready[1], &c, 1) != 1) ::_exit(4);
      while (::read(start[0], &c, 1) > 0) {
      }
      const auto t0 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        const std::string who = id(i, tag.c_str());
        verikit_result* r = nullptr;
        verikit_otp_verify(&r, e, "login", who.data(), who.size(), codes[i].data(), codes[i].size(), nullptr);
        if (status_of(r) != VERIKIT_STATUS_VERIFIED) ::_exit(2);
        verikit_result_free(r);
      }
      const double rate = static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
      if (::write(results[1], &rate, sizeof rate) != sizeof rate) ::_exit(3);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(ready[1]);
  ::close(results[1]);
  char c;  // released together once every child has issued its codes
  for (int p = 0; p < processes && ::read(ready[0], &c, 1) == 1; ++p) {
  }
  ::close(ready[0]);
  ::close(start[1]);
  double total = 0, rate = 0;
  while (::read(results[0], &rate, sizeof rate) == sizeof rate) total += rate;
  ::close(results[0]);
  for (pid_t pid : children) {
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) std::fprintf(stderr, "file store bench child failed\n");
  }
  return total;
}

void file_store_rows(const std::string& redis_url, std::size_t n) {
  std::printf("\nshared stores, OTP verify (right code), synchronous C API, one thread per process, same run\n"
              "%-44s %14s\n", "store", "verifies/s");
  for (const std::string& url : {std::string("memory://"), redis_url}) {
    verikit_engine* e = make_engine(url);
    std::printf("%-44s %14.0f\n", url == "memory://" ? "memory:// (1 process)" : "Redis (1 process)",
                verify_rate(e, n, url == "memory://" ? "sm-" : "sr-", false));
    verikit_engine_free(e);
  }
  char dir[] = "/tmp/verikit-bench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::exit(1);
  for (const char* durability : {"nosync", "sync"}) {
    const std::size_t m = std::string(durability) == "sync" ? std::max<std::size_t>(n / 20, 100) : n;
    const std::string url = std::string("file://") + dir + "/" + durability + "?durability=" + durability;
    for (int processes : {1, 2}) {
      const std::string name = std::string("file:// durability=") + durability + " (" + std::to_string(processes) +
                               (processes == 1 ? " process)" : " processes)");
      std::printf("%-44s %14.0f\n", name.c_str(), file_rate_in_processes(url, m, processes));
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 100000;
  const std::string only_row = argc > 2 ? argv[2] : "";
  const std::string third = argc > 3 ? argv[3] : "";
  const int only_concurrency = !third.empty() && third != "memory" ? std::stoi(third) : 0;
  verikit::test::RedisServer server(verikit::test::RedisServerOptions{.extra_args = {"--repl-diskless-sync-delay", "0"}});
  const char* pool = std::getenv("VERIKIT_BENCH_POOL");
  const std::string url = server.url() + "?pool_size=" + (pool ? pool : "1");
  verikit_engine* e = make_engine(url);
  const char* purpose = "login";
  if (only_row == "embedded") {  // the embedded store's verification rate only
    verikit_engine_free(e);
    embedded_rows(n);
    return 0;
  }
  if (only_row == "sync") {  // synchronous calls on Redis, one at a time: the rate and the CPU each costs
    CpuPerOp cpu;
    const double rate = verify_rate(e, n, "sync-", false, &cpu);
    std::printf("Redis, OTP verify (right code), synchronous C API, one thread: %.0f verifications/s; CPU per verify "
                "%.1f us (the process: the calling thread %.1f, the rest the client's I/O thread; in the kernel %.1f)\n",
                rate, cpu.process_us, cpu.caller_us, cpu.process_system_us);
    verikit_engine_free(e);
    return 0;
  }
  if (only_row == "file") {  // the file store rows only
    verikit_engine_free(e);
    file_store_rows(url, n);
    return 0;
  }
  if (only_row == "events") {  // the lifecycle events rows only
    verikit_engine_free(e);
    events_rows(url, n, third == "memory");  // "events memory": the embedded store's row only
    return 0;
  }
  auto cstr = [](const std::string& s) { return s.c_str(); };
  (void)cstr;

  std::printf("verikit benchmark: %zu operations per row; redis-server on loopback, no persistence\n", n);
  std::printf("machine: %u cores, %s\n\n", std::thread::hardware_concurrency(),
              sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' | tr -d '\\n'").c_str());

  // Codes issued ahead for the verify rows (fresh identifiers per concurrency level).
  auto issue_codes = [&](const char* tag) {
    std::vector<std::string> codes(n);
    drive(n, 64, [&](std::size_t i, std::function<void(bool)> done) {
      const std::string who = id(i, tag);
      verikit_otp_issue_async(e, purpose, who.data(), who.size(), nullptr, forward,
                              wrap([&codes, i, done](int err, verikit_result* r) {
                                if (err == 0) codes[i] = secret_of(r);
                                verikit_result_free(r);
                                done(err == 0);
                              }));
    }, false);
    return codes;
  };

  struct Row {
    std::string name;
    std::function<Start(int concurrency)> make;
    std::string ceiling;  // redis-benchmark arguments for the same work; empty: none
    int ops_per_unit = 1;
    bool from_loop = false;  // driven from an application thread (drive_from_loop)
  };
  int round = 0;
  std::vector<Row> rows;
  rows.push_back({"OTP issue", [&](int c) -> Start {
                    const std::string tag = "issue" + std::to_string(c) + "-";
                    return [&e, purpose, tag](std::size_t i, std::function<void(bool)> done) {
                      const std::string who = id(i, tag.c_str());
                      verikit_otp_issue_async(e, purpose, who.data(), who.size(), nullptr, forward,
                                              wrap([done](int err, verikit_result* r) {
                                                const bool ok = err == 0 && status_of(r) == VERIKIT_STATUS_ISSUED;
                                                verikit_result_free(r);
                                                done(ok);
                                              }));
                    };
                  },
                  "issue", 1});
  std::vector<std::vector<std::string>> code_sets;
  // The right-code verify through `engine` (codes issued by `e`: the same key and server).
  auto right_code = [&](verikit_engine*& engine) {
    return [&, &engine](int c) -> Start {
      const std::string tag = "right" + std::to_string(c) + "-" + std::to_string(round++) + "-";
      code_sets.push_back(issue_codes(tag.c_str()));
      const auto* codes = &code_sets.back();
      return [&engine, purpose, tag, codes](std::size_t i, std::function<void(bool)> done) {
        const std::string who = id(i, tag.c_str());
        const std::string& code = (*codes)[i];
        verikit_otp_verify_async(engine, purpose, who.data(), who.size(), code.data(), code.size(), nullptr, forward,
                                 wrap([done](int err, verikit_result* r) {
                                   const bool ok = err == 0 && status_of(r) == VERIKIT_STATUS_VERIFIED;
                                   verikit_result_free(r);
                                   done(ok);
                                 }));
      };
    };
  };
  rows.push_back({"OTP verify (right code)", right_code(e), "verify", 1});
  {  // the right-code row again, the way an event loop (or a binding) drives it
    Row looped = rows.back();
    looped.name = "OTP verify (event loop)";
    looped.from_loop = true;
    rows.push_back(looped);
  }
  rows.push_back({"OTP verify (wrong code)", [&](int c) -> Start {
                    const std::string tag = "wrong" + std::to_string(c) + "-" + std::to_string(round++) + "-";
                    code_sets.push_back(issue_codes(tag.c_str()));
                    const auto* codes = &code_sets.back();
                    return [&e, purpose, tag, codes](std::size_t i, std::function<void(bool)> done) {
                      const std::string who = id(i, tag.c_str());
                      const std::string wrong = (*codes)[i] == "000000" ? "111111" : "000000";
                      verikit_otp_verify_async(e, purpose, who.data(), who.size(), wrong.data(), wrong.size(), nullptr,
                                               forward, wrap([done](int err, verikit_result* r) {
                                                 const bool ok = err == 0 && status_of(r) == VERIKIT_STATUS_INVALID;
                                                 verikit_result_free(r);
                                                 done(ok);
                                               }));
                    };
                  },
                  "verify", 1});
  auto issue_then = [&](bool link) {
    return [&e, link](int c) -> Start {
      const std::string tag = std::string(link ? "link" : "token") + std::to_string(c) + "-";
      return [&e, link, tag](std::size_t i, std::function<void(bool)> done) {
        const std::string who = id(i, tag.c_str());
        auto then = [&e, link, done](int err, verikit_result* r) {
          if (err != 0) {
            done(false);
            return;
          }
          const std::string token = secret_of(r);
          verikit_result_free(r);
          auto finish = wrap([done](int err2, verikit_result* r2) {
            const bool ok = err2 == 0 && status_of(r2) == VERIKIT_STATUS_VERIFIED;
            verikit_result_free(r2);
            done(ok);
          });
          if (link) verikit_link_consume_async(e, "login", token.data(), token.size(), forward, finish);
          else verikit_token_verify_async(e, "confirm", token.data(), token.size(), forward, finish);
        };
        if (link)
          verikit_link_issue_async(e, "login", who.data(), who.size(), "https://app.example.com/magic", nullptr, forward,
                                   wrap(then));
        else
          verikit_token_issue_async(e, "confirm", who.data(), who.size(), nullptr, forward, wrap(then));
      };
    };
  };
  rows.push_back({"token issue + verify", issue_then(false), "", 2});
  rows.push_back({"magic link issue + consume", issue_then(true), "", 2});
  // Durability (wait_replicas=1): the right-code verify again, each followed by WAIT for a
  // replica on loopback. Last, since the replica starts with this row (and replicates from then on).
  std::unique_ptr<verikit::test::RedisServer> replica;
  verikit_engine* durable = nullptr;
  rows.push_back({"OTP verify (right code, WAIT 1 replica)", [&, verify = right_code(durable)](int c) -> Start {
                    if (!replica) {
                      replica = std::make_unique<verikit::test::RedisServer>(verikit::test::RedisServerOptions{
                          .extra_args = {"--replicaof", "127.0.0.1", std::to_string(server.port())}});
                      for (int i = 0; i < 200; ++i) {  // ready when the replica acknowledges a write
                        server.cli("SET warm-up 1");
                        if (server.cli("WAIT 1 100").find('1') != std::string::npos) break;
                      }
                      durable = make_engine(url + "&wait_replicas=1&wait_timeout_ms=1000");
                    }
                    return verify(c);
                  },
                  "", 1});

  // The ceilings: the same work as one script, on the same server.
  const std::string verify_sha = sh("redis-cli -p " + std::to_string(server.port()) + " SCRIPT LOAD \"" + kVerifyLike + "\" | tr -d '\\n'");
  const std::string issue_sha = sh("redis-cli -p " + std::to_string(server.port()) + " SCRIPT LOAD \"" + kIssueLike + "\" | tr -d '\\n'");
  auto ceiling = [&](const std::string& kind, int c, int pipeline) {
    const std::string sha = kind == "verify" ? verify_sha : issue_sha;
    // verikit's shapes: otp_verify 3 keys, then the packed argument (4 numbers x 8 bytes, client,
    // binding), one candidate (key id + 16-byte hash); otp_issue 1 key, then the packed argument
    // (10 numbers x 8 bytes, the code's hash, sealed code, sealed payload, payload hash, binding)
    const std::string packed_verify = std::string(32, 'n') + "ccccbbbb";
    const std::string packed_issue = std::string(80, 'n') + std::string(17, 'h') + "ccccppppqqqqbbbb";
    const std::string hash17(17, 'h');
    return redis_benchmark(server.port(), c, pipeline, std::min<std::size_t>(n * 2, 400000),
                           kind == "verify"
                               ? "EVALSHA " + sha + " 3 vk:{bench}:g vk:{bench}:t vk:{bench}:p " + packed_verify + " " +
                                     hash17
                               : "EVALSHA " + sha + " 1 vk:{bench}:g " + packed_issue);
  };

  std::printf("%-28s %5s %12s %16s %7s %16s %7s\n", "operation (Redis, C API)", "conc", "verikit/s", "ceiling -P1 /s",
              "ratio", "ceiling -P16 /s", "ratio");
  std::map<std::string, std::vector<double>> latency;
  for (const Row& row : rows) {
    if (row.name.find(only_row) == std::string::npos) continue;
    for (int c : {1, 16, 64}) {
      if (only_concurrency != 0 && c != only_concurrency) continue;
      const Start start = row.make(c);
      const Run run = row.from_loop ? drive_from_loop(n, c, start) : drive(n, c, start, c == 1);
      if (run.failures) std::printf("  (%zu failed operations)\n", run.failures);
      const double units = run.ops_per_s;
      if (c == 1 && !row.from_loop) latency[row.name] = run.latencies_us;
      if (!row.ceiling.empty()) {
        const double c1 = ceiling(row.ceiling, c, 1), c16 = ceiling(row.ceiling, c, 16);
        std::printf("%-28s %5d %12.0f %16.0f %6.2fx %16.0f %6.2fx\n", row.name.c_str(), c, units, c1, units / c1, c16,
                    units / c16);
      } else {
        std::printf("%-28s %5d %12.0f %16s %7s %16s %7s   (%d script calls each)\n", row.name.c_str(), c, units, "-", "-",
                    "-", "-", row.ops_per_unit);
      }
    }
  }
  std::printf("\nlatency at concurrency 1 (microseconds)\n%-28s %8s %8s %8s\n", "operation", "p50", "p99", "p99.9");
  for (const Row& row : rows) {
    if (!latency.count(row.name)) continue;
    const auto& v = latency[row.name];
    std::printf("%-28s %8.0f %8.0f %8.0f\n", row.name.c_str(), percentile(v, 0.5), percentile(v, 0.99), percentile(v, 0.999));
  }

  // Redis's cost per operation: its CPU (user + sys) and its script time per call, over `n`
  // operations at concurrency 64 (codes for the verify rows are issued before the count starts).
  // `verikit_bench N cpu` runs only this.
  if ((only_row.empty() && only_concurrency == 0) || only_row == "cpu") {
    std::printf("\nRedis CPU per operation (INFO cpu user+sys / operations; script time from commandstats), "
                "concurrency 64\n%-28s %14s %12s %16s %12s %14s\n", "operation", "CPU us/op", "of it sys",
                "script us/call", "ops/s", "calls/read");
    for (const Row& row : rows) {
      if (row.name != "OTP issue" && row.name != "OTP verify (right code)" && row.name != "OTP verify (wrong code)")
        continue;
      const Start start = row.make(64);
      const RedisCpu before = redis_cpu(server);
      const Run run = drive(n, 64, start, false);
      const RedisCpu after = redis_cpu(server);
      const double calls = after.script_calls - before.script_calls;
      std::printf("%-28s %14.2f %12.2f %16.2f %12.0f %14.1f\n", row.name.c_str(),
                  (after.cpu_us - before.cpu_us) / static_cast<double>(n),
                  (after.sys_us - before.sys_us) / static_cast<double>(n),
                  calls > 0 ? (after.script_us - before.script_us) / calls : 0.0, run.ops_per_s,
                  after.reads > before.reads ? calls / (after.reads - before.reads) : 0.0);
    }
    if (only_row == "cpu") {
      verikit_engine_free(e);
      return 0;
    }
  }

  // Redis Cluster (3 primaries, each with a replica, made here) next to the one node above, in
  // the same run: the issue and right-code rows at concurrency 64 on each. (The row makers use
  // the engine `e` names when they are called.) `verikit_bench N cluster` runs only this.
  if ((only_row.empty() && only_concurrency == 0) || only_row == "cluster") {
    verikit::test::RedisCluster cluster;
    verikit_engine* one = e;
    verikit_engine* spread = make_engine(cluster.url() + "?pool_size=" + (pool ? pool : "1"));
    std::printf("\nRedis Cluster (3 primaries + 3 replicas, all on this machine) vs one node, concurrency 64\n"
                "%-28s %12s %12s %7s\n", "operation", "one node/s", "cluster/s", "ratio");
    for (const Row& row : rows) {
      if (row.name != "OTP issue" && row.name != "OTP verify (right code)") continue;
      e = one;
      const double single = drive(n, 64, row.make(64), false).ops_per_s;
      e = spread;
      const double many = drive(n, 64, row.make(64), false).ops_per_s;
      e = one;
      std::printf("%-28s %12.0f %12.0f %6.2fx\n", row.name.c_str(), single, many, many / single);
    }
    verikit_engine_free(spread);
  }

  if (!only_row.empty() || only_concurrency != 0) {  // a profiling run: the rows asked for only
    verikit_engine_free(e);
    return 0;
  }

  // Memory in Redis per record.
  (void)sh("redis-cli -p " + std::to_string(server.port()) + " FLUSHALL");
  verikit_policy locks_at_once = VERIKIT_POLICY_INIT;  // defaults, a lockout after one failure
  locks_at_once.lockout_failures = 1;
  verikit_engine* strict = make_engine(url, locks_at_once);
  verikit_result* r = nullptr;
  const std::string cli = "redis-cli -p " + std::to_string(server.port());
  auto first_key = [&](const char* pattern) {
    return sh(cli + " --scan --pattern '" + pattern + "' | head -n1 | tr -d '\\n'");
  };
  auto usage = [&](const std::string& key) { return sh(cli + " MEMORY USAGE '" + key + "' | tr -d '\\n'"); };
  verikit_otp_issue(&r, strict, "login", "mem@example.com", 15, nullptr);
  const char* secret = nullptr;
  size_t secret_len = 0;
  std::string wrong = "000000";
  if (r && verikit_result_secret(r, &secret, &secret_len) == VERIKIT_OK && secret_len > 0) wrong.assign(secret, secret_len);
  wrong[0] = wrong[0] == '0' ? '1' : '0';  // a well-formed wrong code: the guess reaches the store
  verikit_result_free(r);
  const std::string group = first_key("*:g");  // the code and its identifier's abuse-control state
  const std::string otp_mem = usage(group);
  verikit_token_issue(&r, strict, "confirm", "mem@example.com", 15, nullptr);
  verikit_result_free(r);
  const std::string token_mem = usage(first_key("*:t"));
  verikit_otp_verify(&r, strict, "login", "mem@example.com", 15, wrong.data(), wrong.size(), nullptr);
  verikit_result_free(r);
  const std::string lock_mem = usage(group);
  std::printf("\nRedis MEMORY USAGE: pending OTP with its identifier's abuse-control state %s bytes (one key); "
              "token %s; the key after a lockout %s\n", otp_mem.c_str(), token_mem.c_str(), lock_mem.c_str());
  verikit_engine_free(strict);
  // Redis memory per pending code: used_memory after issuing n codes to distinct identifiers,
  // less before, over n (everything a key costs Redis: its dict entries, expiry, value).
  std::printf("\nRedis used_memory per pending code (%zu codes, distinct identifiers)\n", n);
  for (const bool abuse : {false, true}) {
    (void)sh("redis-cli -p " + std::to_string(server.port()) + " FLUSHALL");
    verikit_policy p = VERIKIT_POLICY_INIT;  // the defaults: every abuse control on
    verikit_engine* m = make_engine(url, abuse ? p : bench_policy());
    const double before = info_number(server.cli("INFO memory"), "used_memory:");
    drive(n, 64, [&](std::size_t i, std::function<void(bool)> done) {
      const std::string who = id(i, "mem");
      verikit_otp_issue_async(m, purpose, who.data(), who.size(), nullptr, forward,
                              wrap([done](int err, verikit_result* r) {
                                verikit_result_free(r);
                                done(err == 0);
                              }));
    }, false);
    const double after = info_number(server.cli("INFO memory"), "used_memory:");
    std::printf("  abuse controls %-3s %8.0f bytes per code\n", abuse ? "on" : "off", (after - before) / static_cast<double>(n));
    verikit_engine_free(m);
  }
  verikit_engine_free(e);
  verikit_engine_free(durable);

  // The embedded store: synchronous calls, per thread.
  std::printf("\nembedded store (memory://), OTP issue + verify, synchronous C API\n");
  for (int threads : {1, 2}) {
    verikit_engine* mem = make_engine("memory://");
    std::atomic<std::size_t> done{0};
    const std::size_t per_thread = n;
    const auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (std::size_t i = 0; i < per_thread; ++i) {
          const std::string who = id(i, ("m" + std::to_string(t) + "-").c_str());
          verikit_result* a = nullptr;
          verikit_result* b = nullptr;
          verikit_otp_issue(&a, mem, "login", who.data(), who.size(), nullptr);
          const std::string code = secret_of(a);
          verikit_otp_verify(&b, mem, "login", who.data(), who.size(), code.data(), code.size(), nullptr);
          if (status_of(b) == VERIKIT_STATUS_VERIFIED) ++done;
          verikit_result_free(a);
          verikit_result_free(b);
        }
      });
    for (auto& t : ts) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("  %d thread(s): %.0f operations/s in all, %.0f per thread (issue and verify count one each)\n", threads,
                2.0 * static_cast<double>(done) / secs, 2.0 * static_cast<double>(done) / secs / threads);
    verikit_engine_free(mem);
  }
  embedded_rows(n);
  events_rows(url, n);
  file_store_rows(url, n);
  return 0;
}
