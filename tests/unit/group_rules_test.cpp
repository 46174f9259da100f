// The containers a group keeps what most groups never hold in (store/group_rules.hpp): absent
// until the first write, given back when emptied, copied deeply (the file store copies groups).
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "store/group_rules.hpp"
#include "verikit/small_bytes.hpp"
#include "verikit/small_vector.hpp"

namespace verikit::detail {
namespace {

TEST(LazyMap, AnAbsentMapIsAnEmptyOne) {
  LazyMap<std::string, int> m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.begin() == m.end());
  EXPECT_TRUE(m.find("a") == m.end());
  EXPECT_EQ(m.erase("a"), 0u);
  EXPECT_EQ(erase_if(m, [](const auto&) { return true; }), 0u);
  EXPECT_THROW((void)std::as_const(m).at("a"), std::out_of_range);
  int n = 0;
  for (const auto& kv : m) n += kv.second;
  EXPECT_EQ(n, 0);
}

TEST(LazyMap, WritesMakeItErasuresThatEmptyItGiveItBack) {
  LazyMap<std::string, int> m;
  m["a"] = 1;
  EXPECT_TRUE(m.emplace("b", 2).second);
  EXPECT_FALSE(m.emplace("b", 3).second);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("b"), 2);
  EXPECT_EQ(m.erase("a"), 1u);
  EXPECT_EQ(m.erase("a"), 0u);
  auto it = m.find("b");
  ASSERT_TRUE(it != m.end());
  EXPECT_TRUE(m.erase(it) == m.end()) << "erasing the last gives end()";
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.begin() == m.end());
  m["c"] = 3;  // made again
  m["d"] = 4;
  EXPECT_EQ(erase_if(m, [](const auto& kv) { return kv.second == 3; }), 1u);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(erase_if(m, [](const auto&) { return true; }), 1u);
  EXPECT_TRUE(m.empty());
  m["e"] = 5;
  m.clear();
  EXPECT_TRUE(m.empty());
}

TEST(LazyMap, CopiesAreDeep) {
  LazyMap<std::string, int> m;
  m["a"] = 1;
  LazyMap<std::string, int> c = m;
  c["a"] = 2;
  c["b"] = 3;
  EXPECT_EQ(m.at("a"), 1);
  EXPECT_EQ(m.size(), 1u);
  m = c;
  EXPECT_EQ(m.at("a"), 2);
  c.clear();
  EXPECT_EQ(m.size(), 2u) << "the copy's clear leaves the original";
  LazyMap<std::string, int> moved = std::move(m);
  EXPECT_EQ(moved.size(), 2u);
}

TEST(Box, IsAnOptionalOnTheHeapCopiedDeeply) {
  Box<std::string> b;
  EXPECT_FALSE(b);
  b = std::string("x");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "x");
  Box<std::string> c = b;
  *c = "y";
  EXPECT_EQ(*b, "x");
  EXPECT_EQ(c->size(), 1u);
  b = std::string("z");  // assigned in place
  EXPECT_EQ(*b, "z");
  b.reset();
  EXPECT_FALSE(b);
  EXPECT_EQ(*c, "y");
}

// What the embedded stores keep per group: the rare containers cost a pointer each.
TEST(Group, KeepsTheRareContainersOutOfLine) {
  EXPECT_LE(sizeof(Group), sizeof(std::optional<OtpRecord>) + sizeof(RateState) + 6 * sizeof(void*));
  Group g;
  EXPECT_TRUE(g.empty());
  g.pairs["client"] = 0;
  EXPECT_FALSE(g.empty());
  g.pairs.erase("client");
  EXPECT_TRUE(g.empty()) << "its last entry erased, the map is given back";
  EXPECT_TRUE(g.pairs.begin() == g.pairs.end());
  Group copy = g;
  copy.tokens["t"] = TokenRecord{};
  EXPECT_TRUE(g.tokens.empty()) << "groups copy deeply";
}

