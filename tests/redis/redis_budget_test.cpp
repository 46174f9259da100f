// The guess budget on Redis: the strategy search's attackers run at once, each against its own
// identifier, in real time with the windows scaled down (a "day" of 4 s: failure budget 10 at
// once, then one per 200 ms), against Redis's own clock. The most compared guesses in any
// scaled hour and day must stay within the bound, as on the embedded store.
#include <gtest/gtest.h>

#include <thread>

#include "redis/client.hpp"
#include "support/attacker.hpp"
#include "support/redis_server.hpp"
#include "support/totp_codes.hpp"
#include "verikit/redis_store.hpp"
#include "verikit/verikit.hpp"

namespace verikit {
namespace {

using namespace std::chrono_literals;
using test::Arena;
using test::GuessLog;
using test::RedisServer;
using test::Strategy;

long long steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST(RedisBudget, StrategySearchStaysWithinTheBudget) {
  RedisServer server;
  // The default budget's shape (burst 10, then 20 per "day"), with a day of 4 s: 200 ms per guess.
  Policy p;
  p.failure_limit = RateLimit{430, std::chrono::seconds(86), 10};          // interval 200 ms
  p.client_pair_failure_limit = RateLimit{430, std::chrono::seconds(86), 3};
  p.resend_cooldown = std::chrono::seconds(0);
  p.send_limit = RateLimit{};
  const long long day = 4000, hour = day / 24;
  const std::chrono::milliseconds minute(3);  // 4000 ms / 1440, rounded

  const Key k1 = generate_key(1), k2 = generate_key(2);
  Config c1;
  c1.store_url = server.url();
  c1.default_policy = p;
  c1.keys = KeySet{k1, {}, std::nullopt};
  Config c2 = c1;
  c2.keys = KeySet{k2, {k1}, k1.bytes};

  std::vector<Strategy> strategies;
  for (const Strategy& s : test::strategy_search(minute))
    if (s.per_round == 0 || s.name == "rounds of 9 every 15 min" || s.name == "rounds of 5 every 72 min" ||
        s.name == "rounds of 1 every 6 min" || s.concurrency > 1 || s.client_keys)
      strategies.push_back(s);

  // Each attacker has its own engines (before and after the rotation) over one Redis store
  // connection, logged by a decorator.
  struct Run {
    std::shared_ptr<GuessLog> log;
    Arena arena;
  };
  std::vector<Run> runs(strategies.size());
  for (Run& r : runs) {
    r.log = std::make_shared<GuessLog>(make_redis_store(c1).value(), steady_ms);
    r.arena.engine = Engine::create(c1, r.log).value();
    r.arena.rotated = Engine::create(c2, r.log).value();
    r.arena.now_ms = steady_ms;
    r.arena.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < strategies.size(); ++i)
    threads.emplace_back([&, i] { test::attack(strategies[i], runs[i].arena, "victim" + std::to_string(i) + "@example.com", 6000ms); });
  for (auto& t : threads) t.join();

  int worst_hour = 0, worst_day = 0, greedy_day = 0;
  for (std::size_t i = 0; i < strategies.size(); ++i) {
    const std::vector<test::Guess> all = runs[i].log->times();
    const int h = test::max_in_window(all, hour), d = test::max_in_window(all, day);
    std::printf("  %-50s scaled hour %2d  day %2d  (%zu compared)\n", strategies[i].name.c_str(), h, d, all.size());
    EXPECT_LE(h, 10) << strategies[i].name;
    EXPECT_LE(d, 30) << strategies[i].name;
    EXPECT_EQ(runs[i].log->uncounted(), 0) << strategies[i].name;
    worst_hour = std::max(worst_hour, h);
    worst_day = std::max(worst_day, d);
    if (strategies[i].name == "greedy") greedy_day = d;
  }
  std::printf("[ measure  ] Redis, %zu strategies at once: most compared guesses in a scaled hour %d, day %d\n",
              strategies.size(), worst_hour, worst_day);
  EXPECT_GE(greedy_day, 25) << "the greedy attacker comes close to the bound (the attack is real)";
}

}  // namespace
}  // namespace verikit

