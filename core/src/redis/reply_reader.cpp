// verikit::redis — the reply reader (see reply_reader.hpp).
#include "redis/reply_reader.hpp"

// hiredis 0.14's sds.h (included by hiredis.h) declares sdsfree without extern "C" of its own.
extern "C" {
#include <hiredis/hiredis.h>
}

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

namespace verikit::redis {
namespace {

Error malformed(const std::string& what) { return make_error(Errc::store_protocol, what); }

// hiredis' reader builds replies through these, straight into our Reply tree: the root on the
// heap, every element in place in its parent's vector (no hiredis object per element, no copy).
// hiredis is C: nothing may throw through it, so a failed allocation is its out-of-memory null.
// Elements arrive in order (idx 0, 1, ...) and are appended: a parent still being filled is the
// last element of its own parent, so the pointers hiredis keeps to unfinished arrays stay valid.
Reply* place(const redisReadTask* task) {
  if (task->parent == nullptr) return new Reply;
  auto& siblings = static_cast<Reply*>(task->parent->obj)->elements;
  if (siblings.size() != static_cast<std::size_t>(task->idx)) return nullptr;  // cannot happen
  return &siblings.emplace_back();
}


// The reply `place` makes for `task`, filled by `fill`; null if either fails. A root is on the
// heap and hiredis has no pointer to it yet: if filling it fails, it is freed here (an element
// belongs to its parent, which hiredis frees with the root it has).
template <class Fill>
void* placed(const redisReadTask* task, Fill&& fill) noexcept {
  Reply* r = nullptr;
  try {
    r = place(task);
    if (r == nullptr) return nullptr;
    fill(*r);
    return r;
  } catch (...) {
    if (task->parent == nullptr) delete r;
    return nullptr;
  }
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
  return placed(task, [&](Reply& r) {
    r.type = task->type == REDIS_REPLY_STATUS  ? Reply::Type::status
             : task->type == REDIS_REPLY_ERROR ? Reply::Type::error
                                               : Reply::Type::string;
    r.str.assign(str, len);
  });
}

void* create_array(const redisReadTask* task, int elements) noexcept {
  auto* budget = static_cast<ReaderBudget*>(task->privdata);
  const auto n = static_cast<std::size_t>(elements);  // hiredis checked 0 <= elements <= INT_MAX
  if (task->parent == nullptr) budget->elements = 0;
  try {
    if (n > ReplyLimits::max_array_elements) {
      budget->refused = "an array of " + std::to_string(n) + " elements (the limit is " +
                        std::to_string(ReplyLimits::max_array_elements) + ")";
      return nullptr;
    }
    budget->elements += n;
    if (budget->elements > ReplyLimits::max_reply_elements) {
      budget->refused = "a reply of more than " + std::to_string(ReplyLimits::max_reply_elements) + " elements";
      return nullptr;
    }
  } catch (...) {
    return nullptr;
  }
  return placed(task, [&](Reply& r) {
    r.type = Reply::Type::array;
    // Room for what is declared, up to a point: beyond it the vector grows as elements arrive.
    r.elements.reserve(std::min<std::size_t>(n, 1024));
  });
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
  return placed(task, [&](Reply& r) {
    r.type = Reply::Type::integer;
    r.integer = value;
  });
}

void* create_nil(const redisReadTask* task) noexcept {
  return placed(task, [&](Reply& r) { r.type = Reply::Type::nil; });
}

void free_reply(void* reply) noexcept { delete static_cast<Reply*>(reply); }  // roots only

redisReplyObjectFunctions reply_functions = {create_string, create_array, create_integer, create_nil, free_reply};

}  // namespace

ReplyReader::ReplyReader() {
  reader_ = redisReaderCreateWithFunctions(&reply_functions);
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->maxbuf = 0;  // keep the read buffer: no free/realloc churn under load
  reader_->privdata = &budget_;
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

// hiredis says "out of memory" both when it could not allocate and when a reply object could
// not be made; the latter is a refusal of verikit's limits (budget_.refused) or memory running
// out in the object functions (which catch it and return null). Only those without a refusal are
// memory: not a protocol error, so requests already sent fail as timeouts (they may have run).
bool ReplyReader::out_of_memory() const noexcept { return reader_->err == REDIS_ERR_OOM && budget_.refused.empty(); }

Status ReplyReader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK)
    return out_of_memory() ? out_of_memory_error(Errc::store_unavailable) : malformed("unreadable reply");
  return Unit{};
}

Expected<std::unique_ptr<Reply>> ReplyReader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
    return out_of_memory() ? out_of_memory_error(Errc::store_unavailable)
                           : malformed(budget_.refused.empty() ? std::string(reader_->errstr) : budget_.refused);
  if (raw == nullptr) {
    if (auto s = check_pending(); !s) return std::move(s).error();
    return std::unique_ptr<Reply>();
  }
  return std::unique_ptr<Reply>(static_cast<Reply*>(raw));
}

// hiredis keeps an incomplete element's bytes from reader_->pos on, and the element's type (once
// read) in its current task; a bulk string's "<length>\r\n" is re-read until all its data is in.
Status ReplyReader::check_pending() const {
  if (reader_->ridx < 0) return Unit{};
  const int type = reader_->rstack[reader_->ridx].type;
  const char* p = reader_->buf + reader_->pos;
  const std::size_t n = reader_->len - reader_->pos;
  if (type == REDIS_REPLY_STRING) {
    constexpr std::size_t kLengthLine = 24;
    const char* end = static_cast<const char*>(std::memchr(p, '\r', std::min(n, kLengthLine)));
    if (end == nullptr) return n >= kLengthLine ? malformed("a bulk length line that does not end") : Status(Unit{});
    long long len = 0;
    auto [stop, ec] = std::from_chars(p, end, len);
    if (ec != std::errc() || stop != end) return Unit{};  // hiredis reports it when it reads it
    if (len > 0 && static_cast<unsigned long long>(len) > ReplyLimits::max_bulk_bytes)
      return malformed("a bulk string of " + std::to_string(len) + " bytes (the limit is " +
                       std::to_string(ReplyLimits::max_bulk_bytes) + ")");
  } else if (type >= 0 && n > ReplyLimits::max_line_bytes) {
    return malformed("a reply line longer than " + std::to_string(ReplyLimits::max_line_bytes) + " bytes");
  }
  return Unit{};
}

}  // namespace verikit::redis
