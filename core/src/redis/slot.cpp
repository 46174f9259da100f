// verikit::redis — key slots (see slot.hpp).
#include "redis/slot.hpp"

#include <array>
#include <cctype>
#include <charconv>

namespace verikit::redis {
namespace {

constexpr std::array<std::uint16_t, 256> kTable = [] {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    t[i] = crc;
  }
  return t;
}();

bool equals_upper(std::string_view arg, std::string_view upper) noexcept {
  if (arg.size() != upper.size()) return false;
  for (std::size_t i = 0; i < arg.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(arg[i])) != upper[i]) return false;
  return true;
}

// Commands verikit (or its tests) send without a key: any primary runs them.
constexpr std::string_view kKeyless[] = {"ACL",   "ASKING", "AUTH",     "CLIENT",  "CLUSTER", "COMMAND",
                                         "CONFIG", "DBSIZE", "DEBUG",    "FLUSHALL", "FLUSHDB", "FUNCTION",
                                         "HELLO", "INFO",   "LASTSAVE", "MEMORY",  "PING",    "ROLE",
                                         "SCRIPT", "SELECT", "TIME",     "WAIT",    "ECHO"};

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (unsigned char c : data) crc = static_cast<std::uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

int key_slot(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlots - 1);
}

int command_slot(std::span<const std::string_view> args) noexcept {
  if (args.empty()) return kNoKey;
  const std::string_view name = args[0];
  for (std::string_view script : {"EVALSHA", "EVAL", "EVALSHA_RO", "EVAL_RO", "FCALL", "FCALL_RO"}) {
    if (!equals_upper(name, script)) continue;
    std::size_t keys = 0;
    if (args.size() < 3) return kNoKey;
    auto [p, ec] = std::from_chars(args[2].data(), args[2].data() + args[2].size(), keys);
    if (ec != std::errc() || keys == 0) return kNoKey;
    if (3 + keys > args.size()) return kNoKey;  // the server says what is wrong with it
    const int slot = key_slot(args[3]);
    for (std::size_t i = 1; i < keys; ++i)
      if (key_slot(args[3 + i]) != slot) return kCrossSlot;
    return slot;
  }
  for (std::string_view keyless : kKeyless)
    if (equals_upper(name, keyless)) return kNoKey;
  return args.size() >= 2 ? key_slot(args[1]) : kNoKey;
}

}  // namespace verikit::redis