namespace verikit {
namespace {

// Out of memory is no guessing oracle: every script that may grow memory is refused whole (its
// #!lua flags), so a wrong guess is refused, not compared for free, and the right code is
// refused too; scripts that only delete still run, and inspect (read-only) still answers.
TEST(RedisBudget, OutOfMemoryRefusesGuessesWholeAndNeverAcceptsACode) {
  RedisServer server(test::RedisServerOptions{.extra_args = {"--maxmemory-policy", "noeviction"}});
  Config c;
  c.store_url = server.url();
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.default_policy.resend_cooldown = std::chrono::seconds(0);
  auto e = Engine::create(c).value();
  Result code = e->issue_otp("login", "oom@example.com").value();
  Result link = e->issue_link("login", "oom@example.com", "https://e.com/m").value();
  Result enrolled = e->enroll_totp("login", "oom@example.com", "Acme").value();
  e->generate_recovery_codes("login", "oom@example.com").value();
  const std::string wrong = std::string(code.secret.view()) == "111111" ? "222222" : "111111";
  ASSERT_EQ(e->verify_otp("login", "oom@example.com", wrong)->outcome, Outcome::invalid);

  auto raw = redis::Client::connect(redis::parse_endpoint(server.url()).value()).value();
  ASSERT_FALSE(raw->command_sync({"CONFIG", "SET", "maxmemory", "1"})->is_error());  // full from now on
  auto issued = e->issue_otp("login", "other@example.com");
  ASSERT_FALSE(issued.has_value()) << "an issue is refused once Redis is full";
  EXPECT_EQ(issued.error().code, Errc::store_unavailable);
  EXPECT_NE(issued.error().message.find("OOM"), std::string::npos) << issued.error().message;
  for (int i = 0; i < 30; ++i) {
    auto r = e->verify_otp("login", "oom@example.com", wrong, VerifyOptions{.client_key = "203.0.113.1"});
    ASSERT_FALSE(r.has_value()) << "guess " << i << " was answered: " << to_string(r->outcome);
  }
  auto right = e->verify_otp("login", "oom@example.com", code.secret.view());
  ASSERT_FALSE(right.has_value()) << "the right code is refused too, never verified under a fault";
  Result seen = e->inspect("login", "oom@example.com").value();  // read-only: answers under OOM
  EXPECT_EQ(seen.attempts_remaining, 4) << "no refused guess changed anything";
  EXPECT_EQ(seen.counters->failures, 1);
  EXPECT_EQ(e->revoke_link(link.secret.view()).value(), true) << "deleting still works under OOM";
  EXPECT_EQ(e->revoke_second_factors("login", "oom@example.com").value(), 1 + Policy{}.recovery_codes)
      << "so does removing second factors (a user turning them off while Redis is full)";
  auto gone = e->verify_totp("login", "oom@example.com",
                              test::totp_code(enrolled.secret.view(), std::chrono::system_clock::now()));
  ASSERT_TRUE(gone.has_value()) << gone.error().message;
  EXPECT_EQ(gone->outcome, Outcome::not_found) << "the right authenticator code finds no enrollment";

  ASSERT_FALSE(raw->command_sync({"CONFIG", "SET", "maxmemory", "0"})->is_error());
  EXPECT_EQ(e->verify_otp("login", "oom@example.com", wrong)->attempts_remaining, 3);
  EXPECT_EQ(e->verify_otp("login", "oom@example.com", code.secret.view())->outcome, Outcome::verified);
}

// Recovery codes and authenticator codes under the faults the OTPs are tested under. A full
// Redis refuses every use whole: a wrong code is neither answered nor counted (no free guess),
// the right one is never verified, a regeneration leaves the old set. A paused Redis times the
// call out (sent, so it may take effect): the caller who got the timeout was never told
// "verified", and the code it sent is used when Redis resumes, so no retry verifies it again.
TEST(RedisBudget, SecondFactorsFailClosedWhenRedisIsFullOrPaused) {
  RedisServer server(test::RedisServerOptions{.extra_args = {"--maxmemory-policy", "noeviction"}});
  Config c;
  // (one connection: the timed-out requests and their retries run in the order they were sent)
  c.store_url = server.url() + "?command_timeout_ms=300&pool_size=1";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  Policy p;
  p.recovery_codes = 4;
  c.policies["mfa"] = p;
  auto e = Engine::create(c).value();
  const auto now = [] { return std::chrono::system_clock::now(); };  // Redis runs on this machine's clock
  Result set = e->generate_recovery_codes("mfa", "fault@example.com").value();
  ASSERT_EQ(set.codes.size(), 4u);
  Result enrolled = e->enroll_totp("mfa", "fault@example.com", "Acme").value();
  const std::string wrong_recovery = "ABCDE-FGHJK";
  ASSERT_EQ(e->use_recovery_code("mfa", "fault@example.com", wrong_recovery)->outcome, Outcome::invalid);
  auto wrong_totp = [&] { return test::totp_code(enrolled.secret.view(), now()) == "000000" ? "111111" : "000000"; };
  // A set-up begun before the fault, to be confirmed under it (a second identifier: a confirm
  // replaces the enrollment the checks above use).
  Result pending = e->begin_totp_enrollment("mfa", "setup@example.com", "Acme").value();
  auto wrong_setup = [&] { return test::totp_code(pending.secret.view(), now()) == "000000" ? "111111" : "000000"; };

  auto raw = redis::Client::connect(redis::parse_endpoint(server.url()).value()).value();
  ASSERT_FALSE(raw->command_sync({"CONFIG", "SET", "maxmemory", "1"})->is_error());  // full from now on
  for (int i = 0; i < 20; ++i) {
    auto r = e->use_recovery_code("mfa", "fault@example.com", wrong_recovery);
    ASSERT_FALSE(r.has_value()) << "wrong recovery code " << i << " was answered: " << to_string(r->outcome);
    auto t = e->verify_totp("mfa", "fault@example.com", wrong_totp());
    ASSERT_FALSE(t.has_value()) << "wrong authenticator code " << i << " was answered: " << to_string(t->outcome);
    auto s = e->confirm_totp_enrollment("mfa", "setup@example.com", pending.pending.view(), wrong_setup());
    ASSERT_FALSE(s.has_value()) << "wrong confirming code " << i << " was answered: " << to_string(s->outcome);
    EXPECT_EQ(s.error().code, Errc::store_unavailable) << s.error().message;
  }
  auto right_setup = e->confirm_totp_enrollment("mfa", "setup@example.com", pending.pending.view(),
                                                test::totp_code(pending.secret.view(), now()));
  ASSERT_FALSE(right_setup.has_value()) << "a right confirming code is refused under OOM, never verified";
  EXPECT_EQ(right_setup.error().code, Errc::store_unavailable);
  auto right = e->use_recovery_code("mfa", "fault@example.com", set.codes[0].view());
  ASSERT_FALSE(right.has_value()) << "a right recovery code is refused under OOM, never verified";
  EXPECT_EQ(right.error().code, Errc::store_unavailable);
  auto right_totp = e->verify_totp("mfa", "fault@example.com", test::totp_code(enrolled.secret.view(), now()));
  ASSERT_FALSE(right_totp.has_value()) << "a right authenticator code is refused under OOM, never verified";
  ASSERT_FALSE(e->generate_recovery_codes("mfa", "fault@example.com").has_value()) << "no new set under OOM";
  ASSERT_FALSE(raw->command_sync({"CONFIG", "SET", "maxmemory", "0"})->is_error());
  EXPECT_EQ(e->inspect("mfa", "fault@example.com")->counters->failures, 1) << "no refused guess was counted";
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "fault@example.com").value(), 4) << "the old set is whole";
  EXPECT_EQ(e->inspect("mfa", "setup@example.com")->counters->failures, 0) << "no refused confirmation was counted";
  EXPECT_EQ(e->verify_totp("mfa", "setup@example.com", test::totp_code(pending.secret.view(), now()))->outcome,
            Outcome::not_found)
      << "and none enrolled the pending secret";
  auto before_pause = e->begin_totp_enrollment("mfa", "paused@example.com", "Acme").value();
  EXPECT_EQ(e->use_recovery_code("mfa", "fault@example.com", set.codes[0].view())->outcome, Outcome::verified);
  const std::string code_now = test::totp_code(enrolled.secret.view(), now());
  auto once = e->verify_totp("mfa", "fault@example.com", code_now);
  ASSERT_TRUE(once.has_value()) << once.error().message;
  EXPECT_EQ(once->outcome, Outcome::verified);

