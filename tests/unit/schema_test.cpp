// Unit tests: the policy schema — every field by name, its text form, its range, its errors,
// and the README's tables naming every field.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "verikit/verikit.hpp"

namespace verikit {
namespace {

TEST(Schema, EveryFieldRoundTripsThroughItsTextForm) {
  ASSERT_GE(policy_fields().size(), 20u);
  const Policy defaults;
  for (const FieldInfo& f : policy_fields()) {
    auto text = get_policy_field(defaults, f.name);
    ASSERT_TRUE(text.has_value()) << f.name;
    Policy p;
    ASSERT_TRUE(set_policy_field(p, f.name, *text).has_value()) << f.name << " = " << *text;
    EXPECT_EQ(*get_policy_field(p, f.name), *text) << f.name;
  }
  EXPECT_TRUE(check_policy_fields(defaults).has_value());
}

TEST(Schema, SetsEachKindOfField) {
  Policy p;
  ASSERT_TRUE(set_policy_field(p, "max_attempts", "3"));
  ASSERT_TRUE(set_policy_field(p, "ttl", "120"));
  ASSERT_TRUE(set_policy_field(p, "lowercase_identifier", "false"));
  ASSERT_TRUE(set_policy_field(p, "reissue", "resend_same"));
  ASSERT_TRUE(set_policy_field(p, "failure_limit", "5/3600/2"));
  ASSERT_TRUE(set_policy_field(p, "send_limit", "off"));
  ASSERT_TRUE(set_policy_field(p, "link_param", "t"));
  EXPECT_EQ(p.max_attempts, 3);
  EXPECT_EQ(p.ttl, std::chrono::seconds(120));
  EXPECT_FALSE(p.lowercase_identifier);
  EXPECT_EQ(p.reissue, Reissue::resend_same);
  EXPECT_EQ(p.failure_limit.count, 5);
  EXPECT_EQ(p.failure_limit.period, std::chrono::seconds(3600));
  EXPECT_EQ(p.failure_limit.burst, 2);
  EXPECT_FALSE(p.send_limit.enabled());
  EXPECT_EQ(p.link_param, "t");
}

TEST(Schema, BadNamesAndValuesAreClearErrorsAndChangeNothing) {
  Policy p;
  auto expect = [&](std::string_view name, std::string_view value, Errc code) {
    const Policy before = p;
    auto s = set_policy_field(p, name, value);
    ASSERT_FALSE(s.has_value()) << name << " = " << value;
    EXPECT_EQ(s.error().code, code) << name << " = " << value;
    EXPECT_NE(s.error().message.find(name), std::string::npos) << s.error().message;
    EXPECT_EQ(*get_policy_field(p, "max_attempts"), *get_policy_field(before, "max_attempts"));
  };
  expect("max_atempts", "3", Errc::invalid_argument);
  expect("max_attempts", "three", Errc::invalid_argument);
  expect("max_attempts", "3.5", Errc::invalid_argument);
  expect("max_attempts", "", Errc::invalid_argument);
  expect("max_attempts", "101", Errc::config);
  expect("max_attempts", "0", Errc::config);
  expect("max_attempts", "99999999999999999999", Errc::config);
  expect("ttl", "-99999999999999999999", Errc::config);
  expect("send_limit", "1/99999999999999999999/1", Errc::config);
  expect("ttl", "-1", Errc::config);
  expect("one_time_use", "yes", Errc::invalid_argument);
  expect("alphabet", "hex", Errc::invalid_argument);
  expect("failure_limit", "5/3600", Errc::invalid_argument);
  expect("failure_limit", "5/0/2", Errc::config);
  expect("failure_limit", "5/3600/0", Errc::config);
  expect("link_param", "a b", Errc::config);
  EXPECT_EQ(p.max_attempts, Policy{}.max_attempts);
}

// The README's configuration and abuse-control tables name every field of the schema.
TEST(Schema, TheReadmeDocumentsEveryField) {
  std::ifstream in(VERIKIT_SOURCE_DIR "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  for (const FieldInfo& f : policy_fields())
    EXPECT_NE(readme.find("`" + std::string(f.name) + "`"), std::string::npos) << f.name << " is not in README.md";
}

}  // namespace
}  // namespace verikit
