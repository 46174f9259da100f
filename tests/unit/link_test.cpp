// Unit tests: magic-link URL building.
#include <gtest/gtest.h>

#include "engine/link.hpp"

namespace verikit::detail {
namespace {

std::string link(std::string_view base, std::string_view param = "token", std::string_view value = "abc") {
  auto r = build_link(base, param, value);
  EXPECT_TRUE(r.has_value()) << base << ": " << (r ? "" : r.error().message);
  return r ? *r : std::string{};
}

TEST(Link, AddsTheParameterToTheQuery) {
  EXPECT_EQ(link("https://example.com"), "https://example.com/?token=abc");
  EXPECT_EQ(link("https://example.com/"), "https://example.com/?token=abc");
  EXPECT_EQ(link("https://example.com/verify"), "https://example.com/verify?token=abc");
  EXPECT_EQ(link("https://example.com/verify?lang=en"), "https://example.com/verify?lang=en&token=abc");
  EXPECT_EQ(link("https://example.com/verify?"), "https://example.com/verify?token=abc");
  EXPECT_EQ(link("https://example.com/verify?a=1&"), "https://example.com/verify?a=1&token=abc");
  EXPECT_EQ(link("http://localhost:8080/v"), "http://localhost:8080/v?token=abc");
  EXPECT_EQ(link("HTTPS://Example.com/x"), "HTTPS://Example.com/x?token=abc");
}

TEST(Link, KeepsTheFragmentLast) {
  EXPECT_EQ(link("https://example.com/app#/verify"), "https://example.com/app?token=abc#/verify");
  EXPECT_EQ(link("https://example.com/app?x=1#top"), "https://example.com/app?x=1&token=abc#top");
  EXPECT_EQ(link("https://example.com#top"), "https://example.com/?token=abc#top");
  EXPECT_EQ(link("https://example.com?x=1"), "https://example.com?x=1&token=abc");
}

TEST(Link, PercentEncodesNameAndValue) {
  EXPECT_EQ(link("https://e.com/v", "t", "a b&c=d/é"), "https://e.com/v?t=a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(link("https://e.com/v", "my param", "x"), "https://e.com/v?my%20param=x");
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(Link, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (std::string_view bad : {"", "example.com/verify", "/verify", "ftp://example.com", "javascript:alert(1)",
                               "https://", "https:///path", "https://:443/x", "https://exa mple.com",
                               "https://example.com/\n", "https://user@/x", "mailto:a@b.c", "https//example.com"}) {
    auto r = build_link(bad, "token", "abc");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("base URL"), std::string::npos);
  }
  EXPECT_FALSE(build_link("https://e.com/" + std::string(5000, 'a'), "token", "x").has_value());
  EXPECT_EQ(link("https://user:pw@example.com/x"), "https://user:pw@example.com/x?token=abc");
}

}  // namespace
}  // namespace verikit::detail
