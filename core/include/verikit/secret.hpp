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
  Secret(Secret&& other) noexcept {
    if (!other.empty()) take(other);
  }
  Secret& operator=(const Secret& other) {
    if (this != &other) { clear(); s_ = other.s_; }
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      clear();
      if (!other.empty()) take(other);
    }
    return *this;
  }
  ~Secret() { clear(); }

  std::string_view view() const noexcept { return s_; }
  const char* data() const noexcept { return s_.data(); }
  std::size_t size() const noexcept { return s_.size(); }
  bool empty() const noexcept { return s_.empty(); }
  // Wipes all the storage, not only the bytes in use: a short string lives in the object itself
  // and keeps its old bytes there after it is emptied or moved from. Bytes leave a Secret only
  // through here, so an empty one has nothing to wipe (the common case costs one test).
  void clear() noexcept {
    if (s_.empty()) return;
    s_.resize(s_.capacity());  // (never reallocates: the whole buffer becomes addressable)
    detail::wipe(s_.data(), s_.size());
    s_.clear();
  }
  friend bool operator==(const Secret& a, std::string_view b) { return a.s_ == b; }

 private:
  void take(Secret& other) noexcept {  // (this is empty)
    s_ = std::move(other.s_);
    other.s_.resize(other.s_.capacity());  // what the move left behind: the inline buffer's copy
    detail::wipe(other.s_.data(), other.s_.size());
    other.s_.clear();
  }
  std::string s_;
};

}  // namespace verikit