  server.pause();
  auto late = e->use_recovery_code("mfa", "fault@example.com", set.codes[1].view());
  ASSERT_FALSE(late.has_value()) << "answered by a paused Redis: " << to_string(late->outcome);
  EXPECT_EQ(late.error().code, Errc::timeout);
  const std::string next_code = test::totp_code(enrolled.secret.view(), now(), 1);  // the window takes the next step
  auto late_totp = e->verify_totp("mfa", "fault@example.com", next_code);
  ASSERT_FALSE(late_totp.has_value()) << "answered by a paused Redis: " << to_string(late_totp->outcome);
  EXPECT_EQ(late_totp.error().code, Errc::timeout);
  const std::string paused_code = test::totp_code(before_pause.secret.view(), now());
  auto late_setup = e->confirm_totp_enrollment("mfa", "paused@example.com", before_pause.pending.view(), paused_code);
  ASSERT_FALSE(late_setup.has_value()) << "answered by a paused Redis: " << to_string(late_setup->outcome);
  EXPECT_EQ(late_setup.error().code, Errc::timeout);
  server.resume();
  // The timed-out recovery code reached Redis and was used when it resumed (the connection was
  // kept, so the retry runs after it): the retry is refused as a reuse.
  EXPECT_EQ(e->use_recovery_code("mfa", "fault@example.com", set.codes[1].view())->outcome, Outcome::invalid);
  EXPECT_EQ(e->recovery_codes_remaining("mfa", "fault@example.com").value(), 2);
  // An authenticator check is two steps (load the sealed secret, then record the step): the
  // timed-out one stopped after its first, so the code may verify once on a retry, never twice.
  auto retry = e->verify_totp("mfa", "fault@example.com", next_code);
  ASSERT_TRUE(retry.has_value()) << retry.error().message;
  EXPECT_TRUE(retry->outcome == Outcome::verified || retry->outcome == Outcome::invalid) << to_string(retry->outcome);
  EXPECT_EQ(e->verify_totp("mfa", "fault@example.com", next_code)->outcome, Outcome::invalid) << "a replay";
  EXPECT_EQ(e->use_recovery_code("mfa", "fault@example.com", set.codes[2].view())->outcome, Outcome::verified);
  // A confirmation is two steps too (load, then the atomic confirm): the timed-out one stopped
  // after its first, so a retry may confirm; once confirmed, the same pending text never again.
  auto setup_retry = e->confirm_totp_enrollment("mfa", "paused@example.com", before_pause.pending.view(), paused_code);
  ASSERT_TRUE(setup_retry.has_value()) << setup_retry.error().message;
  EXPECT_TRUE(setup_retry->outcome == Outcome::verified || setup_retry->outcome == Outcome::not_found)
      << to_string(setup_retry->outcome);
  auto setup_again = e->confirm_totp_enrollment("mfa", "paused@example.com", before_pause.pending.view(),
                                                test::totp_code(before_pause.secret.view(), now(), 1));
  ASSERT_TRUE(setup_again.has_value()) << setup_again.error().message;
  EXPECT_EQ(setup_again->outcome, Outcome::not_found) << "a pending enrollment confirms once";
  EXPECT_EQ(e->verify_totp("mfa", "paused@example.com", paused_code)->outcome, Outcome::invalid)
      << "the confirming code's step is never accepted at sign-in";
}

}  // namespace
}  // namespace verikit

