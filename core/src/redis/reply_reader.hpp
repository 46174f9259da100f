// verikit::redis — the reply reader: hiredis 0.14's protocol parser, building verikit's Reply
// trees in place and holding a server to ReplyLimits (hiredis itself takes any length declared).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "redis/reply.hpp"
#include "verikit/error.hpp"

struct redisReader;

namespace verikit::redis {

// What the reader accepts from a server: a hostile or broken one cannot make the client
// allocate more than these allow (going beyond is a protocol error: drop the connection).
// Arrays are filled as their elements arrive, so a large declared length allocates nothing.
struct ReplyLimits {
  static constexpr std::size_t max_bulk_bytes = std::size_t{64} << 20;  // one bulk string: 64 MiB
  static constexpr std::size_t max_array_elements = std::size_t{1} << 20;  // one array: 1,048,576
  static constexpr std::size_t max_reply_elements = std::size_t{2} << 20;  // all arrays of one reply
  static constexpr std::size_t max_line_bytes = std::size_t{64} << 10;  // status, error, integer, lengths
  // Nesting: hiredis 0.14's reader refuses arrays nested deeper than 7.
};

// The reader's allowance for the reply it is building, reset at each reply's root.
struct ReaderBudget {
  std::size_t elements = 0;  // array elements declared so far
  std::string refused;       // why an element was refused (a limit), else empty
};

class ReplyReader {
 public:
  ReplyReader();  // std::bad_alloc if hiredis cannot allocate its reader
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Appends bytes read from the server. An error (store_protocol, saying what was wrong; or
  // out_of_memory_error(store_unavailable) when memory ran out) means the stream is unusable, as
  // for next().
  Status feed(const char* data, std::size_t size);
  // The next complete reply, or null until one is complete. Checks what is still incomplete
  // against the limits, so a huge declared bulk length fails at its length line.
  Expected<std::unique_ptr<Reply>> next();

 private:
  Status check_pending() const;
  bool out_of_memory() const noexcept;

  redisReader* reader_ = nullptr;
  ReaderBudget budget_;
};

}  // namespace verikit::redis
