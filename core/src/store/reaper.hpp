// verikit::detail::Reaper — the thread of an embedded store (memory://, file://) that drops
// expired records every so often, until stopped; fork-aware (see verikit/process.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "verikit/process.hpp"

namespace verikit::detail {

class Reaper {
 public:
  Reaper() = default;
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  ~Reaper() { stop(); }

  // Runs work() every `every` on a thread of this process's own, until stop(); nothing when
  // `every` is zero. Once per Reaper, or again after stop() in a forked child.
  void start(std::chrono::milliseconds every, std::function<void()> work) {
    if (every.count() <= 0) return;
    process_.adopt();
    stopping_ = false;
    thread_ = std::thread([this, every, work = std::move(work)] {
      name_this_thread("verikit-reaper");
      std::unique_lock<std::mutex> lock(mutex_);
      while (!cv_.wait_for(lock, every, [this] { return stopping_; })) {
        lock.unlock();
        work();
        lock.lock();
      }
    });
  }

  // Ends the thread: wakes it and joins it. In a forked child the thread is the parent's: it is
  // forgotten, not joined, and no lock is taken (one of the parent's threads may have held it at
  // the fork); the lock and the condition variable are renewed (destroying a condition variable
  // a thread of the parent was waiting on would wait for it).
  void stop() noexcept {
    if (process_.forked()) {
      abandon_thread(thread_);
      renew_in_place(mutex_);
      renew_in_place(cv_);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  ProcessTag process_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace verikit::detail
