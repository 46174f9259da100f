// verikit — bytes held in the object when they are few, on the heap otherwise. Secret hashes are
// 16 bytes and the embedded stores' record names 22-byte tags (client buckets: 23): a
// std::string holds at most 15 in place, so each would be an allocation (two per verify), and
// each read of one in a record one more cache miss than the record alone.
#pragma once
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace verikit {

class SmallBytes {
 public:
  SmallBytes() noexcept {}
  SmallBytes(std::string_view bytes) : size_(bytes.size()) {  // NOLINT: converts, as a string would
    char* at = size_ <= kInline ? inline_ : (heap_ = new char[size_]);
    if (size_ > 0) std::memcpy(at, bytes.data(), size_);
  }
  SmallBytes(const std::string& bytes) : SmallBytes(std::string_view(bytes)) {}  // NOLINT
  SmallBytes(const char* bytes) : SmallBytes(std::string_view(bytes)) {}  // NOLINT
  SmallBytes(const SmallBytes& o) : SmallBytes(o.view()) {}
  SmallBytes(SmallBytes&& o) noexcept : size_(o.size_) {
    if (size_ <= kInline) {
      if (size_ > 0) std::memcpy(inline_, o.inline_, size_);
    } else {
      heap_ = std::exchange(o.heap_, nullptr);
      o.size_ = 0;
    }
  }
  SmallBytes& operator=(SmallBytes&& o) noexcept {
    if (this == &o) return *this;
    release();
    size_ = o.size_;
    if (size_ <= kInline) {
      if (size_ > 0) std::memcpy(inline_, o.inline_, size_);
    } else {
      heap_ = std::exchange(o.heap_, nullptr);
      o.size_ = 0;
    }
    return *this;
  }
  SmallBytes& operator=(const SmallBytes& o) { return this == &o ? *this : *this = SmallBytes(o); }
  ~SmallBytes() { release(); }

  std::string_view view() const noexcept { return {size_ <= kInline ? inline_ : heap_, size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: reads as a string_view
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool operator==(const SmallBytes& o) const noexcept { return view() == o.view(); }
  void clear() noexcept {
    release();
    size_ = 0;
  }

  static constexpr std::size_t kInline = 32;

 private:
  void release() noexcept {
    if (size_ > kInline) delete[] heap_;
  }

  std::size_t size_ = 0;
  union {
    char inline_[kInline];
    char* heap_;
  };
};

}  // namespace verikit
