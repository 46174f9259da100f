// verikit — faults (not outcomes): the error code enum and the Expected<T> value type.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace verikit {

// One-to-one with the VERIKIT_E_* codes of the C API; values are pinned forever.
enum class Errc : int {
  ok = 0,
  invalid_argument = -1,
  config = -2,
  store_unavailable = -3,
  store_protocol = -4,
  timeout = -5,
  no_memory = -6,
  unsupported = -7,
  version_mismatch = -8,
  crypto = -9,
  internal = -10,
};

struct Error {
  Errc code = Errc::internal;
  std::string message;
};

// An error-or-value result: expected failures travel as values, never as exceptions.
template <class T>
class [[nodiscard]] Expected {
 public:
  // (By reference, not by value: a value parameter would be moved twice, and results are moved
  // into an Expected on every operation's path.)
  Expected(const T& value) : v_(std::in_place_index<0>, value) {}
  Expected(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(const Error& error) : v_(std::in_place_index<1>, error) {}
  Expected(Error&& error) : v_(std::in_place_index<1>, std::move(error)) {}
  // A value made in place (value-initialised), to be filled through value() and moved on whole:
  // one move of a Result fewer than making a Result and moving it in.
  explicit Expected(std::in_place_t) : v_(std::in_place_index<0>) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing on success.
struct Unit {};
using Status = Expected<Unit>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// An error made without allocating (its message fits in the string's own bytes), for a path
// that must complete a request when memory has run out: `code` keeps what the failure means
// (a timeout may have taken effect, store_unavailable did not).
inline Error out_of_memory_error(Errc code) noexcept {
  Error e;
  e.code = code;
  e.message = "out of memory";  // (13 bytes: within libstdc++'s 15 inline ones)
  return e;
}

// The error `make` builds, or out_of_memory_error(code) when memory runs out building it.
template <class Make>
Error error_or_out_of_memory(Errc code, Make&& make) noexcept {
  try {
    return make();
  } catch (...) {
    return out_of_memory_error(code);
  }
}

}  // namespace verikit
