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
  // (Takes the caller's string, and wipes what the move leaves in it.)
  explicit Secret(std::string&& bytes) : s_(std::move(bytes)) { wipe_rest(bytes); }
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
    if (!s_.empty()) wipe_rest(s_);
  }
  friend bool operator==(const Secret& a, std::string_view b) { return a.s_ == b; }

 private:
  void take(Secret& other) noexcept {  // (this is empty)
    s_ = std::move(other.s_);
    wipe_rest(other.s_);
  }
  // Wipes a string's whole buffer and empties it: a short string's bytes live in the object and
  // stay there after a move (all but the first) or clear().
  static void wipe_rest(std::string& moved_from) noexcept {
    moved_from.resize(moved_from.capacity());  // (never reallocates: the whole buffer becomes addressable)
    detail::wipe(moved_from.data(), moved_from.size());
    moved_from.clear();
  }
  std::string s_;
};

}  // namespace verikit
