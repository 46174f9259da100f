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
#include <filesystem>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/redis_cluster.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "verikit.h"

namespace {
std::atomic<bool> g_armed{false};               // allocations are counted (and some fail)
std::atomic<long> g_countdown{0};               // allocations left before the failing ones
std::atomic<long> g_burst{1};                   // how many allocations in a row fail from there
std::atomic<bool> g_other_threads_only{false};  // fail only on threads other than the test's
thread_local bool t_test_thread = false;

// From now on, allocation n (0: the next) and the burst - 1 after it fail.
void fail_from(long n) {
  g_countdown = n;
  g_armed = true;
}
void fail_none() { g_armed = false; }
}  // namespace

void* operator new(std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed) && !(g_other_threads_only.load() && t_test_thread)) {
    const long left = g_countdown.fetch_sub(1);
    if (left <= 0 && left > -g_burst.load()) throw std::bad_alloc();
  }
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
  static unsigned char key[VERIKIT_KEY_BYTES];  // one key for every engine: the key check passes
  static const bool made = verikit_key_generate(key, sizeof key) == VERIKIT_OK;
  EXPECT_TRUE(made);
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
  fail_from(n);
  if (issue)
    EXPECT_EQ(verikit_otp_issue_async(e, "login", who.data(), who.size(), nullptr, on_result, &call), VERIKIT_OK);
  else
    EXPECT_EQ(verikit_otp_verify_async(e, "login", who.data(), who.size(), "000000", 6, nullptr, on_result, &call),
              VERIKIT_OK);
  std::unique_lock<std::mutex> lock(calls.m);
  const bool settled = calls.cv.wait_for(lock, std::chrono::seconds(30), [&] { return call.done; });
  fail_none();
  return settled;
}

// For n = 0, 1, 2, ...: the n-th allocation from the start of an issue, a re-issue and a
// wrong-code verify fails (on every thread, or only on the store's threads), and the burst - 1
// after it (what handles the first failure cannot allocate either). Each call settles once; none
// is verified. Stops after `rounds` values of n.
void fail_each_allocation_in_turn(const std::string& url, bool other_threads_only, long rounds, long burst = 1) {
  t_test_thread = true;
  g_burst = burst;
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
  fail_none();
  verikit_engine_free(e);  // waits for every counted call: hangs (the test times out) if one was lost
  std::lock_guard<std::mutex> lock(calls.m);
  EXPECT_EQ(calls.settled, 3 * rounds);
  EXPECT_EQ(calls.twice, 0);
  EXPECT_EQ(calls.verified, 0) << "000000 was never the code: a failure must not verify it";
}

TEST(OutOfMemory, EveryAllocationOfAnEmbeddedCallCanFail) {
  fail_each_allocation_in_turn("memory://", false, 80);
}

void free_failing_in_turn(const std::string& url, long rounds);

// The file store (LMDB in a folder of the test's own): its calls, alone and in runs of failures,
// and its engine freed while memory runs out.
TEST(OutOfMemory, EveryAllocationOfAFileStoreCallCanFail) {
  char dir[] = "/tmp/verikit-oom-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string url = std::string("file://") + dir;
  fail_each_allocation_in_turn(url, false, 80);
  fail_each_allocation_in_turn(url, false, 60, 6);
  free_failing_in_turn(url, 40);
  std::filesystem::remove_all(dir);
}

TEST(OutOfMemory, EveryAllocationOfARedisCallCanFailOnTheCallersThread) {
  verikit::test::RedisServer server;
  fail_each_allocation_in_turn(server.url(), false, 80);
}

