// verikit::redis — Redis Cluster key slots: CRC16 (XMODEM, as Redis uses it), hash tags, and
// which slot a command's keys fall in.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace verikit::redis {

inline constexpr int kSlots = 16384;
// command_slot(): a command without keys (any node may run it).
inline constexpr int kNoKey = -1;
// command_slot(): a command whose keys fall in different slots (no node can run it whole).
inline constexpr int kCrossSlot = -2;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes
// keys with. crc16("123456789") == 0x31C3.
std::uint16_t crc16(std::string_view data) noexcept;

// The slot of a key: CRC16 of its hash tag (what lies between the first '{' and the next '}',
// when that is not empty) or of the whole key, modulo 16384.
int key_slot(std::string_view key) noexcept;

// The slot of a command's keys: EVAL / EVALSHA / FCALL (and their _RO forms) name their keys
// after numkeys; a command known to take no key is kNoKey; any other command's key is its first
// argument. kCrossSlot when the keys of a script fall in more than one slot.
int command_slot(std::span<const std::string_view> args) noexcept;

}  // namespace verikit::redis
