// verikit::detail — lifecycle events: the raw facts taken at an operation's completion, carried
// off its path through a bounded queue and turned into Events (tags hashed) by one dispatcher
// thread, which calls the handler.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "engine/stats.hpp"
#include "verikit/event.hpp"
#include "verikit/result.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

// What an operation knows when it completes. Hashing happens on the event thread: the
// operation pays for these copies and one queue push.
struct PendingEvent {
  Credential credential = Credential::otp;
  EventKind kind = EventKind::issued;
  int status = -1;
  std::string purpose;
  std::string identifier;  // normalised; empty when unknown
  std::string client_key;  // as given; empty when none
  int attempts_used = -1;
  int attempts_remaining = -1;
  std::chrono::milliseconds retry_after{0};
  int count = -1;
  TimePoint at;
};

// The bounded queue and its dispatcher thread (started at the first event). post() never waits
// for the handler: a full queue (or a stopped bus) drops the event and counts it in `stats`.
class EventBus {
 public:
  EventBus(EventHandler handler, std::size_t capacity, bool include_identifier, const IndexKey& index,
           std::shared_ptr<Stats> stats);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  void post(PendingEvent event) noexcept;
  // Delivers what is queued, then joins the thread; later posts are dropped. Called on the
  // event thread itself (the handler let go of the engine), it drops what is left and lets the
  // thread end after the handler returns. Idempotent.
  void stop() noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// What an operation knows about its event before the store answers. Views: copied only when
// the operation completes with an event.
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
};

// The event's facts known at the call (copied once); completed from the outcome by complete_event.
PendingEvent start_event(const EventContext& ctx);
void complete_event(PendingEvent& e, const Result& result, int max_attempts);  // kind from the outcome
void complete_event(PendingEvent& e, EventKind kind, int count);              // revoke, unlock
bool has_event(Outcome outcome) noexcept;                                    // valid (peek): no event

// The wrapper with_event makes: posts the operation's event, then completes. When the callback
// it wraps is the operation's counter (track), it takes the counter's place rather than wrapping
// it: one allocation and one call per operation fewer, which is most of what events cost an
// operation besides the event itself.
template <class T>
struct Evented {
  std::shared_ptr<EventBus> bus;
  PendingEvent e;
  int max;
  EventKind on_true;
  std::optional<Tracked<T>> tracked;  // set: it is `done`
  Callback<T> done;

  void operator()(Expected<T> r) {
    if (r) {
      if constexpr (std::is_same_v<T, Result>) {
        if (has_event(r->outcome)) {
          complete_event(e, *r, max);
          bus->post(std::move(e));
        }
      } else if (*r) {  // bool: revoked / unlocked; int: how many were revoked
        complete_event(e, on_true, on_true == EventKind::revoked ? static_cast<int>(*r) : -1);
        bus->post(std::move(e));
      }
    }
    if (tracked) return (*tracked)(std::move(r));
    done(std::move(r));
  }
};

// `done`, posting an event to `bus` when it completes with an outcome worth one. No bus:
// `done` itself (the cost of events off is this branch).
template <class T>
Callback<T> with_event(const std::shared_ptr<EventBus>& bus, EventContext ctx, Callback<T> done) {
  if (!bus) return done;
  Evented<T> w{bus, start_event(ctx), ctx.max_attempts, ctx.on_true, std::nullopt, nullptr};
  if (auto* counter = done.template target<Tracked<T>>()) w.tracked.emplace(std::move(*counter));
  else w.done = std::move(done);
  return w;
}

}  // namespace verikit::detail
