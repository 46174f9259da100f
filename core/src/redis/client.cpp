// verikit::redis — the client's queue and I/O thread (auto-pipelining, timeouts, reconnection).
#include "redis/client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "redis/connection.hpp"
#include "verikit/process.hpp"

namespace verikit::redis {
namespace {

constexpr std::chrono::milliseconds kBackoffMin{50};
constexpr std::chrono::milliseconds kBackoffMax{2000};
// Replies read between two sends of what their callbacks submitted (see Connection::set_progress).
constexpr std::size_t kRepliesPerSend = 4;
// Replies outstanding from which a submitter leaves the sleeping I/O thread to wake for them.
constexpr std::size_t kRepliesDueToSkipWake = 4;
// Requests waiting to be sent from which a submitter wakes the I/O thread even while replies
// are due, at the least (see submit()).
constexpr std::size_t kSubmittedToWake = 24;
// How long connect() waits past connect_timeout for the first attempt to report (see connect()).
constexpr std::chrono::milliseconds kConnectGrace{2000};

// The client whose I/O thread this is (null on other threads).
thread_local const void* t_running = nullptr;

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

std::string tls_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

Expected<std::unique_ptr<SSL_CTX, SslCtxDeleter>> make_tls_context(const RedisOptions& o) {
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return make_error(Errc::config, "TLS: cannot create a context: " + tls_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.tls_verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    const int ok = o.tls_ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                         : SSL_CTX_load_verify_locations(ctx.get(), o.tls_ca_file.c_str(), nullptr);
    if (ok != 1) return make_error(Errc::config, "TLS: cannot load CA '" + o.tls_ca_file + "': " + tls_errors());
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!o.tls_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.tls_cert_file.c_str()) != 1)
      return make_error(Errc::config, "TLS: cannot load client certificate '" + o.tls_cert_file + "': " + tls_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
      return make_error(Errc::config, "TLS: cannot load client key '" + o.tls_key_file + "': " + tls_errors());
  }
  return ctx;
}

}  // namespace

struct Client::Impl {
  Endpoint endpoint;
  Warn warn;
  std::unique_ptr<SSL_CTX, SslCtxDeleter> tls;
  std::vector<std::unique_ptr<Connection>> connections;
  int wake_fd = -1;

  // Shared with submitting threads.
  std::mutex mutex;
  std::vector<Request> submitted;
  bool wake_pending = false;
  // Set by the I/O thread before it sleeps: the replies due then. With enough of them it will
  // wake for them soon and send what was submitted meanwhile, so submitters need not wake it
  // (see loop() and submit()).
  std::size_t due_at_sleep = 0;
  std::size_t submitted_here = 0;  // of `submitted`, how many came from the I/O thread itself
  bool stopping = false;

  // First connection result, for connect().
  std::condition_variable first_cv;
  std::optional<Status> first_result;

  // I/O thread only.
  std::deque<Request> backlog;
  std::deque<Request> failing;  // see fail_backlog (made here: a std::deque allocates even when empty)
  std::size_t next = 0;
  std::thread io;

  // The process whose I/O thread `io` is (see abandon_after_fork).
  detail::ProcessTag process;
  bool forsaken = false;  // in a forked child: see abandon_after_fork

  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void submit(Request r) {
    bool signal = false;
    {
      std::unique_lock<std::mutex> lock(mutex);
      if (stopping) {
        lock.unlock();
        fail_request(r, make_error(Errc::store_unavailable, "the Redis client is shutting down (the request was not sent)"),
                     warn);
        return;
      }
      // Stamped under the lock: deadlines then never decrease along the queue, nor along any
      // connection (Connection::expire relies on it).
      r.deadline = SteadyClock::now() + endpoint.options.command_timeout + r.extra_time;
      submitted.push_back(std::move(r));
      if (t_running == this) ++submitted_here;
      // From a callback on the I/O thread the loop sends it before it next sleeps; while replies
      // are due the loop wakes for them and sends it then, behind the requests Redis already
      // has (a single-threaded server would run it after those anyway) — unless as many wait as
      // were due when the loop went to sleep (and at least kSubmittedToWake): a caller that
      // answers a burst of completions with a burst of requests (an event loop) would otherwise
      // hold them all until Redis, having answered everything it had, sits idle. Node OTP issue
      // at 64 in flight: 58-61k/s -> 72-73k/s (README: "Benchmarks").
      const std::size_t waiting = submitted.size() - submitted_here;
      if (t_running != this &&
          (due_at_sleep < kRepliesDueToSkipWake || waiting >= std::max(kSubmittedToWake, due_at_sleep))) {
        signal = !wake_pending;
        wake_pending = true;
      }
    }
    if (signal) wake();
  }

