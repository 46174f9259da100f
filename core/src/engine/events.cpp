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

namespace {

constexpr const char* credential_text(Credential credential) noexcept {
  switch (credential) {
    case Credential::otp: return "otp";
    case Credential::token: return "token";
    case Credential::link: return "link";
    case Credential::all: return "all";
    case Credential::second_factors: return "second_factors";
    case Credential::recovery_code: return "recovery_code";
    case Credential::totp: return "totp";
  }
  return "unknown";
}

constexpr const char* kind_text(EventKind kind) noexcept {
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

// Every "<credential>.<kind>", made at compile time: naming an event never allocates (it runs on
// the event thread, where memory may run out, inside noexcept functions).
constexpr int kCredentials = 7, kKinds = 10;
constexpr std::size_t kNameBytes = 40;
struct EventNames {
  char text[kCredentials * kKinds][kNameBytes];
};
constexpr EventNames make_event_names() {
  EventNames n{};
  for (int c = 0; c < kCredentials; ++c)
    for (int k = 0; k < kKinds; ++k) {
      char* out = n.text[c * kKinds + k];
      std::size_t at = 0;
      for (const char* p = credential_text(static_cast<Credential>(c)); *p != '\0'; ++p) out[at++] = *p;
      out[at++] = '.';
      for (const char* p = kind_text(static_cast<EventKind>(k)); *p != '\0'; ++p) out[at++] = *p;
      if (at >= kNameBytes) throw "an event name is longer than kNameBytes";  // (fails the build)
    }
  return n;
}
constexpr EventNames kEventNames = make_event_names();

}  // namespace

const char* to_string(Credential credential) noexcept { return credential_text(credential); }
const char* to_string(EventKind kind) noexcept { return kind_text(kind); }

const char* event_name(Credential credential, EventKind kind) noexcept {
  const int c = static_cast<int>(credential), k = static_cast<int>(kind);
  if (c < 0 || c >= kCredentials || k < 0 || k >= kKinds) return "unknown";
  return kEventNames.text[c * kKinds + k];
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

static_assert([] {
  for (int o = 0; o < static_cast<int>(kKindOf.size()) + 2; ++o)
    if (has_event(static_cast<Outcome>(o)) != (o < static_cast<int>(kKindOf.size()) && kKindOf[o] >= 0)) return false;
  return true;
}(), "has_event() and the outcome -> kind table disagree");

int kind_of(Outcome outcome) noexcept {
  const auto i = static_cast<std::size_t>(outcome);
  return i < kKindOf.size() ? kKindOf[i] : -1;
}

}  // namespace


EventText& EventText::operator=(const EventText& other) {
  if (this != &other) assign(other.purpose(), other.identifier(), other.client_key());
  return *this;
}

EventText& EventText::operator=(EventText&& other) noexcept {
  if (this == &other) return *this;
  purpose_ = other.purpose_;
  identifier_ = other.identifier_;
  client_ = other.client_;
  if (other.heap_) {
    heap_ = std::move(other.heap_);
    heap_size_ = other.heap_size_;
  } else {
    heap_.reset();
    heap_size_ = 0;
    std::memcpy(inline_, other.inline_, size());
  }
  other.purpose_ = other.identifier_ = other.client_ = other.heap_size_ = 0;  // empty, not a dangling length
  return *this;
}

char* EventText::heap_for(std::size_t n) {
  if (!heap_ || heap_size_ < n) {
    heap_.reset(new char[n]);  // (allocated before the old one is freed: on bad_alloc the text is unchanged)
    heap_size_ = static_cast<std::uint32_t>(n);
  }
  return heap_.get();
}

namespace {

// complete_event, inlined where an operation posts its event (one call on that path, not three).
[[gnu::always_inline]] inline void complete_into(PendingEvent& e, const ArmedEvent& armed, const Result& result,
                                                 std::chrono::steady_clock::time_point now) {
  // An operation that copied nothing at the call completes only with Results that name its
  // subject (see ArmedEvent): a new path that did not would post events naming no one.
  assert(armed.copied || !result.identifier.empty());
  const int kind = result.outcome == Outcome::verified ? static_cast<int>(armed.on_verified) : kind_of(result.outcome);
  e.credential = armed.credential;
  e.kind = kind >= 0 ? static_cast<EventKind>(kind) : EventKind::not_found;
  e.status = static_cast<int>(result.outcome);
  // What the call did not copy (a subject the Result repeats) or did not know (a token's own
  // purpose and identifier, found by the store), the Result names.
  if (!armed.copied)
    e.text.assign(result.purpose, result.identifier, {});
  else
    e.text.assign(armed.text.purpose().empty() ? std::string_view(result.purpose) : armed.text.purpose(),
                  armed.text.identifier().empty() ? std::string_view(result.identifier) : armed.text.identifier(),
                  armed.text.client_key());
  e.attempts_remaining = result.attempts_remaining;
  e.attempts_used = armed.max_attempts > 0 && result.attempts_remaining >= 0
                        ? std::max(0, armed.max_attempts - result.attempts_remaining)
                        : -1;
  e.retry_after = result.retry_after;
  e.count = -1;
  e.when = now;
}

}  // namespace

void complete_event(PendingEvent& e, const ArmedEvent& armed, const Result& result,
                    std::chrono::steady_clock::time_point now) {
  complete_into(e, armed, result, now);
}

void complete_event(PendingEvent& e, const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now) {
  e.credential = armed.credential;
  e.kind = armed.on_true;
  e.status = -1;
  e.text = armed.text;
  e.attempts_used = e.attempts_remaining = -1;
  e.retry_after = std::chrono::milliseconds{0};
  e.count = count;
  e.when = now;
}

// The queue is a ring of `capacity` slots written by any thread and read by the event thread
// alone. An operation's thread takes a ticket (`tail`) with one compare-and-swap, writes its
// event into the ticket's slot and publishes it by storing the ticket + 1 in the slot's
// sequence: no lock, no allocation, and no operation waits for another operation's thread. The
// event thread writes nothing in the slots: it reads an event, then counts it taken (`head`, on
// a cache line of its own), so an operation's thread does not read, per event, a line the other
// core has just written. A ticket is free when the event `capacity` tickets before it has been
// taken: the operations' threads read `head` only when the ring looks full by the last `head`
// one of them read (`head_seen`). (Measured against a two-buffer queue under a lock: fewer
// instructions, the same time within the noise; see the README, Benchmarks, Lifecycle events.)
struct EventBus::State {
  State(EventHandler h, std::size_t cap, bool include, const IndexKey& key)
      : handler(std::move(h)),
        capacity(cap),
        power_of_two(cap > 0 && (cap & (cap - 1)) == 0),
        mask(power_of_two ? cap - 1 : 0),
        gather_mask([cap] {  // a power of two no more than half the capacity, less one
          std::size_t m = 1;
          while (2 * m <= (cap + 1) / 2) m *= 2;
          return m - 1;
        }()),
        include_identifier(include),
        index(key) {}
  ~State() { delete[] slots; }

