// verikit::redis — retries, redirections and the background thread shared by the cluster
// router and the Sentinel follower (see routed.hpp).
#include "redis/routed.hpp"

#include <algorithm>

#include "redis/connection.hpp"
#include "redis/slot.hpp"
#include "verikit/process.hpp"

namespace verikit::redis {
namespace {

using std::chrono::milliseconds;

// Retries end at the request's deadline, or after this many tries, whichever comes first.
constexpr int kMaxAttempts = 100;
constexpr milliseconds kFirstBackoff{5};
constexpr milliseconds kMaxBackoff{200};
// Topology refreshes asked for by failures run at most this often.
constexpr milliseconds kRefreshGap{100};

const std::string& asking_bytes() {
  static const std::string bytes = format_command({"ASKING"});
  return bytes;
}

}  // namespace

RoutedCore::RoutedCore(Endpoint endpoint, Warn warn) : endpoint_(std::move(endpoint)), warn_(std::move(warn)) {}

RoutedCore::~RoutedCore() {
  if (thread_.joinable()) {  // stop() was not called (a failed start): nothing runs there
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
    else thread_.join();
  }
}

std::string RoutedCore::address(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status RoutedCore::start() {
  if (auto s = refresh(); !s) {
    stop();
    return s;
  }
  last_refresh_ = RoutedClock::now();
  thread_ = std::thread([this] {
    detail::name_this_thread("verikit-route");
    loop();
  });
  return Unit{};
}

// Needs no memory (swaps, and errors that fall back to out_of_memory_error): it runs from
// destructors and engine free, where memory running out must not end the process.
void RoutedCore::stop() noexcept {
  std::multimap<RoutedClock::time_point, std::shared_ptr<Routed>> queued;
  std::map<std::string, std::shared_ptr<Client>> nodes;
  std::vector<std::pair<RoutedClock::time_point, std::shared_ptr<Client>>> retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::exchange(stopping_, true)) return;  // stopped (or stopping) already: once only
    queued.swap(retries_);
    nodes.swap(nodes_);
    retired.swap(retired_);
    release_tables();
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
    else thread_.join();
  }
  const Error closing = error_or_out_of_memory(Errc::store_unavailable, [] {
    return make_error(Errc::store_unavailable, "the Redis client is shutting down (the request was not sent)");
  });
  for (auto& [when, r] : queued) finish(r, closing);
  // Closing a client fails what it still has (exactly once each); retries see stopping_. Each is
  // stopped here, so its I/O thread has ended when this returns, whoever still holds the client.
  auto stop = [](const std::shared_ptr<Client>& c) {
    if (c) c->stop();  // (a table may hold empty places)
  };
  stop_released();
  for (auto& [name, c] : nodes) stop(c);
  for (auto& [when, c] : retired) stop(c);
  nodes.clear();
  retired.clear();
}

void RoutedCore::abandon_after_fork() noexcept {
  detail::abandon_thread(thread_);
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  auto forget = [](const std::shared_ptr<Client>& c) {
    if (c) c->stop();  // in the child: closes its copies of the sockets, joins nothing
  };
  for (auto& [name, c] : nodes_) forget(c);
  for (auto& [when, c] : retired_) forget(c);
  release_tables();
  stop_released();  // (in the child: forgets them)
}

bool RoutedCore::on_io_thread() const noexcept {
  if (thread_.get_id() == std::this_thread::get_id()) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [a, c] : nodes_)
    if (c->on_io_thread()) return true;
  for (const auto& [t, c] : retired_)
    if (c->on_io_thread()) return true;
  return false;
}

void RoutedCore::set_new_primary_check(Link::PrimaryCheck check) {
  std::lock_guard<std::mutex> lock(mutex_);
  new_primary_check_ = std::move(check);
}

