// verikit::detail — the per-group rules of the embedded stores, on a group's records at `now`:
// issue, verify, revoke, inspect, unlock, recovery codes, authenticators and the client-key buckets. The memory store runs them
// under a shard's lock, the file store inside an LMDB write transaction: one set of rules (the
// Redis scripts mirror them; the conformance suite holds all stores to the same behaviour).
// A rule changes only the group it is given; finding, creating, dropping (when empty()) and
// indexing the group by deadline() are the store's.
#pragma once

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/limits.hpp"
#include "store/totp.hpp"
#include "verikit/small_bytes.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

struct OtpRecord {
  // (what a verify reads first, together: the node's first cache lines)
  std::uint8_t key_id = 0;
  bool one_time = true;
  bool revoke_group = false;
  int attempts_left = 0;
  TimePoint expires_at;
  SmallBytes hash;  // in the record: the engine's are 16 bytes
  std::string binding_hash;  // empty: not bound
  std::string sealed_payload;
  std::string sealed_code;
  std::string payload_hash;
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
  // Issue order within the group: the issue's ms, or one past the group's last when that is later
  // (strictly increasing); the cap on live ones revokes the lowest. (The file store keeps the
  // order as the records' sequence; see group_codec.cpp.)
  long long order = 0;
};

struct RecoverySet {
  std::vector<SecretHash> codes;
  TimePoint expires_at;
};

// What most groups never hold (a pending code's group has no tokens, recovery codes,
// authenticator or client-key budgets) costs a group one pointer, not the container: a group
// is read whole at each operation, so its size is cache lines touched per verify (the
// embedded store's 100,000 pending codes outgrow the caches) and bytes kept per code.
// Box<T>: an optional T on the heap (copied deeply: the file store copies groups).
template <class T>
class Box {
 public:
  Box() = default;
  Box(const Box& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  Box& operator=(T value) {
    if (p_) *p_ = std::move(value);
    else p_ = std::make_unique<T>(std::move(value));
    return *this;
  }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T* operator->() noexcept { return p_.get(); }
  const T* operator->() const noexcept { return p_.get(); }
  T* get() noexcept { return p_.get(); }  // (nullptr: none)
  T& operator*() noexcept { return *p_; }
  const T& operator*() const noexcept { return *p_; }
  void reset() noexcept { p_.reset(); }

 private:
  std::unique_ptr<T> p_;
};

// LazyMap<K, V>: an unordered_map made at its first insertion and given back when cleared or
// emptied (by erase or erase_if).
template <class K, class V>
class LazyMap {
  using Map = std::unordered_map<K, V>;

 public:
  using iterator = typename Map::iterator;
  using const_iterator = typename Map::const_iterator;

  bool empty() const noexcept { return !m_ || m_->empty(); }
  std::size_t size() const noexcept { return m_ ? m_->size() : 0; }
  // (value-initialised iterators compare equal: an absent map is an empty range)
  iterator begin() noexcept { return m_ ? m_->begin() : iterator{}; }
  iterator end() noexcept { return m_ ? m_->end() : iterator{}; }
  const_iterator begin() const noexcept { return m_ ? m_->cbegin() : const_iterator{}; }
  const_iterator end() const noexcept { return m_ ? m_->cend() : const_iterator{}; }
  iterator find(const K& k) { return m_ ? m_->find(k) : iterator{}; }
  const_iterator find(const K& k) const { return m_ ? m_->find(k) : const_iterator{}; }
  V& operator[](const K& k) { return made()[k]; }
  const V& at(const K& k) const {
    if (!m_) throw std::out_of_range("LazyMap::at: no such key");
    return m_->at(k);
  }
  template <class... A>
  std::pair<iterator, bool> emplace(A&&... a) {
    return made().emplace(std::forward<A>(a)...);
  }
  // (An erase that empties the map gives it back; what it returns is then end().)
  std::size_t erase(const K& k) {
    const std::size_t n = m_ ? m_->erase(k) : 0;
    if (n > 0 && m_->empty()) m_.reset();
    return n;
  }
  iterator erase(const_iterator it) {
    iterator next = m_->erase(it);
    if (m_->empty()) m_.reset();
    return m_ ? next : iterator{};
  }
  iterator erase(iterator it) { return erase(const_iterator(it)); }
  void clear() noexcept { m_.reset(); }
  template <class Pred>
  friend std::size_t erase_if(LazyMap& m, Pred pred) {
    if (!m.m_) return 0;
    const std::size_t n = std::erase_if(*m.m_, pred);
    if (m.m_->empty()) m.m_.reset();
    return n;
  }

