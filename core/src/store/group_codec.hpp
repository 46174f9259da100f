// verikit::detail — the file store's records as bytes: a group's records and a client key's
// buckets in a compact binary form (little-endian integers, length-prefixed byte strings) that
// starts with a format version. A record of an unknown version, or a damaged one, is refused
// with store_protocol (never read as something else).
#pragma once

#include <string>
#include <string_view>

#include "store/group_rules.hpp"

namespace verikit::detail {

inline constexpr std::uint8_t kRecordFormat = 1;

void encode_group(const Group& g, std::string& out);
Expected<Group> decode_group(std::string_view bytes);
void encode_client(const ClientBuckets& b, std::string& out);
Expected<ClientBuckets> decode_client(std::string_view bytes);

}  // namespace verikit::detail