  struct alignas(64) Slot {
    std::atomic<std::uint64_t> sequence{0};  // the ticket + 1 of the event it holds (0: none yet)
    PendingEvent event;
  };
  static_assert(sizeof(Slot) == 192, "a slot is three cache lines");
  static constexpr int kLost = -2;  // PendingEvent::status of a slot whose event could not be written

  const EventHandler handler;
  const std::size_t capacity;
  const bool power_of_two;        // the capacity (the default is): a slot by mask, else by division
  const std::size_t mask;         // capacity - 1 when it is a power of two, else 0
  const std::size_t gather_mask;  // see kGather
  const bool include_identifier;
  const IndexKey index;

  // Set once, with the event thread, under `mutex`: published by `started`.
  Slot* slots = nullptr;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};    // set under `mutex`
  std::atomic<std::uint64_t> tail{0};   // the next ticket
  std::atomic<std::uint64_t> head_seen{0};  // `head` as an operation's thread last read it
  // What the event thread is doing, for the operations' threads to know whether to wake it.
  enum Mode : int { running, sleeping, gathering };
  std::atomic<int> mode{running};
  std::mutex mutex;  // starts the thread; the sleeps and wake-ups
  std::condition_variable wake;
  bool abandoned = false;  // set by the event thread itself (stop() inside the handler)
  std::thread thread;
  ProcessTag process;  // whose thread `thread` is

