// verikit — lifecycle events: names, the facts an operation hands over, and the bounded queue
// with its dispatcher thread.
#include "engine/events.hpp"

#include <array>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstring>
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

// `out` = the hex of a keyed hash of `value` (32 digits), or empty for an empty value. Into a
// string the event thread reuses: no allocation once it has held one tag. Domain-separated from
// every tag the store sees: an event log cannot be joined to store keys.
void event_tag(std::string& out, const IndexKey& index, std::string_view domain, std::string_view value) {
  if (value.empty()) return out.clear();
  static constexpr auto kPairs = [] {  // byte -> its two hex digits
    constexpr char kDigits[] = "0123456789abcdef";
    std::array<char, 512> pairs{};
    for (int b = 0; b < 256; ++b) {
      pairs[2 * b] = kDigits[b >> 4];
      pairs[2 * b + 1] = kDigits[b & 15];
    }
    return pairs;
  }();
  std::array<std::uint8_t, kHashBytes> hash;
  keyed_hash(index.index, {domain, value}, hash);
  out.resize(2 * hash.size());
  char* at = out.data();
  for (std::uint8_t b : hash) {
    std::memcpy(at, kPairs.data() + 2 * b, 2);
    at += 2;
  }
}

// `out` = `value`, in the buffer `out` already has when it is large enough.
void assign_to(std::string& out, std::string_view value) {
  out.resize(value.size());
  if (!value.empty()) std::memcpy(out.data(), value.data(), value.size());
}

// Outcome -> its event's kind (-1: none). By table: it is looked up twice per operation.
constexpr std::array<int, 9> kKindOf = [] {
  std::array<int, 9> k{};
  k[static_cast<int>(Outcome::verified)] = static_cast<int>(EventKind::verified);
  k[static_cast<int>(Outcome::valid)] = -1;  // a peek changes nothing
  k[static_cast<int>(Outcome::issued)] = static_cast<int>(EventKind::issued);
  k[static_cast<int>(Outcome::invalid)] = static_cast<int>(EventKind::invalid);
  k[static_cast<int>(Outcome::not_found)] = static_cast<int>(EventKind::not_found);
  k[static_cast<int>(Outcome::attempts_exhausted)] = static_cast<int>(EventKind::attempts_exhausted);
  k[static_cast<int>(Outcome::locked)] = static_cast<int>(EventKind::locked);
  k[static_cast<int>(Outcome::rate_limited)] = static_cast<int>(EventKind::rate_limited);
  k[static_cast<int>(Outcome::cooldown)] = static_cast<int>(EventKind::cooldown);
  return k;
}();

int kind_of(Outcome outcome) noexcept {
  const auto i = static_cast<std::size_t>(outcome);
  return i < kKindOf.size() ? kKindOf[i] : -1;
}

}  // namespace

bool has_event(Outcome outcome) noexcept { return kind_of(outcome) >= 0; }

EventText& EventText::operator=(const EventText& other) {
  if (this != &other) assign(other.purpose(), other.identifier(), other.client_key());
  return *this;
}

EventText& EventText::operator=(EventText&& other) noexcept {
  if (this == &other) return *this;
  purpose_ = other.purpose_;
  identifier_ = other.identifier_;
  client_ = other.client_;
  if (!other.heap_.empty()) {
    heap_ = std::move(other.heap_);
    other.heap_.clear();
  } else {
    heap_.clear();
    std::memcpy(inline_, other.inline_, size());
  }
  return *this;
}

void EventText::assign(std::string_view purpose, std::string_view identifier, std::string_view client_key) {
  purpose_ = static_cast<std::uint32_t>(purpose.size());
  identifier_ = static_cast<std::uint32_t>(identifier.size());
  client_ = static_cast<std::uint32_t>(client_key.size());
  char* at = inline_;
  if (size() <= kInline) {
    heap_.clear();
  } else {
    heap_.resize(size());
    at = heap_.data();
  }
  if (!purpose.empty()) std::memcpy(at, purpose.data(), purpose.size());
  at += purpose.size();
  if (!identifier.empty()) std::memcpy(at, identifier.data(), identifier.size());
  at += identifier.size();
  if (!client_key.empty()) std::memcpy(at, client_key.data(), client_key.size());
}

ArmedEvent::ArmedEvent(EventBus* b, const EventContext& ctx, bool result_names_subject)
    : bus(b), credential(ctx.credential), on_true(ctx.on_true), max_attempts(ctx.max_attempts) {
  if (result_names_subject && !ctx.identifier.empty() && ctx.client_key.empty()) {
    copied = false;
    return;
  }
  text.assign(ctx.purpose != kAnyPurpose ? ctx.purpose : std::string_view{}, ctx.identifier, ctx.client_key);
}

void complete_event(PendingEvent& e, const ArmedEvent& armed, const Result& result,
                    std::chrono::steady_clock::time_point now) {
  // An operation that copied nothing at the call completes only with Results that name its
  // subject (see ArmedEvent): a new path that did not would post events naming no one.
  assert(armed.copied || !result.identifier.empty());
  const int kind = kind_of(result.outcome);
  e.credential = armed.credential;
  e.kind = kind >= 0 ? static_cast<EventKind>(kind) : EventKind::not_found;
  e.status = static_cast<int>(result.outcome);
  // What the call did not copy (a subject the Result repeats) or did not know (a token's own
  // purpose and identifier, found by the store), the Result names.
  e.text.assign(armed.text.purpose().empty() ? std::string_view(result.purpose) : armed.text.purpose(),
                armed.text.identifier().empty() ? std::string_view(result.identifier) : armed.text.identifier(),
                armed.text.client_key());
  e.attempts_remaining = result.attempts_remaining;
  if (armed.max_attempts > 0 && result.attempts_remaining >= 0)
    e.attempts_used = std::max(0, armed.max_attempts - result.attempts_remaining);
  e.retry_after = result.retry_after;
  e.when = now;
}

