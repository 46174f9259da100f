// The Redis store's scripts against their descriptors (core/src/store/redis_scripts.hpp): the
// `#!lua` flags line first, the KEYS and ARGV each script reads, the size of each reply it
// returns, the outcome constants, and the embedded text against the .lua files.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "store/redis_scripts.hpp"
#include "verikit/result.hpp"

namespace verikit::detail::scripts {
namespace {

// A script's source without its `--` comments (the scripts have no "--" inside strings).
std::string code(std::string_view source) {
  return std::regex_replace(std::string(source), std::regex("--[^\n]*"), "");
}

// Indices n of every `<table>[n]` in a script's code.
std::set<std::size_t> indices(std::string_view source, const std::string& table) {
  std::set<std::size_t> out;
  const std::regex re("\\b" + table + "\\[([0-9]+)\\]");
  const std::string s = code(source);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    out.insert(std::stoul((*it)[1]));
  return out;
}

std::set<std::size_t> one_to(std::size_t n) {
  std::set<std::size_t> out;
  for (std::size_t i = 1; i <= n; ++i) out.insert(i);
  return out;
}

// The number of elements of each `return {...}` table in a script's source.
std::vector<std::size_t> returned_table_sizes(std::string_view s) {
  std::vector<std::size_t> sizes;
  for (std::size_t at = s.find("return {"); at != std::string_view::npos; at = s.find("return {", at + 1)) {
    int depth = 0;
    std::size_t elements = 1;
    char quote = 0;
    for (std::size_t i = at + 7; i < s.size(); ++i) {
      const char c = s[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '{' || c == '(' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ')' || c == ']') {
        if (--depth == 0) break;
      } else if (c == ',' && depth == 1) {
        ++elements;
      }
    }
    sizes.push_back(elements);
  }
  return sizes;
}

TEST(RedisScripts, EachStartsWithItsFlagsLine) {
  // Pinned: under OOM these make Redis refuse a memory-growing script whole (a guess is counted
  // or refused, never compared for free); RedisBudget.OutOfMemory* proves it against Redis.
  const std::map<std::string_view, std::string_view> flags = {
      {"otp_issue", ""},          {"otp_verify", ""},           {"otp_revoke", "allow-oom"},
      {"token_issue", ""},        {"token_verify", "allow-oom"}, {"token_revoke", "allow-oom"},
      {"revoke_all", "allow-oom"}, {"inspect", "no-writes"},     {"unlock", "allow-oom"},
      {"client_limit", ""},       {"token_verify_bound", ""},   {"recovery_set", ""},
      {"recovery_use", ""},       {"recovery_count", "no-writes"}, {"totp_enroll", ""},
      {"totp_load", "no-writes"}, {"totp_commit", ""},          {"second_factors_revoke", "allow-oom"},
      {"key_check", "allow-oom"},     {"totp_confirm", ""}};
  ASSERT_EQ(std::size(kAll), flags.size());
  for (const Script* s : kAll) {
    SCOPED_TRACE(s->name);
    ASSERT_TRUE(flags.count(s->name));
    EXPECT_EQ(s->flags, flags.at(s->name));
    const std::string first = flags.at(s->name).empty() ? "#!lua\n" : "#!lua flags=" + std::string(flags.at(s->name)) + "\n";
    EXPECT_EQ(text(*s).substr(0, first.size()), first);
    EXPECT_EQ(text(*s).find("\n#!"), std::string::npos) << "one flags line, the first";
    EXPECT_TRUE(text(*s).ends_with(source(*s)));
  }
}

TEST(RedisScripts, ReadExactlyTheKeysAndArgumentsTheirDescriptorsName) {
  for (const Script* s : kAll) {
    SCOPED_TRACE(s->name);
    const std::string_view src = source(*s);
    EXPECT_EQ(indices(src, "KEYS"), one_to(s->keys.size())) << "KEYS[1.." << s->keys.size() << "], each of them";
    const std::set<std::size_t> argv = indices(src, "ARGV");
    EXPECT_EQ(argv, one_to(s->args.size())) << "ARGV[1.." << s->args.size() << "], each of them";
    // The packed arguments: one struct.unpack of ARGV[n], the argument "packed", with one 8-byte
    // double for each of the descriptor's numbers, then a length and its bytes (I4c0) for each of
    // its strings, into locals named as the descriptor names them, in its order; after now_ms(),
    // which binds `struct` when the script runs by EVAL.
    const std::string text = code(src);
    const std::regex unpack(
        "local ([a-z0-9_,\\s]+?)\\s*=\\s*struct\\.unpack\\('<(d*)((?:I4c0)*)', ARGV\\[([0-9]+)\\]\\)");
    std::size_t unpacks = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), unpack); it != std::sregex_iterator(); ++it) {
      ++unpacks;
      const std::size_t at = std::stoul((*it)[4]);
      ASSERT_LE(at, s->args.size());
      EXPECT_EQ(s->args[at - 1], "packed");
      EXPECT_EQ((*it)[2].length(), s->numbers.size()) << "one d per number";
      EXPECT_EQ((*it)[3].length(), 4 * s->strings.size()) << "one I4c0 per string";
      std::vector<std::string> locals;
      const std::string list = (*it)[1];
      const std::regex name("[a-z0-9_]+");
      for (auto n = std::sregex_iterator(list.begin(), list.end(), name); n != std::sregex_iterator(); ++n)
        locals.push_back(n->str());
      std::vector<std::string> names(s->numbers.begin(), s->numbers.end());
      names.insert(names.end(), s->strings.begin(), s->strings.end());
      EXPECT_EQ(locals, names) << "the descriptor's names, in order";
      const std::size_t now = text.find("now_ms()");
      EXPECT_TRUE(now != std::string::npos && now < static_cast<std::size_t>(it->position(0))) << "struct bound first";
    }
    const bool packs = !s->numbers.empty() || !s->strings.empty();
    EXPECT_EQ(unpacks, packs ? 1u : 0u);
    EXPECT_EQ(text.find("struct.") != std::string::npos, packs);
    const bool has_packed_arg = std::find(s->args.begin(), s->args.end(), "packed") != s->args.end();
    EXPECT_EQ(has_packed_arg, packs);
    for (std::string_view name : s->strings)  // a packed string is not also an argument of its own
      EXPECT_EQ(std::find(s->args.begin(), s->args.end(), name), s->args.end()) << name;
    const bool loops_past = text.find("for i = " + std::to_string(s->args.size() + 1) + ", #ARGV do") != std::string::npos;
    EXPECT_EQ(loops_past, s->more_args) << "more_args: the script reads ARGV[" << s->args.size() + 1 << "] onwards";
  }
}