// The synchronous forms wait for the same completion: when the store's thread drops it (memory
// ran out while the answer was made, and the exception was caught there), the waiting caller is
// answered (VERIKIT_E_INTERNAL) instead of waiting for ever. Each call runs on a thread of its
// own, watched for 30 s; the failures hit the store's threads only.
void sync_calls_failing_in_turn(const std::string& url, long rounds, long burst) {
  t_test_thread = true;
  g_burst = burst;
  verikit_engine* e = make_engine(url);
  ASSERT_NE(e, nullptr);
  int failed = 0;
  for (long n = 0; n < rounds; ++n) {
    const std::string who = "oom-sync" + std::to_string(n) + "@example.com";
    for (int op = 0; op < 3; ++op) {
      struct Call {
        std::mutex m;
        std::condition_variable cv;
        bool returned = false;
        int rc = VERIKIT_OK, status = -1;
      };
      auto call = std::make_shared<Call>();
      std::thread([call, e, who, op, n] {
        t_test_thread = true;
        g_other_threads_only = true;
        fail_from(n);
        verikit_result* r = nullptr;
        const int rc = op < 2 ? verikit_otp_issue(&r, e, "login", who.data(), who.size(), nullptr)
                              : verikit_otp_verify(&r, e, "login", who.data(), who.size(), "000000", 6, nullptr);
        fail_none();
        int status = -1;
        if (rc == VERIKIT_OK) verikit_result_status(r, &status);
        verikit_result_free(r);
        std::lock_guard<std::mutex> lock(call->m);
        call->rc = rc;
        call->status = status;
        call->returned = true;
        call->cv.notify_all();
      }).detach();
      std::unique_lock<std::mutex> lock(call->m);
      ASSERT_TRUE(call->cv.wait_for(lock, std::chrono::seconds(30), [&] { return call->returned; }))
          << "a synchronous call whose store-side allocation " << n << " failed never returned (op " << op << ")";
      if (call->rc != VERIKIT_OK) ++failed;
      if (op == 2) EXPECT_TRUE(call->rc != VERIKIT_OK || call->status != VERIKIT_STATUS_VERIFIED) << "000000 verified";
    }
  }
  verikit_engine_free(e);
  EXPECT_GT(failed, 0) << "no failure reached a call: the test missed what it is for";
}

TEST(OutOfMemory, ASynchronousCallIsAnsweredWhenItsCompletionIsDropped) {
  verikit::test::RedisServer server;
  sync_calls_failing_in_turn(server.url(), 60, 1);
  sync_calls_failing_in_turn(server.url(), 60, 6);
}

// verikit_engine_free while memory runs out: from allocation n on, 6 in a row fail (on every
// thread) during the free of an engine that has talked to its store. The free stops the store's
// threads and fails what is queued: it must neither end the process (a Cluster/Sentinel stop
// collected its clients into a new vector, under noexcept) nor hang.
void free_failing_in_turn(const std::string& url, long rounds) {
  t_test_thread = true;
  g_burst = 6;
  g_other_threads_only = false;
  for (long n = 0; n < rounds; ++n) {
    verikit_engine* e = make_engine(url);
    ASSERT_NE(e, nullptr);
    Calls calls;
    const std::string who = "oom-free" + std::to_string(n) + "@example.com";
    ASSERT_TRUE(call_failing_at(e, calls, who, true, 1 << 30));  // (nothing fails: connected, warmed)
    fail_from(n);
    verikit_engine_free(e);
    fail_none();
  }
}

TEST(OutOfMemory, AnEngineFreedWhileMemoryRunsOutStops) {
  verikit::test::RedisServer server;
  free_failing_in_turn(server.url(), 40);
}

// Memory stays short for a while: what handles a failure (the I/O loop's report, a completion's
// error) fails too. The I/O thread's report of an exception built its message outside its guard,
// so a second failure there ended the process (std::terminate), one run in 30 of the test above.
TEST(OutOfMemory, AllocationsFailingInARowOnTheStoreThreadStillCallBack) {
  verikit::test::RedisServer server;
  fail_each_allocation_in_turn(server.url(), true, 60, 6);
}

TEST(OutOfMemory, AllocationsFailingInARowAnywhereStillCallBack) {
  verikit::test::RedisServer server;
  fail_each_allocation_in_turn(server.url(), false, 60, 6);
  fail_each_allocation_in_turn("memory://", false, 60, 6);
}

// A verify of many in flight at once, its result kept.
struct Verify {
  std::mutex* m;
  std::condition_variable* cv;
  int* left;
  int err = VERIKIT_OK;
  int status = -1;
  int calls = 0;
};
void on_verify(void* user, int err, const char*, verikit_result* r) {
  auto* v = static_cast<Verify*>(user);
  int status = -1;
  if (err == VERIKIT_OK && r != nullptr) verikit_result_status(r, &status);
  verikit_result_free(r);
  std::lock_guard<std::mutex> lock(*v->m);
  v->err = err;
  v->status = status;
  if (v->calls++ == 0) --*v->left;
  v->cv->notify_all();
}

