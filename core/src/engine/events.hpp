// verikit::detail — lifecycle events: the raw facts taken at an operation's completion, carried
// off its path through a bounded queue and turned into Events (tags hashed) by one dispatcher
// thread, which calls the handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "engine/stats.hpp"
#include "verikit/engine.hpp"
#include "verikit/event.hpp"
#include "verikit/result.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

// The strings an event names (purpose, identifier, client key), packed one after another: in
// the object itself when they fit (the usual case: no allocation on the operation's path), else
// in one heap buffer. Written on an operation's path at every event: assign() is inline.
class EventText {
 public:
  EventText() noexcept {}
  EventText(const EventText& other) { *this = other; }
  EventText(EventText&& other) noexcept { *this = std::move(other); }
  EventText& operator=(const EventText& other);
  EventText& operator=(EventText&& other) noexcept;  // copies the bytes in use, or takes the heap buffer
  ~EventText() = default;

  // The views must not point into this object. Throws std::bad_alloc (a long text, no memory),
  // leaving the text as it was.
  void assign(std::string_view purpose, std::string_view identifier, std::string_view client_key) {
    const std::size_t n = purpose.size() + identifier.size() + client_key.size();
    char* at = n <= kInline ? inline_ : heap_for(n);
    if (n <= kInline && heap_) {
      heap_.reset();
      heap_size_ = 0;
    }
    purpose_ = static_cast<std::uint32_t>(purpose.size());
    identifier_ = static_cast<std::uint32_t>(identifier.size());
    client_ = static_cast<std::uint32_t>(client_key.size());
    if (!purpose.empty()) std::memcpy(at, purpose.data(), purpose.size());
    at += purpose.size();
    if (!identifier.empty()) std::memcpy(at, identifier.data(), identifier.size());
    at += identifier.size();
    if (!client_key.empty()) std::memcpy(at, client_key.data(), client_key.size());
  }
  std::string_view purpose() const noexcept { return {data(), purpose_}; }
  std::string_view identifier() const noexcept { return {data() + purpose_, identifier_}; }
  std::string_view client_key() const noexcept { return {data() + purpose_ + identifier_, client_}; }

 private:
  static constexpr std::size_t kInline = 120;  // "login" and an e-mail address, with room to spare
  const char* data() const noexcept { return heap_ ? heap_.get() : inline_; }
  std::size_t size() const noexcept { return std::size_t{purpose_} + identifier_ + client_; }
  char* heap_for(std::size_t n);  // a heap buffer of n bytes (the one held, when it is large enough)
  std::uint32_t purpose_ = 0, identifier_ = 0, client_ = 0;
  std::uint32_t heap_size_ = 0;            // the heap buffer's size
  char inline_[kInline];                   // (only the first size() bytes are ever read or copied)
  std::unique_ptr<char[]> heap_;           // set: the strings are here
};

// What an operation knows when it completes: plain values and the strings packed inline. Tags
// are computed on the event thread: the operation pays for one small copy and one queue push.
struct PendingEvent {
  Credential credential = Credential::otp;
  EventKind kind = EventKind::issued;
  int status = -1;
  int attempts_used = -1;
  int attempts_remaining = -1;
  int count = -1;
  std::chrono::milliseconds retry_after{0};
  // When the outcome was known, by the steady clock the operation's counter reads anyway (the
  // wall clock would be a second clock read per operation); the event thread turns it into the
  // event's wall-clock time.
  std::chrono::steady_clock::time_point when{};
  EventText text;  // the purpose (empty when unknown), the normalised identifier, the client key
};

struct ArmedEvent;

// The bounded queue and its dispatcher thread (both made at the first event: the queue's
// `capacity` slots of 192 bytes each are allocated then). post() never waits for the handler
// or for another operation's thread: a full queue (or a stopped bus) drops the event and counts it.
class EventBus {
 public:
  EventBus(EventHandler handler, std::size_t capacity, bool include_identifier, const IndexKey& index);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  void post(PendingEvent&& event) noexcept;
  // An operation's event, written straight into its place in the queue: the call's facts from
  // `armed`, the rest from the outcome (`result`; or `count` for revoke and unlock).
  void post(const ArmedEvent& armed, const Result& result, std::chrono::steady_clock::time_point now) noexcept;
  void post(const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now) noexcept;
  // Delivers what is queued, then joins the thread; later posts are dropped. Called on the
  // event thread itself (the handler let go of the engine), it drops what is left and lets the
  // thread end after the handler returns. Idempotent.
  void stop() noexcept;

