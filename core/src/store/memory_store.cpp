// verikit — the embedded store: sharded maps under mutexes; one lock per operation makes each
// operation atomic. Every record is indexed by the time it can be dropped (a min-heap per
// shard); writes reap a few due records each and a reaper thread reaps the rest every second,
// so expired records are reclaimed in bounded time whatever the key pattern. A capacity bounds
// the records each shard holds: beyond it, writes that need a new record are refused.
#include "verikit/memory_store.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <utility>
#include <queue>
#include <mutex>
#include <optional>

#include "store/group_rules.hpp"
#include "store/reaper.hpp"
#include "store/record_table.hpp"
#include "verikit/process.hpp"
#include "verikit/small_bytes.hpp"

namespace verikit {
namespace {

using detail::ClientBuckets;
using detail::Group;
using detail::ms;

// A record's name as the tables hold it: the bytes (in the object: the engine's names are 22-
// and 23-byte tags), with their hash. The hash is taken once per operation: it picks the shard,
// then serves the lookup.
class Key {
 public:
  explicit Key(std::string_view name) : hash_(std::hash<std::string_view>{}(name)), bytes_(name) {}
  std::string_view view() const noexcept { return bytes_.view(); }
  std::size_t hash() const noexcept { return hash_; }
  bool operator==(const Key& o) const noexcept { return hash_ == o.hash_ && view() == o.view(); }

 private:
  std::size_t hash_;
  SmallBytes bytes_;
};

// A record that may be droppable at `at`; stale when its record was indexed later since.
struct Due {
  long long at = 0;
  Key key;
  bool client = false;
  bool operator>(const Due& o) const noexcept { return at > o.at; }
};

// The expiry index: a min-heap of deadlines whose vector can be given back when it empties.
struct DueQueue : std::priority_queue<Due, std::vector<Due>, std::greater<Due>> {
  std::size_t capacity() const noexcept { return c.capacity(); }
  void shrink_to_fit() { c.shrink_to_fit(); }
};

struct Shard {
  std::mutex mutex;
  detail::RecordTable<Key, Group> groups;
  detail::RecordTable<Key, ClientBuckets> clients;
  DueQueue due;

  // Once most records are gone, gives back what the peak left: the tables' slot arrays and the
  // heap's vector keep their largest size otherwise (O(live records), so only then).
  void shrink() {
    groups.shrink();
    clients.shrink();
    if (due.size() * 8 < due.capacity()) due.shrink_to_fit();
  }
};

class MemoryStore final : public Store {
 public:
  MemoryStore(std::shared_ptr<const Clock> clock, MemoryStoreOptions options)
      : clock_(std::move(clock)), per_shard_(std::max<std::size_t>(1, (options.capacity + kShards - 1) / kShards)),
        capacity_(options.capacity) {
    reaper_.start(options.reap_interval, [this] { reap_all(); });
  }

  ~MemoryStore() override { stop_threads(); }

