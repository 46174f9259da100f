// verikit::redis — a Redis reply as plain C++ values (no hiredis type leaves src/redis).
#pragma once

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

}  // namespace verikit::redis
