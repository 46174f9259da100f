// Allocation failures on verikit's own threads inside a Python or Node process: a library the
// binding tests put in LD_PRELOAD. It replaces the global operator new (which libverikit, the
// Python extension and the Node addon call; the interpreters' own C allocations do not go through
// it) and, while armed, makes allocations fail on the threads verikit starts (their names begin
// "verikit-": detail::name_this_thread), where verikit's own code asks for them (the caller is in
// a file whose name has "verikit" in it: libverikit, the extension, the addon), by a pattern read
// once from the environment:
//
//   VERIKIT_FAIL_NEW=period,burst[,main]
//
// Of every `period` allocations counted from the arming, the first `burst` fail. With ",main",
// allocations on the process's main thread fail by the same pattern too (counted apart): only for
// Python, whose interpreter allocates with malloc (V8 and Node's own C++ would fail there too).
// The runtime's allocations on verikit's threads are left alone: Node is built without exceptions,
// so a bad_alloc thrown inside napi_call_threadsafe_function leaves that function's mutex locked
// (seen: the next completion and the JS thread wait on it for ever), which no caller can repair.
//
// Armed and disarmed by verikit_fail_new_arm(1 / 0): from Python through ctypes
// (ctypes.CDLL(None)); from Node, which has no FFI, by loading a library whose constructor calls
// it (this file built with -DVERIKIT_FAIL_NEW_SWITCH=1 or 0, loaded with process.dlopen, which
// then reports that it is not a Node module). At exit it writes to stderr one line,
// "verikit-fail-new: failed F of A" (failures made, allocations counted while armed), which the
// tests read to show that failures happened.
#if defined(VERIKIT_FAIL_NEW_SWITCH)
#include <dlfcn.h>

namespace {
[[gnu::constructor]] void flip() {
  auto* arm = reinterpret_cast<void (*)(int)>(::dlsym(RTLD_DEFAULT, "verikit_fail_new_arm"));
  if (arm != nullptr) arm(VERIKIT_FAIL_NEW_SWITCH);
}
}  // namespace
#else
#include <dlfcn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

struct Pattern {
  long period = 0;
  long burst = 0;
  bool main_thread = false;
};

Pattern read_pattern() {
  Pattern p;
  const char* text = std::getenv("VERIKIT_FAIL_NEW");
  if (text == nullptr) return p;
  char rest[16] = {};
  const int n = std::sscanf(text, "%ld,%ld,%15s", &p.period, &p.burst, rest);
  if (n < 2 || p.period < 0 || p.burst < 0 || (n == 3 && std::strcmp(rest, "main") != 0)) {
    std::fprintf(stderr, "verikit-fail-new: VERIKIT_FAIL_NEW must be period,burst[,main]: %s\n", text);
    std::abort();
  }
  p.main_thread = n == 3;
  return p;
}

const Pattern& pattern() {
  static const Pattern p = read_pattern();
  return p;
}

std::atomic<bool> g_armed{false};
std::atomic<long> g_counted{0};  // allocations on the threads that may fail
std::atomic<long> g_failed{0};
std::atomic<long> g_counted_main{0};

enum class Kind { unknown, verikit, main_thread, other };
thread_local Kind t_kind = Kind::unknown;
thread_local int t_checks = 0;

// What the calling thread is. A thread's name is set after it starts (and after its first
// allocations): until it reads "verikit-", it is asked again on each of its first 64 allocations.
Kind kind() {
  if (t_kind == Kind::verikit || t_kind == Kind::main_thread) return t_kind;
  if (t_kind == Kind::other && t_checks >= 64) return t_kind;
  ++t_checks;
  if (::gettid() == ::getpid()) return t_kind = Kind::main_thread;
  char name[17] = {};
  ::prctl(PR_GET_NAME, name);
  return t_kind = std::strncmp(name, "verikit-", 8) == 0 ? Kind::verikit : Kind::other;
}

// Whether the code at `caller` is verikit's (the last answer kept: callers repeat).
bool verikit_code(void* caller) {
  thread_local void* last = nullptr;
  thread_local bool last_answer = false;
  if (caller == last) return last_answer;
  Dl_info info{};
  const bool ours = ::dladdr(caller, &info) != 0 && info.dli_fname != nullptr && std::strstr(info.dli_fname, "verikit");
  last = caller;
  last_answer = ours;
  return ours;
}

bool should_fail(void* caller) {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  const Pattern& p = pattern();
  if (p.period == 0 || p.burst == 0) return false;
  std::atomic<long>* counter = nullptr;
  switch (kind()) {
    case Kind::verikit: counter = &g_counted; break;
    case Kind::main_thread:
      if (!p.main_thread) return false;
      counter = &g_counted_main;
      break;
    default: return false;
  }
  if (!verikit_code(caller)) return false;
  const long n = counter->fetch_add(1, std::memory_order_relaxed);
  if (n % p.period >= p.burst) return false;
  g_failed.fetch_add(1, std::memory_order_relaxed);
  return true;
}

struct Report {
  ~Report() {
    char line[96];
    const int n = std::snprintf(line, sizeof line, "verikit-fail-new: failed %ld of %ld\n", g_failed.load(),
                                g_counted.load() + g_counted_main.load());
    if (n > 0) (void)!::write(2, line, static_cast<std::size_t>(n));
  }
} g_report;

}  // namespace

extern "C" [[gnu::visibility("default")]] void verikit_fail_new_arm(int on) {
  if (on != 0) {
    g_counted = 0;
    g_counted_main = 0;
  }
  g_armed = on != 0;
}

namespace {
void* allocate(std::size_t n, void* caller) {
  if (should_fail(caller)) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* allocate_or_null(std::size_t n, void* caller) noexcept {
  try {
    return allocate(n, caller);
  } catch (...) {
    return nullptr;
  }
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n, __builtin_return_address(0)); }
void* operator new[](std::size_t n) { return allocate(n, __builtin_return_address(0)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_or_null(n, __builtin_return_address(0));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_or_null(n, __builtin_return_address(0));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#endif
