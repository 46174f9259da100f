// verikit::redis — one connection's transport (TCP/Unix, TLS), handshake and reply matching.
#include "redis/connection.hpp"

// hiredis 0.14's sds.h (included by hiredis.h) declares sdsfree without extern "C" of its own.
extern "C" {
#include <hiredis/hiredis.h>
}

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "verikit/process.hpp"

namespace verikit::redis {
namespace {

Error unavailable(const Endpoint& ep, const std::string& what) {
  return make_error(Errc::store_unavailable, "Redis at " + ep.describe() + ": " + what);
}

std::string errno_text(int err) { return std::strerror(err); }

std::string tls_error_text() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "TLS error" : out;
}


}  // namespace

std::string format_command(std::span<const std::string_view> args) {
  // Commands have a few dozen arguments at most: the argument table lives on the stack then.
  constexpr std::size_t kOnStack = 32;
  const char* argv_stack[kOnStack];
  std::size_t lens_stack[kOnStack];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> lens_heap;
  const char** argv = argv_stack;
  std::size_t* lens = lens_stack;
  if (args.size() > kOnStack) {
    argv_heap.resize(args.size());
    lens_heap.resize(args.size());
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  // The sds variant: hiredis' own integer formatting, not sprintf (which the profile showed
  // as the largest single cost of the client).
  sds cmd = nullptr;
  const int n = redisFormatSdsCommandArgv(&cmd, static_cast<int>(args.size()), argv, lens);
  const std::unique_ptr<char, void (*)(sds)> owned(cmd, &sdsfree);  // (freed if the copy below throws)
  if (n < 0 || cmd == nullptr) throw std::bad_alloc();
  return std::string(cmd, static_cast<std::size_t>(n));
}

std::size_t append_wait(std::string& bytes, int replicas, std::chrono::milliseconds timeout) {
  const std::string n = std::to_string(replicas), ms = std::to_string(timeout.count());
  const std::string_view wait[] = {"WAIT", n, ms};
  const std::string formatted = format_command(std::span<const std::string_view>(wait));
  bytes += formatted;
  return formatted.size();
}

void complete(Request& request, Expected<Reply> result, const Warn& warn) noexcept {
  if (!request.done) return;
  const char* what = nullptr;
  std::string text;
  try {
    request.done(std::move(result));
    detail::end_if_forked_by_callback();
    request.done = nullptr;  // completed: releases what the callback holds
    return;
  } catch (const std::bad_alloc&) {
    what = "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    what = "an exception";
    try {
      text = e.what();
    } catch (...) {
    }
  } catch (...) {
    what = "an exception of unknown type";
  }
  detail::end_if_forked_by_callback();
  request.done = nullptr;
  try {
    std::string message = std::string("verikit: a Redis completion callback threw ") + what;
    if (!text.empty()) message += ": " + text;
    message += "; the client caught it and keeps serving";
    if (warn) warn(message);
  } catch (...) {
  }
}

void fail_request(Request& request, const Error& error, const Warn& warn) noexcept {
  try {
    complete(request, error, warn);
  } catch (...) {  // (the copy of the error, made before complete runs)
    complete(request, out_of_memory_error(error.code), warn);
  }
}

Connection::Connection(const Endpoint& endpoint, ssl_ctx_st* tls_context, const Warn& warn)
    : endpoint_(endpoint), tls_context_(tls_context), warn_(warn) {}

Connection::~Connection() { close_socket(); }

void Connection::close_inherited_fd() noexcept {
  const int fd = fd_;
  fd_ = -1;
  ssl_ = nullptr;  // the parent's session: never freed nor shut down here
  if (fd >= 0) ::close(fd);
}

void Connection::close_socket() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    const int fd = fd_;
    fd_ = -1;  // first: a fork in between leaves the child a closed number, never a reused one
    ::close(fd);
  }
  reader_.reset();
  wbuf_.clear();
  wpos_ = 0;
  queued_ = 0;
  written_ = 0;
  abandoned_ = 0;
  tls_wants_write_ = false;
  handshake_left_ = 0;
  handshake_error_.reset();
  state_ = State::down;
}