 private:
  Map& made() {
    if (!m_) m_ = Map{};
    return *m_;
  }
  Box<Map> m_;
};

struct Group {
  std::optional<OtpRecord> otp;
  Box<RecoverySet> recovery;
  Box<TotpRecord> totp;
  LazyMap<std::string, TokenRecord> tokens;
  RateState rate;
  LazyMap<std::string, long long> pairs;  // failure budget per client key tag: GCRA tat
  long long indexed_until = 0;  // the deadline the store's expiry index holds for this group
  bool empty() const {
    return !otp && !recovery && !totp && tokens.empty() && pairs.empty() && keep_until(rate) == 0;
  }
};

struct ClientBuckets {
  long long issue_tat = 0;
  long long failure_tat = 0;
  long long indexed_until = 0;  // the deadline the store's expiry index holds for these buckets
  // Whether nothing in it matters any more at `now` (it can be dropped).
  bool expired(long long now) const { return issue_tat <= now && failure_tat <= now; }
  long long deadline() const { return std::max(issue_tat, failure_tat); }
};

inline long long ms(TimePoint t) { return t.time_since_epoch().count(); }

// Forgets what has expired at `now` (every rule below that reads the group does it first,
// except unlock_group, which only resets).
void drop_expired(Group& g, TimePoint now);
// The latest time anything in the group still matters.
long long deadline(const Group& g);

// Issues: a refusal by the gate (reply.outcome not issued) writes nothing.
OtpIssueReply issue_otp(Group& g, const OtpIssueRequest& req, TimePoint now);
TokenIssueReply issue_token(Group& g, const TokenIssueRequest& req, TimePoint now);
// Check and consume (or count a wrong guess) in the group.
VerifyReply verify_otp(Group& g, const OtpVerifyRequest& req, TimePoint now);
VerifyReply verify_token(Group& g, const TokenVerifyRequest& req, TimePoint now);
// Revocations: whether it was there; how many credentials (abuse-control state stays).
bool revoke_otp(Group& g, TimePoint now);
bool revoke_token(Group& g, const std::string& token_id, TimePoint now);
int revoke_credentials(Group& g, TimePoint now);
// Fills `reply` (reply.now is `now`) from the group.
void inspect_group(Group& g, TimePoint now, InspectReply& reply);
// Refills the failure budgets; whether `budget` was spent.
bool unlock_group(Group& g, const GcraLimit& budget, TimePoint now);
// Recovery codes: a new set (how many it holds); one code used (or a wrong one counted); how
// many are left.
int set_recovery(Group& g, const RecoverySetRequest& req, TimePoint now);
VerifyReply use_recovery(Group& g, const RecoveryUseRequest& req, TimePoint now);
int count_recovery(Group& g, TimePoint now);
// The authenticator enrollment and the recovery codes removed; how many (1 per enrollment, 1 per code).
int revoke_second_factors(Group& g, const SecondFactorsRevokeRequest& req, TimePoint now);
// Authenticator codes: a new enrollment; a verification's two steps (load reads only).
void enroll_totp(Group& g, const TotpEnrollRequest& req, TimePoint now);
TotpLoadReply load_totp_step(Group& g, const FailureBudget& budget, TimePoint now);
VerifyReply commit_totp_step(Group& g, const TotpCommitRequest& req, TimePoint now);
VerifyReply confirm_totp_step(Group& g, const TotpConfirmRequest& req, TimePoint now);
// One event (or a refund) against a client key's bucket.
ClientLimitReply take_client_limit(ClientBuckets& b, const ClientLimitRequest& req, long long now);

}  // namespace verikit::detail
