// verikit::redis — one connection: a non-blocking TCP or Unix socket, optional TLS (OpenSSL),
// the AUTH/SELECT handshake, a write buffer and the in-flight requests awaiting replies in order.
// Driven by the client's I/O thread only.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "redis/client.hpp"

struct ssl_st;
struct ssl_ctx_st;
struct redisReader;

namespace verikit::redis {

using SteadyClock = std::chrono::steady_clock;

struct Request {
  std::string bytes;  // the formatted command
  ReplyCallback done;
  SteadyClock::time_point deadline;
};

class Connection {
 public:
  enum class State { down, connecting, tls, handshake, ready };

  Connection(const Endpoint& endpoint, ssl_ctx_st* tls_context);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const noexcept { return state_; }
  int fd() const noexcept { return fd_; }
  std::size_t in_flight() const noexcept { return in_flight_.size(); }

  // Begins a non-blocking connect; an immediate failure closes the connection.
  Status start(SteadyClock::time_point now);
  // The poll events this connection waits for.
  short wanted_events() const noexcept;
  // Handles readiness: connects, handshakes, writes and reads, completing requests in order.
  Status on_events(short revents);
  // Appends a request (state must be ready) and tries to write it at once.
  Status send(Request request);
  Status flush();
  // Fails every in-flight request with `error` (each exactly once) and closes the socket.
  void fail(const Error& error);

  // The earliest deadline that applies now: connect (while connecting) or oldest reply.
  std::optional<SteadyClock::time_point> deadline() const;
  Error deadline_error() const;

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
  void close_socket();

  const Endpoint& endpoint_;
  ssl_ctx_st* tls_context_;
  State state_ = State::down;
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  bool tls_wants_write_ = false;
  std::string wbuf_;
  std::size_t wpos_ = 0;
  std::deque<Request> in_flight_;
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

}  // namespace verikit::redis
