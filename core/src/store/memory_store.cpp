// verikit — the embedded store: sharded maps under mutexes; one lock per operation makes each
// operation atomic. Every record is indexed by the time it can be dropped (a min-heap per
// shard); writes reap a few due records each and a reaper thread reaps the rest every second,
// so expired records are reclaimed in bounded time whatever the key pattern. A capacity bounds
// the records each shard holds: beyond it, writes that need a new record are refused.
#include "verikit/memory_store.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <condition_variable>
#include <queue>
#include <thread>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "crypto/crypto.hpp"
#include "store/binding.hpp"
#include "store/limits.hpp"
#include "store/recovery.hpp"
#include "store/totp.hpp"
#include "verikit/process.hpp"

namespace verikit {
namespace {

struct OtpRecord {
  std::uint8_t key_id = 0;
  std::string hash;
  std::string sealed_code;
  std::string sealed_payload;
  std::string payload_hash;
  int attempts_left = 0;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
  std::string binding_hash;  // empty: not bound
};

struct TokenRecord {
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;
  std::string sealed_identity;
  std::string sealed_payload;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
  std::string binding_hash;  // empty: not bound
};

struct RecoverySet {
  std::vector<SecretHash> codes;
  TimePoint expires_at;
};

struct Group {
  std::optional<OtpRecord> otp;
  std::optional<RecoverySet> recovery;
  std::optional<detail::TotpRecord> totp;
  std::unordered_map<std::string, TokenRecord> tokens;
  RateState rate;
  std::unordered_map<std::string, long long> pairs;  // failure budget per client key tag: GCRA tat
  long long indexed_until = 0;  // the deadline this group has in its shard's heap
  bool empty() const { return !otp && !recovery && !totp && tokens.empty() && pairs.empty() && detail::keep_until(rate) == 0; }
};

struct ClientBuckets {
  long long issue_tat = 0;
  long long failure_tat = 0;
  long long indexed_until = 0;
};

// A record that may be droppable at `at`; stale when its record was indexed later since.
struct Due {
  long long at = 0;
  std::string key;
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
  std::unordered_map<std::string, Group> groups;
  std::unordered_map<std::string, ClientBuckets> clients;
  DueQueue due;

  // Once most records are gone, gives back what the peak left: the tables' bucket arrays and
  // the heap's vector keep their largest size otherwise (O(live records), so only then).
  void shrink() {
    if (groups.size() * 8 < groups.bucket_count()) groups.rehash(0);
    if (clients.size() * 8 < clients.bucket_count()) clients.rehash(0);
    if (due.size() * 8 < due.capacity()) due.shrink_to_fit();
  }
};

long long ms(TimePoint t) { return t.time_since_epoch().count(); }

class MemoryStore final : public Store {
 public:
  MemoryStore(std::shared_ptr<const Clock> clock, MemoryStoreOptions options)
      : clock_(std::move(clock)), per_shard_(std::max<std::size_t>(1, (options.capacity + kShards - 1) / kShards)),
        capacity_(options.capacity) {
    if (options.reap_interval.count() > 0) reaper_ = std::thread([this, every = options.reap_interval] { reap_loop(every); });
  }

  ~MemoryStore() override { stop_threads(); }