void RoutedCore::check_new_primary(Client& primary, std::span<const SlotRange> slots) {
  Link::PrimaryCheck check;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    check = new_primary_check_;
  }
  if (!check) return;
  if (auto s = check(primary, slots); !s)
    warn_("verikit: WARNING: " + primary.endpoint().describe() + " became a primary and fails verikit's start-up "
          "checks: " + s.error().message);
}

void RoutedCore::request_refresh() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (refresh_wanted_) return;
    refresh_wanted_ = true;
  }
  cv_.notify_one();
}

std::shared_ptr<Client> RoutedCore::known_locked(const std::string& a) const {
  if (auto it = nodes_.find(a); it != nodes_.end()) return it->second;
  return nullptr;
}

Expected<std::shared_ptr<Client>> RoutedCore::node(const Endpoint& single, bool connect_new) {
  const std::string a = address(single.host, single.port);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return make_error(Errc::store_unavailable, "the Redis client is shutting down");
    if (auto c = known_locked(a)) return c;
    // A node given up lately and needed again (a primary demoted, then promoted back).
    for (auto it = retired_.begin(); it != retired_.end(); ++it) {
      if (address(it->second->endpoint().host, it->second->endpoint().port) != a) continue;
      // Into the table first, then out of the retired list: if the table cannot take it (no
      // memory), the client stays where it was rather than closing here, under the lock its
      // completions take (its I/O thread would wait for this one, which waits for it).
      auto c = it->second;
      nodes_.emplace(a, c);
      retired_.erase(it);
      return c;
    }
  }
  if (!connect_new) return std::shared_ptr<Client>();
  auto made = Client::connect(single, warn_);
  if (!made) return std::move(made).error();
  std::shared_ptr<Client> c(std::move(made).value());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      nodes_.emplace(a, c);
      return c;
    }
  }
  // Stopping: stop() may have taken the tables already, so this one is closed here, outside the
  // lock (it has run no completion).
  c->stop();
  return make_error(Errc::store_unavailable, "the Redis client is shutting down");
}

void RoutedCore::keep_only(const std::vector<std::string>& addresses) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Replies to what was sent on a node still arrive for a while: it closes after a grace period.
  const auto close_at = RoutedClock::now() + 2 * endpoint_.options.command_timeout + endpoint_.options.wait_timeout;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (std::find(addresses.begin(), addresses.end(), it->first) != addresses.end()) {
      ++it;
      continue;
    }
    retired_.emplace_back(close_at, std::move(it->second));
    it = nodes_.erase(it);
  }
  cv_.notify_one();
}

void RoutedCore::submit(std::shared_ptr<Routed> r) { dispatch(r); }

void RoutedCore::dispatch(const std::shared_ptr<Routed>& r) noexcept {
  try {
    send(r);
  } catch (...) {  // not sent (send_formatted queues it last, or not at all)
    finish(r, out_of_memory_error(Errc::store_unavailable));
  }
}

void RoutedCore::send(const std::shared_ptr<Routed>& r) {
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping = stopping_;
  }
  if (stopping)
    return finish(r, make_error(Errc::store_unavailable, "the Redis client is shutting down (the request was not sent)"));
  const Target t = pick(*r);
  if (!t.client) {
    request_refresh();
    return later(r);
  }
  std::string bytes;
  int replies = 1;
  if (t.asking) {
    bytes = asking_bytes();
    ++replies;
  }
  bytes += r->bytes;
  std::size_t wait_bytes = 0;
  if (r->wait_replicas > 0) {
    wait_bytes = append_wait(bytes, r->wait_replicas, r->wait_timeout);
    ++replies;
  }
  t.client->send_formatted(std::move(bytes), replies, r->wait_timeout, wait_bytes,
                           [self = shared_from_this(), r, asking = t.asking](Expected<Reply> reply) {
                             self->on_reply(r, asking, std::move(reply));
                           });
}

void RoutedCore::on_reply(const std::shared_ptr<Routed>& r, bool asking, Expected<Reply> reply) noexcept {
  try {
    answer(r, asking, std::move(reply));
  } catch (...) {  // (it may have been sent and run: as a timeout says)
    finish(r, out_of_memory_error(Errc::timeout));
  }
}