Error Connection::sent_error(const Error& cause) const {
  if (cause.code == Errc::store_protocol) return cause;
  return make_error(Errc::timeout, cause.message + " (after the request was sent: it may have taken effect)");
}

Error Connection::unsent_error(const Error& cause) const {
  return make_error(Errc::store_unavailable, cause.message + " (the request was not sent)");
}

void Connection::fail(const Error& cause) noexcept {
  try {
    last_error = cause.message;
  } catch (...) {
    last_error.clear();
  }
  failing_.swap(in_flight_);  // (completions submit to the client, never to this connection)
  const std::uint64_t written = written_;
  close_socket();
  // Timed-out requests (the leading ones) have completed already: their `done` is empty.
  std::optional<Error> sent, unsent;
  for (Request& r : failing_) {
    if (!r.done) continue;
    // Redis runs a command only once all of its bytes have arrived: a request has run (may
    // have) once everything before its trailing WAIT was written. (Counting the WAIT too, a
    // script whose WAIT was cut was said not sent, and on a Cluster sent again: a guess
    // counted twice, a right code answered not_found. Found by a review.)
    const bool was_sent = r.end - r.wait_bytes <= written;
    std::optional<Error>& error = was_sent ? sent : unsent;
    if (!error)
      error = error_or_out_of_memory(was_sent ? Errc::timeout : Errc::store_unavailable,
                                     [&] { return was_sent ? sent_error(cause) : unsent_error(cause); });
    fail_request(r, *error, warn_);
  }
  failing_.clear();  // (keeps its first block)
}

Status Connection::start(SteadyClock::time_point now) {
  close_socket();
  connect_deadline_ = now + endpoint_.options.connect_timeout;
  int fd = -1;
  int rc = -1;
  if (endpoint_.unix_socket) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (endpoint_.path.size() >= sizeof addr.sun_path) return unavailable(endpoint_, "socket path is too long");
    std::memcpy(addr.sun_path, endpoint_.path.c_str(), endpoint_.path.size() + 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return unavailable(endpoint_, "socket: " + errno_text(errno));
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(endpoint_.port);
    if (int gai = ::getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &res); gai != 0)
      return unavailable(endpoint_, std::string("cannot resolve host: ") + gai_strerror(gai));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return unavailable(endpoint_, "socket: " + errno_text(errno));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  }
  fd_ = fd;
  reader_ = std::make_unique<ReplyReader>();
  if (rc == 0) {
    state_ = State::connecting;
    return on_connected();
  }
  if (errno != EINPROGRESS && errno != EAGAIN) {
    const Error e = unavailable(endpoint_, "connect: " + errno_text(errno));
    close_socket();
    return e;
  }
  state_ = State::connecting;
  return Unit{};
}

short Connection::wanted_events() const noexcept {
  switch (state_) {
    case State::down: return 0;
    case State::connecting: return POLLOUT;
    case State::tls: return static_cast<short>(POLLIN | (tls_wants_write_ ? POLLOUT : 0));
    default: return static_cast<short>(POLLIN | (wpos_ < wbuf_.size() || tls_wants_write_ ? POLLOUT : 0));
  }
}

std::optional<SteadyClock::time_point> Connection::deadline() const {
  if (state_ == State::connecting || state_ == State::tls || state_ == State::handshake) return connect_deadline_;
  if (state_ != State::ready) return std::nullopt;
  std::optional<SteadyClock::time_point> d = stall_deadline();
  if (abandoned_ < in_flight_.size()) {
    const auto live = in_flight_[abandoned_].deadline;
    d = d ? std::min(*d, live) : live;
  }
  return d;
}

