// The lifecycle stress suite of the C API (issue 15), through libverikit loaded with dlopen as an
// FFI user loads it: verikit_engine_free with 1, 100 and 10,000 calls in flight on the embedded
// store and on a paused Redis settles every callback exactly once before it returns; a free right
// after 8 threads stop submitting; 200 engines created and freed leave no thread or descriptor
// behind; dlclose after free is safe (no thread of the library outlives it). Runs under ASan too.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"
#include "verikit.h"

namespace {

// The functions this suite uses, looked up in one dlopen'ed copy of the library.
struct Api {
  void* handle = nullptr;
  int (*config_new)(verikit_config**);
  void (*config_free)(verikit_config*);
  int (*config_set_store)(verikit_config*, const char*);
  int (*config_set_key)(verikit_config*, uint8_t, const uint8_t*, size_t);
  int (*engine_new)(verikit_engine**, const verikit_config*);
  void (*engine_free)(verikit_engine*);
  int (*otp_issue)(verikit_result**, verikit_engine*, const char*, const char*, size_t, const verikit_issue_options*);
  int (*otp_verify_async)(verikit_engine*, const char*, const char*, size_t, const char*, size_t,
                          const verikit_verify_options*, verikit_callback, void*);
  void (*result_free)(verikit_result*);

  template <class F>
  void load(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(handle, name));
    ASSERT_NE(f, nullptr) << name;
  }
  void open() {
    handle = dlopen(VERIKIT_LIBRARY_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    load(config_new, "verikit_config_new");
    load(config_free, "verikit_config_free");
    load(config_set_store, "verikit_config_set_store");
    load(config_set_key, "verikit_config_set_key");
    load(engine_new, "verikit_engine_new");
    load(engine_free, "verikit_engine_free");
    load(otp_issue, "verikit_otp_issue");
    load(otp_verify_async, "verikit_otp_verify_async");
    load(result_free, "verikit_result_free");
  }
  void close() {
    ASSERT_EQ(dlclose(handle), 0) << dlerror();
    handle = nullptr;
  }

  verikit_engine* engine(const std::string& url) {
    verikit_config* c = nullptr;
    EXPECT_EQ(config_new(&c), VERIKIT_OK);
    EXPECT_EQ(config_set_store(c, url.c_str()), VERIKIT_OK);
    const uint8_t key[VERIKIT_KEY_BYTES] = {42};
    EXPECT_EQ(config_set_key(c, 1, key, sizeof key), VERIKIT_OK);
    verikit_engine* e = nullptr;
    EXPECT_EQ(engine_new(&e, c), VERIKIT_OK);
    config_free(c);
    return e;
  }
};

int count_entries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}
int threads_now() { return count_entries("/proc/self/task"); }

// A sanitizer's runtime (ThreadSanitizer) starts a thread of its own with the process's first
// other thread: start it now, so that thread counts compare the library's threads only.
const bool kRuntimeThreadsStarted = [] {
  std::thread([] {}).join();
  return true;
}();
int descriptors_now() { return count_entries("/proc/self/fd"); }

// Whether the library's file is mapped into the process (after dlclose: whether it really went).
bool library_mapped() {
  char* real = realpath(VERIKIT_LIBRARY_PATH, nullptr);
  const std::string path = real != nullptr ? real : VERIKIT_LIBRARY_PATH;
  std::free(real);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(path) != std::string::npos) return true;
  return false;
}

// One slot per call: the callback counts its calls there, so a call answered twice, or not at
// all, is seen (and which one).
struct Calls {
  explicit Calls(int n) : answered(static_cast<std::size_t>(n)) {}
  struct Slot {
    Calls* calls;
    int index;
  };
  std::vector<std::atomic<int>> answered;
  std::atomic<int> errors{0}, results{0};
  std::vector<Slot> slots;
  const Api* api = nullptr;

  static void callback(void* user, int error, const char*, verikit_result* r) {
    auto* slot = static_cast<Slot*>(user);
    Calls* self = slot->calls;
    if (error == VERIKIT_OK) {
      self->results++;
      self->api->result_free(r);
    } else {
      self->errors++;
    }
    self->answered[static_cast<std::size_t>(slot->index)]++;
  }
  void expect_each_answered_once() const {
    int never = 0, twice = 0;
    for (const auto& a : answered) {
      never += a.load() == 0;
      twice += a.load() > 1;
    }
    EXPECT_EQ(never, 0) << "calls never answered";
    EXPECT_EQ(twice, 0) << "calls answered more than once";
  }
};

// Starts n verifications (each of its own identifier) and returns how many were accepted.
int start(const Api& api, verikit_engine* e, Calls& calls, int first, int n) {
  int started = 0;
  for (int i = first; i < first + n; ++i) {
    const std::string who = "life" + std::to_string(i);
    const int rc = api.otp_verify_async(e, "login", who.data(), who.size(), "123456", 6, nullptr, &Calls::callback,
                                        &calls.slots[static_cast<std::size_t>(i)]);
    if (rc == VERIKIT_OK) ++started;
    else calls.answered[static_cast<std::size_t>(i)]++;  // refused at once: it will not call back
  }
  return started;
}

std::unique_ptr<Calls> make_calls(const Api& api, int n) {
  auto calls = std::make_unique<Calls>(n);
  calls->api = &api;
  for (int i = 0; i < n; ++i) calls->slots.push_back({calls.get(), i});
  return calls;
}