  // Ends the reaper (the store keeps working; expired records go on being reclaimed by writes);
  // in a forked child it forgets the parent's (see Reaper::stop).
  void stop_threads() noexcept override { reaper_.stop(); }

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    if (refused_after_fork(done)) return;
    OtpIssueReply reply;
    {
      const Key key(req.group);
      auto [shard, lock] = lock_shard(key);
      const TimePoint now = clock_->now();
      Group* found = touch(shard, key, now);
      if (found == nullptr) return unlock_and(lock, done, Expected<OtpIssueReply>(full()));
      reply = detail::issue_otp(*found, req, now);
      if (reply.outcome != Outcome::issued) return refuse(shard, lock, key, std::move(reply), done);
      after_write(shard, key, *found, now);
    }
    done(std::move(reply));
  }

  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      const Key key(req.group);
      auto [shard, lock] = lock_shard(key);
      const TimePoint now = clock_->now();
      Group* g = shard.groups.find(key);
      if (g == nullptr) return unlock_and(lock, done, std::move(reply));
      reply = detail::verify_otp(*g, req, now);
      if (g->empty()) shard.groups.erase(key);
      else after_write(shard, key, *g, now);
    }
    done(std::move(reply));
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool removed = false;
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      if (Group* g = shard.groups.find(key)) {
        removed = detail::revoke_otp(*g, clock_->now());
        if (g->empty()) shard.groups.erase(key);
      }
    }
    done(removed);
  }

  void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) override {
    if (refused_after_fork(done)) return;
    TokenIssueReply reply;
    {
      const Key key(req.group);
      auto [shard, lock] = lock_shard(key);
      const TimePoint now = clock_->now();
      Group* found = touch(shard, key, now);
      if (found == nullptr) return unlock_and(lock, done, Expected<TokenIssueReply>(full()));
      reply = detail::issue_token(*found, req, now);
      if (reply.outcome != Outcome::issued) return refuse(shard, lock, key, std::move(reply), done);
      after_write(shard, key, *found, now);
    }
    done(std::move(reply));
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      const Key key(req.group);
      auto [shard, lock] = lock_shard(key);
      Group* g = shard.groups.find(key);
      if (g == nullptr) return unlock_and(lock, done, std::move(reply));
      const TimePoint now = clock_->now();
      reply = detail::verify_token(*g, req, now);
      if (g->empty()) shard.groups.erase(key);
      else if (reply.counted_failure) after_write(shard, key, *g, now);  // a flow-binding mismatch
    }
    done(std::move(reply));
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool removed = false;
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      if (Group* g = shard.groups.find(key)) {
        removed = detail::revoke_token(*g, token_id, clock_->now());
        if (g->empty()) shard.groups.erase(key);
      }
    }
    done(removed);
  }

  void revoke_all(const std::string& group, Callback<int> done) override {
    if (refused_after_fork(done)) return;
    int removed = 0;
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      if (Group* g = shard.groups.find(key)) {
        removed = detail::revoke_credentials(*g, clock_->now());
        if (g->empty()) shard.groups.erase(key);
      }
    }
    done(removed);
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    if (refused_after_fork(done)) return;
    InspectReply reply;
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      reply.now = clock_->now();
      if (Group* g = shard.groups.find(key)) {
        detail::inspect_group(*g, reply.now, reply);
        if (g->empty()) shard.groups.erase(key);
      }
    }
    done(std::move(reply));
  }

  void unlock(const std::string& group, const GcraLimit& budget, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool was_locked = false;
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      if (Group* g = shard.groups.find(key)) {
        was_locked = detail::unlock_group(*g, budget, clock_->now());
        if (g->empty()) shard.groups.erase(key);
      }
    }
    done(was_locked);
  }

  void recovery_set(const RecoverySetRequest& req, Callback<WriteReply> done) override {
    write_group<WriteReply>(req.group, std::move(done),
                            [&](Group& g, TimePoint now) { return WriteReply{detail::set_recovery(g, req, now)}; });
  }
  void recovery_use(const RecoveryUseRequest& req, Callback<VerifyReply> done) override {
    update_group<VerifyReply>(req.group, std::move(done),
                              [&](Group& g, TimePoint now) { return detail::use_recovery(g, req, now); });
  }
  void recovery_count(const std::string& group, Callback<int> done) override {
    update_group<int>(group, std::move(done), [&](Group& g, TimePoint now) { return detail::count_recovery(g, now); });
  }
  void second_factors_revoke(const SecondFactorsRevokeRequest& req, Callback<int> done) override {
    update_group<int>(req.group, std::move(done),
                      [&](Group& g, TimePoint now) { return detail::revoke_second_factors(g, req, now); });
  }
  void totp_enroll(const TotpEnrollRequest& req, Callback<WriteReply> done) override {
    write_group<WriteReply>(req.group, std::move(done), [&](Group& g, TimePoint now) {
      detail::enroll_totp(g, req, now);
      return WriteReply{1};
    });
  }
  void totp_load(const std::string& group, const FailureBudget& budget, Callback<TotpLoadReply> done) override {
    update_group<TotpLoadReply>(group, std::move(done),
                                [&](Group& g, TimePoint now) { return detail::load_totp_step(g, budget, now); });
  }
  void totp_commit(const TotpCommitRequest& req, Callback<VerifyReply> done) override {
    update_group<VerifyReply>(req.group, std::move(done),
                              [&](Group& g, TimePoint now) { return detail::commit_totp_step(g, req, now); });
  }
  void totp_confirm(const TotpConfirmRequest& req, Callback<VerifyReply> done) override {
    write_group<VerifyReply>(req.group, std::move(done),
                             [&](Group& g, TimePoint now) { return detail::confirm_totp_step(g, req, now); });
  }

  void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) override {
    if (refused_after_fork(done)) return;
    ClientLimitReply reply;
    {
      const Key key("c" + req.client);
      auto [shard, lock] = lock_shard(key);
      const long long now = ms(clock_->now());
      ClientBuckets* found = shard.clients.find(key);
      if (found == nullptr) {
        if (req.refund) return unlock_and(lock, done, Expected<ClientLimitReply>(reply));  // nothing to give back
        if (full(shard, now)) return unlock_and(lock, done, Expected<ClientLimitReply>(full()));
        found = &shard.clients.emplace(key);
      }
      ClientBuckets& b = *found;
      reply = detail::take_client_limit(b, req, now);
      if (b.expired(now)) {
        shard.clients.erase(key);
      } else if (const long long until = b.deadline(); until > b.indexed_until) {
        shard.due.push(Due{until, key, true});
        b.indexed_until = until;
      }
      reap(shard, now, kReapPerWrite);
    }
    done(reply);
  }

  bool shared() const noexcept override { return false; }
  bool completes_inline() const noexcept override { return true; }

  // Runs `rule` on the group, made if it does not exist (refused when the store is full), and
  // indexes it by its deadline.
  template <class T, class Rule>
  void write_group(const std::string& group, Callback<T> done, Rule&& rule) {
    if (refused_after_fork(done)) return;
    Expected<T> reply = make_error(Errc::internal, "not run");
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      const TimePoint now = clock_->now();
      Group* g = touch(shard, key, now);
      if (g == nullptr) return unlock_and(lock, done, Expected<T>(full()));
      reply = rule(*g, now);
      after_write(shard, key, *g, now);
    }
    done(std::move(reply));
  }
  // Runs `rule` on the group if it exists (else completes with T{}: nothing there; a TOTP load's
  // with the time, which a two-step enrollment starts from), then drops it when empty or indexes
  // it by its deadline.
  template <class T, class Rule>
  void update_group(const std::string& group, Callback<T> done, Rule&& rule) {
    if (refused_after_fork(done)) return;
    T reply{};
    {
      const Key key(group);
      auto [shard, lock] = lock_shard(key);
      const TimePoint now = clock_->now();
      Group* g = shard.groups.find(key);
      if (g == nullptr) {
        if constexpr (std::is_same_v<T, TotpLoadReply>) reply.now_ms = ms(now);
        return unlock_and(lock, done, std::move(reply));
      }
      reply = rule(*g, now);
      if (g->empty()) shard.groups.erase(key);
      else after_write(shard, key, *g, now);
    }
    done(std::move(reply));
  }

  // Drops every record that is due now; returns how many.
  std::size_t reap_all() {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      for (;;) {  // in chunks, so that no operation waits long for a shard
        std::unique_lock<std::mutex> lock(s.mutex);
        const std::size_t k = reap(s, ms(clock_->now()), kReapChunk);
        n += k;
        if (k < kReapChunk) {
          s.shrink();
          break;
        }
      }
    }
    return n;
  }

  MemoryStoreStats stats() {
    MemoryStoreStats st;
    st.capacity = capacity_;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mutex);
      st.records += s.groups.size() + s.clients.size();
      st.indexed += s.due.size();
    }
    return st;
  }

 private:
  // Each process has its own copy of the records after fork(): a code issued by one worker
  // would be not_found in the next, and codes issued before the fork usable once per worker.
  // So a forked child's calls all fail, with the fix (nothing is read: a shard's lock may have
  // been held by a thread of the parent at the fork). unsupported rather than config: the
  // configuration is valid, it is this use of it (from another process) that is not.
  template <class T>
  bool refused_after_fork(const Callback<T>& done) {
    if (!process_.forked()) return false;
    done(make_error(Errc::unsupported,
                    "the embedded store (memory://) is not shared between processes, and this is a process forked "
                    "after the engine was created: create the engine after fork (in each worker), or use a store "
                    "shared by processes: file:///path/to/dir (one machine) or Redis"));
    return true;
  }

  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kReapPerWrite = 8;  // more than a write can add: the heap drains
  static constexpr std::size_t kReapChunk = 4096;

  std::pair<Shard&, std::unique_lock<std::mutex>> lock_shard(const Key& key) {
    Shard& s = shards_[key.hash() % kShards];
    return {s, std::unique_lock<std::mutex>(s.mutex)};
  }

  // An issue refused by its gate: nothing is written; the reply carries the status and wait.
  template <class Reply>
  static void refuse(Shard& shard, std::unique_lock<std::mutex>& lock, const Key& key, Reply reply,
                     const Callback<Reply>& done) {
    if (const Group* g = shard.groups.find(key); g != nullptr && g->empty()) shard.groups.erase(key);
    lock.unlock();
    done(std::move(reply));
  }

  template <class T>
  static void unlock_and(std::unique_lock<std::mutex>& lock, const Callback<T>& done, T value) {
    lock.unlock();
    done(std::move(value));
  }
  template <class T>
  static void unlock_and(std::unique_lock<std::mutex>& lock, const Callback<T>& done, Expected<T> value) {
    lock.unlock();
    done(std::move(value));
  }

  // The group to write, made if need be (the rules drop what expired); nullptr when the shard is
  // full (even after reaping).
  Group* touch(Shard& shard, const Key& key, TimePoint now) {
    if (Group* g = shard.groups.find(key)) return g;
    if (full(shard, ms(now))) return nullptr;
    return &shard.groups.emplace(key);
  }

  bool full(Shard& shard, long long now) {
    if (shard.groups.size() + shard.clients.size() < per_shard_) return false;
    reap(shard, now, SIZE_MAX);
    return shard.groups.size() + shard.clients.size() >= per_shard_;
  }

  Error full() const {
    return make_error(Errc::store_unavailable, "the embedded store is full (capacity " + std::to_string(capacity_) +
                                                   " records: memory://?capacity=N raises it)");
  }

  // Indexes the group's deadline and reaps a few due records. A deadline that moved later is
  // indexed at once; one that moved earlier by more than kReindexSlackMs too (a removed
  // enrollment or revoked long-lived tokens: else the record would wait for the old, years-away
  // entry, holding a slot of the capacity); a small move earlier (a verified code) is left to the
  // old entry, which finds it then: no heap push per verify. The entry left behind is stale.
  static constexpr long long kReindexSlackMs = 3'600'000;
  static void after_write(Shard& shard, const Key& key, Group& g, TimePoint now) {
    if (const long long d = detail::deadline(g); d > g.indexed_until || d + kReindexSlackMs < g.indexed_until) {
      shard.due.push(Due{d, key, false});
      g.indexed_until = d;
    }
    reap(shard, ms(now), kReapPerWrite);
  }

  // Drops up to `max` due records of the shard (stale heap entries are discarded on the way).
  static std::size_t reap(Shard& shard, long long now, std::size_t max) {
    std::size_t n = 0;
    while (n < max && !shard.due.empty() && shard.due.top().at <= now) {
      Due e = shard.due.top();
      shard.due.pop();
      ++n;
      if (e.client) {
        const ClientBuckets* b = shard.clients.find(e.key);
        if (b == nullptr || b->indexed_until != e.at) continue;
        if (b->expired(now)) shard.clients.erase(e.key);
        continue;
      }
      Group* g = shard.groups.find(e.key);
      if (g == nullptr || g->indexed_until != e.at) continue;  // stale
      detail::drop_expired(*g, TimePoint(std::chrono::milliseconds(now)));
      if (g->empty()) {
        shard.groups.erase(e.key);
      } else {  // something lives on (a deadline moved without a write: re-index it)
        g->indexed_until = detail::deadline(*g);
        shard.due.push(Due{g->indexed_until, e.key, false});
      }
    }
    return n;
  }

  const detail::ProcessTag process_;
  std::shared_ptr<const Clock> clock_;
  const std::size_t per_shard_;
  const std::size_t capacity_;
  std::array<Shard, kShards> shards_;
  detail::Reaper reaper_;  // last: started when everything it touches exists, stopped first
};

}  // namespace

std::shared_ptr<Store> make_memory_store(std::shared_ptr<const Clock> clock, MemoryStoreOptions options) {
  if (!clock) clock = std::make_shared<MonotonicClock>();
  return std::make_shared<MemoryStore>(std::move(clock), options);
}

std::size_t reap_expired(Store& store) {
  auto* m = dynamic_cast<MemoryStore*>(&store);
  return m == nullptr ? 0 : m->reap_all();
}

std::optional<MemoryStoreStats> memory_store_stats(Store& store) {
  auto* m = dynamic_cast<MemoryStore*>(&store);
  if (m == nullptr) return std::nullopt;
  return m->stats();
}

}  // namespace verikit
