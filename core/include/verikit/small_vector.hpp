// verikit — a sequence that holds its first N elements in the object and moves them all to the
// heap when one more comes. A verify request carries one secret hash per key that may have made
// the record: one, or two while keys rotate; a std::vector would be an allocation per verify.
// T must be default-constructible and movable (the unused inline slots hold default values).
#pragma once
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

namespace verikit {

template <class T, std::size_t N>
class SmallVector {
 public:
  SmallVector() = default;
  SmallVector(const SmallVector&) = default;
  SmallVector& operator=(const SmallVector&) = default;
  // (A moved-from SmallVector is empty: the defaults would leave its size with its heap gone.)
  SmallVector(SmallVector&& o) noexcept
      : inline_(std::move(o.inline_)), heap_(std::move(o.heap_)), size_(std::exchange(o.size_, 0)) {
    o.heap_.clear();
  }
  SmallVector& operator=(SmallVector&& o) noexcept {
    if (this == &o) return *this;
    inline_ = std::move(o.inline_);
    heap_ = std::move(o.heap_);
    size_ = std::exchange(o.size_, 0);
    o.heap_.clear();
    return *this;
  }

  void push_back(T value) {
    if (size_ < N && heap_.empty()) {
      inline_[size_++] = std::move(value);
      return;
    }
    if (heap_.empty()) {  // the first past N: everything moves to the heap, and stays there
      heap_.reserve(2 * N);
      for (T& v : inline_) heap_.push_back(std::move(v));
      inline_ = {};
    }
    heap_.push_back(std::move(value));
    ++size_;
  }

  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  T* data() noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
  const T* data() const noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }

  std::array<T, N> inline_{};
  std::vector<T> heap_;  // empty, or every element (more than N were pushed)
  std::size_t size_ = 0;
};

}  // namespace verikit