struct Case {
  const char* store;  // "memory" or "paused-redis"
  int in_flight;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.store << " with " << c.in_flight << " in flight"; }

class FreeInFlight : public ::testing::TestWithParam<Case> {};

TEST_P(FreeInFlight, EveryCallbackRunsExactlyOnceBeforeFreeReturns) {
  const Case c = GetParam();
  const bool redis = std::string(c.store) == "paused-redis";
  std::unique_ptr<verikit::test::RedisServer> server;
  if (redis) server = std::make_unique<verikit::test::RedisServer>();
  Api api;
  ASSERT_NO_FATAL_FAILURE(api.open());
  const int threads_before = threads_now();
  verikit_engine* e = api.engine(redis ? server->url() + "?command_timeout_ms=300" : "memory://");
  ASSERT_NE(e, nullptr);
  if (redis) server->pause();  // every call waits for its deadline: all are in flight at free
  auto calls = make_calls(api, c.in_flight);
  const int started = start(api, e, *calls, 0, c.in_flight);
  EXPECT_EQ(started, c.in_flight);
  api.engine_free(e);
  const int answered = calls->results.load() + calls->errors.load();
  EXPECT_EQ(answered, started) << "verikit_engine_free returned before every callback had run";
  if (redis) { EXPECT_EQ(calls->results.load(), 0) << "a paused Redis answered nothing: every call is an error"; }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a late callback would land now
  calls->expect_each_answered_once();
  EXPECT_EQ(threads_now(), threads_before) << "the engine's threads are joined by free";
  ASSERT_NO_FATAL_FAILURE(api.close());
  EXPECT_FALSE(library_mapped()) << "dlclose after free unloads the library";
  if (redis) server->resume();
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, FreeInFlight,
                         ::testing::Values(Case{"memory", 1}, Case{"memory", 100}, Case{"memory", 10000},
                                           Case{"paused-redis", 1}, Case{"paused-redis", 100},
                                           Case{"paused-redis", 10000}),
                         [](const auto& info) {
                           return std::string(info.param.store[0] == 'm' ? "Memory" : "PausedRedis") +
                                  std::to_string(info.param.in_flight);
                         });

// 8 threads submit as fast as they can; free comes the moment they stop, with most of their
// calls still in flight (the C contract: no thread is calling into the engine during free).
TEST(Lifecycle, FreeRightAfterEightBusyThreadsStop) {
  verikit::test::RedisServer server;
  Api api;
  ASSERT_NO_FATAL_FAILURE(api.open());
  for (const std::string url : {std::string("memory://"), server.url()}) {
    verikit_engine* e = api.engine(url);
    ASSERT_NE(e, nullptr);
    constexpr int kThreads = 8, kEach = 2000;
    auto calls = make_calls(api, kThreads * kEach);
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] { started += start(api, e, *calls, t * kEach, kEach); });
    for (auto& t : threads) t.join();
    api.engine_free(e);
    EXPECT_EQ(started.load(), kThreads * kEach) << url;
    EXPECT_EQ(calls->results.load() + calls->errors.load(), started.load()) << url;
    EXPECT_EQ(calls->errors.load(), 0) << url << ": a running store answers every call";
    calls->expect_each_answered_once();
  }
  ASSERT_NO_FATAL_FAILURE(api.close());
}

// 200 engines, each used and freed, on both stores: the process ends with the threads and
// descriptors it started with.
TEST(Lifecycle, TwoHundredEnginesLeaveNoThreadOrDescriptorBehind) {
  verikit::test::RedisServer server;
  Api api;
  ASSERT_NO_FATAL_FAILURE(api.open());
  {  // warm up: the first engine may set up process-wide state once (libsodium, OpenSSL)
    verikit_engine* e = api.engine(server.url());
    api.engine_free(e);
  }
  const int threads_before = threads_now(), fds_before = descriptors_now();
  for (int i = 0; i < 200; ++i) {
    verikit_engine* e = api.engine(i % 2 ? server.url() : "memory://");
    ASSERT_NE(e, nullptr) << i;
    verikit_result* r = nullptr;
    ASSERT_EQ(api.otp_issue(&r, e, "login", "many", 4, nullptr), VERIKIT_OK) << i;
    api.result_free(r);
    api.engine_free(e);
  }
  EXPECT_EQ(threads_now(), threads_before);
  EXPECT_EQ(descriptors_now(), fds_before);
  ASSERT_NO_FATAL_FAILURE(api.close());
}

// Load, free, dlclose, again: no thread of the library is left to run code that is unmapped.
TEST(Lifecycle, DlcloseAfterFreeIsSafe) {
  verikit::test::RedisServer server;
  const int threads_before = threads_now();
  for (int round = 0; round < 3; ++round) {
    Api api;
    ASSERT_NO_FATAL_FAILURE(api.open());
    for (const std::string url : {std::string("memory://"), server.url()}) {
      verikit_engine* e = api.engine(url);
      ASSERT_NE(e, nullptr);
      auto calls = make_calls(api, 1000);
      EXPECT_EQ(start(api, e, *calls, 0, 1000), 1000);
      api.engine_free(e);
      calls->expect_each_answered_once();
    }
    ASSERT_TRUE(library_mapped());
    ASSERT_NO_FATAL_FAILURE(api.close());
    EXPECT_FALSE(library_mapped()) << "dlclose did not unload the library (round " << round << "): nothing was tested";
    EXPECT_EQ(threads_now(), threads_before) << "round " << round;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a stray thread would crash here
}

}  // namespace
