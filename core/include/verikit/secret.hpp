// verikit — a byte string that is wiped from memory when it is destroyed or overwritten.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace verikit {

namespace detail {
void wipe(void* data, std::size_t size) noexcept;  // sodium_memzero, in src/crypto
}

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string bytes) : s_(std::move(bytes)) {}
  Secret(const Secret& other) : s_(other.s_) {}
  Secret(Secret&& other) noexcept : s_(std::move(other.s_)) { other.clear(); }
  Secret& operator=(const Secret& other) {
    if (this != &other) { clear(); s_ = other.s_; }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) { clear(); s_ = std::move(other.s_); other.clear(); }
    return *this;
  }
  ~Secret() { clear(); }

  std::string_view view() const noexcept { return s_; }
  const char* data() const noexcept { return s_.data(); }
  std::size_t size() const noexcept { return s_.size(); }
  bool empty() const noexcept { return s_.empty(); }
  void clear() noexcept {
    detail::wipe(s_.data(), s_.size());
    s_.clear();
  }
  friend bool operator==(const Secret& a, std::string_view b) { return a.s_ == b; }

 private:
  std::string s_;
};

}  // namespace verikit