bool Connection::connect_expired(SteadyClock::time_point now) const {
  return (state_ == State::connecting || state_ == State::tls || state_ == State::handshake) && connect_deadline_ <= now;
}

Error Connection::connect_timeout_error() const {
  return make_error(Errc::store_unavailable, "Redis at " + endpoint_.describe() + ": connect timed out after " +
                                                 std::to_string(endpoint_.options.connect_timeout.count()) + " ms");
}

void Connection::expire(SteadyClock::time_point now) {
  if (state_ != State::ready) return;
  // Deadlines are stamped in submission order (Client::Impl::submit), so they never decrease
  // along a connection: the timed-out requests are always the leading ones.
  std::optional<Error> timeout;
  while (abandoned_ < in_flight_.size() && in_flight_[abandoned_].deadline <= now) {
    Request& r = in_flight_[abandoned_++];
    if (!timeout)
      timeout = error_or_out_of_memory(Errc::timeout, [&] {
        return make_error(Errc::timeout, "Redis at " + endpoint_.describe() + " did not reply within " +
                                             std::to_string(endpoint_.options.command_timeout.count()) +
                                             " ms (the request was sent: it may have taken effect)");
      });
    fail_request(r, *timeout, warn_);
    if (state_ != State::ready) return;
  }
}

std::chrono::milliseconds Connection::stall_grace() const {
  return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(2000), 3 * endpoint_.options.command_timeout);
}

std::optional<SteadyClock::time_point> Connection::stall_deadline() const {
  if (state_ != State::ready || abandoned_ == 0) return std::nullopt;
  return std::max(in_flight_.front().deadline, last_read_) + stall_grace();
}

bool Connection::stalled(SteadyClock::time_point now) const {
  auto d = stall_deadline();
  return d && *d <= now;
}

Error Connection::stall_error() const {
  return make_error(Errc::timeout, "Redis at " + endpoint_.describe() + " sent nothing for " +
                                       std::to_string(stall_grace().count()) +
                                       " ms past a timed-out request's deadline: connection dropped");
}

Status Connection::on_events(short revents) {
  if (state_ == State::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return unavailable(endpoint_, "connect: " + errno_text(err));
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return Unit{};
    return on_connected();
  }
  if (state_ == State::tls) return tls_handshake();
  if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0 || (ssl_ != nullptr && SSL_pending(ssl_) > 0) ||
      (tls_wants_write_ && (revents & POLLOUT))) {
    if (auto s = read_available(); !s) return s;
  }
  if ((revents & POLLOUT) != 0) return write_pending();
  return Unit{};
}