void complete_event(PendingEvent& e, const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now) {
  e.credential = armed.credential;
  e.kind = armed.on_true;
  e.text = armed.text;
  e.count = count;
  e.when = now;
}

struct EventBus::State {
  State(EventHandler h, std::size_t cap, bool include, const IndexKey& key)
      : handler(std::move(h)), capacity(cap), include_identifier(include), index(key) {}

  const EventHandler handler;
  const std::size_t capacity;
  const bool include_identifier;
  const IndexKey index;

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

  // `delivered` is written by the event thread once per event: a cache line of its own, not the
  // queue lock's, which the operations' threads write at every event. (`dropped` shares it: the
  // operations' threads write it only when the queue is full or stopped.)
  alignas(64) std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> dropped{0};
  void drop(std::uint64_t n) noexcept { dropped.fetch_add(n, std::memory_order_relaxed); }

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

  // `out` = the event `p` describes. `out` is the event thread's one Event, reused: its strings
  // keep their buffers from one event to the next.
  // `wall_minus_steady`: the wall clock less the steady clock, read once per batch.
  void fill(Event& out, const PendingEvent& p, std::chrono::system_clock::duration wall_minus_steady) const {
    out.credential = p.credential;
    out.kind = p.kind;
    out.status = p.status;
    assign_to(out.purpose, p.text.purpose());
    event_tag(out.identifier_tag, index, "event-identifier", p.text.identifier());
    if (include_identifier) assign_to(out.identifier, p.text.identifier());
    event_tag(out.client_tag, index, "event-client", p.text.client_key());
    out.attempts_used = p.attempts_used;
    out.attempts_remaining = p.attempts_remaining;
    out.retry_after = p.retry_after;
    out.count = p.count;
    out.at = std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::time_point(p.when.time_since_epoch() + wall_minus_steady));
  }

  // Woken by the first event after a sleep, the thread lets more gather for this long (or until
  // the queue is half full, or stop()) before it takes them: under load, one wake-up per batch
  // instead of one per event, which the operations' threads would pay for.
  static constexpr std::chrono::milliseconds kGather{1};

  bool half_full() const { return queue.size() >= (capacity + 1) / 2; }

  template <class Fill>
  static void push(const std::shared_ptr<State>& self, Fill&& fill) noexcept;

  // The event thread: takes the queue in batches and hands each event to the handler with no
  // lock held; after stop(), delivers what is left and ends.
  static void run(const std::shared_ptr<State>& self) {
    State& s = *self;
    std::vector<PendingEvent> batch;  // swapped with the queue: the two buffers are reused, never freed
    Event event;
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
      const auto wall_minus_steady = std::chrono::system_clock::now().time_since_epoch() -
                                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                         std::chrono::steady_clock::now().time_since_epoch());
      std::size_t i = 0;
      for (; i < batch.size() && !s.abandoned; ++i) {
        try {
          s.fill(event, batch[i], wall_minus_steady);
          s.handler(event);
        } catch (...) {
          // A handler's exception stays in the handler: the event counts as delivered.
        }
        s.delivered.fetch_add(1, std::memory_order_relaxed);
      }
      s.drop(batch.size() - i);
      batch.clear();
      lock.lock();
      if (s.abandoned) {
        s.drop(s.queue.size());
        s.queue.clear();
        return;
      }
    }
  }
};

EventBus::EventBus(EventHandler handler, std::size_t capacity, bool include_identifier, const IndexKey& index)
    : state_(std::make_shared<State>(std::move(handler), capacity, include_identifier, index)) {}

EventBus::~EventBus() { stop(); }

// Takes a place at the end of the queue and has `fill` write the event into it, under the lock
// (the event's bytes are written once, where the event thread will read them).
template <class Fill>
void EventBus::State::push(const std::shared_ptr<State>& self, Fill&& fill) noexcept {
  State& s = *self;
  s.adopt_after_fork();
  bool wake = false;
  try {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping || s.queue.size() >= s.capacity) {
      s.drop(1);
      return;
    }
    if (!s.started) {
      s.thread = std::thread([self] { State::run(self); });  // holds the state, not the bus
      s.started = true;
    }
    PendingEvent& slot = s.queue.emplace_back();
    try {
      fill(slot);
    } catch (...) {
      s.queue.pop_back();  // (a long text's buffer: no memory) no half-written event is delivered
      throw;
    }
    // The first event after a sleep wakes the thread; while it gathers, only a half-full queue does.
    wake = (s.sleeping && s.queue.size() == 1) || (s.gathering && s.queue.size() == (s.capacity + 1) / 2);
  } catch (...) {
    s.drop(1);  // no memory or no thread: the event is lost, the operation is not
    return;
  }
  if (wake) s.wake.notify_one();
}

void EventBus::post(PendingEvent&& event) noexcept {
  State::push(state_, [&](PendingEvent& slot) { slot = std::move(event); });
}

void EventBus::post(const ArmedEvent& armed, const Result& result, std::chrono::steady_clock::time_point now) noexcept {
  State::push(state_, [&](PendingEvent& slot) { complete_event(slot, armed, result, now); });
}

void EventBus::post(const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now) noexcept {
  State::push(state_, [&](PendingEvent& slot) { complete_event(slot, armed, count, now); });
}

std::uint64_t EventBus::delivered() const noexcept { return state_->delivered.load(std::memory_order_relaxed); }
std::uint64_t EventBus::dropped() const noexcept { return state_->dropped.load(std::memory_order_relaxed); }

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