  // Ends the reaper (the store keeps working; expired records go on being reclaimed by writes).
  // In a forked child the reaper is the parent's thread: it is forgotten, not joined (and no
  // lock is taken: one of the parent's threads may have held it at the fork). Its condition
  // variable is renewed: destroying one a (parent's) thread was waiting on would wait for it.
  void stop_threads() noexcept override {
    if (process_.forked()) {
      detail::abandon_thread(reaper_);
      detail::renew_in_place(stop_cv_);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(stop_mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (reaper_.joinable()) reaper_.join();
  }

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    if (refused_after_fork(done)) return;
    OtpIssueReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group* found = touch(shard, req.group, now);
      if (found == nullptr) return unlock_and(lock, done, Expected<OtpIssueReply>(full()));
      Group& g = *found;
      const detail::GateCheck gate = detail::check_gate(g.rate, ms(now), req.gate);
      if (gate.outcome != Outcome::issued) return refuse(shard, lock, req.group, gate, std::move(reply), done);
      detail::commit_gate(g.rate, ms(now), req.gate, gate);
      int attempts_left = req.max_attempts;
      if (g.otp && req.resend_same && !g.otp->sealed_code.empty() &&
          detail::equal_ct(g.otp->payload_hash, req.payload_hash)) {
        reply.reused = true;
        reply.sealed_code = g.otp->sealed_code;
        reply.expires_at = g.otp->expires_at;
        reply.attempts_remaining = g.otp->attempts_left;
      } else {
        if (g.otp) attempts_left = std::min(attempts_left, g.otp->attempts_left);  // failures carry over
        g.otp = OtpRecord{req.key_id, req.secret_hash, req.sealed_code, req.sealed_payload, req.payload_hash,
                          attempts_left, now + req.ttl, req.one_time, req.revoke_group, req.binding_hash};
        reply.expires_at = g.otp->expires_at;
        reply.attempts_remaining = attempts_left;
      }
      after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      Group& g = it->second;
      drop_expired(g, now);
      long long* pair = req.budget.client.empty() ? nullptr : &g.pairs[req.budget.client];
      long long no_pair = 0;
      long long& pair_tat = pair ? *pair : no_pair;
      if (const auto b = detail::check_budget(g.rate, pair_tat, ms(now), req.budget); !b.allowed) {
        reply.outcome = Outcome::locked;  // the budget is spent: the secret is not even compared
        reply.retry_after = std::chrono::milliseconds(b.retry_ms);
      } else if (g.otp && known_key(req, g.otp->key_id)) {  // a retired key's record: not_found
        OtpRecord& rec = *g.otp;
        bool match = false;
        for (const SecretHash& c : req.candidates)
          if (c.key_id == rec.key_id) match = detail::equal_ct(c.hash, rec.hash);
        if (!rec.binding_hash.empty()) match = match && detail::equal_ct(rec.binding_hash, req.binding_hash);
        reply.expires_at = rec.expires_at;
        if (match) {
          reply.outcome = Outcome::verified;
          reply.attempts_remaining = rec.attempts_left;
          reply.sealed_payload = rec.sealed_payload;
          if (rec.revoke_group) {
            g.otp.reset();
            g.tokens.clear();
          } else if (rec.one_time) {
            g.otp.reset();
          }
        } else {
          reply.counted_failure = true;
          reply.attempts_remaining = --rec.attempts_left;
          reply.outcome = rec.attempts_left > 0 ? Outcome::invalid : Outcome::attempts_exhausted;
          if (rec.attempts_left <= 0) g.otp.reset();
          detail::count_failure(g.rate, pair_tat, ms(now), req.budget);
          if (const auto b = detail::check_budget(g.rate, pair_tat, ms(now), req.budget); !b.allowed) {
            reply.outcome = Outcome::locked;  // this guess spent the budget
            reply.retry_after = std::chrono::milliseconds(b.retry_ms);
          }
        }
      }
      if (pair && *pair <= ms(now)) g.pairs.erase(req.budget.client);
      if (g.empty()) shard.groups.erase(it);
      else after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool removed = false;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
        removed = it->second.otp.has_value();
        it->second.otp.reset();
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(removed);
  }

  void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) override {
    if (refused_after_fork(done)) return;
    TokenIssueReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group* found = touch(shard, req.group, now);
      if (found == nullptr) return unlock_and(lock, done, Expected<TokenIssueReply>(full()));
      Group& g = *found;
      detail::GateCheck gate = detail::check_gate(g.rate, ms(now), req.gate);
      auto oldest = [&] {
        return std::min_element(g.tokens.begin(), g.tokens.end(), [](const auto& a, const auto& b) {
          return a.second.expires_at < b.second.expires_at;
        });
      };
      if (gate.outcome == Outcome::issued && req.max_active > 0 && req.refuse_when_full &&
          static_cast<int>(g.tokens.size()) >= req.max_active) {
        gate.outcome = Outcome::rate_limited;
        gate.retry_ms = ms(oldest()->second.expires_at) - ms(now);
      }
      if (gate.outcome != Outcome::issued) return refuse(shard, lock, req.group, gate, std::move(reply), done);
      detail::commit_gate(g.rate, ms(now), req.gate, gate);
      while (req.max_active > 0 && static_cast<int>(g.tokens.size()) >= req.max_active) g.tokens.erase(oldest());
      reply.expires_at = now + req.ttl;
      g.tokens[req.token_id] =
          TokenRecord{req.kind,           req.purpose_tag, req.sealed_identity, req.sealed_payload,
                      reply.expires_at, req.one_time,   req.revoke_group, req.binding_hash};
      after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      Group& g = it->second;
      const TimePoint now = clock_->now();
      drop_expired(g, now);
      auto t = g.tokens.find(req.token_id);
      const bool found = t != g.tokens.end() && t->second.kind == req.kind &&
                         (req.purpose_tag.empty() || detail::equal_ct(req.purpose_tag, t->second.purpose_tag));
      detail::BindingCheck bound;
      if (found && req.consume) bound = detail::check_token_binding(g.rate, ms(now), t->second.binding_hash, req);
      if (!bound.pass) {
        reply.outcome = bound.outcome;
        reply.retry_after = std::chrono::milliseconds(bound.retry_ms);
        reply.counted_failure = bound.counted;
      } else if (found) {
        reply.outcome = req.consume ? Outcome::verified : Outcome::valid;
        reply.expires_at = t->second.expires_at;
        reply.sealed_identity = t->second.sealed_identity;
        reply.sealed_payload = t->second.sealed_payload;
        if (req.consume && t->second.revoke_group) {
          g.otp.reset();
          g.tokens.clear();
        }
        else if (req.consume && t->second.one_time) g.tokens.erase(t);
      }
      if (g.empty()) shard.groups.erase(it);
      else if (bound.counted) after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool removed = false;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
        removed = it->second.tokens.erase(token_id) > 0;
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(removed);
  }

