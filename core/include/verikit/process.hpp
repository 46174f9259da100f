// verikit::detail — fork detection. After fork() the child has a copy of the parent's memory
// but only the thread that called fork(): every other thread an object started (a Redis
// client's I/O thread, the events dispatcher, the memory store's reaper) does not exist there,
// and a mutex one of them held stays locked. Objects that own threads tag themselves with the
// process they were made in and, in another process, start over instead of waiting for those.
//
// How a fork is noticed: a counter of forks, incremented in the child by a pthread_atfork
// handler (registered once per process, before the first tag exists), compared with the value
// the tag recorded. That costs one relaxed atomic load per check, where getpid() would cost a
// system call (~150 ns measured here: glibc no longer caches the pid) on every operation of the
// embedded store. fork() (and so Python's os.fork, multiprocessing, gunicorn, uWSGI, Celery)
// runs the handlers; a raw clone() system call does not and is not supported. glibc removes
// the handler when the library is unloaded (dlclose).
#pragma once

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>

namespace verikit::detail {

// Makes `object` new in place without destroying the old one: for the parent's locks, condition
// variables and containers in a forked child (a thread of the parent may have held or been
// changing them at the fork; whatever they own is left, unreachable).
template <class T>
void renew_in_place(T& object) noexcept {
  new (&object) T();
}

// The lock a forked child's threads take to adopt an object (adopt_after_fork): one for every
// object, taken only in forked children. Recursive: adopting one object may adopt another (the
// file store adopts its environments' registry).
inline std::recursive_mutex& adopting_lock() noexcept {
  static std::recursive_mutex lock;
  return lock;
}

// How many forks lie between the first process that loaded verikit and this one.
inline std::uint64_t fork_generation() noexcept {
  static std::atomic<std::uint64_t> generation{0};
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] {
      // Only the forking thread exists here. Another thread of the parent (itself a forked
      // child) may have been adopting an object: the lock it held is made new, or this child's
      // first adoption would wait for it forever. (What that thread left half done, this
      // child redoes: its tag still says "forked".)
      renew_in_place(adopting_lock());
      generation.fetch_add(1, std::memory_order_relaxed);
    });
    return true;
  }();
  (void)registered;
  return generation.load(std::memory_order_relaxed);
}

// The process an object was made in (or last adopted by).
class ProcessTag {
 public:
  ProcessTag() noexcept : generation_(fork_generation()) {}
  // Whether this is another process: a child forked since the tag was made (or adopted).
  bool forked() const noexcept { return generation_.load(std::memory_order_acquire) != fork_generation(); }
  // Records that this process now owns the object (it has started its own threads).
  void adopt() noexcept { generation_.store(fork_generation(), std::memory_order_release); }

 private:
  std::atomic<std::uint64_t> generation_;
};

// Ends the calling thread at once. For a thread of the parent's copied into a forked child
// because a callback it ran called fork() and returned there: its frames hold the parent's
// objects (requests and their callbacks, sockets, events), which must be neither used nor
// destroyed in the child, so nothing unwinds and no exit handler runs. The child's other threads
// go on; if it was the child's only thread, the child exits with status 0 as by _exit(0) (no
// atexit handlers, no flush of the stdio buffers copied from the parent).
[[noreturn]] inline void end_forked_thread() noexcept {
  for (;;) ::syscall(SYS_exit, 0);
}

// Names the calling thread (at most 15 bytes; what `top -H`, `ps -L`, gdb and /proc show):
// each thread verikit starts is "verikit-" and its job ("verikit-redis", "verikit-route",
// "verikit-events", "verikit-reaper", "verikit-stop"). The binding tests' allocation-failure
// shim (tests/support/fail_new_preload.cpp) tells verikit's threads from the runtime's by it.
inline void name_this_thread(const char* name) noexcept { ::pthread_setname_np(::pthread_self(), name); }

// The threads of verikit's that run the application's callbacks (the event thread, the Redis
// client's I/O thread, the Cluster/Sentinel routing thread): a callback may call fork() and
// return in the child, on that thread's copy. Marked when it starts, such a thread checks after
// each callback and, in a child, ends at once (end_forked_thread).
inline thread_local bool t_runs_callbacks = false;
inline thread_local std::uint64_t t_callbacks_generation = 0;

inline void mark_callback_thread() noexcept {
  t_runs_callbacks = true;
  t_callbacks_generation = fork_generation();
}

// The threads that run a store's I/O and its completions (the Redis client's I/O thread, the
// Cluster/Sentinel routing thread; not the event thread): a synchronous call that waited there,
// on any engine, could wait for the very thread it holds (one engine's completion calling another
// engine whose completion calls the first: both threads stopped for good; found by a review).
// Such a thread runs callbacks too: marking it marks both.
inline thread_local bool t_store_io_thread = false;

inline void mark_store_io_thread() noexcept {
  mark_callback_thread();
  t_store_io_thread = true;
}

// Whether the calling thread is one of those (in this process: a forked child's copy of one is not).
inline bool on_store_io_thread() noexcept {
  return t_store_io_thread && t_callbacks_generation == fork_generation();
}

inline void end_if_forked_by_callback() noexcept {
  if (t_runs_callbacks && fork_generation() != t_callbacks_generation) end_forked_thread();
}

// Forgets a std::thread whose thread belongs to the process before a fork: joining it would wait
// forever, detaching it would free memory the child reuses, destroying it joinable terminates.
// The handle is moved into storage that is never destroyed (nothing is allocated).
inline void abandon_thread(std::thread& t) noexcept {
  if (!t.joinable()) return;
  union Forgotten {
    Forgotten() {}
    ~Forgotten() {}
    std::thread thread;
  } forgotten;
  new (&forgotten.thread) std::thread(std::move(t));
}

// adopt_after_fork in a forked child (out of line: the check before it is on hot paths).
template <class Restart>
[[gnu::noinline]] void adopt_in_child(ProcessTag& tag, Restart& restart) noexcept {
  std::lock_guard<std::recursive_mutex> guard(adopting_lock());
  if (!tag.forked()) return;
  restart();
  tag.adopt();
}

// In a forked child, runs `restart` once (the first of the child's threads to get here does it,
// the others wait for it), then marks `tag` adopted. A no-op in the process that made the tag:
// two loads and a branch, inline.
template <class Restart>
inline void adopt_after_fork(ProcessTag& tag, Restart&& restart) noexcept {
  if (!tag.forked()) [[likely]] return;
  adopt_in_child(tag, restart);
}

}  // namespace verikit::detail
