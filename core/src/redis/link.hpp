// verikit::redis — what the Redis store talks to: one server (Client), a Redis Cluster (routed
// by slot) or a Sentinel-managed primary (followed across failovers). The store does not learn
// the topology; it sends commands and gets each reply (or an error) exactly once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "redis/endpoint.hpp"
#include "redis/reply.hpp"
#include "verikit/error.hpp"

namespace verikit::redis {

using ReplyCallback = std::function<void(Expected<Reply>)>;
// Where the client reports what it cannot return (an exception thrown by a completion).
using Warn = std::function<void(std::string_view)>;

class Client;

// Slots first..last (inclusive) of a cluster primary.
struct SlotRange {
  int first = 0;
  int last = 0;
};

class Link {
 public:
  virtual ~Link() = default;

  // Thread-safe; `done` runs exactly once (see Client::command for what each error means: a
  // timeout MAY have taken effect; store_unavailable did not).
  virtual void command(std::span<const std::string_view> args, ReplyCallback done) = 0;
  void command(const std::vector<std::string_view>& args, ReplyCallback done) {
    command(std::span<const std::string_view>(args), std::move(done));
  }
  // The command, then `WAIT replicas timeout` on the same connection (see Client).
  virtual void command_then_wait(std::span<const std::string_view> args, int replicas,
                                 std::chrono::milliseconds timeout, ReplyCallback done) = 0;
  // Waits for command(). From one of the link's own threads (inside a completion) it would wait
  // for itself: there it fails at once with Errc::invalid_argument, sending nothing.
  Expected<Reply> command_sync(const std::vector<std::string_view>& args);
  // Whether the calling thread is one of the link's own (a completion may run there).
  virtual bool on_io_thread() const noexcept = 0;
  virtual const Endpoint& endpoint() const noexcept = 0;
  // Ends the link's threads and connections now: from any other thread it returns once they
  // have ended (what is pending fails exactly once; later commands fail at once with
  // store_unavailable), so an owner can be sure none outlives it (verikit_engine_free, then
  // dlclose). From one of the link's own threads it only asks them to end.
  virtual void stop() = 0;

  // Runs `check` on the connection to each server that takes writes now, with the slots that
  // server serves (empty: every key), stopping at the first error: start-up checks and script
  // loading run once per primary.
  using PrimaryCheck = std::function<Status(Client& primary, std::span<const SlotRange> slots)>;
  virtual Status each_primary(const PrimaryCheck& check) = 0;
  // A check for each server that becomes a primary later (a replica promoted by a failover,
  // a node added to a cluster), run before it is used; its error is reported through the
  // link's `warn` (the server is used all the same: refusing it would take its keys offline).
  virtual void set_new_primary_check(PrimaryCheck check) { (void)check; }
};

// Connects as the endpoint says: one server, a cluster (redis+cluster://) or a Sentinel-managed
// primary (redis+sentinel://). Errors as for Client::connect.
Expected<std::unique_ptr<Link>> connect_link(const Endpoint& endpoint, Warn warn = {});

}  // namespace verikit::redis
