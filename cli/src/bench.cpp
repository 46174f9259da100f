// verikit CLI — bench: a short load test of OTP issue + verify against a store the operator
// names, under a key prefix of its own, cleaning up after itself.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"

namespace vkcli {

namespace {

constexpr const char* kHelp = R"(usage: verikit bench URL [--concurrency N] [--seconds S | --ops N] [--prefix P] [--json]

A short load test: N threads each issue a one-time code and verify it (one operation = one issue
+ one verify), for S seconds or N operations, with a progress bar on a terminal (plain lines
otherwise), then the latency of each (p50, p90, p99, max) and the operations per second.

It runs only against the URL given here (never $VERIKIT_STORE; memory:// measures the engine
alone), with a fresh random key of its own (not printed) and the key prefix vk-bench, so it
touches none of an application's records; codes live 60 s, abuse controls are off (they are
on with --issue-only, where every code goes to a new identifier). At the end
it revokes every credential it issued, also when stopped early by Ctrl-C (a second Ctrl-C
skips that; what remains, its emptied counters, expires within 60 s;
with --issue-only each identifier's send-limit counter lives up to 6 minutes: 10 per hour)
and prints its engine's counters. It adds load to the server: run it before going live or in a
quiet hour.

  --concurrency N  threads issuing and verifying at once (default 4, 1..256)
  --seconds S      how long to run (default 10, 1..3600)
  --ops N          run N operations instead of a time (1..100000000)
  --prefix P       the key prefix (default vk-bench): never your application's
  --issue-only     only issue, each to a new identifier (codes stay pending until the clean-up;
                   with --keep: for memory sizing, README "Operations")
  --keep           skip the clean-up (codes expire within 60 s, --issue-only's counters within 6 min)
  --json           the summary as one JSON object on stdout

Exit codes: 0 every operation behaved; 1 some failed (errors, or a right code not verified);
2 usage; 3 the store cannot be used (unreachable, refused, misconfigured: see verikit doctor).
)";

constexpr const char* kPurpose = "bench";
constexpr int kIdentifiersPerWorker = 64;

using Clock = std::chrono::steady_clock;

// Latencies in constant memory however long the run: buckets of two significant digits per
// decade of microseconds (1 us wide below 100 us, 10 us below 1 ms, ...), so a percentile is
// reported as its bucket's upper edge (at most 1% high); the maximum is exact.
class Histogram {
 public:
  void add(double ms) {
    max_ms_ = std::max(max_ms_, ms);
    ++count_;
    double us = ms * 1000.0, scale = 1.0;
    std::size_t decade = 0;
    while (us >= kSub * scale && decade + 1 < kDecades) {
      scale *= 10.0;
      ++decade;
    }
    counts_[decade * kSub + std::min<std::size_t>(kSub - 1, static_cast<std::size_t>(us / scale))]++;
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    max_ms_ = std::max(max_ms_, o.max_ms_);
  }
  // The q-quantile (0 < q <= 1) in ms; 0 when empty.
  double quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    double scale = 1.0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      if (i > 0 && i % kSub == 0) scale *= 10.0;
      seen += counts_[i];
      if (seen >= rank) return std::min(max_ms_, static_cast<double>(i % kSub + 1) * scale / 1000.0);
    }
    return max_ms_;
  }
  double max_ms() const { return max_ms_; }

 private:
  static constexpr std::size_t kSub = 100, kDecades = 9;  // up to 100 s
  std::array<std::uint64_t, kSub * kDecades> counts_{};
  std::uint64_t count_ = 0;
  double max_ms_ = 0;
};

struct Worker {
  Histogram issue_ms, verify_ms;
  std::uint64_t errors = 0, wrong_outcomes = 0;
  std::string first_problem;
};

// Set by the first Ctrl-C (or SIGTERM): the workers stop at their next operation and the run
// cleans up and reports as at its end. The handler puts the default back, so a second one ends
// the program at once (skipping the clean-up: what it left expires, see --help).
std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true); }

