// verikit — lifecycle events: names, the facts an operation hands over, and the bounded queue
// with its dispatcher thread.
#include "engine/events.hpp"

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "verikit/engine.hpp"
#include "verikit/process.hpp"

namespace verikit {

const char* to_string(Credential credential) noexcept {
  switch (credential) {
    case Credential::otp: return "otp";
    case Credential::token: return "token";
    case Credential::link: return "link";
    case Credential::all: return "all";
  }
  return "unknown";
}

const char* to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::issued: return "issued";
    case EventKind::verified: return "verified";
    case EventKind::invalid: return "invalid";
    case EventKind::not_found: return "not_found";
    case EventKind::attempts_exhausted: return "attempts_exhausted";
    case EventKind::locked: return "locked";
    case EventKind::rate_limited: return "rate_limited";
    case EventKind::cooldown: return "cooldown";
    case EventKind::revoked: return "revoked";
    case EventKind::unlocked: return "unlocked";
  }
  return "unknown";
}

const char* event_name(Credential credential, EventKind kind) noexcept {
  constexpr int kCredentials = 4, kKinds = 10;
  static const std::array<std::string, kCredentials * kKinds> names = [] {
    std::array<std::string, kCredentials * kKinds> n;
    for (int c = 0; c < kCredentials; ++c)
      for (int k = 0; k < kKinds; ++k)
        n[c * kKinds + k] = std::string(to_string(static_cast<Credential>(c))) + "." + to_string(static_cast<EventKind>(k));
    return n;
  }();
  const int c = static_cast<int>(credential), k = static_cast<int>(kind);
  if (c < 0 || c >= kCredentials || k < 0 || k >= kKinds) return "unknown";
  return names[c * kKinds + k].c_str();
}

namespace detail {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Domain-separated from every tag the store sees: an event log cannot be joined to store keys.
std::string event_tag(const IndexKey& index, std::string_view domain, std::string_view value) {
  if (value.empty()) return {};
  return hex(keyed_hash(index.index, {domain, value}));
}

std::optional<EventKind> kind_of(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::verified: return EventKind::verified;
    case Outcome::issued: return EventKind::issued;
    case Outcome::invalid: return EventKind::invalid;
    case Outcome::not_found: return EventKind::not_found;
    case Outcome::attempts_exhausted: return EventKind::attempts_exhausted;
    case Outcome::locked: return EventKind::locked;
    case Outcome::rate_limited: return EventKind::rate_limited;
    case Outcome::cooldown: return EventKind::cooldown;
    case Outcome::valid: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

bool has_event(Outcome outcome) noexcept { return kind_of(outcome).has_value(); }

PendingEvent start_event(const EventContext& ctx) {
  PendingEvent e;
  e.credential = ctx.credential;
  if (ctx.purpose != kAnyPurpose) e.purpose = std::string(ctx.purpose);
  e.identifier = std::string(ctx.identifier);
  e.client_key = std::string(ctx.client_key);
  return e;
}

namespace {
TimePoint wall_now() { return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()); }
}  // namespace

void complete_event(PendingEvent& e, const Result& result, int max_attempts) {
  e.kind = kind_of(result.outcome).value_or(EventKind::not_found);
  e.status = static_cast<int>(result.outcome);
  // The result names what the store found (a token's own purpose and identifier); else the call's.
  if (!result.purpose.empty() && result.purpose != e.purpose) e.purpose = result.purpose;
  if (!result.identifier.empty() && result.identifier != e.identifier) e.identifier = result.identifier;
  e.attempts_remaining = result.attempts_remaining;
  if (max_attempts > 0 && result.attempts_remaining >= 0)
    e.attempts_used = std::max(0, max_attempts - result.attempts_remaining);
  e.retry_after = result.retry_after;
  e.at = wall_now();
}

void complete_event(PendingEvent& e, EventKind kind, int count) {
  e.kind = kind;
  e.status = -1;
  e.count = count;
  e.at = wall_now();
}

struct EventBus::State {
  State(EventHandler h, std::size_t cap, bool include, const IndexKey& key, std::shared_ptr<Stats> s)
      : handler(std::move(h)), capacity(cap), include_identifier(include), index(key), stats(std::move(s)) {}

  const EventHandler handler;
  const std::size_t capacity;
  const bool include_identifier;
  const IndexKey index;
  const std::shared_ptr<Stats> stats;

  std::mutex mutex;
  std::condition_variable wake;
  std::vector<PendingEvent> queue;  // guarded by mutex
  bool started = false;             // guarded by mutex
  bool stopping = false;            // guarded by mutex
  bool sleeping = false;            // guarded by mutex: the thread waits for `wake` (queue empty)
  bool gathering = false;           // guarded by mutex: the thread lets a batch gather
  bool abandoned = false;           // set by the event thread itself (stop() inside the handler)
  std::thread thread;
  ProcessTag process;  // whose thread `thread` is

