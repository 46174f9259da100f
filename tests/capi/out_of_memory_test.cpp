// Allocation failures inside asynchronous calls: whichever allocation fails (the call's own, the
// engine's, the store's I/O thread's, the completion's), the caller's callback runs exactly once,
// nothing crosses the C boundary as an exception, a wrong code is never verified, and the engine
// still frees (verikit_engine_free waits for every call it counted). Its own program: it replaces
// the global operator new to fail the n-th allocation from a chosen point on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>

#include "support/redis_server.hpp"
#include "verikit.h"

namespace {
std::atomic<long> g_countdown{-1};              // allocations left before one fails (-1: none fails)
std::atomic<bool> g_other_threads_only{false};  // fail only on threads other than the test's
thread_local bool t_test_thread = false;
}  // namespace

void* operator new(std::size_t n) {
  if (g_countdown.load(std::memory_order_relaxed) >= 0 && !(g_other_threads_only.load() && t_test_thread) &&
      g_countdown.fetch_sub(1) == 0)
    throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// Callbacks counted per call: each must come exactly once.
struct Calls {
  std::mutex m;
  std::condition_variable cv;
  int settled = 0;
  int twice = 0;
  int verified = 0;
};
struct Call {
  Calls* calls;
  bool done = false;
};

void on_result(void* user, int err, const char*, verikit_result* r) {
  auto* call = static_cast<Call*>(user);
  int status = -1;
  if (err == VERIKIT_OK && r != nullptr) verikit_result_status(r, &status);
  verikit_result_free(r);
  std::lock_guard<std::mutex> lock(call->calls->m);
  if (call->done) ++call->calls->twice;
  call->done = true;
  ++call->calls->settled;
  if (status == VERIKIT_STATUS_VERIFIED) ++call->calls->verified;
  call->calls->cv.notify_all();
}

verikit_engine* make_engine(const std::string& url) {
  verikit_config* c = nullptr;
  EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
  verikit_config_set_store(c, url.c_str());
  unsigned char key[VERIKIT_KEY_BYTES];
  verikit_key_generate(key, sizeof key);
  verikit_config_set_key(c, 1, key, sizeof key);
  // resend_same: an issue's completion opens the sealed live code (allocations on the store's thread)
  EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, "reissue", "resend_same"), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_policy_field(c, nullptr, "resend_cooldown", "0"), VERIKIT_OK);
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(c);
  return e;
}

// For n = 0, 1, 2, ...: the n-th allocation from the start of an issue, a re-issue and a
// wrong-code verify fails (on every thread, or only on the store's threads). Each call settles once; none
// is verified. Stops after `rounds` values of n.
void fail_each_allocation_in_turn(const std::string& url, bool other_threads_only, long rounds) {
  t_test_thread = true;
  verikit_engine* e = make_engine(url);
  ASSERT_NE(e, nullptr);
  Calls calls;
  for (long n = 0; n < rounds; ++n) {
    // A fresh identifier per round (no lockout from earlier rounds): issue, issue again (the live
    // code re-sent: the completion opens it), a wrong guess.
    const std::string who = "oom" + std::to_string(n) + "@example.com";
    for (int op = 0; op < 3; ++op) {
      Call call{&calls};
      g_other_threads_only = other_threads_only;
      g_countdown = n;
      if (op < 2) {
        EXPECT_EQ(verikit_otp_issue_async(e, "login", who.data(), who.size(), nullptr, on_result, &call), VERIKIT_OK);
      } else {
        EXPECT_EQ(verikit_otp_verify_async(e, "login", who.data(), who.size(), "000000", 6, nullptr, on_result, &call),
                  VERIKIT_OK);
      }
      std::unique_lock<std::mutex> lock(calls.m);
      const bool settled = calls.cv.wait_for(lock, std::chrono::seconds(30), [&] { return call.done; });
      g_countdown = -1;
      ASSERT_TRUE(settled) << "the call whose allocation " << n << " failed never called back (op " << op << ")";
    }
  }
  g_countdown = -1;
  verikit_engine_free(e);  // waits for every counted call: hangs (the test times out) if one was lost
  std::lock_guard<std::mutex> lock(calls.m);
  EXPECT_EQ(calls.settled, 3 * rounds);
  EXPECT_EQ(calls.twice, 0);
  EXPECT_EQ(calls.verified, 0) << "000000 was never the code: a failure must not verify it";
}

TEST(OutOfMemory, EveryAllocationOfAnEmbeddedCallCanFail) {
  fail_each_allocation_in_turn("memory://", false, 80);
}

TEST(OutOfMemory, EveryAllocationOfARedisCallCanFailOnTheCallersThread) {
  verikit::test::RedisServer server;
  fail_each_allocation_in_turn(server.url(), false, 80);
}

// The store's I/O thread runs the completion: an allocation failing there (building the result,
// opening the sealed code) was caught and the completion dropped, so the caller never heard back
// and verikit_engine_free waited for ever.
TEST(OutOfMemory, AnAllocationFailingOnTheStoreThreadStillCallsBack) {
  verikit::test::RedisServer server;
  fail_each_allocation_in_turn(server.url(), true, 60);
}

}  // namespace