  // In a forked child, whose copy of this client has no I/O thread: closes the child's copies
  // of the sockets (the parent's connections go on undisturbed) and leaves everything else as
  // it is. Takes no lock (one may have been held by a thread of the parent) and never touches
  // `io`; requests the parent had pending are the parent's, never completed here. The state is
  // kept alive for good (the object is never destroyed: its thread handle cannot be). The
  // connections are fixed at connect(), so the list is safe to read.
  void abandon_after_fork() noexcept {
    if (forsaken) return;
    forsaken = true;
    for (auto& c : connections) c->close_inherited_fd();
    if (wake_fd >= 0) ::close(wake_fd);
    wake_fd = -1;
    detail::abandon_thread(io);
  }

  void report_first(Status s) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!first_result) {
      first_result = std::move(s);
      first_cv.notify_all();
    }
  }

  void connection_failed(Connection& c, const Error& e, SteadyClock::time_point now) {
    const bool was_ready = c.state() == Connection::State::ready;
    c.fail(e);
    if (!was_ready) ++c.failures;
    const auto backoff = std::min<std::chrono::milliseconds>(kBackoffMax, kBackoffMin * (1 << std::min(c.failures, 6)));
    c.retry_at = now + (was_ready ? std::chrono::milliseconds(0) : backoff);
    // Only the first attempt of all reports to connect(): a later one keeps retrying.
    if (e.code == Errc::config) report_first(e);
    else if (std::all_of(connections.begin(), connections.end(), [](auto& x) { return x->failures > 0; }))
      report_first(e);
  }

  void start_due(SteadyClock::time_point now) {
    for (auto& c : connections) {
      if (c->state() != Connection::State::down || now < c->retry_at) continue;
      Status s = Unit{};
      try {
        s = c->start(now);
      } catch (...) {  // (the socket may be open: connection_failed closes it)
        s = out_of_memory_error(Errc::store_unavailable);
      }
      if (!s) connection_failed(*c, s.error(), now);
      else if (c->state() == Connection::State::ready) report_first(Unit{});
    }
  }

  // The next ready connection, round robin; one that is waiting for late replies (its requests
  // timed out) only if no other is ready.
  Connection* pick_ready() {
    std::optional<std::size_t> slow;
    for (std::size_t i = 0; i < connections.size(); ++i) {
      const std::size_t at = (next + i) % connections.size();
      Connection& c = *connections[at];
      if (c.state() != Connection::State::ready) continue;
      if (c.abandoned() == 0) {
        next = (at + 1) % connections.size();
        return &c;
      }
      if (!slow) slow = at;
    }
    if (!slow) return nullptr;
    next = (*slow + 1) % connections.size();
    return connections[*slow].get();
  }

  // Moves what was submitted into the backlog, hands the backlog to ready connections and writes
  // it. A write failure of `busy` (the connection whose replies are being read, which called this
  // between replies) is returned to its reader rather than handled here.
  Status send_submitted(SteadyClock::time_point now, Connection* busy) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      take_submitted();
      submitted_here = 0;
      wake_pending = false;
    }
    std::array<Connection*, 64> touched{};
    std::size_t touched_count = 0;
    while (!backlog.empty()) {
      Connection* c = pick_ready();
      if (c == nullptr) break;
      (void)c->send(std::move(backlog.front()));
      backlog.pop_front();
      if (std::find(touched.begin(), touched.begin() + touched_count, c) == touched.begin() + touched_count)
        touched[touched_count++] = c;
    }
    Status busy_status = Unit{};
    for (std::size_t i = 0; i < touched_count; ++i) {
      Connection* c = touched[i];
      if (auto s = c->flush(); !s) {
        if (c == busy) busy_status = std::move(s);
        else connection_failed(*c, s.error(), now);
      }
    }
    return busy_status;
  }

  void dispatch(SteadyClock::time_point now) {
    (void)send_submitted(now, nullptr);
    // No connection up and none on its way: fail fast rather than queue into the void.
    const bool any_hope = std::any_of(connections.begin(), connections.end(), [](auto& c) {
      return c->state() != Connection::State::down || c->failures == 0;
    });
    if (!backlog.empty() && !any_hope) {
      std::string why = connections.front()->last_error;
      fail_backlog(make_error(Errc::store_unavailable,
                              (why.empty() ? "Redis is unreachable" : why) + " (the request was not sent)"));
    }
    // Never sent: no effect, so not a timeout (which says "may have taken effect").
    while (!backlog.empty() && backlog.front().deadline <= now) {
      Request r = std::move(backlog.front());
      backlog.pop_front();
      complete(r, error_or_out_of_memory(Errc::store_unavailable, [&] {
                 return make_error(Errc::store_unavailable, "no connection to Redis at " + endpoint.describe() +
                                                                " was ready within " +
                                                                std::to_string(endpoint.options.command_timeout.count()) +
                                                                " ms (the request was not sent)");
               }),
               warn);
    }
  }

  void fail_backlog(const Error& e) noexcept {
    failing.swap(backlog);
    for (Request& r : failing) fail_request(r, e, warn);
    failing.clear();
  }

  // Moves what was submitted to the end of the backlog (under `mutex`). If memory runs out on
  // the way, what was moved leaves `submitted` all the same: a moved-from request left there
  // would be sent later as a slot with no bytes and no callback, and take the reply of the
  // request after it (each reply from then on going to the wrong caller).
  void take_submitted() {
    std::size_t moved = 0;
    try {
      for (; moved < submitted.size(); ++moved) backlog.push_back(std::move(submitted[moved]));
    } catch (...) {
      submitted.erase(submitted.begin(), submitted.begin() + static_cast<std::ptrdiff_t>(moved));
      throw;
    }
    submitted.clear();
  }

  void loop() {
    t_running = this;
    detail::mark_store_io_thread();  // (a callback thread too: its completions may fork)
    std::vector<pollfd> fds;
    for (;;) {
      try {
        if (!turn(fds)) break;
      } catch (const std::exception& e) {
        // The loop's own work (not a completion: those are guarded one by one) ran out of memory
        // or failed; what it was doing is left as it was (Connection::send is exception-safe).
        report("verikit: the Redis client's I/O thread caught: ", e.what());
        expire_overdue(error_or_out_of_memory(Errc::store_unavailable, [&] {
          return dynamic_cast<const std::bad_alloc*>(&e) != nullptr
                     ? out_of_memory_error(Errc::store_unavailable)
                     : make_error(Errc::store_unavailable, std::string("the Redis client failed: ") + e.what());
        }));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } catch (...) {
        report("verikit: the Redis client's I/O thread caught an exception of unknown type", "");
        expire_overdue(out_of_memory_error(Errc::store_unavailable));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    shutdown();
  }

  // After a turn that failed part way: what is overdue fails now, with no memory needed. A turn
  // that keeps failing (memory short for as long as it lasts) never reaches its deadline checks,
  // and calls would wait as long as that lasts. Requests not sent fail with `unsent` (a
  // store_unavailable: they took no effect); those sent, as timeouts (Connection::expire).
  void expire_overdue(const Error& unsent) noexcept {
    const auto now = SteadyClock::now();
    for (auto& c : connections) {  // oldest first: sent, then waiting here, then just submitted
      try {
        c->expire(now);
      } catch (...) {  // (it makes its error without throwing; kept out of the noexcept anyway)
      }
    }
    while (!backlog.empty() && backlog.front().deadline <= now) {
      Request r = std::move(backlog.front());
      backlog.pop_front();
      fail_request(r, unsent, warn);
    }
    for (;;) {  // one at a time: completions run outside the lock (they may submit)
      Request r;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (submitted.empty() || submitted.front().deadline > now) break;
        r = std::move(submitted.front());
        submitted.erase(submitted.begin());
        submitted_here = std::min(submitted_here, submitted.size());  // (counts some of these)
      }
      fail_request(r, unsent, warn);
    }
  }

  // The message is made here, under the guard: memory may still be short (a failure to make it
  // must not leave this thread, where it would end the process).
  void report(const char* head, const char* what) noexcept {
    try {
      if (warn) warn(std::string(head) + what);
    } catch (...) {
    }
  }

  // One turn of the I/O loop; false once the client is stopping.
  bool turn(std::vector<pollfd>& fds) {
    auto now = SteadyClock::now();
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return false;
    }
    start_due(now);
    dispatch(now);
    for (auto& c : connections) {
      if (c->connect_expired(now)) {
        connection_failed(*c, c->connect_timeout_error(), now);
        continue;
      }
      c->expire(now);
      if (c->stalled(now)) connection_failed(*c, c->stall_error(), now);
    }

    // Sleep until an event, a deadline or a reconnection is due.
    auto wake_at = now + std::chrono::seconds(1);
    for (auto& c : connections) {
      if (auto d = c->deadline()) wake_at = std::min(wake_at, *d);
      if (c->state() == Connection::State::down) wake_at = std::min(wake_at, c->retry_at);
    }
    if (!backlog.empty()) wake_at = std::min(wake_at, backlog.front().deadline);
    // Last look before sleeping, under the lock submitters take: anything submitted since the
    // dispatch above is sent now, and what is due decides whether later submitters wake us.
    bool go_on = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      go_on = !submitted.empty() || stopping;
      std::size_t due = 0;
      for (auto& c : connections)
        if (c->state() == Connection::State::ready) due += c->in_flight() - c->abandoned();
      due_at_sleep = due;
    }
    if (go_on) return true;
    fds.clear();
    fds.push_back(pollfd{wake_fd, POLLIN, 0});
    for (auto& c : connections) fds.push_back(pollfd{c->fd(), c->wanted_events(), 0});
    // ppoll: deadlines to the microsecond, not rounded up to whole milliseconds.
    const long long wait_ns = std::clamp<long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(wake_at - now).count(), 0, 1000000000LL);
    const timespec timeout{static_cast<time_t>(wait_ns / 1000000000LL), static_cast<long>(wait_ns % 1000000000LL)};
    const int n = ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (n < 0) return true;
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto r = ::read(wake_fd, &v, sizeof v);
    }
    now = SteadyClock::now();
    for (std::size_t i = 0; i < connections.size(); ++i) {
      Connection& c = *connections[i];
      if (fds[i + 1].fd < 0 || fds[i + 1].revents == 0 || c.state() == Connection::State::down) continue;
      const bool was_ready = c.state() == Connection::State::ready;
      Status s = Unit{};
      try {
        s = c.on_events(fds[i + 1].revents);
      } catch (...) {
        // Out of memory part way through reading or writing: where the stream stands is not
        // known (a reply may have been read and lost), so the connection goes, failing what it
        // had in flight (Connection::fail, which completes each request even without memory).
        s = out_of_memory_error(Errc::store_unavailable);
      }
      if (!s) connection_failed(c, s.error(), now);
      else if (!was_ready && c.state() == Connection::State::ready) report_first(Unit{});
    }
    return true;
  }

  // Every request still pending fails, exactly once: those not sent with store_unavailable,
  // those sent (they may have taken effect) with timeout (Connection::fail).
  // Without memory for the messages, each still fails, with out_of_memory_error.
  void shutdown() noexcept {
    const Error closing = error_or_out_of_memory(Errc::store_unavailable, [] {
      return make_error(Errc::store_unavailable, "the Redis client is shutting down");
    });
    const Error unsent = error_or_out_of_memory(Errc::store_unavailable, [&] {
      return make_error(Errc::store_unavailable, closing.message + " (the request was not sent)");
    });
    std::vector<Request> late;
    {
      std::lock_guard<std::mutex> lock(mutex);
      late.swap(submitted);
    }
    fail_backlog(unsent);
    for (Request& r : late) fail_request(r, unsent, warn);
    for (auto& c : connections) c->fail(closing);
    try {
      report_first(closing);
    } catch (...) {
    }
  }
};

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() { stop(); }