void RoutedCore::answer(const std::shared_ptr<Routed>& r, bool asking, Expected<Reply> reply) {
  if (!reply) {
    // Never sent (or not whole): it had no effect, so it may go again, perhaps elsewhere.
    if (reply.error().code == Errc::store_unavailable) {
      r->last = reply.error().message;
      request_refresh();
      return later(r);
    }
    return finish(r, std::move(reply));  // a timeout may have taken effect: never sent again
  }
  const std::size_t extra = (asking ? 1 : 0) + (r->wait_replicas > 0 ? 1 : 0);
  if (extra > 0 && (reply->type != Reply::Type::array || reply->elements.size() != extra + 1))
    return finish(r, make_error(Errc::store_protocol, "Redis at " + endpoint_.describe() +
                                                          ": unexpected reply to a pipelined command"));
  const Reply& command = extra > 0 ? reply->elements[asking ? 1 : 0] : *reply;
  if (command.is_error()) {
    switch (on_error_reply(*r, command)) {
      case Next::retry_now:
        if (++r->attempts <= kMaxAttempts && RoutedClock::now() < r->deadline) return dispatch(r);
        return later(r);  // (gives up, saying why)
      case Next::retry_later:
        return later(r);
      case Next::deliver:
        break;
    }
  }
  if (asking) {  // the caller sees its command's reply (and WAIT's) as if sent directly
    if (r->wait_replicas > 0) {
      reply->elements.erase(reply->elements.begin());
    } else {
      Reply only = std::move(reply->elements[1]);
      *reply = std::move(only);
    }
  }
  finish(r, std::move(reply));
}

void RoutedCore::later(const std::shared_ptr<Routed>& r) {
  ++r->attempts;
  const auto now = RoutedClock::now();
  const auto delay = std::min(kMaxBackoff, kFirstBackoff * (1 << std::min(r->attempts, 6)));
  if (r->attempts > kMaxAttempts || now + delay >= r->deadline)
    return finish(r, make_error(Errc::store_unavailable,
                                endpoint_.describe() + ": the request did not run within " +
                                    std::to_string(endpoint_.options.command_timeout.count()) + " ms (" +
                                    std::to_string(r->attempts) + " tries; last: " +
                                    (r->last.empty() ? std::string("no server") : r->last) + ")"));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      retries_.emplace(now + delay, r);
      cv_.notify_one();
      return;
    }
  }
  finish(r, make_error(Errc::store_unavailable, "the Redis client is shutting down (the request was not sent)"));
}

void RoutedCore::finish(const std::shared_ptr<Routed>& r, const Error& error) noexcept {
  try {
    finish(r, Expected<Reply>(error));
  } catch (...) {  // (the copy, made before finish runs)
    finish(r, out_of_memory_error(error.code));
  }
}

void RoutedCore::finish(const std::shared_ptr<Routed>& r, Expected<Reply> result) noexcept {
  Request request;
  request.done = std::move(r->done);
  r->done = nullptr;
  complete(request, std::move(result), warn_);
}

void RoutedCore::loop() {
  detail::mark_store_io_thread();  // (a callback thread too: its completions may fork)
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    try {
      turn(lock);
    } catch (...) {
      // Out of memory: nothing was taken out of the tables that is not back or finished (see
      // turn); the next turn tries again shortly.
      if (!lock.owns_lock()) lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(1));
    }
  }
}

