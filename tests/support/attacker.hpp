// Test support: an attacker against one identifier's OTP, with many strategies, and a store
// decorator that logs every guess the store actually compared. The guess-budget tests run the
// same strategies against the embedded store (fake clock) and Redis (real time, short windows).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "verikit/verikit.hpp"

namespace verikit::test {

// A compared guess: the client's clock when it was sent and when the answer came (the store
// compared it at some moment in between; with a fake clock both are the same).
struct Guess {
  long long sent = 0, answered = 0;
};

// Forwards to another store and logs every OTP guess the store compared (a wrong guess it
// counted, or a right one), by the store's own answer.
class GuessLog final : public Store {
 public:
  GuessLog(std::shared_ptr<Store> inner, std::function<long long()> now_ms)
      : inner_(std::move(inner)), now_ms_(std::move(now_ms)) {}

  void otp_verify(const OtpVerifyRequest& r, Callback<VerifyReply> done) override {
    const long long sent = now_ms_();
    inner_->otp_verify(r, [this, sent, done = std::move(done)](Expected<VerifyReply> reply) {
      if (reply) {
        const Outcome o = reply->outcome;
        const bool compared = reply->counted_failure || o == Outcome::verified || o == Outcome::invalid ||
                              o == Outcome::attempts_exhausted;
        std::lock_guard<std::mutex> lock(mutex_);
        if (compared) times_.push_back(Guess{sent, now_ms_()});
        // A wrong guess the store compared is always counted (never a free guess).
        if ((o == Outcome::invalid || o == Outcome::attempts_exhausted) && !reply->counted_failure) ++uncounted_;
      }
      done(std::move(reply));
    });
  }
  void otp_issue(const OtpIssueRequest& r, Callback<OtpIssueReply> d) override { inner_->otp_issue(r, std::move(d)); }
  void otp_revoke(const std::string& g, Callback<bool> d) override { inner_->otp_revoke(g, std::move(d)); }
  void token_issue(const TokenIssueRequest& r, Callback<TokenIssueReply> d) override { inner_->token_issue(r, std::move(d)); }
  void token_verify(const TokenVerifyRequest& r, Callback<VerifyReply> d) override { inner_->token_verify(r, std::move(d)); }
  void token_revoke(const std::string& g, const std::string& id, Callback<bool> d) override {
    inner_->token_revoke(g, id, std::move(d));
  }
  void revoke_all(const std::string& g, Callback<int> d) override { inner_->revoke_all(g, std::move(d)); }
  void inspect(const std::string& g, Callback<InspectReply> d) override { inner_->inspect(g, std::move(d)); }
  void unlock(const std::string& g, const GcraLimit& b, Callback<bool> d) override { inner_->unlock(g, b, std::move(d)); }
  void client_limit(const ClientLimitRequest& r, Callback<ClientLimitReply> d) override {
    inner_->client_limit(r, std::move(d));
  }
  bool shared() const noexcept override { return inner_->shared(); }

  std::vector<Guess> times() {
    std::lock_guard<std::mutex> lock(mutex_);
    return times_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    times_.clear();
  }
  int uncounted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return uncounted_;
  }

 private:
  std::shared_ptr<Store> inner_;
  std::function<long long()> now_ms_;
  std::mutex mutex_;
  std::vector<Guess> times_;
  int uncounted_ = 0;
};

// The most guesses certainly compared within one closed window [t, t + window]: those sent at
// or after t and answered by t + window (never more than the store compared in some window).
inline int max_in_window(const std::vector<Guess>& guesses, long long window_ms) {
  int best = 0;
  for (const Guess& start : guesses) {
    int n = 0;
    for (const Guess& g : guesses)
      if (g.sent >= start.sent && g.answered <= start.sent + window_ms) ++n;
    best = std::max(best, n);
  }
  return best;
}

// The most events in any closed window [t, t + window].
inline int max_in_window(std::vector<long long> times, long long window_ms) {
  std::sort(times.begin(), times.end());
  int best = 0;
  std::size_t lo = 0;
  for (std::size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] > window_ms) ++lo;
    best = std::max(best, static_cast<int>(hi - lo + 1));
  }
  return best;
}

// How an attacker spends his time. Rounds of `per_round` wrong guesses (0: until refused),
// `pause` between rounds; every refusal is waited out (retry_after), every dead code re-issued.
struct Strategy {
  std::string name;
  int per_round = 0;
  std::chrono::milliseconds pause{0};
  int concurrency = 1;          // guesses fired at the same moment (threads)
  bool spellings = false;       // rotate through spellings of the identifier
  bool client_keys = false;     // a new client key for every guess and issue
  bool rotate_key = false;      // switch to an engine with a rotated key set half-way
};