void Client::stop() {
  if (impl_->process.forked()) {
    // The I/O thread is the parent's: nothing to join. The state stays allocated (the parent's
    // thread object, copied into this process, holds a reference that is never released).
    if (!impl_->forsaken) static_cast<void>(new (std::nothrow) std::shared_ptr<Impl>(impl_));
    impl_->abandon_after_fork();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake();
  if (!impl_->io.joinable()) return;
  if (impl_->io.get_id() == std::this_thread::get_id()) impl_->io.detach();
  else impl_->io.join();
}

Expected<std::unique_ptr<Client>> Client::connect(const Endpoint& endpoint, Warn warn) {
  auto impl = std::make_shared<Impl>();
  impl->endpoint = endpoint;
  impl->warn = warn ? std::move(warn) : [](std::string_view w) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(w.size()), w.data());
  };
  if (endpoint.tls) {
    auto ctx = make_tls_context(endpoint.options);
    if (!ctx) return std::move(ctx).error();
    impl->tls = std::move(ctx).value();
  }
  impl->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->wake_fd < 0) return make_error(Errc::internal, "eventfd failed");
  Impl* raw = impl.get();
  for (int i = 0; i < endpoint.options.pool_size; ++i) {
    auto c = std::make_unique<Connection>(impl->endpoint, impl->tls.get(), impl->warn);
    // Between replies, only what the replies' own callbacks submitted is sent: requests from
    // other threads wait for the end of the batch (sending those early as well measured slower,
    // 64 blocking threads: ~165k -> ~135k requests/s; Python verify at 64 in flight: ~80k -> ~68k/s).
    c->set_progress([raw, busy = c.get()]() -> Status {
      if (raw->submitted_here == 0) return Unit{};
      return raw->send_submitted(SteadyClock::now(), busy);
    }, kRepliesPerSend);
    impl->connections.push_back(std::move(c));
  }
  std::unique_ptr<Client> client(new Client(impl));
  raw->io = std::thread([self = std::move(impl)] {
    detail::name_this_thread("verikit-redis");
    self->loop();
  });
  // The first attempt reports within connect_timeout (it covers TCP, TLS and AUTH). Waiting is
  // bounded all the same: an I/O thread that cannot make progress (every turn failing for want
  // of memory, found by the Python out-of-memory test: Engine.open waited for good) never
  // reports. The client, returned from here as an error, stops its thread on the way out.
  const auto give_up = SteadyClock::now() + endpoint.options.connect_timeout + kConnectGrace;
  std::unique_lock<std::mutex> lock(raw->mutex);
  if (!raw->first_cv.wait_until(lock, give_up, [raw] { return raw->first_result.has_value(); })) {
    lock.unlock();
    return make_error(Errc::store_unavailable,
                      "connecting to Redis at " + endpoint.describe() + " did not finish within " +
                          std::to_string((endpoint.options.connect_timeout + kConnectGrace).count()) +
                          " ms (the client could not make progress; memory short?)");
  }
  Status first = *raw->first_result;
  lock.unlock();
  if (!first) return std::move(first).error();
  return client;
}

void Client::command(std::span<const std::string_view> args, ReplyCallback done) {
  Request r{format_command(args), std::move(done), {}};  // the deadline is stamped by submit()
  impl_->submit(std::move(r));
}

void Client::command_then_wait(std::span<const std::string_view> args, int replicas, std::chrono::milliseconds timeout,
                               ReplyCallback done) {
  std::string bytes = format_command(args);
  const std::size_t wait_bytes = append_wait(bytes, replicas, timeout);
  send_formatted(std::move(bytes), 2, timeout, wait_bytes, std::move(done));
}

void Client::send_formatted(std::string bytes, int replies, std::chrono::milliseconds extra_time,
                            std::size_t wait_bytes, ReplyCallback done) {
  Request r{std::move(bytes), std::move(done), {}};  // the deadline is stamped by submit()
  r.replies = replies;
  r.extra_time = extra_time;
  r.wait_bytes = wait_bytes;
  impl_->submit(std::move(r));
}

bool Client::on_io_thread() const noexcept { return t_running == impl_.get(); }

const Endpoint& Client::endpoint() const noexcept { return impl_->endpoint; }

}  // namespace verikit::redis
