// Conformance: the asynchronous forms of revoke, revoke-all, inspect and unlock give the same
// answers as the synchronous ones, complete exactly once, and report bad arguments and faults
// through the completion, on every store.
#include <condition_variable>
#include <mutex>
#include <sstream>

#include "conformance/conformance.hpp"

namespace verikit::test {
namespace {

using std::chrono::seconds;

// Starts asynchronous calls and waits for their completions; remembers every completion so a
// test can check at its end that none came twice.
class Completions {
 public:
  template <class T, class Start>
  Expected<T> await(Start start) {
    auto call = std::make_shared<Call<T>>();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      counts_.push_back([call] {
        std::lock_guard<std::mutex> l(call->mutex);
        return call->calls;
      });
    }
    start([call](Expected<T> r) {
      std::lock_guard<std::mutex> lock(call->mutex);
      if (call->calls++ == 0) call->result.emplace(std::move(r));
      call->cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(call->mutex);
    if (!call->cv.wait_for(lock, seconds(10), [&] { return call->calls > 0; }))
      return make_error(Errc::internal, "no completion within 10 s");
    return std::move(*call->result);
  }

  // How many completions each call got, in call order.
  std::vector<int> counts() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int> out;
    for (auto& c : counts_) out.push_back(c());
    return out;
  }

 private:
  template <class T>
  struct Call {
    std::mutex mutex;
    std::condition_variable cv;
    int calls = 0;
    std::optional<Expected<T>> result;
  };
  std::mutex mutex_;
  std::vector<std::function<int()>> counts_;
};

// The operations under test, through either form.
class Ops {
 public:
  virtual ~Ops() = default;
  virtual Expected<bool> revoke_otp(std::string_view p, std::string_view id) = 0;
  virtual Expected<bool> revoke_token(std::string_view t) = 0;
  virtual Expected<bool> revoke_link(std::string_view t) = 0;
  virtual Expected<int> revoke_all(std::string_view p, std::string_view id) = 0;
  virtual Expected<Result> inspect(std::string_view p, std::string_view id) = 0;
  virtual Expected<bool> unlock(std::string_view p, std::string_view id) = 0;
};

class SyncOps final : public Ops {
 public:
  explicit SyncOps(Engine& e) : e_(e) {}
  Expected<bool> revoke_otp(std::string_view p, std::string_view id) override { return e_.revoke_otp(p, id); }
  Expected<bool> revoke_token(std::string_view t) override { return e_.revoke_token(t); }
  Expected<bool> revoke_link(std::string_view t) override { return e_.revoke_link(t); }
  Expected<int> revoke_all(std::string_view p, std::string_view id) override { return e_.revoke_all(p, id); }
  Expected<Result> inspect(std::string_view p, std::string_view id) override { return e_.inspect(p, id); }
  Expected<bool> unlock(std::string_view p, std::string_view id) override { return e_.unlock(p, id); }

 private:
  Engine& e_;
};

class AsyncOps final : public Ops {
 public:
  AsyncOps(Engine& e, Completions& c) : e_(e), c_(c) {}
  Expected<bool> revoke_otp(std::string_view p, std::string_view id) override {
    return c_.await<bool>([&](Callback<bool> done) { e_.revoke_otp(p, id, std::move(done)); });
  }
  Expected<bool> revoke_token(std::string_view t) override {
    return c_.await<bool>([&](Callback<bool> done) { e_.revoke_token(t, std::move(done)); });
  }
  Expected<bool> revoke_link(std::string_view t) override {
    return c_.await<bool>([&](Callback<bool> done) { e_.revoke_link(t, std::move(done)); });
  }
  Expected<int> revoke_all(std::string_view p, std::string_view id) override {
    return c_.await<int>([&](Callback<int> done) { e_.revoke_all(p, id, std::move(done)); });
  }
  Expected<Result> inspect(std::string_view p, std::string_view id) override {
    return c_.await<Result>([&](Callback<Result> done) { e_.inspect(p, id, std::move(done)); });
  }
  Expected<bool> unlock(std::string_view p, std::string_view id) override {
    return c_.await<bool>([&](Callback<bool> done) { e_.unlock(p, id, std::move(done)); });
  }