#include <future>

namespace verikit {
namespace {

// A synchronous call made inside a completion (on the Redis client's own thread) would wait for
// itself forever: it fails at once instead, and the asynchronous forms still work there.
TEST(RedisBudget, ASynchronousCallInsideACompletionFailsFastInsteadOfHanging) {
  RedisServer server;
  Config c;
  c.store_url = server.url();
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  auto e = Engine::create(c).value();
  std::promise<std::pair<Errc, Outcome>> seen;
  auto result = seen.get_future();
  e->issue_otp("login", "inner@example.com", IssueOptions{}, [&](Expected<Result> r) {
    ASSERT_TRUE(r.has_value());
    auto inner = e->inspect("login", "inner@example.com");  // synchronous, on the I/O thread
    const Errc code = inner ? Errc::ok : inner.error().code;
    e->inspect("login", "inner@example.com", [&, code](Expected<Result> again) {  // asynchronous: fine
      seen.set_value({code, again ? again->outcome : Outcome::not_found});
    });
  });
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "the I/O thread hung";
  const auto [code, outcome] = result.get();
  EXPECT_EQ(code, Errc::invalid_argument);
  EXPECT_EQ(outcome, Outcome::valid);
  EXPECT_EQ(e->inspect("login", "inner@example.com")->outcome, Outcome::valid) << "from another thread it waits";
}

}  // namespace
}  // namespace verikit

