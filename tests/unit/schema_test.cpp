// Unit tests: the policy and engine-option schema — every field and option by name, its text
// form, its range, its errors, and the README's tables naming every one.
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

// Engine options (verikit/config_fields.hpp): each round-trips through its text form, sets its
// Config member, and refuses bad names and values without changing anything.
TEST(Schema, EveryEngineOptionRoundTripsThroughItsTextForm) {
  ASSERT_EQ(config_options().size(), 7u);
  const Config defaults;
  for (const FieldInfo& f : config_options()) {
    auto text = get_config_option(defaults, f.name);
    ASSERT_TRUE(text.has_value()) << f.name;
    Config c;
    ASSERT_TRUE(set_config_option(c, f.name, *text).has_value()) << f.name << " = " << *text;
    EXPECT_EQ(*get_config_option(c, f.name), *text) << f.name;
  }
  EXPECT_TRUE(check_config_options(defaults).has_value());
}

TEST(Schema, SetsEachKindOfEngineOption) {
  Config c;
  ASSERT_TRUE(set_config_option(c, "key_prefix", "app-1"));
  ASSERT_TRUE(set_config_option(c, "abuse_controls", "false"));
  ASSERT_TRUE(set_config_option(c, "event_queue_capacity", "17"));
  ASSERT_TRUE(set_config_option(c, "link_origins", " https://a.example ,https://b.example:8443 "));
  EXPECT_EQ(c.key_prefix, "app-1");
  EXPECT_FALSE(c.abuse_controls);
  EXPECT_EQ(c.event_queue_capacity, 17u);
  EXPECT_EQ(c.link_origins, (std::vector<std::string>{"https://a.example", "https://b.example:8443"}));
  EXPECT_EQ(*get_config_option(c, "link_origins"), "https://a.example,https://b.example:8443");

  auto expect = [&](std::string_view name, std::string_view value, Errc code) {
    auto s = set_config_option(c, name, value);
    ASSERT_FALSE(s.has_value()) << name << " = " << value;
    EXPECT_EQ(s.error().code, code) << name << " = " << value;
    EXPECT_NE(s.error().message.find(name), std::string::npos) << s.error().message;
  };
  expect("key_prefx", "x", Errc::invalid_argument);
  expect("event_queue_capacity", "-1", Errc::config);
  expect("event_queue_capacity", "lots", Errc::invalid_argument);
  expect("link_allow_http", "yes", Errc::invalid_argument);
  expect("key_prefix", "a{b}", Errc::config);
  expect("link_origins", ",", Errc::invalid_argument);
  EXPECT_EQ(c.key_prefix, "app-1");
  EXPECT_EQ(c.event_queue_capacity, 17u);
  EXPECT_EQ(c.link_origins.size(), 2u);
  // validate(Config) checks the same ranges for options set through their members.
  c.event_queue_capacity = 0;
  EXPECT_EQ(validate(c).error().message, "event_queue_capacity must be 1 to 1048576");
}

// The README's "Engine options" table names every option of the schema.
TEST(Schema, TheReadmeDocumentsEveryEngineOption) {
  std::ifstream in(VERIKIT_SOURCE_DIR "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const auto table = readme.find("### Engine options");
  ASSERT_NE(table, std::string::npos) << "README.md has an \"Engine options\" section";
  for (const FieldInfo& f : config_options())
    EXPECT_NE(readme.find("| `" + std::string(f.name) + "`", table), std::string::npos)
        << f.name << " is not in README.md's engine options table";
}

}  // namespace
}  // namespace verikit