// Issues a code with no allocation failing and returns it; empty if none could be had in 10 s
// (after a failure the connection is made again: until then calls fail fast, and are retried).
std::string issue_code(verikit_engine* e, const std::string& who) {
  struct Issued {
    std::mutex m;
    std::condition_variable cv;
    std::string code;
    bool done = false;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    Issued issued;
    if (verikit_otp_issue_async(
            e, "login", who.data(), who.size(), nullptr,
            [](void* user, int err, const char*, verikit_result* r) {
              auto* is = static_cast<Issued*>(user);
              const char* data = nullptr;
              std::size_t len = 0;
              std::string got;
              if (err == VERIKIT_OK && verikit_result_secret(r, &data, &len) == VERIKIT_OK) got.assign(data, len);
              verikit_result_free(r);
              std::lock_guard<std::mutex> lock(is->m);
              is->code = got;
              is->done = true;
              is->cv.notify_all();
            },
            &issued) != VERIKIT_OK)
      return {};
    std::unique_lock<std::mutex> lock(issued.m);
    if (!issued.cv.wait_for(lock, std::chrono::seconds(30), [&] { return issued.done; })) return {};
    if (!issued.code.empty()) return issued.code;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

// Many calls in flight at once while allocations fail in bursts on the store's threads: requests
// move from the submission queue to the backlog and onto a connection in batches, and a failure
// part way through a batch must neither send a request twice nor lose one. (A moved-from
// request left in the queue went out as a slot with no bytes: each reply after it was handed to
// the caller of the request before.) Right and wrong codes are verified side by side: a wrong
// code is never verified, a right one never reads as wrong; each call settles once.
void never_mix_up_replies(const std::string& url, long rounds) {
  t_test_thread = true;
  verikit_engine* e = make_engine(url);
  ASSERT_NE(e, nullptr);
  constexpr int kBatch = 24;
  const long kRounds = rounds;
  Calls calls;
  int wrong_verified = 0, right_read_as_wrong = 0, errors = 0;
  for (long round = 0; round < kRounds; ++round) {
    std::vector<std::string> who(kBatch), code(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      who[i] = "burst" + std::to_string(round) + "-" + std::to_string(i) + "@example.com";
      code[i] = issue_code(e, who[i]);
      ASSERT_EQ(code[i].size(), 6u) << who[i];
    }
    std::mutex m;
    std::condition_variable cv;
    int left = kBatch;
    std::vector<Verify> verifies(kBatch, Verify{&m, &cv, &left});
    g_other_threads_only = true;
    g_burst = 1 + round % 5;
    fail_from(round % 60);
    for (int i = 0; i < kBatch; ++i) {
      std::string guess = code[i];
      if (i % 2 == 1) guess[0] = guess[0] == '9' ? '0' : static_cast<char>(guess[0] + 1);  // a wrong code
      ASSERT_EQ(verikit_otp_verify_async(e, "login", who[i].data(), who[i].size(), guess.data(), guess.size(),
                                         nullptr, on_verify, &verifies[i]),
                VERIKIT_OK);
    }
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return left == 0; }))
        << left << " of round " << round << "'s verifies never called back";
    fail_none();
    for (int i = 0; i < kBatch; ++i) {
      EXPECT_EQ(verifies[i].calls, 1) << "round " << round << ", call " << i;
      if (verifies[i].err != VERIKIT_OK) {
        ++errors;
        continue;
      }
      if (i % 2 == 1 && verifies[i].status == VERIKIT_STATUS_VERIFIED) ++wrong_verified;
      if (i % 2 == 0 && verifies[i].status != VERIKIT_STATUS_VERIFIED) ++right_read_as_wrong;
    }
  }
  verikit_engine_free(e);
  EXPECT_EQ(wrong_verified, 0);
  EXPECT_EQ(right_read_as_wrong, 0);
  EXPECT_GT(errors, 0) << "no allocation failure reached a call: the test missed what it is for";
}

TEST(OutOfMemory, BurstsOfFailuresWithManyCallsInFlightNeverMixUpReplies) {
  verikit::test::RedisServer server;
  never_mix_up_replies(server.url(), 120);
}

// Every kind of failure above, on one routed store (Cluster or Sentinel): requests go through the
// routing layer (its thread, its retries, its redirections) before a node's client; whatever
// fails there, each call settles once, through the store's threads or the caller's.
void every_failure_through(const std::string& url) {
  fail_each_allocation_in_turn(url, true, 60, 1);
  fail_each_allocation_in_turn(url, true, 60, 6);
  fail_each_allocation_in_turn(url, false, 60, 6);
  never_mix_up_replies(url, 80);
  free_failing_in_turn(url, 40);
}

TEST(OutOfMemory, ThroughARedisClusterEveryCallSettlesOnceAndNoneMixUp) {
  verikit::test::RedisCluster cluster({.primaries = 3, .replicas_per_primary = 0});
  every_failure_through(cluster.url());
}

// And through Sentinel: the follower asks the Sentinels for the primary on the routing thread.
TEST(OutOfMemory, ThroughSentinelEveryCallSettlesOnceAndNoneMixUp) {
  verikit::test::RedisSentinelGroup group;
  group.wait_until_ready();
  every_failure_through(group.url());
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
  fail_none();
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