  std::uint64_t delivered() const noexcept;  // handed to the handler
  std::uint64_t dropped() const noexcept;    // a full queue, or posted after stop()

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// What an operation knows about its event before the store answers. Views, valid during the
// call only: ArmedEvent copies what it needs of them (or nothing) when the event is armed.
struct EventContext {
  EventContext(Credential c, std::string_view p = {}, std::string_view id = {}, std::string_view ck = {},
               int max = -1, EventKind when_true = EventKind::revoked)
      : credential(c), purpose(p), identifier(id), client_key(ck), max_attempts(max), on_true(when_true) {}
  Credential credential;
  std::string_view purpose;     // the subject's purpose, or a token check's purpose filter
  std::string_view identifier;  // normalised; empty where the result names it (token checks)
  std::string_view client_key;
  int max_attempts;             // OTPs: the policy's, to tell attempts used from attempts left
  EventKind on_true;            // revoke / unlock: the event when the answer is true (or > 0)
  EventKind on_verified = EventKind::verified;  // the event of a verified outcome (a confirmed
                                                // two-step enrollment: issued, it enrolled)
};

// Every outcome but valid (a peek changes nothing) has an event. Inline: asked at every completion.
constexpr bool has_event(Outcome outcome) noexcept {
  const auto i = static_cast<unsigned>(outcome);
  return i <= static_cast<unsigned>(Outcome::cooldown) && outcome != Outcome::valid;
}

// An operation's event, armed by with_event: posted to `bus` when the operation completes with
// an outcome worth one.
//
// The call's strings are copied at the call only where the outcome may not name them: an
// operation whose answer is a Result and whose call named a subject puts that subject into
// every Result it completes with (OTP issue and verify, token and link issue), except a client
// limit's refusal, which only a call with a client key can meet. So a call with a subject and no
// client key copies nothing here, and its event's strings are copied once, from the Result,
// into the queue.
struct ArmedEvent {
  [[gnu::always_inline]] ArmedEvent(EventBus* b, const EventContext& ctx, bool result_names_subject)
      : bus(b), credential(ctx.credential), on_true(ctx.on_true), on_verified(ctx.on_verified),
        max_attempts(ctx.max_attempts) {
    if (result_names_subject && !ctx.identifier.empty() && ctx.client_key.empty()) {
      copied = false;
      return;
    }
    text.assign(ctx.purpose != kAnyPurpose ? ctx.purpose : std::string_view{}, ctx.identifier, ctx.client_key);
  }
  template <class T>
  void post(const Expected<T>& r, std::chrono::steady_clock::time_point now) {
    if (!r) return;  // an error: no event
    if constexpr (std::is_same_v<T, Result>) {
      if (has_event(r->outcome)) bus->post(*this, *r, now);
    } else {  // bool: revoked / unlocked; int: how many were revoked
      if (*r) bus->post(*this, on_true == EventKind::revoked ? static_cast<int>(*r) : -1, now);
    }
  }

  EventBus* bus;  // alive while the operation is: its Stats, which the operation holds, holds it
  Credential credential;
  EventKind on_true;
  EventKind on_verified;
  int max_attempts;
  bool copied = true;  // false: nothing copied at the call, the Result must name the subject
  EventText text;  // the call's purpose, identifier and client key; empty where the Result names them
};

// `e` = the event of an operation armed as `armed` that completed with `result` (its kind from
// the outcome; what the call did not copy or know, the Result names), or with `count` (revoke,
// unlock: the kind the call armed). `now`: the steady clock's time of the outcome. Every field of
// `e` is written: `e` is a queue slot, holding an earlier event.
void complete_event(PendingEvent& e, const ArmedEvent& armed, const Result& result,
                    std::chrono::steady_clock::time_point now);
void complete_event(PendingEvent& e, const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now);

// `done`, counted into `stats` when it completes (the clock starts now) and, once with_event has
// armed it, posting the operation's event first. One wrapper whether events are on or not: events
// cost an operation no allocation and no wrapper of their own (the event is written into the
// queue from inside it).
// `stats` is shared with the operation in flight, so counting (and the event bus it holds) stays
// safe whenever the completion comes.
template <class T>
struct Tracked {
  std::shared_ptr<Stats> stats;
  Op op;  // Op::count_: not counted (with_event given a callback that was no Tracked)
  std::chrono::steady_clock::time_point start;
  Callback<T> done;
  std::optional<ArmedEvent> event;  // (disengaged: one flag to copy and test)

  void count(const Expected<T>& r, std::chrono::steady_clock::time_point now) const noexcept {
    int outcome = -1, error = 0;
    if (!r) error = static_cast<int>(r.error().code);
    else if constexpr (std::is_same_v<T, Result>) outcome = static_cast<int>(r->outcome);
    stats->record(op, outcome, error, now - start);
  }
  // (By rvalue reference: std::function hands its argument on as one; no copy of a Result here.)
  // One clock read for the counter and the event.
  void operator()(Expected<T>&& r) {
    const auto now = std::chrono::steady_clock::now();
    if (event) event->post(r, now);
    if (op != Op::count_) count(r, now);
    done(std::move(r));
  }
};

// (A Tracked, not a Callback: an operation that keeps it as it is, moving it from closure to
// closure into the store's completion, wraps nothing and allocates nothing for it; assigned
// to a Callback it is wrapped there.)
template <class T>
Tracked<T> track(std::shared_ptr<Stats> stats, Op op, Callback<T> done) {
  return Tracked<T>{std::move(stats), op, std::chrono::steady_clock::now(), std::move(done), std::nullopt};
}

// Arms `done` (in place) to post an event to the bus of `stats` (the engine's) when it completes
// with an outcome worth one: the operation's counter (track) inside `done` is armed where it is.
// No bus: nothing changes (the cost of events off is this branch).
template <class T>
void with_event(const std::shared_ptr<Stats>& stats, const EventContext& ctx, Tracked<T>& done) {
  if (EventBus* bus = stats->events()) done.event.emplace(bus, ctx, std::is_same_v<T, Result>);
}
template <class T>
void with_event(const std::shared_ptr<Stats>& stats, const EventContext& ctx, Callback<T>& done) {
  EventBus* bus = stats->events();
  if (bus == nullptr) return;
  auto* tracked = done.template target<Tracked<T>>();
  if (tracked == nullptr) {
    done = Tracked<T>{stats, Op::count_, {}, std::move(done), std::nullopt};
    tracked = done.template target<Tracked<T>>();
  }
  tracked->event.emplace(bus, ctx, std::is_same_v<T, Result>);
}

}  // namespace verikit::detail