Status Connection::on_connected() {
  if (!endpoint_.tls) return begin_handshake();
  ssl_ = SSL_new(tls_context_);
  if (ssl_ == nullptr) return unavailable(endpoint_, "TLS: " + tls_error_text());
  SSL_set_fd(ssl_, fd_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const std::string& name = endpoint_.options.tls_server_name.empty() ? endpoint_.host : endpoint_.options.tls_server_name;
  in6_addr ip{};
  const bool is_ip = ::inet_pton(AF_INET, name.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  if (!is_ip) SSL_set_tlsext_host_name(ssl_, name.c_str());
  if (endpoint_.options.tls_verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    else SSL_set1_host(ssl_, name.c_str());
  }
  state_ = State::tls;
  return tls_handshake();
}

Status Connection::tls_handshake() {
  ERR_clear_error();
  const int rc = SSL_connect(ssl_);
  if (rc == 1) {
    tls_wants_write_ = false;
    return begin_handshake();
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ) {
    tls_wants_write_ = false;
    return Unit{};
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    tls_wants_write_ = true;
    return Unit{};
  }
  std::string why = tls_error_text();
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  return unavailable(endpoint_, "TLS handshake: " + why);
}

Status Connection::begin_handshake() {
  state_ = State::handshake;
  // Every authentication failure (no password given, a wrong one, an unknown or disabled user)
  // is one error: Errc::config, naming the fix; the password itself never appears.
  // A step whose error cannot be made (no memory) still counts, failing the handshake with
  // out_of_memory_error: the connection is retried, never left half way (nor made ready).
  auto counted = [this](auto&& body) {
    try {
      body();
    } catch (...) {
      if (!handshake_error_) handshake_error_ = out_of_memory_error(Errc::store_unavailable);
    }
    --handshake_left_;
  };
  auto step = [this, counted](const char* what) {
    return [this, what, counted](Expected<Reply> r) {
      counted([&] {
        if (r && r->is_error() && !handshake_error_) {
          const std::string at = "Redis at " + endpoint_.describe() + ": ";
          if (r->str.starts_with("NOAUTH"))
            handshake_error_ = make_error(Errc::config, at + "authentication required (" + r->str +
                                                            "): give the password in the URL, redis://:password@host "
                                                            "or redis://user:password@host");
          else if (std::string_view(what) == "AUTH")
            handshake_error_ = make_error(Errc::config, at + "AUTH failed (" + r->str +
                                                            "): check the user name and password in the URL");
          else
            handshake_error_ = make_error(Errc::config, at + what + " failed: " + r->str);
        }
      });
    };
  };
  auto push = [this](std::string bytes, ReplyCallback done) {
    wbuf_ += bytes;
    queued_ += bytes.size();
    in_flight_.push_back(Request{std::move(bytes), std::move(done), connect_deadline_, queued_});
    ++handshake_left_;
  };
  if (!endpoint_.password.empty()) {
    if (endpoint_.username.empty()) push(format_command({"AUTH", endpoint_.password}), step("AUTH"));
    else push(format_command({"AUTH", endpoint_.username, endpoint_.password}), step("AUTH"));
  }
  if (endpoint_.db != 0) push(format_command({"SELECT", std::to_string(endpoint_.db)}), step("SELECT"));
  // Without a password, one PING: a server that wants one says NOAUTH now, at connect, rather
  // than to every command later.
  if (endpoint_.password.empty()) push(format_command({"PING"}), step("PING"));
  // A Sentinel-found primary may have been demoted since: never write to a replica.
  if (endpoint_.require_master)
    push(format_command({"ROLE"}), [this, counted](Expected<Reply> r) {
      counted([&] {
        if (r && !handshake_error_) {
          const bool master = r->type == Reply::Type::array && !r->elements.empty() && r->elements[0].str == "master";
          if (!master)
            handshake_error_ = make_error(
                Errc::store_unavailable,
                "Redis at " + endpoint_.describe() + " is not a master (ROLE: " +
                    (r->is_error() ? r->str
                                   : r->type == Reply::Type::array && !r->elements.empty() ? r->elements[0].str : "?") +
                    "): verikit does not write to it");
        }
      });
    });
  for (Request& r : in_flight_) r.bytes.clear();  // written from wbuf_; not kept twice
  if (handshake_left_ == 0) {
    state_ = State::ready;
    failures = 0;
    return Unit{};
  }
  return write_pending();
}

Status Connection::send(Request&& request) {
  // Strong guarantee: if an allocation fails, nothing changed (the caller still has `request`).
  in_flight_.push_back(std::move(request));
  Request& r = in_flight_.back();
  try {
    wbuf_ += r.bytes;
  } catch (...) {
    request = std::move(in_flight_.back());
    in_flight_.pop_back();
    throw;
  }
  queued_ += r.bytes.size();
  r.end = queued_;
  r.bytes.clear();
  r.bytes.shrink_to_fit();
  return Unit{};
}

Status Connection::flush() { return wpos_ < wbuf_.size() ? write_pending() : Status(Unit{}); }

Status Connection::write_pending() {
  while (wpos_ < wbuf_.size()) {
    const char* p = wbuf_.data() + wpos_;
    const std::size_t n = wbuf_.size() - wpos_;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int w = SSL_write(ssl_, p, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
      if (w <= 0) {
        const int err = SSL_get_error(ssl_, w);
        if (err == SSL_ERROR_WANT_WRITE) return Unit{};
        if (err == SSL_ERROR_WANT_READ) return Unit{};  // renegotiation: POLLIN is always wanted
        return unavailable(endpoint_, "TLS write: " + tls_error_text());
      }
      wpos_ += static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    } else {
      const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Unit{};
        if (errno == EINTR) continue;
        return unavailable(endpoint_, "write: " + errno_text(errno));
      }
      wpos_ += static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
  }
  wbuf_.clear();
  wpos_ = 0;
  return Unit{};
}

Status Connection::read_available() {
  char buf[64 * 1024];
  tls_wants_write_ = false;
  for (;;) {
    ssize_t n = 0;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int r = SSL_read(ssl_, buf, sizeof buf);
      if (r <= 0) {
        const int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_READ) break;
        if (err == SSL_ERROR_WANT_WRITE) {
          tls_wants_write_ = true;
          break;
        }
        if (err == SSL_ERROR_ZERO_RETURN) return unavailable(endpoint_, "connection closed by the server");
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return unavailable(endpoint_, "connection closed by the server");
        return unavailable(endpoint_, "TLS read: " + tls_error_text());
      }
      n = r;
    } else {
      n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return unavailable(endpoint_, "read: " + errno_text(errno));
      }
      if (n == 0) return unavailable(endpoint_, "connection closed by the server");
    }
    last_read_ = SteadyClock::now();
    if (auto s = reader_->feed(buf, static_cast<std::size_t>(n)); !s) return reader_error(s.error());
    if (auto s = complete_replies(); !s) return s;
    if (state_ == State::down) return Unit{};
    if (static_cast<std::size_t>(n) < sizeof buf && (ssl_ == nullptr || SSL_pending(ssl_) == 0)) break;
  }
  return Unit{};
}