namespace verikit {
namespace {

// A primary and its replica, ready when the replica acknowledges a write (online, done loading).
struct Replicated {
  RedisServer master{test::RedisServerOptions{.extra_args = {"--repl-diskless-sync-delay", "0"}}};
  RedisServer replica{test::RedisServerOptions{.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())}}};
  bool ready() {
    for (int i = 0; i < 100; ++i) {
      master.cli("SET warm-up 1");
      if (master.cli("WAIT 1 100").find('1') != std::string::npos) return true;
    }
    return false;
  }
};

// Durability: with wait_replicas, a consumed code or a counted guess waits for the replica, and
// the result says how many confirmed; a replica that stops answering is reported, not hidden.
TEST(RedisBudget, DurabilityWaitsForReplicasAndSaysWhenTheyDidNotConfirm) {
  Replicated pair;
  RedisServer& master = pair.master;
  RedisServer& replica = pair.replica;
  ASSERT_TRUE(pair.ready()) << "the replica never acknowledged a write\n" << master.cli("INFO replication");
  Config c;
  c.store_url = master.url() + "?wait_replicas=1&wait_timeout_ms=3000";  // generous: a busy machine
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.default_policy = without_abuse_controls(c.default_policy);
  auto e = Engine::create(c).value();

  Result code = e->issue_otp("login", "dur@example.com").value();
  const std::string wrong = std::string(code.secret.view()) == "111111" ? "222222" : "111111";
  Result counted = e->verify_otp("login", "dur@example.com", wrong).value();
  EXPECT_EQ(counted.outcome, Outcome::invalid);
  EXPECT_EQ(counted.replicas_confirmed, 1) << "the counted guess reached the replica";
  Result token = e->issue_token("confirm", "dur@example.com").value();
  EXPECT_EQ(e->peek_token(token.secret.view(), "confirm")->replicas_confirmed, -1) << "a peek writes nothing";
  EXPECT_EQ(e->verify_token(token.secret.view(), "confirm")->replicas_confirmed, 1);

  // Writes whose answer is a flag or a count wait too (a healthy replica: answered as usual).
  EXPECT_EQ(e->revoke_otp("login", "none@example.com").value(), false) << "nothing live: nothing to confirm";
  Result revocable = e->issue_token("confirm", "rev@example.com").value();
  Result linked = e->issue_link("confirm", "rev@example.com", "https://e.com/m").value();
  EXPECT_EQ(e->revoke_link(linked.secret.view()).value(), true);
  EXPECT_EQ(e->generate_recovery_codes("mfa", "rev@example.com")->replicas_confirmed, 1);
  EXPECT_EQ(e->enroll_totp("mfa", "rev@example.com", "Acme")->replicas_confirmed, 1);
  Result to_revoke = e->issue_otp("login", "rev@example.com").value();

  Config impatient = c;
  impatient.store_url = master.url() + "?wait_replicas=1&wait_timeout_ms=300";
  auto e300 = Engine::create(impatient).value();
  replica.pause();  // the replica stops acknowledging
  const auto t0 = std::chrono::steady_clock::now();
  Result consumed = e300->verify_otp("login", "dur@example.com", code.secret.view()).value();
  const auto took = std::chrono::steady_clock::now() - t0;
  // Their answers cannot say how many replicas confirmed: one that changed something and was not
  // confirmed fails with a timeout (it took effect on the master; a failover could undo it).
  auto failure = [](auto r) -> std::optional<Error> {
    if (r.has_value()) return std::nullopt;
    return r.error();
  };
  const std::pair<const char*, std::optional<Error>> unconfirmed[] = {
      {"revoke_token", failure(e300->revoke_token(revocable.secret.view()))},
      {"revoke_otp", failure(e300->revoke_otp("login", "rev@example.com"))},
      {"revoke_second_factors", failure(e300->revoke_second_factors("mfa", "rev@example.com"))}};
  for (const auto& [what, error] : unconfirmed) {
    ASSERT_TRUE(error.has_value()) << what << " was answered while the replica was stopped";
    EXPECT_EQ(error->code, Errc::timeout) << what << ": " << error->message;
    EXPECT_NE(error->message.find("took effect on the Redis primary"), std::string::npos) << error->message;
  }
  EXPECT_EQ(e300->revoke_all("login", "nobody@example.com").value(), 0) << "a revocation of nothing changes nothing";
  // A new set of recovery codes and an enrollment replace the user's: they are shown whatever
  // the count (failing them would leave the user with neither), and say how many confirmed.
  Result new_set = e300->generate_recovery_codes("mfa", "rev2@example.com").value();
  EXPECT_EQ(new_set.outcome, Outcome::issued);
  EXPECT_EQ(new_set.replicas_confirmed, 0);
  Result new_secret = e300->enroll_totp("mfa", "rev2@example.com", "Acme").value();
  EXPECT_EQ(new_secret.outcome, Outcome::issued);
  EXPECT_EQ(new_secret.replicas_confirmed, 0);
  replica.resume();
  EXPECT_EQ(e->verify_token(revocable.secret.view(), "confirm")->outcome, Outcome::not_found) << "revoked on the master";
  EXPECT_EQ(e->verify_otp("login", "rev@example.com", to_revoke.secret.view())->outcome, Outcome::not_found);
  EXPECT_EQ(consumed.outcome, Outcome::verified) << "the code was consumed on the master";
  EXPECT_EQ(consumed.replicas_confirmed, 0) << "and the result says no replica confirmed it";
  EXPECT_GE(took, std::chrono::milliseconds(290)) << "it waited for the replica";
  EXPECT_LT(took, std::chrono::milliseconds(2000)) << "no longer than wait_timeout_ms (plus the command)";

  // A replica that stays stopped: after the first WAIT that fell short, WAITs are short for a
  // second at a time (then one full one looks again), so the traffic keeps moving and each answer
  // still says no replica confirmed it. Without that, each of these 40 would hold the connection
  // for the whole 300 ms: 12 s.
  Config one_connection = impatient;
  one_connection.store_url = master.url() + "?wait_replicas=1&wait_timeout_ms=300&pool_size=1&command_timeout_ms=5000";
  auto e1 = Engine::create(one_connection).value();
  replica.pause();
  Result first_short = e1->issue_otp("login", "stopped@example.com").value();
  const std::string stopped_wrong = std::string(first_short.secret.view()) == "111111" ? "222222" : "111111";
  ASSERT_EQ(e1->verify_otp("login", "stopped@example.com", stopped_wrong)->replicas_confirmed, 0);  // the full wait
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    Result r = e1->issue_otp("login", "stopped" + std::to_string(i) + "@example.com").value();
    auto v = e1->verify_otp("login", "stopped" + std::to_string(i) + "@example.com", r.secret.view());
    ASSERT_TRUE(v.has_value()) << i << ": " << v.error().message;
    EXPECT_EQ(v->outcome, Outcome::verified);
    EXPECT_EQ(v->replicas_confirmed, 0) << "honest: the replica is stopped";
  }
  const auto forty = std::chrono::steady_clock::now() - t1;
  EXPECT_LT(forty, std::chrono::seconds(6)) << "each verification held the connection for the whole wait";
  replica.resume();
  int confirmed = 0;
  for (int i = 0; i < 100 && confirmed != 1; ++i) {  // the next full WAIT, at most a second on, sees it back
    Result r = e1->issue_otp("login", "back" + std::to_string(i) + "@example.com").value();
    confirmed = e1->verify_otp("login", "back" + std::to_string(i) + "@example.com", r.secret.view())->replicas_confirmed;
    if (confirmed != 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(confirmed, 1) << "once the replica runs again, its acknowledgements are counted again";

  Config off = c;
  off.store_url = master.url();
  auto plain = Engine::create(off).value();
  Result again = plain->issue_otp("login", "nodur@example.com").value();
  EXPECT_EQ(plain->verify_otp("login", "nodur@example.com", again.secret.view())->replicas_confirmed, -1);
}

// After a WAIT that fell short, verifications wait only briefly for a second (an absent replica
// must not hold every connection), but the writes whose shortfall is an error (revocations) or
// that replace a second factor wait the whole wait_timeout all the same: a replica that is slow,
// not gone, confirms them. Shortened like a verification, the revocation here would have failed
// with a timeout after 10 ms, and the new recovery codes would have said 0 confirmed.
TEST(RedisBudget, AfterAShortfallRevocationsAndNewFactorsStillWaitTheWholeTimeout) {
  Replicated pair;
  ASSERT_TRUE(pair.ready()) << "the replica never acknowledged a write\n" << pair.master.cli("INFO replication");
  Config c;
  c.store_url = pair.master.url() + "?wait_replicas=1&wait_timeout_ms=1500&pool_size=1&command_timeout_ms=10000";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.default_policy = without_abuse_controls(c.default_policy);
  auto e = Engine::create(c).value();
  using std::chrono::milliseconds;
  using Clock = std::chrono::steady_clock;
  Result to_revoke = e->issue_otp("login", "slow@example.com").value();
  int round = 0;
  // The replica stops; a counted guess waits the whole 1.5 s and is confirmed by none (the
  // shortfall); a verification right after is answered within the short wait.
  auto shortfall = [&] {
    pair.replica.pause();
    const std::string who = "gone" + std::to_string(round++) + "@example.com";
    Result miss = e->issue_otp("login", who).value();
    const std::string wrong = std::string(miss.secret.view()) == "111111" ? "222222" : "111111";
    EXPECT_EQ(e->verify_otp("login", who, wrong)->replicas_confirmed, 0);
    Result quick = e->issue_otp("login", "quick" + who).value();
    const auto t0 = Clock::now();
    EXPECT_EQ(e->verify_otp("login", "quick" + who, quick.secret.view())->replicas_confirmed, 0);
    EXPECT_LT(Clock::now() - t0, milliseconds(700)) << "the verification was not shortened: the test shows nothing";
  };
  // `write`, with the replica back 200 ms into it (slow, not gone); how long it took.
  auto with_slow_replica = [&](auto write) {
    std::thread waker([&] {
      std::this_thread::sleep_for(milliseconds(200));
      pair.replica.resume();
    });
    const auto t0 = Clock::now();
    auto r = write();
    const auto took = Clock::now() - t0;
    waker.join();
    EXPECT_GE(took, milliseconds(150)) << "it did not wait for the replica";
    return r;
  };

  shortfall();
  auto revoked = with_slow_replica([&] { return e->revoke_otp("login", "slow@example.com"); });
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
  EXPECT_TRUE(*revoked);
  EXPECT_EQ(e->verify_otp("login", "slow@example.com", to_revoke.secret.view())->outcome, Outcome::not_found);

  shortfall();
  auto codes = with_slow_replica([&] { return e->generate_recovery_codes("mfa", "slow@example.com"); });
  ASSERT_TRUE(codes.has_value()) << codes.error().message;
  EXPECT_EQ(codes->replicas_confirmed, 1) << "the slow replica acknowledged the new set within wait_timeout_ms";
}

}  // namespace
}  // namespace verikit