// SmallBytes (a record's secret hash, the memory store's names): held in the object up to 32
// bytes, on the heap beyond; every size on both sides of that line survives copy, move and
// assignment each way (an inline value over a heap one and back), and a moved-from value is
// empty or still its own bytes, never freed twice (ASan and valgrind run this).
TEST(SmallBytes, EverySizeSurvivesCopyMoveAndAssignmentBothWays) {
  auto bytes = [](std::size_t n, char c) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(c + static_cast<char>(i % 7)));
    return s;
  };
  const std::size_t sizes[] = {0, 1, 15, 16, 31, SmallBytes::kInline, SmallBytes::kInline + 1, 100};
  EXPECT_TRUE(SmallBytes().empty());
  EXPECT_EQ(SmallBytes().view(), "");
  for (std::size_t a : sizes) {
    for (std::size_t b : sizes) {
      const std::string x = bytes(a, 'a'), y = bytes(b, 'A');
      SmallBytes s(x);
      ASSERT_EQ(s.view(), x);
      ASSERT_EQ(s.size(), a);
      SmallBytes copy(s);
      ASSERT_EQ(copy.view(), x);
      SmallBytes moved(std::move(copy));
      ASSERT_EQ(moved.view(), x);
      ASSERT_TRUE(copy.empty() || copy.view() == x) << "moved from: empty, or still its own bytes";  // NOLINT
      SmallBytes t(y);
      t = s;  // copy-assign over another size
      ASSERT_EQ(t.view(), x) << a << " over " << b;
      ASSERT_EQ(s.view(), x);
      SmallBytes u(y);
      u = std::move(t);  // move-assign over another size
      ASSERT_EQ(u.view(), x) << a << " over " << b;
      u = SmallBytes(y);  // and back
      ASSERT_EQ(u.view(), y);
      SmallBytes& self = u;
      u = self;  // self-assignment keeps the bytes
      ASSERT_EQ(u.view(), y);
      u = std::move(self);
      ASSERT_EQ(u.view(), y);
    }
  }
}

// SmallVector (a verify request's candidate hashes): the first two in the object, all of them on
// the heap from the third; order and values kept across that move, through copies and moves.
TEST(SmallVector, KeepsOrderAndValuesAcrossTheMoveToTheHeap) {
  for (int n = 0; n <= 7; ++n) {
    SmallVector<SmallBytes, 2> v;
    EXPECT_TRUE(v.empty());
    for (int i = 0; i < n; ++i) v.push_back(SmallBytes(std::string(static_cast<std::size_t>(20 + 5 * i), char('a' + i))));
    auto check = [n](const SmallVector<SmallBytes, 2>& w, const char* what) {
      ASSERT_EQ(w.size(), static_cast<std::size_t>(n)) << what;
      int i = 0;
      for (const SmallBytes& b : w) {
        ASSERT_EQ(b.view(), std::string(static_cast<std::size_t>(20 + 5 * i), char('a' + i))) << what << " #" << i;
        ++i;
      }
      ASSERT_EQ(i, n) << what;
    };
    check(v, "as pushed");
    const SmallVector<SmallBytes, 2> copy = v;
    check(copy, "copied");
    check(v, "after the copy");
    SmallVector<SmallBytes, 2> moved = std::move(v);
    check(moved, "moved");
    EXPECT_TRUE(v.empty()) << "moved from: empty";  // NOLINT
    EXPECT_EQ(v.begin(), v.end());                 // NOLINT
    v.push_back(SmallBytes("again"));              // NOLINT: usable again
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].view(), "again");
    SmallVector<SmallBytes, 2> assigned;
    assigned.push_back(SmallBytes("old"));
    assigned = std::move(moved);
    check(assigned, "move-assigned");
    EXPECT_TRUE(moved.empty()) << "moved from by assignment: empty";  // NOLINT
    if (n > 0) {
      EXPECT_EQ(assigned[static_cast<std::size_t>(n - 1)].view()[0], char('a' + n - 1));
    }
  }
}

}  // namespace
}  // namespace verikit::detail
