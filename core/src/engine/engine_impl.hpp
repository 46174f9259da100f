// verikit::detail — the engine's shared state and helpers used by its operation files.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "engine/events.hpp"
#include "engine/stats.hpp"
#include "verikit/config.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

// A new authenticator enrollment's generation (also what a removal leaves): random, never 0
// (which stands for "no enrollment").
long long random_generation();
// The longest totp_confirm_ttl (its range in verikit/policy_fields.hpp), read from that list: what
// a removal of second factors leaves lasts longer than any pending enrollment begun before it.
constexpr std::chrono::seconds longest_totp_confirm_ttl() {
  long long longest = 0;
#define VERIKIT_POLICY_FIELD(kind, name, type, def, lo, hi, choices, doc) \
  if (std::string_view(#name) == "totp_confirm_ttl") longest = (hi);
#include "verikit/policy_fields.hpp"
#undef VERIKIT_POLICY_FIELD
  return std::chrono::seconds(longest);
}
static_assert(longest_totp_confirm_ttl() > std::chrono::seconds(0));

// The key-check tag of an engine over `store` (empty: nothing to check: a store no other process
// shares, or key_check=off). Checked at start (check_key) and again while it runs (key_check_again).
inline std::string check_tag_of(const Store& store, const Config& config, const KeyRing& ring) {
  return store.shared() && config.key_check != "off" ? key_check_tag(ring.index()) : std::string{};
}

class EngineImpl {
 public:
  EngineImpl(Config c, KeyRing r, std::shared_ptr<Store> s)
      : config(std::move(c)), ring(std::move(r)), store(std::move(s)),
        events(config.on_event ? std::make_shared<EventBus>(config.on_event, config.event_queue_capacity,
                                                            config.events_include_identifier, ring.index())
                               : nullptr) {
    if (events) stats->attach_events(events);
  }

  const Config config;
  const KeyRing ring;
  const std::shared_ptr<Store> store;
  const std::shared_ptr<Stats> stats = std::make_shared<Stats>();
  const std::shared_ptr<EventBus> events;  // null: no handler, no events
  // The key check while the engine runs (key_check_again): the tag (empty: no check), issues
  // counted, and whether another key's record was reported.
  const std::string check_tag = check_tag_of(*store, config, ring);
  std::atomic<std::uint64_t> issues_seen{0};
  std::atomic<bool> mismatch_reported{false};
};

// On every 1024th issue (the first included) of an engine on a shared store: its key-check
// record is made again if it was lost (a Redis restart without persistence, a flush, eviction, a
// failover before it replicated), so that no engine with another key claims the prefix later;
// another key's record is reported once through config.on_warning. Asynchronous, fire and forget.
void key_check_again(const std::shared_ptr<EngineImpl>& impl);

// Checked, normalised (purpose, identifier) with its key-group tag. The tag comes from the
// index key, which does not rotate: every credential and all abuse state of an identifier live
// in this one group, whichever key made them.
struct Subject {
  std::string purpose;
  std::string identifier;
  const Policy* policy = nullptr;
  std::string group;
};
Expected<Subject> make_subject(const EngineImpl& impl, std::string_view purpose, std::string_view identifier);
// The subject of a second-factor check (`what`: "recovery codes", "authenticator codes"), its
// client key checked; these are never bound to a flow, so a binding is refused.
Expected<Subject> second_factor_subject(const EngineImpl& impl, std::string_view purpose, std::string_view identifier,
                                        std::string_view client_key, std::string_view binding, std::string_view what);

// What a new credential set (recovery codes, an authenticator secret) shows, once stored: an
// `issued` result for the subject, and the store's completion that hands it over only when the
// store answered (after a fault there is nothing to show: it may not be stored).
inline Result issued_result(const Subject& subject) {
  Result res;
  res.outcome = Outcome::issued;
  res.purpose = subject.purpose;
  res.identifier = subject.identifier;
  return res;
}
template <class T>
Callback<T> show_when_stored(Result res, Callback<Result> done) {
  return [res = std::move(res), done = std::move(done)](Expected<T> r) mutable {
    if (!r) return done(std::move(r).error());
    if constexpr (std::is_same_v<T, WriteReply>) res.replicas_confirmed = r->replicas_confirmed;
    done(std::move(res));
  };
}

// Calls `call` with the store's completion, which runs `finish(state, reply)`. When the store
// completes inline (the embedded stores: the completion has run when `call` returns) the state
// stays on this frame and the completion refers to it (one pointer: held in the Callback, no
// allocation, nothing moved); otherwise the state moves into the completion.
// A store that broke that promise would leave a completion pointing into a frame that is gone:
// that is stopped at once (a bug in the store, never an input's doing).
template <class Reply, class State, class Call, class Finish>
void complete_with(const Store& store, State&& state, Call&& call, Finish finish) {
  if (store.completes_inline()) {
    struct Frame {
      State& state;
      Finish& finish;
      bool completed = false;
    } frame{state, finish};
    call(Callback<Reply>([at = &frame](Expected<Reply>&& r) {
      at->completed = true;
      at->finish(at->state, std::move(r));
    }));
    if (!frame.completed) {
      std::fputs("verikit: a store that completes inline returned before completing (a bug in the store)\n", stderr);
      std::abort();
    }
    return;
  }
  call(Callback<Reply>([state = std::move(state), finish](Expected<Reply>&& r) mutable { finish(state, std::move(r)); }));
}

// Waits for an asynchronous operation's completion. A store that completes inline (the
// embedded stores) has completed when `start` returns: the result is read off this frame, with
// nothing allocated and nothing to wait on.
// Waiting where the completion would have to run (a store's own thread, inside a completion)
// would wait forever: that is refused at once with invalid_argument, nothing started.
template <class T, class Start>
Expected<T> wait_for(const Store& store, Start&& start) {
  if (store.completes_inline()) {
    std::optional<Expected<T>> result;
    start([at = &result](Expected<T>&& r) { at->emplace(std::move(r)); });  // (one pointer: held inline)
    if (!result) return make_error(Errc::internal, "the store did not complete the operation inline");
    return std::move(*result);
  }
  if (store.waiting_would_deadlock())
    return make_error(Errc::invalid_argument,
                      "a synchronous verikit call inside a completion callback (on a store's I/O thread, of this "
                      "engine or another) could wait for itself: use the asynchronous form there");
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Expected<T>> result;
    int completions = 0;  // copies of the completion alive (under mutex)

    void answer(Expected<T>&& r) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (result) return;
        result.emplace(std::move(r));
      }
      // After unlocking: woken under the lock, the waiter would block on the mutex once more (two
      // more futex calls per call, and a second sleep for the waiter).
      cv.notify_one();
    }
  };
  // The completion, counted: when the last copy goes without having been called (it threw on
  // the store's thread, which caught it and dropped the completion — memory ran out there), the
  // waiter is answered with an internal error instead of waiting for ever.
  struct Completion {
    std::shared_ptr<State> state;  // (also holds the state until the notify is done)
    explicit Completion(std::shared_ptr<State> s) : state(std::move(s)) { hold(); }
    Completion(const Completion& other) : state(other.state) { hold(); }
    Completion& operator=(const Completion&) = delete;
    ~Completion() {
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        last = --state->completions == 0 && !state->result;
      }
      if (!last) return;
      state->answer(error_or_out_of_memory(Errc::internal, [] {
        return make_error(Errc::internal, "the operation ended without an answer (its completion failed)");
      }));
    }
    void hold() {
      std::lock_guard<std::mutex> lock(state->mutex);
      ++state->completions;
    }
    void operator()(Expected<T>&& r) { state->answer(std::move(r)); }
  };
  auto state = std::make_shared<State>();
  start(Completion(state));
  std::unique_lock<std::mutex> lock(state->mutex);
  state->cv.wait(lock, [&] { return state->result.has_value(); });
  return std::move(*state->result);
}