// Every `return struct.pack(...)` of a script: its format and how many values follow it.
std::vector<std::pair<std::string, std::size_t>> returned_packs(const std::string& s) {
  std::vector<std::pair<std::string, std::size_t>> packs;
  const std::regex re("return struct\\.pack\\('([^']*)'((?:[^()]|\\([^()]*\\))*)\\)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    const std::string rest = (*it)[2];
    std::size_t values = 0, depth = 0;
    for (char c : rest) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (c == ',' && depth == 0) ++values;
    }
    packs.emplace_back((*it)[1], values);
  }
  return packs;
}

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(RedisScripts, ReturnTheRepliesTheirDescriptorsDescribe) {
  for (const Script* s : kAll) {
    SCOPED_TRACE(s->name);
    const auto sizes = returned_table_sizes(code(source(*s)));
    if (s->packed_reply) {
      // every return packs every field: one value per number, a length and a string per string
      const std::string c = code(source(*s));
      EXPECT_TRUE(sizes.empty()) << "a packed reply, not a table";
      const auto packs = returned_packs(c);
      EXPECT_EQ(packs.size(), count_of(c, "return ")) << "every return is a packed reply";
      std::size_t values = s->reply.size();
      for (const Field& f : s->reply) values += f.type == 's';
      for (const auto& [format, n] : packs) {
        EXPECT_EQ(format, reply_format(*s));
        EXPECT_EQ(n, values) << format;
      }
      ASSERT_FALSE(packs.empty());
      EXPECT_EQ(s->reply_always, s->reply.size()) << "a packed reply has every field";
      continue;
    }
    if (s->reply.empty()) {
      EXPECT_TRUE(sizes.empty()) << "an integer reply, not a table";
      continue;
    }
    ASSERT_FALSE(sizes.empty());
    ASSERT_GE(s->reply_always, 1u);
    ASSERT_LE(s->reply_always, s->reply.size());
    for (std::size_t n : sizes) EXPECT_TRUE(n == s->reply.size() || n == s->reply_always) << n << " elements";
  }
}

