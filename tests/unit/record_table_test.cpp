// The embedded store's table of records (store/record_table.hpp) against a model: random
// inserts, finds and erasures under hash patterns chosen to break open addressing (every name
// with one hash, a few hashes, runs that wrap past the end of the slots), with the whole model
// looked up after every step; growth, shrinking, stable addresses and no leaked records.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "store/record_table.hpp"

namespace verikit::detail {
namespace {

struct TestKey {
  std::size_t h = 0;
  int id = 0;
  std::size_t hash() const noexcept { return h; }
  bool operator==(const TestKey& o) const noexcept { return id == o.id; }
};

// A value that counts the live ones (so a leak or a double destruction shows).
int g_live = 0;
struct Counted {
  int v = 0;
  Counted() { ++g_live; }
  Counted(const Counted& o) : v(o.v) { ++g_live; }
  ~Counted() { --g_live; }
};

// The hash of name `id` under each pattern.
enum class Hashes { one, few, random, wrapping };
std::size_t hash_for(Hashes kind, int id, std::mt19937_64& rng) {
  switch (kind) {
    case Hashes::one: return 42;
    case Hashes::few: return static_cast<std::size_t>(id % 5) * 0x1234567ull;
    case Hashes::random: return rng();
    case Hashes::wrapping: {
      // hashes whose home is the table's last slots, whatever its size: the product's top bits all set
      // (the inverse of the golden-ratio multiplier takes the wanted product back to a hash)
      const std::uint64_t inverse = 0xF1DE83E19937733Dull;  // 0x9E3779B97F4A7C15 * inverse == 1 (mod 2^64)
      const std::uint64_t product = ~std::uint64_t{0} - (rng() >> 8);
      return static_cast<std::size_t>(product * inverse);
    }
  }
  return 0;
}

void check_all(RecordTable<TestKey, Counted>& t, const std::map<int, std::pair<std::size_t, int>>& model,
               const std::vector<std::size_t>& hash_of, int max_id, const std::string& where) {
  ASSERT_EQ(t.size(), model.size()) << where;
  for (int id = 0; id < max_id; ++id) {
    auto m = model.find(id);
    const TestKey k{hash_of[static_cast<std::size_t>(id)], id};
    Counted* found = t.find(k);
    if (m == model.end()) {
      // an absent name is looked up under its own hash and under another
      ASSERT_EQ(found, nullptr) << where << ": name " << id << " was erased or never written";
      ASSERT_EQ(t.find(TestKey{static_cast<std::size_t>(id) * 7919u, id}), nullptr) << where << ": name " << id;
    } else {
      ASSERT_NE(found, nullptr) << where << ": name " << id << " lost";
      ASSERT_EQ(found->v, m->second.second) << where << ": name " << id;
    }
  }
}

TEST(RecordTable, AgreesWithAModelUnderEveryHashPattern) {
  for (Hashes kind : {Hashes::one, Hashes::few, Hashes::random, Hashes::wrapping}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(kind));
      const int max_id = kind == Hashes::one ? 60 : 300;
      std::vector<std::size_t> hash_of(static_cast<std::size_t>(max_id));
      for (int id = 0; id < max_id; ++id) hash_of[static_cast<std::size_t>(id)] = hash_for(kind, id, rng);
      {
        RecordTable<TestKey, Counted> t;
        std::map<int, std::pair<std::size_t, int>> model;
        for (int step = 0; step < 3000; ++step) {
          const int id = static_cast<int>(rng() % static_cast<std::uint64_t>(max_id));
          const TestKey k{hash_of[static_cast<std::size_t>(id)], id};
          const auto r = rng() % 10;
          const std::string where = "pattern " + std::to_string(static_cast<int>(kind)) + " seed " +
                                    std::to_string(seed) + " step " + std::to_string(step);
          if (r < 5) {  // write: a new record, or a change to the one there
            if (Counted* c = t.find(k)) {
              c->v = step;
            } else {
              t.emplace(k).v = step;
            }
            model[id] = {k.h, step};
          } else if (r < 9) {
            t.erase(k);
            model.erase(id);
          } else {
            t.shrink();
          }
          check_all(t, model, hash_of, max_id, where);
          ASSERT_EQ(g_live, static_cast<int>(model.size())) << where << ": records alive";
          if (t.slot_count() > 0) {
            ASSERT_LE(t.size() * 4, t.slot_count() * 3) << where << ": at most 3/4 of the slots used";
            ASSERT_EQ(t.slot_count() & (t.slot_count() - 1), 0u) << where << ": a power of two";
          }
        }
      }
      ASSERT_EQ(g_live, 0) << "the table's destructor frees what it holds";
    }
  }
}

TEST(RecordTable, RecordsKeepTheirAddressWhileTheTableGrows) {
  RecordTable<TestKey, Counted> t;
  std::mt19937_64 rng(7);
  std::vector<std::pair<TestKey, Counted*>> made;
  for (int id = 0; id < 5000; ++id) {
    const TestKey k{static_cast<std::size_t>(rng()), id};
    Counted& c = t.emplace(k);
    c.v = id;
    made.emplace_back(k, &c);
  }
  EXPECT_GE(t.slot_count(), 5000u * 4 / 3);
  for (const auto& [k, at] : made) {
    ASSERT_EQ(t.find(k), at) << "name " << k.id;
    ASSERT_EQ(at->v, k.id);
  }
}

TEST(RecordTable, GivesBackItsSlotsOnceMostRecordsAreGone) {
  RecordTable<TestKey, Counted> t;
  EXPECT_EQ(t.slot_count(), 0u) << "no array until the first record";
  t.shrink();
  EXPECT_EQ(t.slot_count(), 0u);
  std::vector<TestKey> keys;
  std::mt19937_64 rng(11);
  for (int id = 0; id < 10000; ++id) keys.push_back({static_cast<std::size_t>(rng()), id});
  for (const TestKey& k : keys) t.emplace(k).v = k.id;
  const std::size_t peak = t.slot_count();
  for (int id = 0; id < 9900; ++id) t.erase(keys[static_cast<std::size_t>(id)]);
  EXPECT_EQ(t.slot_count(), peak) << "erasing alone keeps the array (shrink gives it back)";
  t.shrink();
  EXPECT_LT(t.slot_count(), peak / 32);
  EXPECT_GE(t.slot_count() * 3, t.size() * 4);
  for (int id = 0; id < 10000; ++id) {
    const Counted* c = t.find(keys[static_cast<std::size_t>(id)]);
    if (id < 9900) ASSERT_EQ(c, nullptr) << id;
    else ASSERT_TRUE(c != nullptr && c->v == id) << id;
  }
  for (int id = 9900; id < 10000; ++id) t.erase(keys[static_cast<std::size_t>(id)]);
  t.shrink();
  EXPECT_EQ(t.slot_count(), 0u) << "an empty table holds no array";
  EXPECT_EQ(t.find(keys[0]), nullptr);
  t.erase(keys[0]);  // erasing from an empty table is nothing
  t.emplace(keys[5]).v = 5;
  EXPECT_EQ(t.find(keys[5])->v, 5) << "usable again after giving everything back";
}

}  // namespace
}  // namespace verikit::detail
