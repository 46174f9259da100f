// Unit tests: magic-link URL building (the table tests/data/link_urls.tsv is shared with the
// Python and Node tests, which check the built URLs against urllib.parse and WHATWG URL).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "engine/link.hpp"

namespace verikit::detail {
namespace {

struct Case {
  std::string base, expected, message;  // expected empty: refused with `message`
};

struct Table {
  std::vector<std::string> origins;
  std::vector<Case> cases;
};

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

Table load_table() {
  Table t;
  std::ifstream in(VERIKIT_SOURCE_DIR "/tests/data/link_urls.tsv");
  EXPECT_TRUE(in.good());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto cols = split(line, '\t');
    if (cols[0] == "origins") {
      t.origins = split(cols.at(1), ' ');
    } else if (cols.at(1) == "refused") {
      t.cases.push_back({cols[0], "", cols.at(2)});
    } else {
      t.cases.push_back({cols[0], cols[1], ""});
    }
  }
  return t;
}

std::string replace_token(std::string s, std::string_view token) {
  const auto at = s.find("{t}");
  return at == std::string::npos ? s : s.replace(at, 3, token);
}

TEST(Link, TheSharedTableOfBaseUrls) {
  const Table t = load_table();
  ASSERT_GE(t.cases.size(), 50u);
  const LinkRules rules{t.origins, true};
  for (const Case& c : t.cases) {
    auto r = build_link(c.base, "token", "AbC-_9", rules);
    if (c.expected.empty()) {
      ASSERT_FALSE(r.has_value()) << c.base << " -> " << *r;
      EXPECT_EQ(r.error().code, Errc::invalid_argument) << c.base;
      EXPECT_NE(r.error().message.find("base URL"), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.base << ": " << r.error().message;
    } else {
      ASSERT_TRUE(r.has_value()) << c.base << ": " << r.error().message;
      EXPECT_EQ(*r, replace_token(c.expected, "AbC-_9")) << c.base;
    }
  }
}

TEST(Link, HttpOnlyWhenAllowed) {
  auto r = build_link("http://localhost:8080/v", "token", "x", LinkRules{});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("https only"), std::string::npos);
  EXPECT_TRUE(build_link("http://localhost:8080/v", "token", "x", LinkRules{{}, true}).has_value());
  // no allow-list: any https origin
  EXPECT_EQ(*build_link("https://anything.example/v", "token", "x", LinkRules{}), "https://anything.example/v?token=x");
}

TEST(Link, CanonicalOrigins) {
  EXPECT_EQ(*canonical_origin("https://Example.COM"), "https://example.com:443");
  EXPECT_EQ(*canonical_origin("https://example.com/"), "https://example.com:443");
  EXPECT_EQ(*canonical_origin("http://localhost:8080"), "http://localhost:8080");
  EXPECT_EQ(*canonical_origin("https://[::1]:8443"), "https://[::1]:8443");
  for (std::string_view bad : {"https://example.com/path", "https://example.com?x", "https://example.com#f", "example.com",
                               "https://example.com:99999", "https://u@example.com", ""})
    EXPECT_FALSE(canonical_origin(bad).has_value()) << bad;
}

TEST(Link, PercentEncodesNameAndValue) {
  const LinkRules any{};
  EXPECT_EQ(*build_link("https://e.com/v", "t", "a b&c=d/é", any), "https://e.com/v?t=a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(*build_link("https://e.com/v", "my param", "x", any), "https://e.com/v?my%20param=x");
  EXPECT_FALSE(build_link("https://e.com/v?my%20param=1", "my param", "x", any).has_value());
  EXPECT_FALSE(build_link("https://e.com/v?my+param=1", "my param", "x", any).has_value());
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(Link, RefusesOverlongAndNonAscii) {
  EXPECT_FALSE(build_link("https://e.com/" + std::string(5000, 'a'), "token", "x", LinkRules{}).has_value());
  EXPECT_FALSE(build_link("https://e.com/\xc3\xa9", "token", "x", LinkRules{}).has_value());
  EXPECT_FALSE(build_link("https://example.com/\n", "token", "x", LinkRules{}).has_value());
}

}  // namespace
}  // namespace verikit::detail