TEST(RedisScripts, OutcomeConstantsComeFromTheEnum) {
  for (const Script* s : kAll) {
    if (!s->prelude) continue;
    SCOPED_TRACE(s->name);
    const std::string& t = text(*s);
    const std::size_t line = t.find("\nlocal VERIFIED, ");
    ASSERT_NE(line, std::string::npos);
    std::istringstream names_values(t.substr(line + 7, t.find('\n', line + 1) - line - 7));
    std::string names, values;
    std::getline(names_values, names, '=');
    std::getline(names_values, values);
    std::istringstream n(names), v(values);
    std::string name, value;
    int count = 0;
    while (std::getline(n, name, ',') && std::getline(v, value, ',')) {
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      std::string expected = to_string(static_cast<Outcome>(std::stoi(value)));
      for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_EQ(name, expected);
      ++count;
    }
    EXPECT_EQ(count, static_cast<int>(Outcome::cooldown) + 1);
  }
  // No outcome number is written in the Lua: statuses are returned by name.
  for (const Script* s : kAll) {
    SCOPED_TRACE(s->name);
    if (!s->reply.empty() && s->reply[0].type == 'o') {
      EXPECT_FALSE(std::regex_search(code(source(*s)), std::regex("return \\{[0-9]"))) << "a status by number";
    }
  }
}

// The prelude's locals for the globals the scripts use (redis, math, ...) are bound by
// bind_globals(): in the function library each function calls it first (the library's text
// puts it there: RedisStore.EveryFunctionAnswersAsTheFirstCallAfterTheLibraryIsRestored); in
// EVAL, where the prelude is made again with every call, now_ms() does, so each script with the
// prelude starts with it.
TEST(RedisScripts, EachWithThePreludeCallsNowMsFirst) {
  for (const Script* s : kAll) {
    if (!s->prelude) continue;
    SCOPED_TRACE(s->name);
    const std::string c = code(source(*s));
    const std::size_t first = c.find_first_not_of(" \t\n");
    ASSERT_NE(first, std::string::npos);
    EXPECT_EQ(c.compare(first, 21, "local now = now_ms()\n"), 0) << c.substr(first, 60);
  }
}

TEST(RedisScripts, EmbeddedTextIsTheLuaFiles) {
  for (const Script* s : kAll) {
    SCOPED_TRACE(s->name);
    std::ifstream in(std::string(VERIKIT_SOURCE_DIR) + "/core/src/store/lua/" + std::string(s->name) + ".lua",
                     std::ios::binary);
    ASSERT_TRUE(in) << "core/src/store/lua/" << s->name << ".lua";
    std::ostringstream file;
    file << in.rdbuf();
    EXPECT_EQ(source(*s), file.str()) << "the build embeds the .lua file as it is";
  }
}

// The group's record: the format of lua/prelude.lua (g_read, g_write) is the layout
// redis_scripts.hpp describes (and the store's tests read), and the offsets otp_verify patches in
// place (SETRANGE at #h + 2: a; #h + 4: x) are where that layout puts them.
TEST(RedisScripts, TheGroupRecordHasOneLayout) {
  std::ifstream in(std::string(VERIKIT_SOURCE_DIR) + "/core/src/store/lua/prelude.lua", std::ios::binary);
  ASSERT_TRUE(in);
  std::ostringstream file;
  file << in.rdbuf();
  const std::string prelude = file.str();
  std::smatch rec;
  ASSERT_TRUE(std::regex_search(prelude, rec, std::regex("local REC = '([^']*)'")));
  EXPECT_EQ(rec[1].str(), "<BBc0BBddddBc0Bc0Bc0I2c0");
  EXPECT_NE(prelude.find("struct.unpack(REC, s)"), std::string::npos);
  EXPECT_NE(prelude.find("struct.pack(REC, 1, #h, h, a, f, x, cd, tat, ft, #ph, ph, #b, b, #c, c, #p, p)"),
            std::string::npos);
  // after the tag (1 byte) and h (its length byte and #h bytes): a at #h + 2, f, then x
  const std::string verify = code(source(otp_verify));
  EXPECT_NE(verify.find("redis.call('SETRANGE', KEYS[1], #h + 2, struct.pack('<BBdddd', left, flags, x, cd, tat, ft))"),
            std::string::npos);
  EXPECT_NE(verify.find("redis.call('SETRANGE', KEYS[1], #h + 2, struct.pack('<B', left))"), std::string::npos);
  EXPECT_NE(verify.find("redis.call('SETRANGE', KEYS[1], #h + 4, struct.pack('<d', 0))"), std::string::npos);
}

}  // namespace
}  // namespace verikit::detail::scripts
