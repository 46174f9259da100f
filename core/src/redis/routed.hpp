// verikit::redis — the machinery shared by the cluster router and the Sentinel follower: a
// request kept whole so it can be sent again when a server refused it without running it
// (a redirection, TRYAGAIN, CLUSTERDOWN, READONLY, or no connection: never a timeout, which
// may have taken effect), a background thread for delayed retries and topology refreshes, and
// the per-node clients (the existing Client: pipelining, TLS, AUTH, reconnection).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/client.hpp"
#include "verikit/process.hpp"

namespace verikit::redis {

using RoutedClock = std::chrono::steady_clock;

// One request on its way.
struct Routed {
  std::string bytes;  // the formatted command
  int slot = -1;      // its keys' slot (slot.hpp), cluster only
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{0};
  ReplyCallback done;
  RoutedClock::time_point deadline;  // retries stop here (the command timeout from submission)
  int attempts = 0;
  std::string ask;   // host:port of an ASK redirection, for the next try only
  std::string last;  // why the last try did not run (for the error when retries end)
};

class RoutedCore : public std::enable_shared_from_this<RoutedCore> {
 public:
  RoutedCore(Endpoint endpoint, Warn warn);
  virtual ~RoutedCore();
  RoutedCore(const RoutedCore&) = delete;
  RoutedCore& operator=(const RoutedCore&) = delete;

  // Learns the topology (blocking) and starts the background thread.
  Status start();
  // Fails what is queued (exactly once each), stops the thread and closes every connection.
  // Not from one of the core's own threads (RoutedLink hands that case to a thread of its own).
  void stop() noexcept;
  // Whether this is a forked child of the process that started the core.
  bool forked() const noexcept { return process_.forked(); }
  // In a forked child, where none of the core's threads exist: forgets them (nothing joined)
  // and closes the child's copies of every node's sockets (Client::stop does that there), the
  // parent's connections undisturbed. If the parent held the lock at the fork, the sockets are
  // left open in the child instead (never used). The core must then never be destroyed.
  void abandon_after_fork() noexcept;

  void submit(std::shared_ptr<Routed> r);
  bool on_io_thread() const noexcept;
  const Endpoint& endpoint() const noexcept { return endpoint_; }
  virtual Status each_primary(const Link::PrimaryCheck& check) = 0;
  void set_new_primary_check(Link::PrimaryCheck check);

 protected:
  enum class Next { deliver, retry_now, retry_later };
  struct Target {
    std::shared_ptr<Client> client;
    bool asking = false;
  };

  // Where the request goes now; no client: nothing serves it yet (a refresh is asked for).
  virtual Target pick(Routed& r) = 0;
  // What to do about the command's error reply (under no lock).
  virtual Next on_error_reply(Routed& r, const Reply& error) = 0;
  // Learns the topology again (the background thread; blocking calls are fine there).
  virtual Status refresh() = 0;
  // Takes (under the lock) the clients the subclass's tables hold out of them, into a set of
  // its own, by swaps: nothing is allocated, so stopping cannot fail for want of memory.
  virtual void release_tables() noexcept = 0;
  // Stops (in a forked child: forgets) each client release_tables took, and drops them; called
  // outside the lock (a stop joins the client's I/O thread, whose completions take the lock).
  virtual void stop_released() noexcept = 0;
  // A refresh every `interval` even when nothing failed (zero: only on demand).
  virtual std::chrono::milliseconds poll_interval() const { return std::chrono::milliseconds(0); }

  void request_refresh();
  // The client for host:port: the existing one, else (connect_new) a new connection, blocking;
  // else null.
  // `single`: a one-server endpoint (Endpoint::at).
  Expected<std::shared_ptr<Client>> node(const Endpoint& single, bool connect_new);
  // The client for an address, if there is one (the lock held).
  std::shared_ptr<Client> known_locked(const std::string& address) const;
  // Keeps only the clients of `addresses` (others close after a grace period: replies to what
  // was sent on them still arrive).
  void keep_only(const std::vector<std::string>& addresses);
  static std::string address(const std::string& host, int port);
  // Runs the new-primary check (if one is set) on a server that has just become a primary.
  void check_new_primary(Client& primary, std::span<const SlotRange> slots);

  const Endpoint endpoint_;
  const Warn warn_;
  mutable std::mutex mutex_;  // guards what follows and the subclasses' tables
  bool stopping_ = false;

 private:
  // dispatch and on_reply finish the request if memory runs out on their way (out_of_memory_error:
  // store_unavailable before it was sent, timeout after): each request completes exactly once.
  void dispatch(const std::shared_ptr<Routed>& r) noexcept;
  void on_reply(const std::shared_ptr<Routed>& r, bool asking, Expected<Reply> reply) noexcept;
  void send(const std::shared_ptr<Routed>& r);
  void answer(const std::shared_ptr<Routed>& r, bool asking, Expected<Reply> reply);
  void later(const std::shared_ptr<Routed>& r);
  void finish(const std::shared_ptr<Routed>& r, Expected<Reply> result) noexcept;
  // With a copy of `error`, or out_of_memory_error(error.code) when there is no memory for it.
  void finish(const std::shared_ptr<Routed>& r, const Error& error) noexcept;
  void loop();
  void turn(std::unique_lock<std::mutex>& lock);

  Link::PrimaryCheck new_primary_check_;
  std::map<std::string, std::shared_ptr<Client>> nodes_;
  std::vector<std::pair<RoutedClock::time_point, std::shared_ptr<Client>>> retired_;
  std::multimap<RoutedClock::time_point, std::shared_ptr<Routed>> retries_;
  bool refresh_wanted_ = false;
  RoutedClock::time_point last_refresh_{};
  std::condition_variable cv_;
  std::thread thread_;
  detail::ProcessTag process_;
};

// A Link over a RoutedCore.
class RoutedLink final : public Link {
 public:
  explicit RoutedLink(std::shared_ptr<RoutedCore> core) : core_(std::move(core)) {}
  ~RoutedLink() override;
  void stop() override;
  void command(std::span<const std::string_view> args, ReplyCallback done) override;
  using Link::command;
  void command_then_wait(std::span<const std::string_view> args, int replicas, std::chrono::milliseconds timeout,
                         ReplyCallback done) override;
  bool on_io_thread() const noexcept override { return core_->on_io_thread(); }
  const Endpoint& endpoint() const noexcept override { return core_->endpoint(); }
  Status each_primary(const PrimaryCheck& check) override { return core_->each_primary(check); }
  void set_new_primary_check(PrimaryCheck check) override { core_->set_new_primary_check(std::move(check)); }

 private:
  void submit(std::span<const std::string_view> args, int replicas, std::chrono::milliseconds timeout,
              ReplyCallback done);
  std::shared_ptr<RoutedCore> core_;
  bool forsaken_ = false;  // in a forked child: the core was abandoned (see stop)
};

std::shared_ptr<RoutedCore> make_cluster_core(const Endpoint& endpoint, Warn warn);
std::shared_ptr<RoutedCore> make_sentinel_core(const Endpoint& endpoint, Warn warn);

}  // namespace verikit::redis
