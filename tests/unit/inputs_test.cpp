// Unit tests: caller-input checks, identifier normalisation, token format, policy validation.
#include <gtest/gtest.h>

#include "crypto/crypto.hpp"
#include "engine/inputs.hpp"
#include "engine/token_format.hpp"
#include "verikit/engine.hpp"

namespace verikit::detail {
namespace {

TEST(Purpose, MustBePrintableAndShort) {
  EXPECT_TRUE(check_purpose("login").has_value());
  EXPECT_TRUE(check_purpose("reset-password:v2").has_value());
  EXPECT_FALSE(check_purpose("").has_value());
  EXPECT_FALSE(check_purpose("with space").has_value());
  EXPECT_FALSE(check_purpose(std::string("nul\0", 4)).has_value());
  EXPECT_FALSE(check_purpose(std::string(65, 'p')).has_value());
  EXPECT_TRUE(check_purpose(std::string(64, 'p')).has_value());
  EXPECT_FALSE(check_purpose("*").has_value()) << "reserved: any purpose when checking a token";
}

TEST(Purpose, CheckingATokenNamesItsPurposeOrAskesForAnyExplicitly) {
  EXPECT_FALSE(check_purpose_filter("").has_value());
  EXPECT_EQ(check_purpose_filter("").error().code, Errc::invalid_argument);
  EXPECT_TRUE(*check_purpose_filter("*"));
  EXPECT_FALSE(*check_purpose_filter("login"));
  EXPECT_FALSE(check_purpose_filter("with space").has_value());
}

TEST(Identifier, NormalisationFollowsThePolicy) {
  Policy plain;
  plain.trim_identifier = false;
  plain.lowercase_identifier = false;
  EXPECT_EQ(*normalize_identifier(" User@Example.com ", plain), " User@Example.com ");
  Policy email;  // the default: trimmed and lower-cased
  EXPECT_EQ(*normalize_identifier(" User@Example.com \t\n", email), "user@example.com");
  for (const char* spelling : {"Alice@Example.com", "alice@example.com", "alice@example.com ", "\tALICE@EXAMPLE.COM"})
    EXPECT_EQ(*normalize_identifier(spelling, email), "alice@example.com") << spelling;
  EXPECT_EQ(*normalize_identifier("ÄB", email), "Äb");  // ASCII only: bytes beyond are kept
  auto empty = normalize_identifier("   ", email);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Errc::invalid_argument);
  EXPECT_FALSE(normalize_identifier("", plain).has_value());
  EXPECT_FALSE(normalize_identifier(std::string(kMaxIdentifierBytes + 1, 'x'), plain).has_value());
  EXPECT_EQ(normalize_identifier(std::string("a\0b", 3), plain)->size(), 3u);  // binary-safe
}

TEST(Code, TypedFormIsForgivingAndACodeThatCannotBeRightIsAnError) {
  Policy digits;
  EXPECT_EQ(*normalize_code(" 123 456 ", digits), "123456");
  EXPECT_EQ(*normalize_code("123-456", digits), "123456");
  Policy alnum;
  alnum.alphabet = Alphabet::unambiguous;
  EXPECT_EQ(*normalize_code("ab-cd 2z", alnum), "ABCD2Z");
  for (const std::string& bad : {std::string(""), std::string(" - "), std::string("12345"), std::string("1234567"),
                                 std::string("12345a"), std::string("１２３４５６"), std::string("123\0" "56", 6)})
    EXPECT_EQ(normalize_code(bad, digits).error().code, Errc::invalid_argument) << bad;
  EXPECT_EQ(normalize_code(std::string(kMaxSecretBytes + 1, '1'), digits).error().code, Errc::invalid_argument);
  EXPECT_NE(normalize_code("12345", digits).error().message.find("6 digits"), std::string::npos);
  EXPECT_FALSE(normalize_code("ABCD0Z", alnum).has_value()) << "0 is not in the unambiguous alphabet";
  EXPECT_FALSE(normalize_code("ABCD2", alnum).has_value());
}

TEST(Ttl, OverrideWithinLimits) {
  Policy p;
  EXPECT_EQ(effective_ttl(std::chrono::seconds(0), p)->count(), 600000);
  EXPECT_EQ(effective_ttl(std::chrono::seconds(5), p)->count(), 5000);
  EXPECT_FALSE(effective_ttl(std::chrono::seconds(-1), p).has_value());
  EXPECT_FALSE(effective_ttl(kMaxTtl + std::chrono::seconds(1), p).has_value());
}

TEST(TokenFormat, RoundTripsAndRejectsMalformedTokens) {
  ASSERT_TRUE(crypto_init());
  const std::string group = base64url_encode(random_bytes(kTagBytes));
  const std::string secret = random_bytes(32);
  const std::string token = encode_token(9, group, secret);
  EXPECT_EQ(token.size(), 67u);  // 50 bytes: version, key id, 16-byte locator, 32-byte secret
  auto parts = parse_token(token);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->key_id, 9);
  EXPECT_EQ(parts->group, group);
  EXPECT_EQ(parts->secret.view(), secret);

  EXPECT_FALSE(parse_token("").has_value());
  EXPECT_FALSE(parse_token("not a token").has_value());
  EXPECT_FALSE(parse_token(token.substr(0, 30)).has_value());
  EXPECT_FALSE(parse_token(token + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").has_value());
  std::string other_version = base64url_decode(token).value();
  other_version[0] = 2;
  EXPECT_FALSE(parse_token(base64url_encode(other_version)).has_value());
}

TEST(PolicyValidation, NamesTheFieldOutOfRange) {
  auto check = [](auto mutate, std::string_view field) {
    Policy p;
    mutate(p);
    auto s = validate(p);
    ASSERT_FALSE(s.has_value()) << field;
    EXPECT_EQ(s.error().code, Errc::config);
    EXPECT_NE(s.error().message.find(field), std::string::npos) << s.error().message;
  };
  EXPECT_TRUE(validate(Policy{}).has_value());
  check([](Policy& p) { p.ttl = std::chrono::seconds(0); }, "ttl");
  check([](Policy& p) { p.max_attempts = 0; }, "max_attempts");
  check([](Policy& p) { p.max_attempts = 101; }, "max_attempts");
  check([](Policy& p) { p.otp_length = 3; }, "otp_length");
  check([](Policy& p) { p.otp_length = 11; }, "otp_length");
  check([](Policy& p) { p.token_bytes = 15; }, "token_bytes");
  check([](Policy& p) { p.token_bytes = 65; }, "token_bytes");
  check([](Policy& p) { p.alphabet = static_cast<Alphabet>(7); }, "alphabet");
  check([](Policy& p) { p.reissue = static_cast<Reissue>(7); }, "reissue");
  check([](Policy& p) { p.link_param = ""; }, "link_param");
  check([](Policy& p) { p.link_param = "a b"; }, "link_param");

  Config c;
  c.policies["bad purpose"] = Policy{};
  EXPECT_FALSE(validate(c).has_value());
  Config prefix;
  prefix.key_prefix = "a{b}";
  EXPECT_FALSE(validate(prefix).has_value());
}

}  // namespace
}  // namespace verikit::detail