  // The event thread's own counters, on a cache line of their own: the tickets taken from the
  // ring (every one before `head`) and the events delivered. `dropped` shares it: the
  // operations' threads write it only when the queue is full or stopped.
  alignas(64) std::atomic<std::uint64_t> head{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> dropped{0};
  // The first ticket the event thread will never deliver, once it has ended: every ticket from
  // there on was taken too late (after stop(), or after the handler stopped the bus) and counts
  // as dropped.
  std::atomic<std::uint64_t> closed_at{~std::uint64_t{0}};
  void drop(std::uint64_t n) noexcept { dropped.fetch_add(n, std::memory_order_relaxed); }

  Slot& slot(std::uint64_t ticket) const noexcept {
    return slots[power_of_two ? (ticket & mask) : (ticket % capacity)];
  }

  // In a forked child: the dispatcher is the parent's thread and does not exist here, and one of
  // the parent's threads may have been writing a slot at the fork (it would never publish it).
  // The child starts over: a fresh lock, no thread and no ring (the next event makes the child's
  // own); the parent's ring and the events in it are left as they are. Between a child's
  // threads, the first to get here does it.
  void adopt_after_fork() noexcept {
    detail::adopt_after_fork(process, [this] {
      renew_in_place(mutex);
      renew_in_place(wake);
      abandon_thread(thread);
      slots = nullptr;
      started.store(false, std::memory_order_relaxed);
      tail.store(0, std::memory_order_relaxed);
      head_seen.store(0, std::memory_order_relaxed);
      head.store(0, std::memory_order_relaxed);
      mode.store(running, std::memory_order_relaxed);
      closed_at.store(~std::uint64_t{0}, std::memory_order_relaxed);
      abandoned = false;
    });
  }

  // `out` = the event `p` describes. `out` is the event thread's one Event, reused: its strings
  // keep their buffers from one event to the next.
  // `wall_minus_steady`: the wall clock less the steady clock (read as kClockEvery says).
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
  // about half the capacity is queued: more than gather_mask when it starts to wait, or the
  // ticket that is a multiple of gather_mask + 1 wakes it; or stop()) before it takes them:
  // under load, one wake-up per batch instead of one per event, which the operations' threads
  // would pay for. After a batch it gathers again rather than sleep (it sleeps once a gathering
  // brought nothing): under steady load no operation's thread wakes it at all.
  static constexpr std::chrono::milliseconds kGather{1};
  // The wall clock's offset from the steady clock is read at the start of every batch, and every
  // this many events within one.
  static constexpr std::uint64_t kClockEvery = 1024;

  // Makes the ring (once: kept when the thread cannot start, so the next event only retries the
  // thread) and starts the event thread. False: stopped, or no memory or thread.
  bool start(const std::shared_ptr<State>& self) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping.load(std::memory_order_relaxed)) return false;
      if (started.load(std::memory_order_relaxed)) return true;
      if (slots == nullptr) slots = new Slot[capacity];
      thread = std::thread([self] {  // holds the state, not the bus
        name_this_thread("verikit-events");
        State::run(self);
      });
      started.store(true, std::memory_order_release);
      return true;
    } catch (...) {
      return false;
    }
  }

  template <class Fill>
  static void push(const std::shared_ptr<State>& self, Fill&& fill) noexcept;

  // The event thread: hands each published event to the handler (its slot freed first, so a
  // slow handler holds none) with no lock held; sleeps when nothing is posted; after stop(),
  // delivers what was posted before it and ends.
  static void run(const std::shared_ptr<State>& self) {
    State& s = *self;
    // fork() inside the handler: in the child, this thread returns from the handler in a
    // process whose events it does not deliver (the parent delivers what is queued; the child's
    // own events go to a thread of the child's, the bus started over there, maybe from inside
    // the handler). So after each call it checks, and ends at once in a child.
    mark_callback_thread();
    Event event;
    std::uint64_t head = 0;  // the next ticket to deliver
    int waits = 0;           // for an event being written (its thread may have lost its core)
    std::uint64_t waited_at = 0;  // `head` after the last wait (events taken since: gather again)
    for (;;) {
      std::chrono::system_clock::duration wall_minus_steady{};
      for (bool first = true;; first = false) {
        Slot& slot = s.slot(head);
        if (slot.sequence.load(std::memory_order_acquire) != head + 1) break;
        waits = 0;
        if (first || head % kClockEvery == 0)  // (a long backlog: a clock step is seen within it)
          wall_minus_steady = std::chrono::system_clock::now().time_since_epoch() -
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  std::chrono::steady_clock::now().time_since_epoch());
        const bool lost = slot.event.status == kLost;
        bool filled = false;
        if (!lost) {
          try {
            s.fill(event, slot.event, wall_minus_steady);
            filled = true;
          } catch (...) {
          }
        }
        s.head.store(++head, std::memory_order_release);  // the slot is free: its event is read
        if (!filled) {
          s.drop(1);
          continue;
        }
        try {
          s.handler(event);
        } catch (...) {
          // A handler's exception stays in the handler: the event counts as delivered.
        }
        end_if_forked_by_callback();  // (touching nothing: the child's bus may be new)
        s.delivered.fetch_add(1, std::memory_order_relaxed);
        if (s.abandoned) return s.close(head);
      }
      // Nothing published at `head`.
      const bool stop = s.stopping.load();  // (read first: every event posted before stop() has its ticket)
      if (s.tail.load() != head) {  // an operation's thread is writing it
        if (++waits < 64) std::this_thread::yield();
        else std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      if (stop) return s.close(head);
      std::unique_lock<std::mutex> lock(s.mutex);
      if (head == waited_at) {  // nothing came since the last wait: sleep until an event comes
        s.mode.store(sleeping);
        if (s.tail.load() != head || s.stopping.load()) {  // posted (or stopped) meanwhile
          s.mode.store(running);
          continue;
        }
        s.wake.wait(lock, [&] { return s.mode.load() != sleeping || s.stopping.load(); });
      }
      waited_at = head;
      s.mode.store(gathering);
      s.wake.wait_for(lock, kGather, [&] {
        return s.mode.load() != gathering || s.stopping.load() || s.tail.load() - head > s.gather_mask;
      });
      s.mode.store(running);
    }
  }

  // The event thread ends: tickets from `head` on are never delivered (see closed_at).
  void close(std::uint64_t head) noexcept { closed_at.store(head, std::memory_order_release); }
};

