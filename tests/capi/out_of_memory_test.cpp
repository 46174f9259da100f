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
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

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

std::atomic<std::uint64_t> g_handled{0};  // events handed to check_event
std::atomic<std::uint64_t> g_garbled{0};  // ... that did not name one of the test's identifiers whole
void check_event(void*, const verikit_event* event) {
  g_handled.fetch_add(1);
  const char* id = nullptr;
  std::size_t len = 0;
  const std::string_view head = "oom-event", tail = "@example.com";
  if (verikit_event_identifier(event, &id, &len) != VERIKIT_OK) return (void)g_garbled.fetch_add(1);
  const std::string_view got(id, len);
  if (got.size() < 300 || got.substr(0, head.size()) != head || got.substr(got.size() - tail.size()) != tail)
    g_garbled.fetch_add(1);
}

verikit_engine* make_engine(const std::string& url, verikit_event_handler handler = nullptr) {
  verikit_config* c = nullptr;
  EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
  verikit_config_set_store(c, url.c_str());
  if (handler != nullptr) {
    EXPECT_EQ(verikit_config_set_event_handler(c, handler, nullptr), VERIKIT_OK);
    EXPECT_EQ(verikit_config_set_events_include_identifier(c, 1), VERIKIT_OK);
  }
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

// One call (an issue, or a wrong guess) with the n-th allocation from its start failing (on every
// thread, or only on threads other than the caller's); waits for its callback. False: it never came.
bool call_failing_at(verikit_engine* e, Calls& calls, const std::string& who, bool issue, long n,
                     bool other_threads_only = false) {
  Call call{&calls};
  g_other_threads_only = other_threads_only;
  g_countdown = n;
  if (issue)
    EXPECT_EQ(verikit_otp_issue_async(e, "login", who.data(), who.size(), nullptr, on_result, &call), VERIKIT_OK);
  else
    EXPECT_EQ(verikit_otp_verify_async(e, "login", who.data(), who.size(), "000000", 6, nullptr, on_result, &call),
              VERIKIT_OK);
  std::unique_lock<std::mutex> lock(calls.m);
  const bool settled = calls.cv.wait_for(lock, std::chrono::seconds(30), [&] { return call.done; });
  g_countdown = -1;
  return settled;
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
    for (int op = 0; op < 3; ++op)
      ASSERT_TRUE(call_failing_at(e, calls, who, op < 2, n, other_threads_only))
          << "the call whose allocation " << n << " failed never called back (op " << op << ")";
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

// The events an engine has made, by its own counters: one per operation counted with an outcome
// that has an event (every OTP issue's and verify's but a peek's "valid"). An operation's
// counter and its event are taken in the same step, before its callback runs.
// (The text holds the events delivered so far, which may grow between sizing it and writing it:
// then the buffer is too small and the call is made again with the size it asked for.)
std::uint64_t events_made(verikit_engine* e) {
  std::size_t needed = 0;
  verikit_engine_metrics(e, nullptr, 0, &needed);
  std::string text;
  int rc = VERIKIT_E_INVALID_ARGUMENT;
  for (int tries = 0; tries < 100 && rc != VERIKIT_OK; ++tries) {
    text.assign(needed, '\0');
    rc = verikit_engine_metrics(e, text.data(), text.size(), &needed);
  }
  EXPECT_EQ(rc, VERIKIT_OK);
  std::uint64_t made = 0;
  std::istringstream in(text.c_str());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("verikit_operations_total{op=\"otp_", 0) != 0) continue;
    if (line.find("outcome=\"valid\"") != std::string::npos || line.find("outcome=\"done\"") != std::string::npos) continue;
    made += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  return made;
}

// An event's own allocations fail too: the text of an identifier too long for a queue slot's
// inline bytes is allocated on the operation's path (into the slot), the event's strings on the
// event thread. Whichever fails, the event is delivered or counted as dropped: never lost
// uncounted, never delivered twice, never delivered with a text it does not have; and each call
// still settles once.
TEST(OutOfMemory, AnEventWhoseAllocationFailsIsCountedAsDropped) {
  t_test_thread = true;
  verikit_engine* e = make_engine("memory://", check_event);
  ASSERT_NE(e, nullptr);
  Calls calls;
  const std::string long_tail(300, 'x');  // (beyond the 120 bytes a slot holds inline)
  constexpr long kRounds = 60;
  for (long n = 0; n < kRounds; ++n) {
    const std::string who = "oom-event" + std::to_string(n) + "-" + long_tail + "@example.com";
    for (int op = 0; op < 2; ++op)  // an issue, then a wrong guess
      ASSERT_TRUE(call_failing_at(e, calls, who, op == 0, n))
          << "the call whose allocation " << n << " failed never called back (op " << op << ")";
  }
  g_countdown = -1;
  const std::uint64_t made = events_made(e);
  std::uint64_t delivered = 0, dropped = 0;
  for (int i = 0; i < 4000; ++i) {
    ASSERT_EQ(verikit_engine_event_counts(e, &delivered, &dropped), VERIKIT_OK);
    if (delivered + dropped >= made) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // (nothing more may come)
  ASSERT_EQ(verikit_engine_event_counts(e, &delivered, &dropped), VERIKIT_OK);
  EXPECT_EQ(delivered + dropped, made) << delivered << " delivered, " << dropped << " dropped";
  EXPECT_EQ(g_handled.load(), delivered);
  EXPECT_EQ(g_garbled.load(), 0u) << "an event whose text could not be written was delivered";
  EXPECT_GT(dropped, 0u) << "no event's allocation failed: the test missed the path it is for";
  EXPECT_GT(delivered, 0u);
  verikit_engine_free(e);
  std::lock_guard<std::mutex> lock(calls.m);
  EXPECT_EQ(calls.settled, 2 * kRounds);
  EXPECT_EQ(calls.twice, 0);
  EXPECT_EQ(calls.verified, 0);
}

}  // namespace
