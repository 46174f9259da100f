// verikit C API — the handle definitions and the helpers every shim uses (no logic lives here).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "verikit.h"
#include "verikit/process.hpp"
#include "verikit/verikit.hpp"

struct verikit_config {
  verikit::Config config;
  std::optional<verikit::Key> current_key;
  std::vector<verikit::Key> previous_keys;
  std::optional<std::array<std::uint8_t, verikit::kKeyBytes>> index_key;
  ~verikit_config() {
    if (index_key) verikit::detail::wipe(index_key->data(), index_key->size());
    if (current_key) verikit::detail::wipe(current_key->bytes.data(), current_key->bytes.size());
    for (auto& k : previous_keys) verikit::detail::wipe(k.bytes.data(), k.bytes.size());
  }
};

struct verikit_engine {
  // Set by verikit_engine_free: calls made after it (an event handler's, while the queued events
  // are delivered) fail at once. (First: it outlives the members below.)
  std::atomic<bool> freeing{false};
  // Asynchronous calls whose callbacks have not finished yet: verikit_engine_free waits for them.
  // (Declared before the engine: it outlives the engine's destructor, which can still deliver
  // queued events whose handler calls the engine; found by a review.)
  struct Flight {
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t pending = 0;
    verikit::detail::ProcessTag process;
    // In a forked child the calls counted are the parent's (their callbacks never run here) and
    // the lock may have been held at the fork: the child counts from zero, on a lock of its own.
    Flight& here() noexcept {
      verikit::detail::adopt_after_fork(process, [this] {
        verikit::detail::renew_in_place(mutex);
        verikit::detail::renew_in_place(idle);
        pending = 0;
      });
      return *this;
    }
  };
  std::shared_ptr<Flight> flight = std::make_shared<Flight>();
  std::shared_ptr<verikit::Engine> engine;
};

struct verikit_result {
  verikit::Result r;
};

// An event during its handler's call: a view of the core's record.
struct verikit_event {
  const verikit::Event* e;
};

namespace verikit::capi {

// Records this thread's last error (no allocation: a fixed buffer) and returns the code.
int set_error(int code, std::string_view message) noexcept;
int set_error(const verikit::Error& error) noexcept;

// Runs a shim body; no exception crosses extern "C".
template <class F>
int guard(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return set_error(VERIKIT_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(VERIKIT_E_INTERNAL, e.what());
  } catch (...) {
    return set_error(VERIKIT_E_INTERNAL, "unknown internal error");
  }
}

inline bool bytes_ok(const void* p, std::size_t n) noexcept { return p != nullptr || n == 0; }
inline std::string_view bytes(const void* p, std::size_t n) noexcept {
  return p == nullptr ? std::string_view{} : std::string_view(static_cast<const char*>(p), n);
}
inline std::string_view cstr(const char* s) noexcept { return s == nullptr ? std::string_view{} : std::string_view(s); }

// Converts versioned issue options (NULL: defaults); fails on an unknown version.
int to_issue_options(const verikit_issue_options* in, verikit::IssueOptions& out) noexcept;
int to_verify_options(const verikit_verify_options* in, verikit::VerifyOptions& out) noexcept;

// Hands an engine outcome to the caller: a new result in *out, or the error.
int deliver(verikit::Expected<verikit::Result>&& r, verikit_result** out) noexcept;

// Wrap a C callback as an engine completion (a new result, or a count; errors with their
// message), and call a C callback with a failure that never reached the engine.
verikit::Callback<verikit::Result> completion(verikit_callback callback, void* user);
verikit::Callback<int> count_completion(verikit_count_callback callback, void* user);
void fail(verikit_callback callback, void* user, int error, const char* message);
void fail(verikit_count_callback callback, void* user, int error, const char* message);

}  // namespace verikit::capi