  void revoke_all(const std::string& group, Callback<int> done) override {
    if (refused_after_fork(done)) return;
    int removed = 0;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
        removed = static_cast<int>(it->second.tokens.size()) + (it->second.otp ? 1 : 0);
        it->second.otp.reset();  // credentials only: abuse-control state stays
        it->second.tokens.clear();
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(removed);
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    if (refused_after_fork(done)) return;
    InspectReply reply;
    {
      auto [shard, lock] = lock_shard(group);
      reply.now = clock_->now();
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, reply.now);
        reply.rate = it->second.rate;
        if (it->second.otp) {
          reply.otp_live = true;
          reply.otp_attempts_remaining = it->second.otp->attempts_left;
          reply.otp_expires_at = it->second.otp->expires_at;
        }
        reply.active_tokens = static_cast<int>(it->second.tokens.size());
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(std::move(reply));
  }

  void unlock(const std::string& group, const GcraLimit& budget, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    bool was_locked = false;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        RateState& r = it->second.rate;
        was_locked = detail::gcra_wait(r.failure_tat, ms(clock_->now()), budget) > 0;
        r.failure_tat = 0;
        it->second.pairs.clear();
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(was_locked);
  }

  void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) override {
    if (refused_after_fork(done)) return;
    ClientLimitReply reply;
    {
      const std::string key = "c" + req.client;
      auto [shard, lock] = lock_shard(key);
      const long long now = ms(clock_->now());
      auto it = shard.clients.find(key);
      if (it == shard.clients.end()) {
        if (req.refund) return unlock_and(lock, done, Expected<ClientLimitReply>(reply));  // nothing to give back
        if (full(shard, now)) return unlock_and(lock, done, Expected<ClientLimitReply>(full()));
        it = shard.clients.emplace(key, ClientBuckets{}).first;
      }
      ClientBuckets& b = it->second;
      long long& tat = req.bucket == 'f' ? b.failure_tat : b.issue_tat;
      if (req.refund) {
        tat = detail::gcra_refund(tat, now, req.limit);
      } else {
        const detail::Gcra g = detail::gcra_take(tat, now, req.limit);
        reply.allowed = g.allowed;
        reply.retry_after = std::chrono::milliseconds(g.retry_ms);
        if (g.allowed) tat = g.tat;
      }
      if (b.issue_tat <= now && b.failure_tat <= now) {
        shard.clients.erase(it);
      } else if (const long long until = std::max(b.issue_tat, b.failure_tat); until > b.indexed_until) {
        shard.due.push(Due{until, key, true});
        b.indexed_until = until;
      }
      reap(shard, now, kReapPerWrite);
    }
    done(reply);
  }