// Policies in store terms.
GcraLimit gcra_of(const RateLimit& limit);
IssueGate gate_of(const Policy& policy);
// The failure budgets of a verification; `client` is the client key's tag (empty: none).
FailureBudget budget_of(const Policy& policy, std::string client);
// The identifier's failure budget as it guards authenticator and recovery codes: the policy's,
// or the default one when the policy's is off (failure_limit off, abuse controls off). Nothing
// else limits guesses at them (an OTP has max_attempts): without it a 6-digit authenticator code
// falls to a brute force in about a second (found by an adversarial review).
GcraLimit second_factor_limit(const Policy& policy);
FailureBudget second_factor_budget(const Policy& policy, std::string client);
// The answer of a second-factor check (a recovery code, an authenticator code, a two-step
// enrollment's confirmation): the store's reply as the caller's Result for (purpose, identifier);
// a client key's failure taken before the check (with_client_limit) is given back when the reply
// counted nothing.
Callback<VerifyReply> second_factor_answer(std::shared_ptr<EngineImpl> impl, std::string purpose, std::string identifier,
                                           std::string client, RateLimit limit, Callback<Result> done);

// Takes one event from a client key's bucket, then runs `next`; a refused take completes `done`
// with rate_limited (next_after_client_limit). No client key or limit off: `next` at once, with
// nothing wrapped or allocated (the common path of every issue and verification).
void next_after_client_limit(const std::shared_ptr<EngineImpl>& impl, std::string_view client_key, char bucket,
                             const RateLimit& limit, Callback<Result> done, std::function<void(Callback<Result>)> next);
// `done`: a Callback<Result>, or the operation's Tracked<Result> (handed on as it is when there
// is no limit to take: no wrapper made).
template <class Done, class Next>
void with_client_limit(const std::shared_ptr<EngineImpl>& impl, std::string_view client_key, char bucket,
                       const RateLimit& limit, Done&& done, Next&& next) {
  if (client_key.empty() || !limit.enabled()) return next(std::forward<Done>(done));
  next_after_client_limit(impl, client_key, bucket, limit, Callback<Result>(std::forward<Done>(done)),
                          std::forward<Next>(next));
}
// Gives one event back to a client key's bucket (fire and forget: errors are ignored).
void refund_client_limit(const std::shared_ptr<EngineImpl>& impl, const std::string& client_tag, char bucket,
                         const RateLimit& limit);
std::string client_tag(const EngineImpl& impl, std::string_view client_key);
Status check_client_key(std::string_view client_key);

// Identity of a token's owner, as sealed into its record.
std::string encode_identity(std::string_view purpose, std::string_view identifier);
// Engine::create on a shared store: the store's key-check record against `tag` (check_tag_of), as
// config.key_check says (config error on a mismatch, or an absent record with "require").
Status check_key(Store& store, const std::string& tag, const Config& config);
bool decode_identity(std::string_view bytes, std::string& purpose, std::string& identifier);

}  // namespace verikit::detail
