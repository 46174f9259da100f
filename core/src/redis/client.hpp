// verikit::redis — the Redis client: requests from any thread are formatted on the caller's
// thread, queued, written in batches by one I/O thread over a small pool of connections
// (auto-pipelining) and matched to replies in order. Every request completes exactly once:
// with a reply (error replies included), or with an error (timeout, connection lost, shutdown).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/link.hpp"

namespace verikit::redis {

// One Redis server (TCP, Unix socket, TLS).
class Client final : public Link {
 public:
  // Starts the I/O thread and waits until a connection is ready (TCP/Unix, TLS, AUTH, SELECT)
  // or the first attempt fails: a wrong password, a bad certificate or an unreachable server is
  // reported here, clearly. Later failures are retried with backoff. `warn` (empty: stderr)
  // receives what the I/O thread cannot return to anyone, such as a completion that threw.
  static Expected<std::unique_ptr<Client>> connect(const Endpoint& endpoint, Warn warn = {});

  // Fails every request still pending (exactly once each) and stops the I/O thread. Safe to
  // call from a completion callback (the thread then stops after it returns).
  ~Client();
  // What the destructor does, now: from any other thread it returns once the I/O thread has
  // ended (pending requests failed as above; later ones fail at once with store_unavailable),
  // so an owner can be sure no thread of the client outlives it (verikit_engine_free, then
  // dlclose). From the I/O thread itself it only asks the thread to stop.
  void stop() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Thread-safe. `done` runs on the I/O thread (must not block), or on the calling thread if
  // the client is already shutting down. A request that may have reached the server is never
  // sent again. How a request fails says whether it may have taken effect:
  //  - Errc::timeout: it was sent and no reply came within command_timeout (or its connection
  //    was lost or shut down after it was sent): it MAY HAVE TAKEN EFFECT, or take effect
  //    later. A reply that comes late is matched to its request and dropped; the connection
  //    stays up (unless nothing at all arrives for a while: Connection::stalled).
  //  - Errc::store_unavailable: it was never sent, or not all of it (no connection became
  //    ready in time, none could be made, the connection broke first, the client is shutting
  //    down): Redis runs only whole commands, so it had no effect.
  //  - Errc::store_protocol: the server answered something unreadable (the connection is dropped).
  // An exception thrown by `done` is caught and reported through the client's `warn`.
  void command(std::span<const std::string_view> args, ReplyCallback done) override;
  using Link::command;
  // command() followed, on the same connection, by `WAIT replicas timeout`: `done` gets an array
  // of the two replies (the command's, then WAIT's count of replicas that acknowledged every
  // write made so far on that connection). The deadline grows by `timeout`.
  void command_then_wait(std::span<const std::string_view> args, int replicas, std::chrono::milliseconds timeout,
                         ReplyCallback done) override;
  // Commands already formatted (format_command), `replies` of them, sent back to back on one
  // connection; with more than one, `done` gets an array of their replies. The deadline grows
  // by `extra_time`. `wait_bytes`: the length of a WAIT that ends `bytes` (0: none; see
  // Request::wait_bytes). (The cluster router's ASKING + command [+ WAIT].)
  void send_formatted(std::string bytes, int replies, std::chrono::milliseconds extra_time, std::size_t wait_bytes,
                      ReplyCallback done);
  // Whether the calling thread is this client's I/O thread (inside one of its completions).
  bool on_io_thread() const noexcept override;

  const Endpoint& endpoint() const noexcept override;
  Status each_primary(const PrimaryCheck& check) override { return check(*this, {}); }

  struct Impl;

 private:
  explicit Client(std::shared_ptr<Impl> impl);
  // Shared with the I/O thread: the last owner of a store may be a callback running on that
  // very thread, and then the thread finishes the shutdown on its own reference.
  std::shared_ptr<Impl> impl_;
};

}  // namespace verikit::redis