EventBus::EventBus(EventHandler handler, std::size_t capacity, bool include_identifier, const IndexKey& index)
    : state_(std::make_shared<State>(std::move(handler), capacity, include_identifier, index)) {}

EventBus::~EventBus() { stop(); }

// Takes a ticket, has `fill` write the event into the ticket's slot and publishes it (the
// event's bytes are written once, where the event thread will read them). A full ring, or a
// stopped bus, drops the event.
//
// No wake-up is lost: the event thread says it sleeps (mode) and then reads `tail`; this thread
// takes its ticket from `tail` and then reads the mode, both sequentially consistent. So either
// the event thread sees the ticket (and waits for its event rather than sleep), or this thread
// sees it asleep and wakes it.
template <class Fill>
[[gnu::always_inline]] inline void EventBus::State::push(const std::shared_ptr<State>& self, Fill&& fill) noexcept {
  State& s = *self;
  s.adopt_after_fork();
  if (s.stopping.load(std::memory_order_acquire) ||
      (!s.started.load(std::memory_order_acquire) && !s.start(self)))
    return s.drop(1);
  std::uint64_t ticket = s.tail.load(std::memory_order_relaxed);
  for (;;) {
    // (signed: a ticket read before another thread took it may lie behind `head`; its CAS fails)
    const auto cap = static_cast<std::int64_t>(s.capacity);
    if (static_cast<std::int64_t>(ticket - s.head_seen.load(std::memory_order_acquire)) >= cap) {
      const std::uint64_t head = s.head.load(std::memory_order_acquire);
      s.head_seen.store(head, std::memory_order_release);
      if (static_cast<std::int64_t>(ticket - head) >= cap) return s.drop(1);  // the event `capacity` before is unread: full
    }
    if (s.tail.compare_exchange_weak(ticket, ticket + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) break;
  }
  Slot* slot = &s.slot(ticket);
  try {
    fill(slot->event);
  } catch (...) {
    slot->event.status = kLost;  // (a long text's buffer: no memory) the event thread skips it, counted
  }
  slot->sequence.store(ticket + 1, std::memory_order_release);
  // The next ticket's slot, for writing: the event thread has read it (a lap ago) and may hold
  // it, so its line is asked for now, not when the next event is written.
  const char* next = reinterpret_cast<const char*>(&s.slot(ticket + 1));
  __builtin_prefetch(next, 1);
  __builtin_prefetch(next + 64, 1);
  int mode = s.mode.load();
  if (mode == sleeping || (mode == gathering && ((ticket + 1) & s.gather_mask) == 0)) {
    if (!s.mode.compare_exchange_strong(mode, running)) return;  // another thread wakes it
    { std::lock_guard<std::mutex> lock(s.mutex); }  // (the thread is waiting, or will see the mode)
    s.wake.notify_one();
  }
}

void EventBus::post(PendingEvent&& event) noexcept {
  State::push(state_, [&](PendingEvent& slot) { slot = std::move(event); });
}

void EventBus::post(const ArmedEvent& armed, const Result& result, std::chrono::steady_clock::time_point now) noexcept {
  State::push(state_, [&](PendingEvent& slot) { complete_into(slot, armed, result, now); });
}

void EventBus::post(const ArmedEvent& armed, int count, std::chrono::steady_clock::time_point now) noexcept {
  State::push(state_, [&](PendingEvent& slot) { complete_event(slot, armed, count, now); });
}

std::uint64_t EventBus::delivered() const noexcept { return state_->delivered.load(std::memory_order_relaxed); }
std::uint64_t EventBus::dropped() const noexcept {
  const State& s = *state_;
  const std::uint64_t closed = s.closed_at.load(std::memory_order_acquire);
  const std::uint64_t late = closed == ~std::uint64_t{0} ? 0 : s.tail.load() - closed;
  return s.dropped.load(std::memory_order_relaxed) + late;
}

void EventBus::stop() noexcept {
  State& s = *state_;
  s.adopt_after_fork();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping.load()) return;
    s.stopping.store(true);
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
