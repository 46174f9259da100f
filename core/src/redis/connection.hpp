// verikit::redis — one connection: a non-blocking TCP or Unix socket, optional TLS (OpenSSL),
// the AUTH/SELECT handshake, a write buffer and the in-flight requests awaiting replies in order.
// Driven by the client's I/O thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "redis/client.hpp"
#include "redis/reply_reader.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace verikit::redis {

using SteadyClock = std::chrono::steady_clock;

struct Request {
  std::string bytes;  // the formatted command (or commands: see replies)
  ReplyCallback done;  // empty once completed (a timed-out request keeps its slot, see Connection)
  SteadyClock::time_point deadline;
  std::uint64_t end = 0;  // where its bytes end in the connection's output stream
  // Commands in `bytes`, sent back to back on one connection; with more than one, `done` gets
  // an array of their replies, in order.
  int replies = 1;
  std::chrono::milliseconds extra_time{0};  // added to the command timeout (a WAIT's own timeout)
  // The length of a WAIT that ends `bytes` (0: none). The request may have run once the bytes
  // before it were written: a WAIT cut short does not make a script Redis has whole "not sent".
  std::size_t wait_bytes = 0;
  std::vector<Reply> earlier;                // the replies received so far
};

// Runs a completion; an exception it throws (bad_alloc included) is caught and reported through
// `warn`: it cannot take the I/O thread or other requests down with it. On a thread marked by
// detail::mark_callback_thread (the I/O and routing threads), a completion that forks ends the
// thread's copy in the child right here: the sockets, the requests and their callbacks are the
// parent's, and nothing of them is used or destroyed in the child.
void complete(Request& request, Expected<Reply> result, const Warn& warn) noexcept;
// Completes `request` with a copy of `error`, or, when there is no memory for the copy, with
// out_of_memory_error(error.code): exactly once either way.
void fail_request(Request& request, const Error& error, const Warn& warn) noexcept;

class Connection {
 public:
  enum class State { down, connecting, tls, handshake, ready };

  Connection(const Endpoint& endpoint, ssl_ctx_st* tls_context, const Warn& warn);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const noexcept { return state_; }
  int fd() const noexcept { return fd_; }
  // In a forked child: closes this process's copy of the socket without a word to the server
  // (no TLS close_notify, no shutdown(): the parent's connection goes on undisturbed) and
  // forgets it. The TLS state is left as it is (the object is never used again).
  void close_inherited_fd() noexcept;
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  // Requests that timed out and still wait for their (late) replies: their slots stay, in order,
  // so that the late replies are matched to them and discarded.
  std::size_t abandoned() const noexcept { return abandoned_; }

  // Begins a non-blocking connect; an immediate failure closes the connection.
  Status start(SteadyClock::time_point now);
  // The poll events this connection waits for.
  short wanted_events() const noexcept;
  // Handles readiness: connects, handshakes, writes and reads, completing requests in order.
  Status on_events(short revents);
  // Appends a request (state must be ready) and tries to write it at once.
  // On an exception (bad_alloc) nothing changed: `request` is still the caller's.
  Status send(Request&& request);
  Status flush();
  // Fails every in-flight request (each exactly once) and closes the socket. A request whose
  // bytes were all written may have taken effect: it fails with Errc::timeout (or with `cause`
  // if that is a protocol error); one not (fully) written fails with store_unavailable.
  // Memory running out on the way changes only the errors' messages (out_of_memory_error).
  void fail(const Error& cause) noexcept;

  // The earliest deadline that applies now: connect (while connecting), the oldest live
  // request's reply, or the stall limit (see stalled()).
  std::optional<SteadyClock::time_point> deadline() const;
  // While connecting: the connect deadline has passed (nothing of the caller's was sent).
  bool connect_expired(SteadyClock::time_point now) const;
  Error connect_timeout_error() const;
  // Completes every request whose deadline has passed with Errc::timeout ("sent, no reply in
  // time: may have taken effect"), keeping its slot: the connection stays up.
  void expire(SteadyClock::time_point now);
  // Timed-out requests have waited a further stall_grace() past their deadline and nothing at
  // all was read meanwhile: the server or the path to it is gone; the connection should go.
  bool stalled(SteadyClock::time_point now) const;
  Error stall_error() const;
  std::chrono::milliseconds stall_grace() const;

  // Called by the reader between replies, every `every` completed replies: lets the client send
  // what those replies' callbacks submitted while Redis still has work, so Redis and the
  // callbacks overlap instead of taking turns. An error it returns fails this connection.
  void set_progress(std::function<Status()> hook, std::size_t every) {
    progress_ = std::move(hook);
    progress_every_ = every;
  }

  // Reconnection with backoff, kept by the client.
  SteadyClock::time_point retry_at{};
  int failures = 0;
  std::string last_error;

 private:
  Status on_connected();
  Status tls_handshake();
  Status begin_handshake();
  Status read_available();
  Status write_pending();
  Status complete_replies();
  Error protocol_error(const std::string& what) const;
  // The reader's error: a protocol error named as such; out of memory as it is.
  Error reader_error(const Error& e) const;
  void close_socket();

  std::optional<SteadyClock::time_point> stall_deadline() const;
  Error sent_error(const Error& cause) const;
  Error unsent_error(const Error& cause) const;

  const Endpoint& endpoint_;
  ssl_ctx_st* tls_context_;
  const Warn& warn_;
  State state_ = State::down;
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
  std::unique_ptr<ReplyReader> reader_;
  bool tls_wants_write_ = false;
  std::string wbuf_;
  std::size_t wpos_ = 0;
  std::deque<Request> in_flight_;
  // Empty but for fail(), which swaps the in-flight requests into it: made with the connection,
  // because a std::deque allocates even when empty, and fail() must work without memory.
  std::deque<Request> failing_;
  std::size_t abandoned_ = 0;   // leading entries of in_flight_ that timed out
  std::uint64_t queued_ = 0;    // bytes appended to the output stream since connecting
  std::uint64_t written_ = 0;   // ... and written to the socket
  SteadyClock::time_point last_read_{};
  int handshake_left_ = 0;
  std::optional<Error> handshake_error_;
  SteadyClock::time_point connect_deadline_{};
  std::function<Status()> progress_;
  std::size_t progress_every_ = 0;
};

// hiredis formatting of an argument vector (binary-safe, explicit lengths).
std::string format_command(std::span<const std::string_view> args);
inline std::string format_command(const std::vector<std::string_view>& args) {
  return format_command(std::span<const std::string_view>(args));
}

// Appends `WAIT replicas timeout` (formatted) to `bytes` and returns its length: the request's
// Request::wait_bytes.
std::size_t append_wait(std::string& bytes, int replicas, std::chrono::milliseconds timeout);

}  // namespace verikit::redis