  // In a forked child: the dispatcher is the parent's thread and does not exist here, and the
  // lock may have been held by one of the parent's threads at the fork. The child starts over:
  // a fresh lock, no thread (the next event starts the child's own), and an empty queue (the
  // events queued are the parent's, delivered there; their memory is left as it is, since it
  // may have been mid-change). Between a child's threads, the first to get here does it.
  void adopt_after_fork() noexcept {
    detail::adopt_after_fork(process, [this] {
      renew_in_place(mutex);
      renew_in_place(wake);
      renew_in_place(queue);
      abandon_thread(thread);
      started = sleeping = gathering = abandoned = false;
    });
  }

  Event build(PendingEvent& p) const {
    Event e;
    e.credential = p.credential;
    e.kind = p.kind;
    e.status = p.status;
    e.purpose = std::move(p.purpose);
    e.identifier_tag = event_tag(index, "event-identifier", p.identifier);
    if (include_identifier) e.identifier = std::move(p.identifier);
    e.client_tag = event_tag(index, "event-client", p.client_key);
    e.attempts_used = p.attempts_used;
    e.attempts_remaining = p.attempts_remaining;
    e.retry_after = p.retry_after;
    e.count = p.count;
    e.at = p.at;
    return e;
  }

  // Woken by the first event after a sleep, the thread lets more gather for this long (or until
  // the queue is half full, or stop()) before it takes them: under load, one wake-up per batch
  // instead of one per event, which the operations' threads would pay for.
  static constexpr std::chrono::milliseconds kGather{1};

  bool half_full() const { return queue.size() >= (capacity + 1) / 2; }

  // The event thread: takes the queue in batches and hands each event to the handler with no
  // lock held; after stop(), delivers what is left and ends.
  static void run(const std::shared_ptr<State>& self) {
    State& s = *self;
    std::vector<PendingEvent> batch;
    std::unique_lock<std::mutex> lock(s.mutex);
    for (;;) {
      if (s.queue.empty() && !s.stopping) {
        s.sleeping = true;
        s.wake.wait(lock, [&] { return !s.queue.empty() || s.stopping; });
        s.sleeping = false;
        s.gathering = true;
        s.wake.wait_for(lock, kGather, [&] { return s.stopping || s.half_full(); });
        s.gathering = false;
      }
      if (s.queue.empty()) return;  // stopping, and everything was delivered
      batch.swap(s.queue);
      lock.unlock();
      std::size_t i = 0;
      for (; i < batch.size() && !s.abandoned; ++i) {
        try {
          s.handler(s.build(batch[i]));
        } catch (...) {
          // A handler's exception stays in the handler: the event counts as delivered.
        }
        s.stats->event_delivered();
      }
      s.stats->event_dropped(batch.size() - i);
      batch.clear();
      lock.lock();
      if (s.abandoned) {
        s.stats->event_dropped(s.queue.size());
        s.queue.clear();
        return;
      }
    }
  }
};

EventBus::EventBus(EventHandler handler, std::size_t capacity, bool include_identifier, const IndexKey& index,
                   std::shared_ptr<Stats> stats)
    : state_(std::make_shared<State>(std::move(handler), capacity, include_identifier, index, std::move(stats))) {
  state_->stats->enable_events();
}

EventBus::~EventBus() { stop(); }

void EventBus::post(PendingEvent event) noexcept {
  State& s = *state_;
  s.adopt_after_fork();
  bool wake = false;
  try {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping || s.queue.size() >= s.capacity) {
      s.stats->event_dropped(1);
      return;
    }
    if (!s.started) {
      s.thread = std::thread([self = state_] { State::run(self); });  // holds the state, not the bus
      s.started = true;
    }
    s.queue.push_back(std::move(event));
    // The first event after a sleep wakes the thread; while it gathers, only a half-full queue does.
    wake = (s.sleeping && s.queue.size() == 1) || (s.gathering && s.queue.size() == (s.capacity + 1) / 2);
  } catch (...) {
    s.stats->event_dropped(1);  // no memory or no thread: the event is lost, the operation is not
    return;
  }
  if (wake) s.wake.notify_one();
}

void EventBus::stop() noexcept {
  State& s = *state_;
  s.adopt_after_fork();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping) return;
    s.stopping = true;
  }
  s.wake.notify_one();
  if (!s.thread.joinable()) return;
  if (s.thread.get_id() == std::this_thread::get_id()) {
    s.abandoned = true;  // only the event thread reads it, after the handler returns
    s.thread.detach();
    return;
  }
  s.thread.join();
}

}  // namespace detail
}  // namespace verikit
