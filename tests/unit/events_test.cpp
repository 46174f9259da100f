// The event bus on its own: names, a handler that throws, posting after stop, and stop() called
// by the handler itself (the engine freed inside it): no further call, the rest dropped and counted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <cstddef>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/events.hpp"
#include "verikit/process.hpp"
#include "verikit/engine.hpp"

namespace verikit::detail {
namespace {

using namespace std::chrono_literals;

PendingEvent event(const std::string& id) {
  PendingEvent e;
  e.text.assign("login", id, {});
  return e;
}

// Polls a condition (up to 20 s): the bus delivers on its own thread.
template <class F>
bool eventually(F&& f) {
  for (int i = 0; i < 4000 && !f(); ++i) std::this_thread::sleep_for(5ms);
  return f();
}

TEST(EventNames, CredentialDotKindForEveryPair) {
  std::set<std::string> names;
  for (int c = 0; c <= 6; ++c)
    for (int k = 0; k <= 9; ++k) {
      const std::string n = event_name(static_cast<Credential>(c), static_cast<EventKind>(k));
      EXPECT_EQ(n, std::string(to_string(static_cast<Credential>(c))) + "." + to_string(static_cast<EventKind>(k)));
      names.insert(n);
    }
  EXPECT_EQ(names.size(), 70u);
  EXPECT_STREQ(event_name(Credential::all, EventKind::revoked), "all.revoked");
  EXPECT_STREQ(event_name(Credential::second_factors, EventKind::revoked), "second_factors.revoked");
  EXPECT_STREQ(event_name(Credential::totp, EventKind::issued), "totp.issued");
  EXPECT_STREQ(event_name(Credential::recovery_code, EventKind::locked), "recovery_code.locked");
  EXPECT_STREQ(event_name(static_cast<Credential>(7), EventKind::issued), "unknown");
}

// The packed strings, short (inline) and long (one heap buffer), survive copies and moves.
TEST(EventText, PacksShortAndLongStringsAndSurvivesCopiesAndMoves) {
  const std::string long_id(kMaxIdentifierBytes, 'i'), long_client(kMaxClientKeyBytes, 'c');
  for (const auto& [purpose, id, client] : {std::tuple<std::string, std::string, std::string>{"login", "ann@example.com", ""},
                                           {"login", long_id, long_client}, {"", "", ""}, {"p", "", "10.0.0.1"}}) {
    EventText t;
    t.assign(purpose, id, client);
    EXPECT_EQ(t.purpose(), purpose);
    EXPECT_EQ(t.identifier(), id);
    EXPECT_EQ(t.client_key(), client);
    EventText copy(t);
    EventText moved(std::move(t));
    EventText assigned;
    assigned.assign("x", "y", "z");
    assigned = moved;
    for (const EventText* c : {&copy, &moved, &assigned}) {
      EXPECT_EQ(c->purpose(), purpose);
      EXPECT_EQ(c->identifier(), id);
      EXPECT_EQ(c->client_key(), client);
    }
    EventText short_again;
    short_again.assign("a", "b", "c");
    short_again = std::move(moved);  // a long one replaces a short one and the other way round
    EXPECT_EQ(short_again.identifier(), id);
    short_again.assign("a", "b", "c");
    EXPECT_EQ(short_again.identifier(), "b");
  }
}

// A completion names what the call did not know (a token's purpose and identifier) or did not
// copy (a subject the Result repeats), keeps what it did, and never loses the client key.
TEST(EventText, CompletionFillsInWhatTheCallDidNotKnowOrCopy) {
  Result r;
  r.outcome = Outcome::verified;
  r.purpose = "reset";
  r.identifier = std::string(300, 'x');
  // A token check: a purpose filter (here: any), no identifier, a client key.
  const ArmedEvent token(nullptr, EventContext{Credential::token, kAnyPurpose, {}, "10.0.0.1"}, true);
  EXPECT_TRUE(token.copied) << "a token check names no identifier: its purpose filter and client key are copied";
  EXPECT_EQ(token.text.purpose(), "");
  EXPECT_EQ(token.text.client_key(), "10.0.0.1");
  PendingEvent e;
  complete_event(e, token, r, std::chrono::steady_clock::now());
  EXPECT_EQ(e.credential, Credential::token);
  EXPECT_EQ(e.kind, EventKind::verified);
  EXPECT_EQ(e.text.purpose(), "reset");
  EXPECT_EQ(e.text.identifier(), r.identifier);
  EXPECT_EQ(e.text.client_key(), "10.0.0.1");

  // An OTP verify with a client key: the call's strings are copied (a client limit's refusal
  // names no subject) and kept.
  const ArmedEvent keyed(nullptr, EventContext{Credential::otp, "login", "ann", "10.0.0.2", 5}, true);
  EXPECT_TRUE(keyed.copied);
  EXPECT_EQ(keyed.text.identifier(), "ann");
  Result refusal;
  refusal.outcome = Outcome::rate_limited;
  refusal.retry_after = std::chrono::milliseconds(1500);
  PendingEvent limited;
  complete_event(limited, keyed, refusal, std::chrono::steady_clock::now());
  EXPECT_EQ(limited.kind, EventKind::rate_limited);
  EXPECT_EQ(limited.text.purpose(), "login");
  EXPECT_EQ(limited.text.identifier(), "ann");
  EXPECT_EQ(limited.text.client_key(), "10.0.0.2");
  EXPECT_EQ(limited.retry_after, std::chrono::milliseconds(1500));

  // An OTP verify without one: nothing copied at the call; the Result names the subject.
  const ArmedEvent plain(nullptr, EventContext{Credential::otp, "login", "ann", {}, 5}, true);
  EXPECT_FALSE(plain.copied);
  EXPECT_EQ(plain.text.identifier(), "") << "nothing copied at the call";
  r.outcome = Outcome::invalid;
  r.attempts_remaining = 3;
  r.purpose = "login";
  r.identifier = "ann";
  PendingEvent otp;
  complete_event(otp, plain, r, std::chrono::steady_clock::now());
  EXPECT_EQ(otp.kind, EventKind::invalid);
  EXPECT_EQ(otp.text.purpose(), "login");
  EXPECT_EQ(otp.text.identifier(), "ann");
  EXPECT_EQ(otp.text.client_key(), "");
  EXPECT_EQ(otp.attempts_used, 2);
  EXPECT_EQ(otp.attempts_remaining, 3);

  // Revoke and unlock answer no Result: their strings are always copied at the call.
  const ArmedEvent revoke(nullptr, EventContext{Credential::otp, "login", "ann"}, false);
  PendingEvent revoked;
  complete_event(revoked, revoke, 1, std::chrono::steady_clock::now());
  EXPECT_EQ(revoked.kind, EventKind::revoked);
  EXPECT_EQ(revoked.text.identifier(), "ann");
  EXPECT_EQ(revoked.count, 1);
}

// A text moved from is empty (its lengths too, not only its buffer): moving or copying it again
// reads nothing beyond the inline bytes, whether it held a long text or a short one.
TEST(EventText, AMovedFromTextIsEmptyAndMovesAgainSafely) {
  for (const std::string& id : {std::string(200, 'x'), std::string("ann")}) {
    EventText t;
    t.assign("login", id, "10.0.0.1");
    EventText moved(std::move(t));
    EXPECT_EQ(moved.identifier(), id);
    EXPECT_EQ(t.purpose(), "");  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    EXPECT_EQ(t.identifier(), "");
    EXPECT_EQ(t.client_key(), "");
    EventText again(std::move(t));
    EXPECT_EQ(again.identifier(), "");
    EventText copy(t);
    EXPECT_EQ(copy.client_key(), "");
    t.assign("p", id, {});  // a moved-from text takes new strings
    EXPECT_EQ(t.identifier(), id);
  }
}

// Long strings (not packed inline) reach the handler whole, and their tags are the same as a
// second post's: the event thread's reused Event holds nothing over from the event before.
TEST(EventBus, LongStringsAndTheReusedEventCarryNothingOver) {
  std::vector<Event> seen;
  const std::string long_id(kMaxIdentifierBytes, 'z'), long_client(kMaxClientKeyBytes, 'k');
  {
    EventBus bus([&](const Event& e) { seen.push_back(e); }, 16, true, IndexKey{});
    PendingEvent a;
    a.text.assign("login", long_id, long_client);
    bus.post(std::move(a));
    PendingEvent b;
    b.text.assign("", "ann", "");
    b.kind = EventKind::revoked;
    b.count = 2;
    bus.post(std::move(b));
    PendingEvent c;
    c.text.assign("login", long_id, long_client);
    bus.post(std::move(c));
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].identifier, long_id);
  EXPECT_EQ(seen[0].purpose, "login");
  EXPECT_EQ(seen[0].client_tag.size(), 32u);
  EXPECT_EQ(seen[1].purpose, "");
  EXPECT_EQ(seen[1].identifier, "ann");
  EXPECT_EQ(seen[1].client_tag, "") << "no client key, no client tag";
  EXPECT_EQ(seen[1].count, 2);
  EXPECT_NE(seen[1].identifier_tag, seen[0].identifier_tag);
  EXPECT_EQ(seen[2].identifier_tag, seen[0].identifier_tag);
  EXPECT_EQ(seen[2].client_tag, seen[0].client_tag);
  EXPECT_EQ(seen[2].count, -1);
}

// An event's time is taken by the steady clock at the outcome and turned into wall-clock time on
// the event thread: an outcome 5 s ago is stamped 5 s ago, whenever it is delivered.
TEST(EventBus, StampsTheWallClockTimeOfTheOutcome) {
  std::vector<TimePoint> seen;
  const auto steady_now = std::chrono::steady_clock::now();
  const auto wall_now = std::chrono::system_clock::now();
  {
    EventBus bus([&](const Event& e) { seen.push_back(e.at); }, 16, false, IndexKey{});
    PendingEvent a = event("ann");
    a.when = steady_now - 5s;
    bus.post(std::move(a));
    PendingEvent b = event("bo");
    b.when = steady_now;
    bus.post(std::move(b));
  }
  ASSERT_EQ(seen.size(), 2u);
  // (margins: the wall clock read before the bus's own reading, which is at most seconds later)
  EXPECT_LE(std::chrono::abs(seen[0] - (wall_now - 5s)), 2s);
  EXPECT_LE(std::chrono::abs(seen[1] - wall_now), 2s);
  EXPECT_LE(std::chrono::abs(seen[1] - seen[0] - 5000ms), 1ms) << "(rounded to ms, perhaps in two batches)";
}

TEST(EventBus, AThrowingHandlerIsContainedAndTagsAreKeyedAndStable) {
  std::mutex m;
  std::vector<Event> seen;
  IndexKey key;
  key.index[0] = 1;
  {
    EventBus bus([&](const Event& e) {
      std::lock_guard<std::mutex> lock(m);
      seen.push_back(e);
      throw std::runtime_error("handler bug");
    }, 16, false, key);
    bus.post(event("ann"));
    bus.post(event("ann"));
    bus.post(event("bo"));
    bus.stop();  // delivers what is queued
    EXPECT_EQ(bus.delivered(), 3u);
    EXPECT_EQ(bus.dropped(), 0u);
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].identifier_tag, seen[1].identifier_tag);
  EXPECT_NE(seen[0].identifier_tag, seen[2].identifier_tag);
  EXPECT_EQ(seen[0].identifier_tag.size(), 32u);
  EXPECT_EQ(seen[0].identifier, "");
  IndexKey other;
  other.index[0] = 2;
  std::string other_tag;
  {
    EventBus bus([&](const Event& e) { other_tag = e.identifier_tag; }, 16, true, other);
    bus.post(event("ann"));
  }
  EXPECT_NE(other_tag, seen[0].identifier_tag) << "another index key, another tag";
}