 private:
  Engine& e_;
  Completions& c_;
};

// An answer as text, so two runs compare in one EXPECT_EQ (times as present/absent: the two
// runs issue at different moments).
std::string text(const Expected<bool>& r) { return r ? (*r ? "true" : "false") : "error " + std::to_string(int(r.error().code)); }
std::string text(const Expected<int>& r) { return r ? std::to_string(*r) : "error " + std::to_string(int(r.error().code)); }
std::string text(const Expected<Result>& r) {
  if (!r) return "error " + std::to_string(int(r.error().code));
  std::ostringstream o;
  o << to_string(r->outcome) << " attempts=" << r->attempts_remaining << " tokens=" << r->active_tokens
    << " expires=" << r->expires_at.has_value() << " id=" << r->identifier << " purpose=" << r->purpose
    << " retry=" << (r->retry_after.count() > 0);
  if (r->counters) {
    const Counters& c = *r->counters;
    o << " failures=" << c.failures << " guesses=" << c.guesses_available << " sends=" << c.sends_available
      << " locked=" << c.locked_until.has_value() << " reset=" << c.failures_reset_at.has_value()
      << " cooldown=" << c.cooldown_until.has_value() << " send_reset=" << c.send_limit_reset_at.has_value();
  }
  return o.str();
}

std::string wrong_for(std::string_view code) { return code[0] == '0' ? "111111" : "000000"; }

// One life of an identifier's credentials: issued with `e`, revoked, inspected and unlocked
// through `ops`. Returns every answer of `ops`, in order.
std::vector<std::string> scenario(Engine& e, Ops& ops, const std::string& id) {
  std::vector<std::string> out;
  out.push_back(text(ops.inspect("login", id)));
  Result code = e.issue_otp("login", id).value();
  Result t1 = e.issue_token("login", id).value();
  Result t2 = e.issue_token("login", id).value();
  Result link = e.issue_link("login", id, "https://e.com/m").value();
  out.push_back(text(ops.inspect("login", id)));
  // Wrong guesses until the failure budget (3) is spent: inspect shows the lockout.
  for (int i = 0; i < 3; ++i) (void)e.verify_otp("login", id, wrong_for(code.secret.view())).value();
  out.push_back(text(ops.inspect("login", id)));
  out.push_back(text(ops.unlock("login", id)));
  out.push_back(text(ops.unlock("login", id)));
  out.push_back(text(ops.inspect("login", id)));
  out.push_back(text(ops.revoke_token(t1.secret.view())));
  out.push_back(text(ops.revoke_token(t1.secret.view())));
  out.push_back(text(ops.revoke_token("not-a-token")));
  out.push_back(text(ops.revoke_link(link.secret.view())));
  out.push_back(text(ops.revoke_link(link.secret.view())));
  out.push_back(text(ops.revoke_otp("login", id)));
  out.push_back(text(ops.revoke_otp("login", id)));
  out.push_back(text(ops.inspect("login", id)));
  Result again = e.issue_otp("login", id).value();
  out.push_back(text(ops.revoke_all("login", id)));  // the new code and t2
  out.push_back(text(ops.revoke_all("login", id)));
  out.push_back(text(ops.inspect("login", id)));
  out.push_back(e.verify_token(t2.secret.view(), "login")->outcome == Outcome::not_found ? "t2 revoked" : "t2 live");
  out.push_back(e.verify_otp("login", id, again.secret.view())->outcome == Outcome::not_found ? "code revoked" : "code live");
  // Bad arguments: the same error either way.
  out.push_back(text(ops.inspect("log in", id)));
  out.push_back(text(ops.revoke_otp("login", "")));
  out.push_back(text(ops.revoke_all("", id)));
  out.push_back(text(ops.unlock("login", std::string(kMaxIdentifierBytes + 1, 'x'))));
  out.push_back(text(ops.revoke_token("")));
  out.push_back(text(ops.revoke_link(std::string(kMaxSecretBytes + 1, 'A'))));
  return out;
}

Policy budget_of_three() {
  Policy p;
  p.resend_cooldown = seconds(0);
  p.failure_limit = RateLimit{1, seconds(3600), 3};
  p.max_attempts = 10;
  return p;
}

TEST_P(Conformance, AsynchronousRevokeInspectUnlockAnswerAsTheSynchronousForms) {
  auto e = engine(with_policy("login", budget_of_three()), true);
  Completions completions;
  SyncOps sync(*e);
  AsyncOps async(*e, completions);
  const std::vector<std::string> by_sync = scenario(*e, sync, "sync@example.com");
  const std::vector<std::string> by_async = scenario(*e, async, "async@example.com");
  ASSERT_EQ(by_sync.size(), by_async.size());
  for (std::size_t i = 0; i < by_sync.size(); ++i) {
    std::string expected = by_sync[i];
    // The identifier is part of inspect's answer: the only intended difference.
    if (auto at = expected.find(" id=sync@"); at != std::string::npos) expected.replace(at, 9, " id=async@");
    EXPECT_EQ(by_async[i], expected) << "answer " << i;
  }
  // The scenario means something: spot checks of the synchronous answers.
  EXPECT_EQ(by_sync[0].rfind("not_found", 0), 0u) << by_sync[0];
  EXPECT_NE(by_sync[1].find("valid attempts=10 tokens=3 expires=1"), std::string::npos) << by_sync[1];
  EXPECT_NE(by_sync[2].find("locked"), std::string::npos) << by_sync[2];
  EXPECT_NE(by_sync[2].find("failures=3 guesses=0"), std::string::npos) << by_sync[2];
  EXPECT_EQ(by_sync[3], "true");
  EXPECT_EQ(by_sync[4], "false");
  EXPECT_NE(by_sync[5].find("failures=0 guesses=3"), std::string::npos) << by_sync[5];
  const std::vector<std::string> revokes(by_sync.begin() + 6, by_sync.begin() + 13);
  EXPECT_EQ(revokes, (std::vector<std::string>{"true", "false", "false", "true", "false", "true", "false"}));
  EXPECT_NE(by_sync[13].find("valid attempts=-1 tokens=1"), std::string::npos) << by_sync[13];
  EXPECT_EQ(by_sync[14], "2");
  EXPECT_EQ(by_sync[15], "0");
  EXPECT_EQ(by_sync[16].rfind("not_found", 0), 0u) << by_sync[16];
  EXPECT_EQ(by_sync[17], "t2 revoked");
  EXPECT_EQ(by_sync[18], "code revoked");
  const std::string invalid = "error " + std::to_string(int(Errc::invalid_argument));
  for (std::size_t i = 19; i < by_sync.size(); ++i) EXPECT_EQ(by_sync[i], invalid) << "answer " << i;

  const std::vector<int> counts = completions.counts();
  EXPECT_EQ(counts.size(), by_async.size() - 2) << "one call per answer but the two verifications";
  for (std::size_t i = 0; i < counts.size(); ++i) EXPECT_EQ(counts[i], 1) << "call " << i << " completed " << counts[i] << " times";
}

// Many asynchronous calls in flight at once, started from one thread without waiting: each
// completes once with the answer its synchronous form gives.
TEST_P(Conformance, ManyAsynchronousRevocationsInFlightAtOnce) {
  auto e = engine();
  constexpr int kIds = 200;
  std::vector<std::string> tokens;
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "m" + std::to_string(i);
    (void)e->issue_otp("login", id).value();
    tokens.push_back(std::string(e->issue_token("login", id)->secret.view()));
    (void)e->issue_token("login", "k" + std::to_string(i)).value();  // inspected, never revoked
  }
  struct State {
    std::mutex m;
    std::condition_variable cv;
    int done = 0, wrong = 0, twice = 0;
    std::vector<int> seen = std::vector<int>(3 * kIds, 0);
    void finish(int slot, bool right) {
      std::lock_guard<std::mutex> lock(m);
      if (seen[slot]++ > 0) ++twice;
      if (!right) ++wrong;
      ++done;
      cv.notify_all();
    }
  };
  auto st = std::make_shared<State>();  // completions may outlive a failed wait
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "m" + std::to_string(i);
    e->inspect("login", "k" + std::to_string(i), [st, i](Expected<Result> r) {
      st->finish(i, r && r->outcome == Outcome::valid && r->active_tokens == 1);
    });
    e->revoke_token(tokens[i], [st, i](Expected<bool> r) { st->finish(kIds + i, r && *r); });
    e->revoke_otp("login", id, [st, i](Expected<bool> r) { st->finish(2 * kIds + i, r && *r); });
  }
  {
    std::unique_lock<std::mutex> lock(st->m);
    ASSERT_TRUE(st->cv.wait_for(lock, seconds(30), [&] { return st->done >= 3 * kIds; }))
        << st->done << " of " << 3 * kIds;
  }
  for (int i = 0; i < kIds; ++i) EXPECT_EQ(e->revoke_all("login", "m" + std::to_string(i)).value(), 0);
  std::lock_guard<std::mutex> lock(st->m);
  EXPECT_EQ(st->wrong, 0);
  EXPECT_EQ(st->twice, 0);
  EXPECT_EQ(st->done, 3 * kIds);
}

}  // namespace
}  // namespace verikit::test