// Where the attacker plays: the engines (the second has the key set after a rotation: new
// current key, the old one previous, the same index key) and the clock.
struct Arena {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<Engine> rotated;
  std::string purpose = "login";
  std::function<long long()> now_ms;
  std::function<void(std::chrono::milliseconds)> sleep;
};

inline std::vector<std::string> spellings_of(const std::string& id) {
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  std::string first = id;
  first[0] = static_cast<char>(first[0] - 'a' + 'A');
  return {id, " " + first, upper + "\t", id + " "};
}

// Runs one strategy for `duration` against `identifier`.
inline void attack(const Strategy& s, Arena& arena, const std::string& identifier, std::chrono::milliseconds duration) {
  const std::vector<std::string> names = s.spellings ? spellings_of(identifier) : std::vector<std::string>{identifier};
  const long long start = arena.now_ms();
  std::size_t n = 0;       // guesses and issues so far (spellings and client keys rotate with it)
  int in_round = 0;
  bool have_code = false;
  std::string wrong;
  auto client = [&] { return s.client_keys ? "203.0.113." + std::to_string(n % 100000) : std::string{}; };
  for (int steps = 0; steps < 1'000'000 && arena.now_ms() - start < duration.count(); ++steps) {
    Engine& e = s.rotate_key && arena.now_ms() - start > duration.count() / 2 ? *arena.rotated : *arena.engine;
    const std::string& name = names[n % names.size()];
    if (!have_code) {
      const std::string ck = client();
      ++n;
      auto r = e.issue_otp(arena.purpose, name, IssueOptions{.client_key = ck});
      if (r && r->outcome == Outcome::issued) {
        have_code = true;
        const std::string code(r->secret.view());
        wrong = std::string(code.size(), code[0] == '1' ? '2' : '1');  // a well-formed wrong code
      } else {
        arena.sleep(std::max(std::chrono::milliseconds(1), r ? r->retry_after : std::chrono::milliseconds(1)));
      }
      continue;
    }
    std::vector<Expected<Result>> replies(static_cast<std::size_t>(s.concurrency), make_error(Errc::internal, ""));
    std::vector<std::thread> threads;
    for (int i = 0; i < s.concurrency; ++i) {
      const std::string ck = client(), who = names[n % names.size()];
      ++n;
      auto guess = [&, i, ck, who] { replies[i] = e.verify_otp(arena.purpose, who, wrong, VerifyOptions{.client_key = ck}); };
      if (s.concurrency == 1) guess();
      else threads.emplace_back(guess);
    }
    for (auto& t : threads) t.join();
    std::chrono::milliseconds wait{0};
    for (const auto& r : replies) {
      if (!r) continue;
      if (r->outcome == Outcome::not_found || r->outcome == Outcome::attempts_exhausted) have_code = false;
      if (r->outcome == Outcome::locked || r->outcome == Outcome::rate_limited) wait = std::max(wait, r->retry_after);
    }
    in_round += s.concurrency;
    if (s.per_round > 0 && in_round >= s.per_round) {
      in_round = 0;
      wait = std::max(wait, s.pause);
    }
    if (wait.count() > 0) arena.sleep(wait);
  }
}

// The strategies of the search: greedy, sub-threshold rounds at many sizes and pauses, bursts
// of concurrent guesses, spelling variants, rotating client keys, a key rotation part-way, and
// combinations of these.
inline std::vector<Strategy> strategy_search(std::chrono::milliseconds unit_minute) {
  std::vector<Strategy> all;
  all.push_back({"greedy"});
  for (int k : {1, 2, 3, 5, 9, 10, 11})
    for (int minutes : {1, 6, 12, 15, 30, 45, 60, 72, 90, 144})
      all.push_back({"rounds of " + std::to_string(k) + " every " + std::to_string(minutes) + " min", k, unit_minute * minutes});
  all.push_back({"64 at once", 0, {}, 64});
  all.push_back({"64 at once every 72 min", 64, unit_minute * 72, 64});
  all.push_back({"spellings", 0, {}, 1, true});
  all.push_back({"new client key per guess", 0, {}, 1, false, true});
  all.push_back({"key rotation half-way", 0, {}, 1, false, false, true});
  all.push_back({"9 every 15 min, spellings, client keys, rotation", 9, unit_minute * 15, 1, true, true, true});
  all.push_back({"64 at once, spellings, client keys, rotation", 0, {}, 64, true, true, true});
  return all;
}

}  // namespace verikit::test