// One turn of the routing thread, `lock` held on entry and on return.
void RoutedCore::turn(std::unique_lock<std::mutex>& lock) {
  const auto now = RoutedClock::now();
  // Room first, then the moves: an allocation failing leaves every retry where it was.
  std::size_t due_count = 0, closing_count = 0;
  for (auto it = retries_.begin(); it != retries_.end() && it->first <= now; ++it) ++due_count;
  for (const auto& [t, c] : retired_) closing_count += t <= now ? 1 : 0;
  std::vector<std::shared_ptr<Routed>> due;
  std::vector<std::shared_ptr<Client>> closing;
  due.reserve(due_count);
  closing.reserve(closing_count);
  while (!retries_.empty() && retries_.begin()->first <= now) {
    due.push_back(std::move(retries_.begin()->second));
    retries_.erase(retries_.begin());
  }
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (it->first > now) {
      ++it;
      continue;
    }
    closing.push_back(std::move(it->second));
    it = retired_.erase(it);
  }
  const auto poll = poll_interval();
  const bool refresh_now = (refresh_wanted_ && now >= last_refresh_ + kRefreshGap) ||
                           (poll.count() > 0 && now >= last_refresh_ + poll);
  if (!due.empty() || !closing.empty() || refresh_now) {
    if (refresh_now) {
      refresh_wanted_ = false;
      last_refresh_ = now;
    }
    lock.unlock();
    closing.clear();  // joins those clients' threads: never under the lock
    if (refresh_now) {
      try {
        (void)refresh();  // a failed refresh: the retries try again, then give up
      } catch (...) {  // (out of memory: the same)
      }
    }
    for (auto& r : due) dispatch(r);
    due.clear();
    lock.lock();
    return;
  }
  auto wake = now + std::chrono::seconds(1);
  if (!retries_.empty()) wake = std::min(wake, retries_.begin()->first);
  if (refresh_wanted_) wake = std::min(wake, last_refresh_ + kRefreshGap);
  if (poll.count() > 0) wake = std::min(wake, last_refresh_ + poll);
  for (const auto& [t, c] : retired_) wake = std::min(wake, t);
  cv_.wait_until(lock, wake);
}

RoutedLink::~RoutedLink() { stop(); }

void RoutedLink::stop() {
  if (core_->forked()) {  // the threads are the parent's: see RoutedCore::abandon_after_fork
    if (forsaken_) return;
    forsaken_ = true;
    core_->abandon_after_fork();
    static_cast<void>(new (std::nothrow) std::shared_ptr<RoutedCore>(core_));  // never destroyed
    return;
  }
  // From one of the core's own threads (a completion dropping the last owner of a store), the
  // stop, which joins those threads, runs on a thread of its own.
  if (core_->on_io_thread()) {
    try {
      std::thread([core = core_] {
        detail::name_this_thread("verikit-stop");
        core->stop();
      }).detach();
      return;
    } catch (...) {
      // No thread to be had (no memory, no more threads): stopped here after all. It joins the
      // routing thread and the other clients' (this one's is detached), which end on their own
      // once stopping, unless one of them is closing this very client (a node given up moments
      // ago): then this waits for it — a hang in that corner rather than the end of the process.
    }
  }
  core_->stop();
}

void RoutedLink::submit(std::span<const std::string_view> args, int replicas, std::chrono::milliseconds timeout,
                        ReplyCallback done) {
  auto r = std::make_shared<Routed>();
  if (core_->endpoint().topology == Endpoint::Topology::cluster) {
    r->slot = command_slot(args);
    if (r->slot == kCrossSlot)
      return done(make_error(Errc::invalid_argument,
                             "a command's keys fall in different Redis Cluster slots: no node can run it (nothing was sent)"));
  }
  r->bytes = format_command(args);
  r->wait_replicas = replicas;
  r->wait_timeout = timeout;
  r->done = std::move(done);
  r->deadline = RoutedClock::now() + core_->endpoint().options.command_timeout + timeout;
  core_->submit(std::move(r));
}

void RoutedLink::command(std::span<const std::string_view> args, ReplyCallback done) {
  submit(args, 0, std::chrono::milliseconds(0), std::move(done));
}

void RoutedLink::command_then_wait(std::span<const std::string_view> args, int replicas,
                                   std::chrono::milliseconds timeout, ReplyCallback done) {
  submit(args, replicas, timeout, std::move(done));
}

}  // namespace verikit::redis