namespace verikit {
namespace {

// The client's command-then-WAIT pair: one request, two replies on one connection, delivered
// together; timed out, both late replies are matched and dropped, and the connection goes on.
TEST(RedisBudget, CommandThenWaitIsOneRequestOfTwoReplies) {
  RedisServer server;
  auto endpoint = redis::parse_endpoint(server.url() + "?command_timeout_ms=200&pool_size=1").value();
  auto client = redis::Client::connect(endpoint).value();
  std::promise<Expected<redis::Reply>> first;
  const std::string_view set[] = {"SET", "k", "v"};
  client->command_then_wait(set, 0, std::chrono::milliseconds(10), [&](Expected<redis::Reply> r) { first.set_value(std::move(r)); });
  auto r = first.get_future().get();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->type, redis::Reply::Type::array);
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].str, "OK");
  EXPECT_EQ(r->elements[1].type, redis::Reply::Type::integer);
  EXPECT_EQ(r->elements[1].integer, 0) << "no replicas";

  server.pause();
  std::vector<std::promise<Errc>> timed(3);
  for (auto& p : timed) {
    const std::string_view incr[] = {"INCR", "n"};
    client->command_then_wait(incr, 0, std::chrono::milliseconds(10),
                              [&p](Expected<redis::Reply> x) { p.set_value(x ? Errc::ok : x.error().code); });
  }
  for (auto& p : timed) EXPECT_EQ(p.get_future().get(), Errc::timeout) << "sent: may have taken effect";
  server.resume();
  auto after = client->command_sync({"GET", "n"});
  ASSERT_TRUE(after.has_value()) << after.error().message;
  EXPECT_EQ(after->str, "3") << "the late pairs ran, their six replies were dropped, and the next reply is GET's";
}

}  // namespace
}  // namespace verikit