Error Connection::reader_error(const Error& e) const {
  return e.code == Errc::store_protocol ? protocol_error(e.message) : e;
}

Error Connection::protocol_error(const std::string& what) const {
  return make_error(Errc::store_protocol, "Redis at " + endpoint_.describe() + ": protocol error: " + what);
}

Status Connection::complete_replies() {
  for (std::size_t done = 0;; ++done) {
    if (done != 0 && progress_every_ != 0 && done % progress_every_ == 0 && state_ == State::ready)
      if (auto s = progress_(); !s) return s;
    auto next = reader_->next();
    if (!next) return reader_error(next.error());
    std::unique_ptr<Reply> reply = std::move(next).value();
    if (reply == nullptr) return Unit{};
    if (in_flight_.empty())
      return make_error(Errc::store_protocol, "Redis at " + endpoint_.describe() + ": a reply nobody asked for");
    Request& front = in_flight_.front();
    if (static_cast<int>(front.earlier.size()) + 1 < front.replies) {  // a reply of several: keep it
      front.earlier.push_back(std::move(*reply));
      continue;
    }
    Request request = std::move(front);
    in_flight_.pop_front();
    if (abandoned_ > 0) {
      --abandoned_;  // the late reply of a request that timed out (and completed then): dropped
      continue;
    }
    if (request.replies > 1) {
      try {
        Reply all;
        all.type = Reply::Type::array;
        all.elements = std::move(request.earlier);
        all.elements.push_back(std::move(*reply));
        complete(request, std::move(all), warn_);
      } catch (...) {  // (out of its slot: completed here, as one whose reply was lost)
        complete(request, out_of_memory_error(Errc::timeout), warn_);
      }
    } else {
      complete(request, std::move(*reply), warn_);
    }
    if (state_ == State::handshake) {
      if (handshake_error_) return *handshake_error_;
      if (handshake_left_ == 0) {
        state_ = State::ready;
        failures = 0;
      }
    }
  }
}

}  // namespace verikit::redis