  void recovery_set(const RecoverySetRequest& req, Callback<int> done) override {
    if (refused_after_fork(done)) return;
    int stored = 0;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group* g = touch(shard, req.group, now);
      if (g == nullptr) return unlock_and(lock, done, Expected<int>(full()));
      g->recovery = RecoverySet{req.codes, now + req.ttl};
      stored = static_cast<int>(req.codes.size());
      after_write(shard, req.group, *g, now);
    }
    done(stored);
  }

  void recovery_use(const RecoveryUseRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      Group& g = it->second;
      drop_expired(g, now);
      long long no_pair = 0;
      long long& pair_tat = req.budget.client.empty() ? no_pair : g.pairs[req.budget.client];
      std::vector<SecretHash> none;
      reply = detail::use_recovery_code(g.recovery ? g.recovery->codes : none, g.rate, pair_tat, ms(now), req);
      if (!req.budget.client.empty() && pair_tat <= ms(now)) g.pairs.erase(req.budget.client);
      if (g.recovery && g.recovery->codes.empty()) g.recovery.reset();  // the last code was used
      if (g.empty()) shard.groups.erase(it);
      else after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  void recovery_count(const std::string& group, Callback<int> done) override {
    if (refused_after_fork(done)) return;
    int left = 0;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
        if (it->second.recovery) left = static_cast<int>(it->second.recovery->codes.size());
        if (it->second.empty()) shard.groups.erase(it);
      }
    }
    done(left);
  }

  void totp_enroll(const TotpEnrollRequest& req, Callback<bool> done) override {
    if (refused_after_fork(done)) return;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group* g = touch(shard, req.group, now);
      if (g == nullptr) return unlock_and(lock, done, Expected<bool>(full()));
      g->totp = detail::TotpRecord{req.sealed_secret, -1, req.generation, now + req.ttl};
      after_write(shard, req.group, *g, now);
    }
    done(true);
  }

  void totp_load(const std::string& group, const FailureBudget& budget, Callback<TotpLoadReply> done) override {
    if (refused_after_fork(done)) return;
    TotpLoadReply reply;
    {
      auto [shard, lock] = lock_shard(group);
      const TimePoint now = clock_->now();
      auto it = shard.groups.find(group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      drop_expired(it->second, now);
      auto pair = it->second.pairs.find(budget.client);
      const long long pair_tat = budget.client.empty() || pair == it->second.pairs.end() ? 0 : pair->second;
      reply = detail::load_totp(it->second.totp, it->second.rate, pair_tat, ms(now), budget);
      if (it->second.empty()) shard.groups.erase(it);
    }
    done(std::move(reply));
  }

  void totp_commit(const TotpCommitRequest& req, Callback<VerifyReply> done) override {
    if (refused_after_fork(done)) return;
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      Group& g = it->second;
      drop_expired(g, now);
      long long no_pair = 0;
      long long& pair_tat = req.budget.client.empty() ? no_pair : g.pairs[req.budget.client];
      reply = detail::commit_totp(g.totp, g.rate, pair_tat, ms(now), req);
      if (!req.budget.client.empty() && pair_tat <= ms(now)) g.pairs.erase(req.budget.client);
      if (g.empty()) shard.groups.erase(it);
      else after_write(shard, req.group, g, now);
    }
    done(std::move(reply));
  }

  bool shared() const noexcept override { return false; }

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
                    "after the engine was created: create the engine after fork (in each worker), or use a Redis "
                    "store (or file:// when available)"));
    return true;
  }

  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kReapPerWrite = 8;  // more than a write can add: the heap drains
  static constexpr std::size_t kReapChunk = 4096;

  std::pair<Shard&, std::unique_lock<std::mutex>> lock_shard(const std::string& group) {
    Shard& s = shards_[std::hash<std::string>{}(group) % kShards];
    return {s, std::unique_lock<std::mutex>(s.mutex)};
  }

  // An issue refused by its gate: nothing is written; the reply carries the status and wait.
  template <class Reply>
  static void refuse(Shard& shard, std::unique_lock<std::mutex>& lock, const std::string& group,
                     const detail::GateCheck& gate, Reply reply, const Callback<Reply>& done) {
    reply.outcome = gate.outcome;
    reply.retry_after = std::chrono::milliseconds(gate.retry_ms);
    auto it = shard.groups.find(group);
    if (it != shard.groups.end() && it->second.empty()) shard.groups.erase(it);
    lock.unlock();
    done(std::move(reply));
  }

  static bool known_key(const OtpVerifyRequest& req, std::uint8_t key_id) {
    return std::any_of(req.candidates.begin(), req.candidates.end(), [&](const SecretHash& c) { return c.key_id == key_id; });
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

  static void drop_expired(Group& g, TimePoint now) {
    if (g.otp && g.otp->expires_at <= now) g.otp.reset();
    if (g.recovery && g.recovery->expires_at <= now) g.recovery.reset();
    if (g.totp && g.totp->expires_at <= now) g.totp.reset();
    if (detail::keep_until(g.rate) <= ms(now)) g.rate = RateState{};
    std::erase_if(g.pairs, [now](const auto& kv) { return kv.second <= ms(now); });
    std::erase_if(g.tokens, [now](const auto& kv) { return kv.second.expires_at <= now; });
  }

  // The group to write, made if need be; nullptr when the shard is full (even after reaping).
  Group* touch(Shard& shard, const std::string& group, TimePoint now) {
    auto it = shard.groups.find(group);
    if (it == shard.groups.end()) {
      if (full(shard, ms(now))) return nullptr;
      it = shard.groups.emplace(group, Group{}).first;
    }
    drop_expired(it->second, now);
    return &it->second;
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

  // The latest time anything in the group still matters.
  static long long deadline(const Group& g) {
    long long d = detail::keep_until(g.rate);
    if (g.otp) d = std::max(d, ms(g.otp->expires_at));
    if (g.recovery) d = std::max(d, ms(g.recovery->expires_at));
    if (g.totp) d = std::max(d, ms(g.totp->expires_at));
    for (const auto& [id, t] : g.tokens) d = std::max(d, ms(t.expires_at));
    for (const auto& [client, tat] : g.pairs) d = std::max(d, tat);
    return d;
  }

  // Indexes the group's deadline (if it moved later) and reaps a few due records.
  static void after_write(Shard& shard, const std::string& key, Group& g, TimePoint now) {
    if (const long long d = deadline(g); d > g.indexed_until) {
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
        auto it = shard.clients.find(e.key);
        if (it == shard.clients.end() || it->second.indexed_until != e.at) continue;
        if (it->second.issue_tat <= now && it->second.failure_tat <= now) shard.clients.erase(it);
        continue;
      }
      auto it = shard.groups.find(e.key);
      if (it == shard.groups.end() || it->second.indexed_until != e.at) continue;  // stale
      Group& g = it->second;
      drop_expired(g, TimePoint(std::chrono::milliseconds(now)));
      if (g.empty()) {
        shard.groups.erase(it);
      } else {  // something lives on (a deadline moved without a write: re-index it)
        g.indexed_until = deadline(g);
        shard.due.push(Due{g.indexed_until, e.key, false});
      }
    }
    return n;
  }

  void reap_loop(std::chrono::milliseconds every) {
    std::unique_lock<std::mutex> lock(stop_mutex_);
    while (!stop_cv_.wait_for(lock, every, [this] { return stopping_; })) {
      lock.unlock();
      reap_all();
      lock.lock();
    }
  }

  const detail::ProcessTag process_;
  std::shared_ptr<const Clock> clock_;
  const std::size_t per_shard_;
  const std::size_t capacity_;
  std::array<Shard, kShards> shards_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread reaper_;  // last: started when everything it touches exists
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