TEST(EventBus, PostsAfterStopAreDroppedAndCounted) {
  std::atomic<int> calls{0};
  EventBus bus([&](const Event&) { ++calls; }, 16, false, IndexKey{});
  bus.post(event("a"));
  bus.stop();
  EXPECT_EQ(calls.load(), 1);
  bus.post(event("b"));
  bus.stop();  // idempotent
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(bus.dropped(), 1u);
}

TEST(EventBus, StopInsideTheHandlerEndsDeliveryAfterIt) {
  std::mutex m;
  std::condition_variable cv;
  bool more_posted = false;
  std::atomic<int> calls{0};
  EventBus* self = nullptr;
  EventBus bus([&](const Event&) {
    ++calls;
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return more_posted; });
    self->stop();  // as verikit_engine_free called from the handler does
  }, 16, false, IndexKey{});
  self = &bus;
  bus.post(event("first"));
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  for (int i = 0; i < 3; ++i) bus.post(event("more"));
  {
    std::lock_guard<std::mutex> lock(m);
    more_posted = true;
  }
  cv.notify_all();
  EXPECT_TRUE(eventually([&] { return bus.dropped() == 3; }));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(bus.delivered(), 1u);
}

// The queue is a ring written by many threads at once, without a lock. Threads post into rings
// of several sizes (1, a power of two, neither), with a handler that stalls now and then so the
// ring fills: every event is delivered whole and once, or dropped and counted, and each thread's
// events arrive in the order it posted them.
TEST(EventBus, ManyThreadsIntoASmallRingLoseNothingUncountedAndMixNothing) {
  constexpr int kThreads = 4, kEach = 20000;
  const std::string long_tail(200, 'x');  // some events' text is too long to pack inline
  for (std::size_t capacity : {1u, 7u, 64u}) {
    std::vector<int> last(kThreads, -1);
    std::uint64_t seen = 0, broken = 0;
    std::uint64_t delivered = 0, dropped = 0;
    {
      EventBus bus([&](const Event& e) {  // (one thread calls it: no lock needed)
        ++seen;
        // identifier "t<thread>-<n>[-xxx...]", purpose "p<thread>", count n: all from one post
        const int t = e.identifier.size() > 1 ? e.identifier[1] - '0' : -1;
        const int n = e.count;
        const std::string want = "t" + std::to_string(t) + "-" + std::to_string(n) + (n % 5 == 0 ? "-" + long_tail : "");
        if (t < 0 || t >= kThreads || e.identifier != want || e.purpose != "p" + std::to_string(t) || n <= last[t]) ++broken;
        else last[t] = n;
        if (seen % 1000 == 0) std::this_thread::sleep_for(200us);  // the ring fills meanwhile
      }, capacity, true, IndexKey{});
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
          for (int n = 0; n < kEach; ++n) {
            PendingEvent e;
            e.text.assign("p" + std::to_string(t), "t" + std::to_string(t) + "-" + std::to_string(n) + (n % 5 == 0 ? "-" + long_tail : ""), {});
            e.count = n;
            bus.post(std::move(e));
            if (n % 8 == 0) std::this_thread::yield();  // (the event thread gets a turn on two cores)
          }
        });
      for (auto& th : threads) th.join();
      bus.stop();
      delivered = bus.delivered();
      dropped = bus.dropped();
    }
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    EXPECT_EQ(broken, 0u) << "an event torn, mixed with another, repeated or out of its thread's order";
    EXPECT_EQ(delivered, seen);
    EXPECT_EQ(delivered + dropped, std::uint64_t{kThreads} * kEach);
    EXPECT_GT(delivered, 0u);
  }
}

