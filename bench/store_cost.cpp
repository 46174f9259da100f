// verikit store cost: issues N codes to N identifiers through the C API and then, by mode,
// verifies each with its right code (v) or a wrong one (w), or stops there (i). Run under
// callgrind (scripts/store_cost.sh) it gives the instructions one operation costs the store:
// redis-server's own for a Redis URL, this process's for memory:// — counts that do not depend
// on what else the machine is doing.
//
//   store_cost URL N i|v|w [abuse] [events]
//     abuse: the default abuse controls on; else off
//     events: an event handler attached (it only counts), as the benchmark's events row
//
// Verifications run asynchronously with 64 in flight (as the benchmark's c64 rows); issues are
// synchronous. Exits non-zero if any operation fails or answers other than expected.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "bench_engine.hpp"
#include "verikit.h"

namespace {

struct InFlight {
  std::mutex m;
  std::condition_variable cv;
  int count = 0;
  int bad = 0;
  int want = 0;
};

void settled(void* user, int err, const char*, verikit_result* r) {
  auto* f = static_cast<InFlight*>(user);
  int status = -1;
  if (err == 0) verikit_result_status(r, &status);
  verikit_result_free(r);
  std::lock_guard<std::mutex> lock(f->m);
  if (err != 0 || status != f->want) ++f->bad;
  --f->count;
  f->cv.notify_all();
}

std::atomic<unsigned long long> g_events{0};
void count_event(void*, const verikit_event*) { g_events.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: store_cost URL N i|v|w [abuse] [events]\n");
    return 2;
  }
  const char* url = argv[1];
  const int n = std::atoi(argv[2]);
  const char mode = argv[3][0];
  bool abuse = false, events = false;
  for (int i = 4; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "abuse") abuse = true;
    else if (flag == "events") events = true;
    else {
      std::fprintf(stderr, "store_cost: unknown option %s (abuse or events)\n", argv[i]);
      return 2;
    }
  }
  uint8_t key[VERIKIT_KEY_BYTES];
  verikit_key_generate(key, sizeof key);
  verikit_engine* e = bench_engine(url, key, bench_policy(abuse), events ? count_event : nullptr);
  std::vector<std::string> codes(static_cast<std::size_t>(n));
  auto who = [](int i) { return "u" + std::to_string(i) + "@example.com"; };
  for (int i = 0; i < n; ++i) {
    const std::string id = who(i);
    verikit_result* r = nullptr;
    if (verikit_otp_issue(&r, e, "login", id.data(), id.size(), nullptr) != VERIKIT_OK) {
      std::fprintf(stderr, "issue: %s\n", verikit_error_message());
      return 1;
    }
    const char* d = nullptr;
    size_t len = 0;
    verikit_result_secret(r, &d, &len);
    codes[static_cast<std::size_t>(i)].assign(d, len);
    verikit_result_free(r);
  }
  InFlight f;
  f.want = mode == 'v' ? VERIKIT_STATUS_VERIFIED : VERIKIT_STATUS_INVALID;
  for (int i = 0; mode != 'i' && i < n; ++i) {
    const std::string id = who(i);
    const std::string& right = codes[static_cast<std::size_t>(i)];
    const std::string code = mode == 'v' ? right : (right == "000000" ? "111111" : "000000");
    {
      std::unique_lock<std::mutex> lock(f.m);
      f.cv.wait(lock, [&] { return f.count < 64; });
      ++f.count;
    }
    verikit_otp_verify_async(e, "login", id.data(), id.size(), code.data(), code.size(), nullptr, settled, &f);
  }
  {
    std::unique_lock<std::mutex> lock(f.m);
    f.cv.wait(lock, [&] { return f.count == 0; });
  }
  verikit_engine_free(e);  // delivers the queued events
  if (f.bad) std::fprintf(stderr, "%d operations did not answer as expected\n", f.bad);
  // Every operation made one event; a dropped one would be work not measured.
  const unsigned long long want_events = events ? static_cast<unsigned long long>(mode == 'i' ? n : 2 * n) : 0;
  if (g_events.load() != want_events) {
    std::fprintf(stderr, "%llu events delivered, %llu made\n", g_events.load(), want_events);
    return 1;
  }
  return f.bad ? 1 : 0;
}
