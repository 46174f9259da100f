// verikit — the embedded in-process store: thread-safe, every operation atomic, with an
// injectable clock. Expired records are reclaimed in bounded time (writes reap a few each, a
// reaper thread the rest every `reap_interval`), and a capacity bounds how many it holds.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "verikit/clock.hpp"
#include "verikit/store.hpp"

namespace verikit {

struct MemoryStoreOptions {
  // Records ((purpose, identifier) groups and client keys) the store holds at most; enforced
  // per shard (1/16 each). A write that needs a new record beyond it is refused with
  // store_unavailable ("full") after the due records are reaped.
  std::size_t capacity = 1'000'000;
  // How often the reaper thread drops expired records; 0: no thread (writes still reap).
  std::chrono::milliseconds reap_interval{1000};
};

// With no clock, MonotonicClock: durations (expiry, budgets, cooldowns) do not move with steps
// of the system clock.
std::shared_ptr<Store> make_memory_store(std::shared_ptr<const Clock> clock = nullptr, MemoryStoreOptions options = {});

struct MemoryStoreStats {
  std::size_t records = 0;   // live groups and client keys (expired ones not yet reaped included)
  std::size_t indexed = 0;   // entries of the expiry index
  std::size_t capacity = 0;
};
// For an embedded store (nothing for another store): its counts, and reaping on demand.
std::optional<MemoryStoreStats> memory_store_stats(Store& store);
std::size_t reap_expired(Store& store);

}  // namespace verikit