// stop() while threads post: every event is delivered (before stop() returns) or counted as
// dropped, none both, none neither, and the handler is never called after stop() returns.
TEST(EventBus, StopWhileThreadsPostCountsEveryEventOnce) {
  for (int round = 0; round < 60; ++round) {
    std::atomic<bool> stopped{false};
    std::atomic<std::uint64_t> calls{0}, late{0}, posted{0};
    EventBus bus([&](const Event&) {
      if (stopped.load()) late.fetch_add(1);
      calls.fetch_add(1);
    }, 16, false, IndexKey{});
    std::atomic<bool> go{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&] {
        while (go.load()) {
          bus.post(event("x"));
          posted.fetch_add(1);
        }
      });
    while (posted.load() < 2000) std::this_thread::yield();
    bus.stop();
    stopped.store(true);
    for (int i = 0; i < 1000; ++i) {  // posts after stop() returned
      bus.post(event("y"));
      posted.fetch_add(1);
    }
    go.store(false);
    for (auto& th : threads) th.join();
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_EQ(late.load(), 0u) << "the handler ran after stop() returned";
    EXPECT_EQ(bus.delivered(), calls.load());
    EXPECT_EQ(bus.delivered() + bus.dropped(), posted.load());
  }
}

// The event thread sleeps whenever nothing is queued; an event posted just as it goes to sleep
// must still wake it (no event waits for the next one). One event at a time from alternating
// threads, each waited for before the next: a lost wake-up leaves one undelivered.
TEST(EventBus, AnEventPostedAsTheThreadFallsAsleepIsDeliveredWithoutAnother) {
  std::atomic<int> calls{0};
  EventBus bus([&](const Event&) { calls.fetch_add(1); }, 4, false, IndexKey{});
  for (int i = 1; i <= 300; ++i) {
    std::thread([&] { bus.post(event("one")); }).join();
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50 * (i % 7)));
    ASSERT_TRUE(eventually([&] { return calls.load() == i; })) << "event " << i << " was not delivered";
  }
  EXPECT_EQ(bus.dropped(), 0u);
}

}  // namespace

