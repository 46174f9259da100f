// The event bus on its own: names, a handler that throws, posting after stop, and stop() called
// by the handler itself (the engine freed inside it): no further call, the rest dropped and counted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/events.hpp"

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
  for (int c = 0; c <= 3; ++c)
    for (int k = 0; k <= 9; ++k) {
      const std::string n = event_name(static_cast<Credential>(c), static_cast<EventKind>(k));
      EXPECT_EQ(n, std::string(to_string(static_cast<Credential>(c))) + "." + to_string(static_cast<EventKind>(k)));
      names.insert(n);
    }
  EXPECT_EQ(names.size(), 40u);
  EXPECT_STREQ(event_name(Credential::all, EventKind::revoked), "all.revoked");
  EXPECT_STREQ(event_name(static_cast<Credential>(4), EventKind::issued), "unknown");
}

TEST(EventBus, AThrowingHandlerIsContainedAndTagsAreKeyedAndStable) {
  auto stats = std::make_shared<Stats>();
  std::mutex m;
  std::vector<Event> seen;
  IndexKey key;
  key.index[0] = 1;
  {
    EventBus bus([&](const Event& e) {
      std::lock_guard<std::mutex> lock(m);
      seen.push_back(e);
      throw std::runtime_error("handler bug");
    }, 16, false, key, stats);
    bus.post(event("ann"));
    bus.post(event("ann"));
    bus.post(event("bo"));
  }  // destruction delivers what is queued
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(stats->events_delivered(), 3u);
  EXPECT_EQ(seen[0].identifier_tag, seen[1].identifier_tag);
  EXPECT_NE(seen[0].identifier_tag, seen[2].identifier_tag);
  EXPECT_EQ(seen[0].identifier_tag.size(), 32u);
  EXPECT_EQ(seen[0].identifier, "");
  IndexKey other;
  other.index[0] = 2;
  std::string other_tag;
  {
    EventBus bus([&](const Event& e) { other_tag = e.identifier_tag; }, 16, true, other, stats);
    bus.post(event("ann"));
  }
  EXPECT_NE(other_tag, seen[0].identifier_tag) << "another index key, another tag";
}

TEST(EventBus, PostsAfterStopAreDroppedAndCounted) {
  auto stats = std::make_shared<Stats>();
  std::atomic<int> calls{0};
  EventBus bus([&](const Event&) { ++calls; }, 16, false, IndexKey{}, stats);
  bus.post(event("a"));
  bus.stop();
  EXPECT_EQ(calls.load(), 1);
  bus.post(event("b"));
  bus.stop();  // idempotent
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(stats->events_dropped(), 1u);
}

TEST(EventBus, StopInsideTheHandlerEndsDeliveryAfterIt) {
  auto stats = std::make_shared<Stats>();
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
  }, 16, false, IndexKey{}, stats);
  self = &bus;
  bus.post(event("first"));
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  for (int i = 0; i < 3; ++i) bus.post(event("more"));
  {
    std::lock_guard<std::mutex> lock(m);
    more_posted = true;
  }
  cv.notify_all();
  EXPECT_TRUE(eventually([&] { return stats->events_dropped() == 3; }));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(stats->events_delivered(), 1u);
}

}  // namespace
}  // namespace verikit::detail
