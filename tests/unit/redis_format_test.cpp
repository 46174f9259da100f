// verikit::redis::format_command writes RESP requests itself (hiredis only reads replies): it
// must write byte for byte what hiredis' redisFormatSdsCommandArgv writes, for every argument
// count and length, empty arguments and any bytes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection.hpp"

extern "C" {
#include <hiredis/hiredis.h>
}

namespace verikit::redis {
namespace {

std::string by_hiredis(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  sds cmd = nullptr;
  const int n = redisFormatSdsCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  EXPECT_GE(n, 0);
  std::string out(cmd, static_cast<std::size_t>(n));
  sdsfree(cmd);
  return out;
}

std::string by_verikit(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return format_command(std::span<const std::string_view>(views));
}

TEST(RedisFormat, AKnownCommand) {
  EXPECT_EQ(by_verikit({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  EXPECT_EQ(by_verikit({}), "*0\r\n");
}

// Lengths around every power of ten up to 100,000 (where the length's digits change), counts on
// both sides of 32 (format_command's table of arguments on the stack), and random bytes,
// CR and LF and NUL among them.
TEST(RedisFormat, WritesWhatHiredisWritesForAnyArguments) {
  std::mt19937_64 rng(20261127);
  const std::size_t edges[] = {0, 1, 8, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 9999, 10000, 99999, 100000};
  auto bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  int cases = 0;
  for (std::size_t e : edges) {
    const std::vector<std::string> args{"FCALL", bytes(e), bytes(e / 2 + 1)};
    ASSERT_EQ(by_verikit(args), by_hiredis(args)) << "an argument of " << e << " bytes";
    ++cases;
  }
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> args(rng() % 70);
    for (std::string& a : args) a = bytes(rng() % 4 == 0 ? edges[rng() % std::size(edges)] : rng() % 40);
    ASSERT_EQ(by_verikit(args), by_hiredis(args)) << "round " << round << ", " << args.size() << " arguments";
    ++cases;
  }
  EXPECT_EQ(cases, 2016);
}

}  // namespace
}  // namespace verikit::redis