// fork() while another thread posts: that thread may hold a slot it has taken but not yet
// published, which it never will in the child. The child's events must still be delivered, by
// the child's own event thread. (A "Fork." test: not run under the sanitizers, as the others.)
TEST(Fork, EventBusInAChildForkedWhileAnotherThreadPosts) {
  std::atomic<int> child_calls{0};
  std::atomic<bool> in_child{false};
  EventBus bus([&](const Event&) {
    if (in_child.load()) child_calls.fetch_add(1);
  }, 8, false, IndexKey{});
  std::atomic<bool> go{true};
  std::thread poster([&] {
    while (go.load()) bus.post(event("parent"));
  });
  for (int f = 0; f < 20; ++f) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      in_child.store(true);
      for (int i = 0; i < 3; ++i) bus.post(event("child"));
      for (int i = 0; i < 2000 && child_calls.load() < 3; ++i) std::this_thread::sleep_for(5ms);
      ::_exit(child_calls.load() == 3 ? 0 : 10 + child_calls.load());
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "fork " << f << ": the child's handler saw " << WEXITSTATUS(status) - 10 << " of 3";
  }
  go.store(false);
  poster.join();
}

namespace {

// Waits up to `seconds` for `pid` to end; kills it when it does not. Its wait status, or -1 (killed).
int wait_or_kill(pid_t pid, int seconds = 20) {
  int status = 0;
  for (int i = 0; i < 200 * seconds; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(5ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

// fork() called inside the handler: in the child, the event thread returns from the handler.
// There it must deliver none of the events still queued (the parent delivers them: a second
// delivery would log a sign-in twice), and must not touch the bus the child may have started
// over meanwhile: here, in one round, the child stops the bus from inside the handler (what
// freeing the engine there does), which leaves the child's bus with no ring at all.
TEST(Fork, AHandlerThatForksDeliversNothingMoreInTheChild) {
  for (const bool stop_in_child : {false, true}) {
    SCOPED_TRACE(stop_in_child ? "the child stops the bus in the handler" : "the child returns from the handler");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t parent = ::getpid();
    std::atomic<bool> all_posted{false};
    std::atomic<int> parent_calls{0};
    std::atomic<pid_t> child{0};
    EventBus* self = nullptr;
    EventBus bus([&](const Event& e) {
      if (::getpid() != parent) {  // a delivery in the child: reported through the pipe
        const char c = 'x';
        (void)!::write(fds[1], &c, 1);
        return;
      }
      if (e.identifier == "fork") {
        while (!all_posted.load()) std::this_thread::sleep_for(1ms);  // the rest is queued behind it
        const pid_t pid = ::fork();
        if (pid == 0) {
          if (stop_in_child) self->stop();
          return;  // the child's thread goes back into the bus
        }
        child.store(pid);
      }
      parent_calls.fetch_add(1);
    }, 16, true, IndexKey{});
    self = &bus;
    bus.post(event("fork"));
    for (int i = 0; i < 5; ++i) bus.post(event("after"));
    all_posted.store(true);
    ASSERT_TRUE(eventually([&] { return parent_calls.load() == 6; }));
    ASSERT_GT(child.load(), 0);
    const int status = wait_or_kill(child.load());
    ::close(fds[1]);
    ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    char buf[64];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    EXPECT_LE(got, 0) << "the child delivered " << got << " of the parent's queued events";
    // Its one thread ended: the child exits as a process whose last thread returns does.
    EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << (status == -1 ? "the child did not end in 20 s" : "the child ended with wait status " + std::to_string(status));
    EXPECT_EQ(bus.dropped(), 0u);
  }
}

// Adopts `tag` for this process (the one Restart type, as every object of one kind has): the
// restart says it has begun (1), then waits until `state` is 2.
void adopt_waiting(ProcessTag& tag, std::atomic<int>& state) {
  adopt_after_fork(tag, [&] {
    if (state.load() == 0) state.store(1);
    while (state.load() != 2) std::this_thread::sleep_for(1ms);
  });
}

// A forked child's thread is adopting an object (holding the adoption lock) when another
// thread of the child forks: the grandchild inherits that lock held by a thread it does not
// have. Its own first adoption must not wait for it forever.
TEST(Fork, AGrandchildForkedWhileItsParentAdoptsAdoptsToo) {
  ProcessTag first, second;  // this process's: adopted in the children below
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::atomic<int> state{0};
    std::thread adopter([&] { adopt_waiting(first, state); });
    while (state.load() != 1) std::this_thread::sleep_for(1ms);  // the adopter holds the lock
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      std::atomic<int> go{2};
      adopt_waiting(second, go);
      ::_exit(second.forked() ? 3 : 0);
    }
    state.store(2);
    adopter.join();
    if (grandchild < 0) ::_exit(4);
    const int status = wait_or_kill(grandchild, 10);  // (before the parent gives up on this child)
    ::_exit(status == -1 ? 5 : WIFEXITED(status) ? WEXITSTATUS(status) : 6);
  }
  const int status = wait_or_kill(child);
  ASSERT_NE(status, -1) << "the child did not end in 20 s";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << (WEXITSTATUS(status) == 5 ? "the grandchild waited for the inherited lock"
                                                                  : "exit code " + std::to_string(WEXITSTATUS(status)));
}

// Makes every later clone()/clone3() of this process fail with EAGAIN (no new thread can start),
// as a process at its thread limit sees. False: the filter could not be installed.
bool forbid_new_threads() {
#if defined(__x86_64__)
  constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
  constexpr unsigned kArch = 0;  // no filter matches: threads still start, and the test says so (exit 3)
#endif
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// The event thread cannot start (no thread can: the process is at its limit): every event is
// dropped and counted, none is delivered, nothing throws or crashes, and stop() returns. In a
// child, whose thread creation a seccomp filter refuses.
TEST(Fork, AnEventThreadThatCannotStartDropsAndCountsEveryEvent) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!forbid_new_threads()) ::_exit(2);
    bool refused = false;
    try {
      std::thread([] {}).join();
    } catch (const std::system_error&) {
      refused = true;
    }
    if (!refused) ::_exit(3);  // the filter does not stop threads: the test would prove nothing
    std::atomic<int> calls{0};
    {
      EventBus bus([&](const Event&) { calls.fetch_add(1); }, 8, false, IndexKey{});
      for (int i = 0; i < 50; ++i) bus.post(event("nobody"));
      if (bus.dropped() != 50 || bus.delivered() != 0) ::_exit(4);
      bus.stop();
      if (bus.dropped() != 50 || bus.delivered() != 0) ::_exit(5);
    }
    ::_exit(calls.load() == 0 ? 0 : 6);
  }
  const int status = wait_or_kill(pid);
  ASSERT_NE(status, -1) << "the child did not end in 20 s";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "exit code " << WEXITSTATUS(status)
                                    << " (2: no filter, 3: threads still start, 4/5: counts, 6: a handler call)";
}

}  // namespace verikit::detail