void stop_on_interrupt() {
  struct sigaction sa = {};
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;  // the next one: the default action
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct Run {
  verikit_engine* engine = nullptr;
  bool issue_only = false;
  std::uint64_t ops_limit = 0;  // 0: until the deadline
  Clock::time_point deadline;
  std::atomic<std::uint64_t> claimed{0}, done{0};
};

// Issue + verify: each worker cycles through 64 identifiers of its own (a verified code is
// consumed); issue only: every operation a new identifier, so every code stays pending.
std::string identifier(const Run& run, unsigned worker, std::uint64_t i) {
  if (run.issue_only) return "bench-" + std::to_string(i);
  return "bench-" + std::to_string(worker) + "-" + std::to_string(i % kIdentifiersPerWorker);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void note(Worker& w, std::string problem) {
  if (w.first_problem.empty()) w.first_problem = std::move(problem);
}

void work(Run& run, Worker& w, unsigned index) {
  for (;;) {
    const std::uint64_t i = run.claimed.fetch_add(1);
    if (g_interrupted.load() || (run.ops_limit ? i >= run.ops_limit : Clock::now() >= run.deadline)) return;
    const std::string id = identifier(run, index, i);
    verikit_result* issued = nullptr;
    auto t0 = Clock::now();
    int rc = verikit_otp_issue(&issued, run.engine, kPurpose, id.data(), id.size(), nullptr);
    w.issue_ms.add(ms_since(t0));
    int status = -1;
    if (rc != VERIKIT_OK) {
      ++w.errors;
      note(w, std::string("issue: ") + verikit_error_name(rc) + ": " + verikit_error_message());
    } else if (verikit_result_status(issued, &status), status != VERIKIT_STATUS_ISSUED) {
      ++w.wrong_outcomes;
      note(w, std::string("issue answered ") + verikit_status_name(status));
    } else if (!run.issue_only) {
      const char* code = nullptr;
      std::size_t len = 0;
      verikit_result_secret(issued, &code, &len);
      verikit_result* verified = nullptr;
      t0 = Clock::now();
      rc = verikit_otp_verify(&verified, run.engine, kPurpose, id.data(), id.size(), code, len, nullptr);
      w.verify_ms.add(ms_since(t0));
      if (rc != VERIKIT_OK) {
        ++w.errors;
        note(w, std::string("verify: ") + verikit_error_name(rc) + ": " + verikit_error_message());
      } else if (verikit_result_status(verified, &status), status != VERIKIT_STATUS_VERIFIED) {
        ++w.wrong_outcomes;
        note(w, std::string("the right code was answered ") + verikit_status_name(status));
      }
      verikit_result_free(verified);
    }
    verikit_result_free(issued);
    run.done.fetch_add(1);
  }
}

void progress(const Run& run, Clock::time_point start, bool tty, bool final) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double total = run.ops_limit ? static_cast<double>(run.ops_limit)
                                     : std::chrono::duration<double>(run.deadline - start).count();
  const double part = std::min(1.0, (run.ops_limit ? static_cast<double>(run.done.load()) : elapsed) / total);
  const std::uint64_t done = run.done.load();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  if (tty) {
    const int width = 30, filled = static_cast<int>(part * width);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %llu ops  %.0f ops/s ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), static_cast<int>(part * 100),
                 static_cast<unsigned long long>(done), rate);
    if (final) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "bench: %3d%%  %llu ops  %.0f ops/s\n", static_cast<int>(part * 100),
                 static_cast<unsigned long long>(done), rate);
  }
  std::fflush(stderr);
}

struct Summary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Summary summarise(const Histogram& h) { return {h.quantile(0.50), h.quantile(0.90), h.quantile(0.99), h.max_ms()}; }

std::string summary_json(const Summary& s) {
  char out[160];
  std::snprintf(out, sizeof out, "{\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}", s.p50, s.p90, s.p99, s.max);
  return out;
}

// The engine's own counters: its operations by kind and outcome, and its errors.
std::string counters(verikit_engine* engine) {
  std::size_t needed = 0;
  verikit_engine_metrics(engine, nullptr, 0, &needed);
  std::string text(needed, '\0');
  check(verikit_engine_metrics(engine, text.data(), text.size(), &needed), "reading the engine's counters");
  std::istringstream lines(text.c_str());
  std::string line, out;
  while (std::getline(lines, line))
    if (line.starts_with("verikit_operations_total") || line.starts_with("verikit_errors_total")) out += "  " + line + "\n";
  return out;
}

}  // namespace

