// verikit::redis — a Redis reply as plain C++ values (no hiredis type leaves src/redis).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace verikit::redis {

struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status and error replies
  std::vector<Reply> elements;

  bool is_error() const noexcept { return type == Type::error; }
  bool is_nil() const noexcept { return type == Type::nil; }
};

// What the reply reader accepts from a server: a hostile or broken one cannot make the client
// allocate more than these allow (going beyond is a protocol error and drops the connection).
// Arrays are filled as their elements arrive, so a large declared length allocates nothing.
struct ReplyLimits {
  static constexpr std::size_t max_bulk_bytes = std::size_t{64} << 20;  // one bulk string: 64 MiB
  static constexpr std::size_t max_array_elements = std::size_t{1} << 20;  // one array: 1,048,576
  static constexpr std::size_t max_reply_elements = std::size_t{2} << 20;  // all arrays of one reply
  static constexpr std::size_t max_line_bytes = std::size_t{64} << 10;  // status, error, integer, lengths
  // Nesting: hiredis 0.14's reader refuses arrays nested deeper than 7.
};

}  // namespace verikit::redis
