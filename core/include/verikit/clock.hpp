// verikit — the injectable clock used by the embedded store (Redis uses the server's TIME).
#pragma once

#include <atomic>
#include <chrono>

namespace verikit {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
};

// The system clock's time at construction, moved on by the steady clock: a step of the system
// clock (NTP, an administrator) neither shortens nor lengthens a lockout, an expiry or a window.
class MonotonicClock final : public Clock {
 public:
  MonotonicClock()
      : wall_(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())),
        start_(std::chrono::steady_clock::now()) {}
  TimePoint now() const override {
    return wall_ + std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
  }

 private:
  TimePoint wall_;
  std::chrono::steady_clock::time_point start_;
};

// A clock that only moves when told to: for tests (advance time, never sleep). Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::milliseconds(1'700'000'000'000)))
      : ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(ms_.load())); }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  void set(TimePoint t) { ms_ = t.time_since_epoch().count(); }

 private:
  std::atomic<long long> ms_;
};

}  // namespace verikit