int cmd_bench(const Args& args) {
  if (args.flag("--help")) return std::fputs(kHelp, stdout), kOk;
  const auto& pos = args.positionals();
  if (pos.size() != 1)
    throw Failure{kUsage, "bench needs the store URL as its one argument (it never takes $VERIKIT_STORE, so that it "
                          "loads only a server you name): e.g. verikit bench redis://127.0.0.1:6379"};
  if (args.value("--seconds") && args.value("--ops")) throw Failure{kUsage, "give --seconds or --ops, not both"};
  const auto concurrency = static_cast<unsigned>(args.number("--concurrency", 4, 1, 256));
  const auto seconds = args.number("--seconds", 10, 1, 3600);
  Run run;
  run.ops_limit = args.number("--ops", 0, 1, 100'000'000);
  run.issue_only = args.flag("--issue-only");

  ConfigHolder config;
  const std::string prefix = args.value("--prefix").value_or("vk-bench");
  check(verikit_config_new(&config.config), "creating a configuration");
  check(verikit_config_set_store(config.config, pos[0].c_str()), "setting the store URL");
  set_prefix(config.config, prefix);
  std::uint8_t key[VERIKIT_KEY_BYTES];
  check(verikit_key_generate(key, sizeof key), "generating the bench's key");
  check(verikit_config_set_key(config.config, VERIKIT_DEFAULT_KEY_ID, key, sizeof key), "setting the bench's key");
  // (a new key each run, under a prefix of its own: no key-check record to keep)
  check(verikit_config_set_option(config.config, "key_check", "off"), "turning the key check off");
  // Issue + verify reuses identifiers: without abuse controls, so the cooldown does not refuse.
  // Issue only (memory sizing) keeps them: a pending code comes with its identifier's counters.
  if (!run.issue_only) check(verikit_config_set_abuse_controls(config.config, 0), "turning abuse controls off");
  check(verikit_config_set_policy_field(config.config, nullptr, "ttl", "60"), "setting a 60 s lifetime");
  EngineHolder engine;
  open_engine(engine, config.config);
  run.engine = engine.engine;

  stop_on_interrupt();
  const bool tty = isatty(STDERR_FILENO);
  const auto start = Clock::now();
  run.deadline = start + std::chrono::seconds(seconds);
  std::vector<Worker> workers(concurrency);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < concurrency; ++i) threads.emplace_back([&, i] { work(run, workers[i], i); });
  std::atomic<bool> finished{false};
  std::thread reporter([&] {
    auto next = Clock::now();
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() < next) continue;
      progress(run, start, tty, false);
      next = Clock::now() + (tty ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000));
    }
  });
  for (auto& t : threads) t.join();
  finished = true;
  reporter.join();
  progress(run, start, tty, true);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Histogram issue, verify;
  std::uint64_t errors = 0, wrong = 0;
  std::string problem;
  for (auto& w : workers) {
    issue.merge(w.issue_ms);
    verify.merge(w.verify_ms);
    errors += w.errors;
    wrong += w.wrong_outcomes;
    if (problem.empty()) problem = w.first_problem;
  }
  const std::uint64_t ops = run.done.load();
  const bool interrupted = g_interrupted.load();

  int revoked = 0;
  if (!args.flag("--keep")) {
    const std::uint64_t claimed = run.claimed.load();
    const unsigned rounds = run.issue_only ? 1 : concurrency;
    const std::uint64_t per = run.issue_only ? claimed : std::min<std::uint64_t>(kIdentifiersPerWorker, claimed);
    for (unsigned w = 0; w < rounds; ++w)
      for (std::uint64_t i = 0; i < per; ++i) {
        const std::string id = identifier(run, w, i);
        int n = 0;
        check(verikit_revoke_all(&n, engine.engine, kPurpose, id.data(), id.size()), "cleaning up (revoke-all)");
        revoked += n;
      }
  }

  const Summary si = summarise(issue), sv = summarise(verify);
  const double rate = elapsed > 0 ? static_cast<double>(ops) / elapsed : 0;
  if (args.flag("--json")) {
    std::printf("{\"operations\": %llu, \"seconds\": %.3f, \"ops_per_second\": %.1f, \"concurrency\": %u, \"errors\": %llu, "
                "\"wrong_outcomes\": %llu, \"issue\": %s, \"verify\": %s, \"cleaned_up\": %d, \"interrupted\": %s}\n",
                static_cast<unsigned long long>(ops), elapsed, rate, concurrency, static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(wrong), summary_json(si).c_str(),
                run.issue_only ? "null" : summary_json(sv).c_str(), revoked, interrupted ? "true" : "false");
  } else {
    std::printf("%llu operations (issue%s) in %.2f s at concurrency %u: %.0f ops/s%s\n", static_cast<unsigned long long>(ops),
                run.issue_only ? " only" : " + verify", elapsed, concurrency, rate,
                interrupted ? " (interrupted: stopped early)" : "");
    std::printf("latency ms   p50      p90      p99      max\n");
    std::printf("issue      %7.3f  %7.3f  %7.3f  %7.3f\n", si.p50, si.p90, si.p99, si.max);
    if (!run.issue_only) std::printf("verify     %7.3f  %7.3f  %7.3f  %7.3f\n", sv.p50, sv.p90, sv.p99, sv.max);
    std::printf("errors %llu, wrong outcomes %llu%s%s\n", static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(wrong), problem.empty() ? "" : "; first: ", problem.c_str());
    const char* rest = run.issue_only ? "within 60 s, the send-limit counters within 6 minutes" : "within 60 s";
    if (args.flag("--keep")) std::printf("not cleaned up (--keep): the codes expire %s\n", rest);
    else std::printf("cleaned up: revoked %d live credential(s) under the prefix %s; the rest expires %s\n", revoked, prefix.c_str(), rest);
    std::printf("the engine's counters:\n%s", counters(engine.engine).c_str());
  }
  return errors || wrong ? kNegative : kOk;
}

}  // namespace vkcli
