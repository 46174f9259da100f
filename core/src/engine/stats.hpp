// verikit::detail — the engine's counters: operations by kind and outcome, errors by code, and
// latency histograms; rendered in the Prometheus text exposition format. Lock-free (atomics):
// counting costs an operation two clock reads and three relaxed increments.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "verikit/result.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

class EventBus;

enum class Op : int {
  otp_issue, otp_verify, token_issue, token_verify, token_peek, link_issue, link_peek, link_consume,
  otp_revoke, token_revoke, revoke_all, inspect, unlock, recovery_generate, recovery_use, recovery_count, totp_enroll, totp_verify,
  second_factors_revoke, totp_begin, totp_confirm, count_
};

class Stats {
 public:
  static constexpr int kOps = static_cast<int>(Op::count_);
  static constexpr int kOutcomes = 10;  // the nine Outcome values, and "done" (revoke, unlock: no outcome)
  static constexpr int kErrors = 11;    // -Errc: 1..10
  static constexpr std::array<long long, 12> kBucketsUs = {100, 250, 500, 1000, 2500, 5000, 10000,
                                                           25000, 50000, 100000, 250000, 1000000};

  // outcome: an Outcome value, or -1 for "done"; error: 0, or an Errc value.
  void record(Op op, int outcome, int error, std::chrono::steady_clock::duration took) noexcept;
  std::string prometheus() const;

  // Lifecycle events (engine/events.hpp): the engine's bus, attached once before the first
  // operation. Held here because every operation in flight holds its Stats: the bus it posts to
  // lives as long as the operation, with no reference of its own to count. Its delivered and
  // dropped counts are shown in prometheus().
  void attach_events(std::shared_ptr<EventBus> bus) noexcept { events_ = std::move(bus); }
  EventBus* events() const noexcept { return events_.get(); }

 private:
  using Counter = std::atomic<std::uint64_t>;
  std::array<std::array<Counter, kOutcomes>, kOps> outcomes_{};
  std::array<std::array<Counter, kErrors>, kOps> errors_{};
  std::array<std::array<Counter, kBucketsUs.size() + 1>, kOps> buckets_{};  // + the +Inf bucket
  std::array<Counter, kOps> sum_us_{};
  std::shared_ptr<EventBus> events_;  // null: no handler
};

// (An operation's counter, Tracked<T>, and track() are in engine/events.hpp: the same wrapper
// posts the operation's event.)

}  // namespace verikit::detail
