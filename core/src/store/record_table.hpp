// verikit::detail — the embedded store's table of records by name: open addressing with linear
// probing over slots that hold each record's hash and a pointer to its node (the name and the
// record, on the heap, so a record stays where it is while the table grows).
//
// Why not std::unordered_map: a lookup there reads the bucket array, then the node *before* the
// bucket's first node (libstdc++ keeps the buckets pointing one node back), then the node, and
// divides by a prime at every step of the chain; with 100,000 records those are three cache
// misses in a row per operation, the largest cost of an embedded verify. Here a lookup reads
// one slot (its neighbours share the cache line) and the node it names: a slot whose hash
// differs is passed over without touching its node.
//
// K provides hash() (computed once, kept in the key) and ==. Not thread-safe (each shard holds
// its own table under its lock).
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace verikit::detail {

template <class K, class V>
class RecordTable {
 public:
  RecordTable() = default;
  RecordTable(const RecordTable&) = delete;
  RecordTable& operator=(const RecordTable&) = delete;
  ~RecordTable() {
    for (Slot& s : slots_) delete s.node;
  }

  // The record named `key`, or nullptr.
  V* find(const K& key) noexcept {
    const std::size_t i = slot_of(key);
    return i == kNone ? nullptr : &slots_[i].node->value;
  }

  // A new record named `key` (which must not be in the table), value-initialised.
  V& emplace(const K& key) {
    if ((size_ + 1) * 4 > slots_.size() * 3) resize(slots_.empty() ? kMinSlots : slots_.size() * 2);
    Node* node = new Node{key, V{}};
    std::size_t i = home(key.hash());
    while (slots_[i].node != nullptr) i = next(i);
    slots_[i] = Slot{key.hash(), node};
    ++size_;
    return node->value;
  }

  // Drops the record named `key`, if there is one. The entries after it in its run move back
  // (backward-shift deletion: no tombstones, so lookups never slow down with churn).
  void erase(const K& key) noexcept {
    std::size_t hole = slot_of(key);
    if (hole == kNone) return;
    delete slots_[hole].node;
    --size_;
    for (std::size_t j = next(hole);; j = next(j)) {
      Slot& s = slots_[j];
      if (s.node == nullptr) break;
      // s stays if its home lies cyclically in (hole, j]: moving it before its home would hide it
      const std::size_t h = home(s.hash);
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = s;
      hole = j;
    }
    slots_[hole] = Slot{};
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t slot_count() const noexcept { return slots_.size(); }

  // Once most records are gone, gives back what the peak left (the slot array keeps its
  // largest size otherwise): to no array at all when empty.
  void shrink() {
    if (size_ * 8 >= slots_.size()) return;
    std::size_t n = 0;
    if (size_ > 0)
      for (n = kMinSlots; (size_ + 1) * 4 > n * 3; n *= 2) {
      }
    if (n < slots_.size()) resize(n);  // (a small table stays as it is: no rehash at every reap)
  }

 private:
  struct Node {
    K key;
    V value;
  };
  struct Slot {
    std::size_t hash = 0;
    Node* node = nullptr;  // nullptr: free
  };
  static constexpr std::size_t kMinSlots = 16;
  static constexpr std::size_t kNone = ~std::size_t{0};

  // The slot of the record named `key`, or kNone: its run from its home, passing over slots
  // whose hash differs without reading their nodes.
  std::size_t slot_of(const K& key) const noexcept {
    if (size_ == 0) return kNone;
    for (std::size_t i = home(key.hash());; i = next(i)) {
      const Slot& s = slots_[i];
      if (s.node == nullptr) return kNone;
      if (s.hash == key.hash() && s.node->key == key) return i;
    }
  }

  // Fibonacci hashing: the product's top bits, so every bit of the hash counts (the store picks
  // a shard by the hash's low bits, which all of a shard's names share).
  static std::size_t home(std::size_t hash, int shift) noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ull) >> shift);
  }
  std::size_t home(std::size_t hash) const noexcept { return home(hash, shift_); }
  std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }

  // To `n` slots (a power of two, more than size_; or 0 when size_ is 0). If the new array
  // cannot be had, the table is as it was.
  void resize(std::size_t n) {
    std::vector<Slot> fresh(n);
    int bits = 0;
    while ((std::size_t{1} << bits) < n) ++bits;
    const int shift = 64 - bits;
    for (const Slot& s : slots_) {
      if (s.node == nullptr) continue;
      std::size_t i = home(s.hash, shift);
      while (fresh[i].node != nullptr) i = (i + 1) & (n - 1);
      fresh[i] = s;
    }
    slots_.swap(fresh);
    shift_ = shift;
  }

  std::vector<Slot> slots_;  // a power of two of them, at most 3/4 used; empty when no record
  std::size_t size_ = 0;
  int shift_ = 64;  // 64 - log2(slots): home() is never called while there are none
};

}  // namespace verikit::detail
