// verikit — the embedded store: sharded maps under mutexes; one lock per operation makes each
// operation atomic. Expired records are dropped when touched and swept as shards are written.
#include "verikit/memory_store.hpp"

#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "crypto/crypto.hpp"

namespace verikit {
namespace {

struct OtpRecord {
  std::uint8_t key_id = 0;
  std::string hash;
  std::string sealed_code;
  std::string sealed_payload;
  int attempts_left = 0;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
};

struct TokenRecord {
  TokenKind kind = TokenKind::token;
  std::string purpose_tag;
  std::string sealed_identity;
  std::string sealed_payload;
  TimePoint expires_at;
  bool one_time = true;
  bool revoke_group = false;
};

struct Group {
  std::optional<OtpRecord> otp;
  std::unordered_map<std::string, TokenRecord> tokens;
  bool empty() const { return !otp && tokens.empty(); }
};

struct Shard {
  std::mutex mutex;
  std::unordered_map<std::string, Group> groups;
  std::size_t writes_since_sweep = 0;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::shared_ptr<const Clock> clock) : clock_(std::move(clock)) {}

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    OtpIssueReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group& g = touch(shard, req.group, now);
      int attempts_left = req.max_attempts;
      if (g.otp) {
        if (req.resend_same && !g.otp->sealed_code.empty()) {
          reply.reused = true;
          reply.sealed_code = g.otp->sealed_code;
          reply.expires_at = g.otp->expires_at;
          reply.attempts_remaining = g.otp->attempts_left;
          lock.unlock();
          return done(std::move(reply));
        }
        attempts_left = std::min(attempts_left, g.otp->attempts_left);  // failures carry over
      }
      g.otp = OtpRecord{req.key_id, req.secret_hash, req.sealed_code, req.sealed_payload,
                        attempts_left, now + req.ttl, req.one_time, req.revoke_group};
      reply.expires_at = g.otp->expires_at;
      reply.attempts_remaining = attempts_left;
      note_write(shard, now);
    }
    done(std::move(reply));
  }

  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      drop_expired(it->second, now);
      if (!it->second.otp) {
        if (it->second.empty()) shard.groups.erase(it);
        return unlock_and(lock, done, std::move(reply));
      }
      Group& g = it->second;
      OtpRecord& rec = *g.otp;
      bool match = false;
      for (const SecretHash& c : req.candidates)
        if (c.key_id == rec.key_id) match = detail::equal_ct(c.hash, rec.hash);
      reply.expires_at = rec.expires_at;
      if (match) {
        reply.outcome = Outcome::verified;
        reply.attempts_remaining = rec.attempts_left;
        reply.sealed_payload = rec.sealed_payload;
        if (rec.revoke_group) g = Group{};
        else if (rec.one_time) g.otp.reset();
      } else if (--rec.attempts_left > 0) {
        reply.outcome = Outcome::invalid;
        reply.attempts_remaining = rec.attempts_left;
      } else {
        reply.outcome = Outcome::attempts_exhausted;
        reply.attempts_remaining = 0;
        g.otp.reset();
      }
      if (g.empty()) shard.groups.erase(it);
    }
    done(std::move(reply));
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
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
    TokenIssueReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      const TimePoint now = clock_->now();
      Group& g = touch(shard, req.group, now);
      reply.expires_at = now + req.ttl;
      g.tokens[req.token_id] =
          TokenRecord{req.kind,           req.purpose_tag, req.sealed_identity, req.sealed_payload,
                      reply.expires_at, req.one_time,   req.revoke_group};
      note_write(shard, now);
    }
    done(std::move(reply));
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    VerifyReply reply;
    {
      auto [shard, lock] = lock_shard(req.group);
      auto it = shard.groups.find(req.group);
      if (it == shard.groups.end()) return unlock_and(lock, done, std::move(reply));
      Group& g = it->second;
      drop_expired(g, clock_->now());
      auto t = g.tokens.find(req.token_id);
      if (t != g.tokens.end() && t->second.kind == req.kind &&
          (req.purpose_tag.empty() || detail::equal_ct(req.purpose_tag, t->second.purpose_tag))) {
        reply.outcome = req.consume ? Outcome::verified : Outcome::valid;
        reply.expires_at = t->second.expires_at;
        reply.sealed_identity = t->second.sealed_identity;
        reply.sealed_payload = t->second.sealed_payload;
        if (req.consume && t->second.revoke_group) g = Group{};
        else if (req.consume && t->second.one_time) g.tokens.erase(t);
      }
      if (g.empty()) shard.groups.erase(it);
    }
    done(std::move(reply));
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
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
    int removed = 0;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
        removed = static_cast<int>(it->second.tokens.size()) + (it->second.otp ? 1 : 0);
        shard.groups.erase(it);
      }
    }
    done(removed);
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    InspectReply reply;
    {
      auto [shard, lock] = lock_shard(group);
      auto it = shard.groups.find(group);
      if (it != shard.groups.end()) {
        drop_expired(it->second, clock_->now());
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

  bool shared() const noexcept override { return false; }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMinSweepInterval = 1024;

  std::pair<Shard&, std::unique_lock<std::mutex>> lock_shard(const std::string& group) {
    Shard& s = shards_[std::hash<std::string>{}(group) % kShards];
    return {s, std::unique_lock<std::mutex>(s.mutex)};
  }

  template <class T>
  static void unlock_and(std::unique_lock<std::mutex>& lock, const Callback<T>& done, T value) {
    lock.unlock();
    done(std::move(value));
  }

  static void drop_expired(Group& g, TimePoint now) {
    if (g.otp && g.otp->expires_at <= now) g.otp.reset();
    std::erase_if(g.tokens, [now](const auto& kv) { return kv.second.expires_at <= now; });
  }

  static Group& touch(Shard& shard, const std::string& group, TimePoint now) {
    Group& g = shard.groups[group];
    drop_expired(g, now);
    return g;
  }

  // Sweeps a shard after as many writes as it has groups: amortised O(1) per write.
  static void note_write(Shard& shard, TimePoint now) {
    if (++shard.writes_since_sweep < std::max(kMinSweepInterval, shard.groups.size())) return;
    shard.writes_since_sweep = 0;
    for (auto it = shard.groups.begin(); it != shard.groups.end();) {
      drop_expired(it->second, now);
      it = it->second.empty() ? shard.groups.erase(it) : std::next(it);
    }
  }

  std::shared_ptr<const Clock> clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace

std::shared_ptr<Store> make_memory_store(std::shared_ptr<const Clock> clock) {
  if (!clock) clock = std::make_shared<SystemClock>();
  return std::make_shared<MemoryStore>(std::move(clock));
}

}  // namespace verikit
