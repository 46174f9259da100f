// A connection that breaks part way through a request of a script call and its WAIT
// (wait_replicas): the script's bytes all written, the WAIT's cut. Redis runs the script, so the
// call must fail as one that may have run (a timeout, never sent again), not as "not sent" (which
// a Cluster sends again: a guess counted twice, the user's right code answered not_found, a
// revocation's shortfall hidden; found by a review with an LD_PRELOAD shim).
//
// This program interposes send() (its own program, as capi_oom_tests replaces operator new): when
// armed, the next request that holds a script call and a WAIT is handed to the kernel up to
// `cut_at` bytes from where its WAIT starts (10: into the WAIT; 0: the script's last byte; -5:
// inside the script, which Redis then never runs); the send of the rest waits 300 ms (Redis runs
// what it has whole) and fails with ECONNRESET.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <thread>

#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "verikit/verikit.hpp"

namespace {
std::atomic<bool> armed{false};
std::atomic<int> broken_fd{-1};
std::atomic<int> cuts{0};
std::atomic<long> cut_at{10};
}  // namespace

extern "C" ssize_t send(int fd, const void* buf, size_t n, int flags) {
  using Send = ssize_t (*)(int, const void*, size_t, int);
  static const Send real = reinterpret_cast<Send>(dlsym(RTLD_NEXT, "send"));
  if (fd == broken_fd.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    broken_fd = -1;
    errno = ECONNRESET;
    return -1;
  }
  if (armed.load()) {
    const std::string_view bytes(static_cast<const char*>(buf), n);
    const auto wait = bytes.find("*3\r\n$4\r\nWAIT\r\n");
    const bool script = bytes.find("FCALL") != std::string_view::npos || bytes.find("EVAL") != std::string_view::npos;
    if (wait != std::string_view::npos && script && armed.exchange(false)) {
      const ssize_t w = real(fd, buf, static_cast<size_t>(static_cast<long>(wait) + cut_at.load()), flags);
      broken_fd = fd;
      ++cuts;
      return w;
    }
  }
  return real(fd, buf, n, flags);
}

namespace verikit {
namespace {

std::string wrong_for(const Result& code) { return std::string(code.secret.view()) == "111111" ? "222222" : "111111"; }

// Each kind of call the cut can land in: a right code (consumed by the script), a wrong guess
// (counted by it), a revocation (done by it). Cut at or after the script's last byte, each fails
// as a timeout and took effect once. Cut inside the script, Redis ran nothing: on one server the
// call fails as not sent (changing nothing); a Cluster's router sends it again, so it is answered
// as if nothing had happened (verified, counted once, revoked).
void cut_calls(const std::string& url, const std::string& tag, long at, bool resent_when_unsent) {
  Config c;
  c.store_url = url + (url.find('?') == std::string::npos ? "?" : "&") +
                "wait_replicas=1&wait_timeout_ms=50&pool_size=1&command_timeout_ms=5000";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.key_prefix = "cut" + std::to_string(at + 100);  // (a key of its own: a prefix of its own)
  c.default_policy = without_abuse_controls(c.default_policy);
  c.default_policy.max_attempts = 5;
  auto e = Engine::create(c).value();
  const bool ran = at >= 0;
  const std::string where = tag + " (cut at " + std::to_string(at) + ")";
  auto cut = [&](auto call) {
    const int before = cuts.load();
    cut_at = at;
    armed = true;
    auto r = call();
    armed = false;
    EXPECT_EQ(cuts.load(), before + 1) << where << ": the request was not cut (the test shows nothing)";
    return r;
  };
  // A call Redis may have run fails as a timeout; one it did not run fails as not sent, or is
  // sent again by a Cluster and answered (`answered` checks the answer).
  auto check = [&](const auto& r, const char* what, auto answered) {
    if (ran || !resent_when_unsent) {
      ASSERT_FALSE(r.has_value()) << where << " " << what << ": answered although its connection broke";
      EXPECT_EQ(r.error().code, ran ? Errc::timeout : Errc::store_unavailable) << where << " " << what << ": "
                                                                                 << r.error().message;
    } else {
      ASSERT_TRUE(r.has_value()) << where << " " << what << ": not sent again: " << r.error().message;
      answered(*r);
    }
  };
  const bool took_effect = ran || resent_when_unsent;

  const Result right = e->issue_otp("login", tag + "right@example.com").value();
  check(cut([&] { return e->verify_otp("login", tag + "right@example.com", right.secret.view()); }), "right code",
        [](const Result& r) { EXPECT_EQ(r.outcome, Outcome::verified); });
  EXPECT_EQ(e->inspect("login", tag + "right@example.com")->outcome, took_effect ? Outcome::not_found : Outcome::valid)
      << where;

  const Result guessed = e->issue_otp("login", tag + "wrong@example.com").value();
  check(cut([&] { return e->verify_otp("login", tag + "wrong@example.com", wrong_for(guessed)); }), "wrong guess",
        [](const Result& r) { EXPECT_EQ(r.outcome, Outcome::invalid); });
  Result left = e->inspect("login", tag + "wrong@example.com").value();
  EXPECT_EQ(left.outcome, Outcome::valid);
  EXPECT_EQ(left.attempts_remaining, took_effect ? 4 : 5) << where << ": the guess counted once, or not at all";
  EXPECT_EQ(e->verify_otp("login", tag + "wrong@example.com", guessed.secret.view())->outcome, Outcome::verified);

  const Result revoked = e->issue_otp("login", tag + "revoked@example.com").value();
  auto revocation = cut([&] { return e->revoke_otp("login", tag + "revoked@example.com"); });
  if (ran || !resent_when_unsent) {
    ASSERT_FALSE(revocation.has_value()) << where << " revocation: answered although its connection broke";
    EXPECT_EQ(revocation.error().code, ran ? Errc::timeout : Errc::store_unavailable) << revocation.error().message;
  } else {  // sent again: it revoked, and no replica acknowledged it (none here): a timeout
    ASSERT_FALSE(revocation.has_value()) << where << " revocation: answered without the replica's acknowledgement";
    EXPECT_EQ(revocation.error().code, Errc::timeout) << revocation.error().message;
  }
  EXPECT_EQ(e->verify_otp("login", tag + "revoked@example.com", revoked.secret.view())->outcome,
            took_effect ? Outcome::not_found : Outcome::verified)
      << where;
}

TEST(WriteCut, AScriptWrittenWholeBeforeItsWaitWasCutMayHaveRun) {
  test::RedisServer server;
  cut_calls(server.url(), "single-in-wait-", 10, false);
  cut_calls(server.url(), "single-at-end-", 0, false);
  cut_calls(server.url(), "single-in-script-", -5, false);
}

// On a Cluster a request that was not sent is sent again (after a pause): one cut after its
// script must not be; one cut inside it is.
TEST(WriteCut, OnAClusterAScriptWrittenWholeIsNotSentAgain) {
  test::RedisCluster cluster(test::RedisClusterOptions{.primaries = 3, .replicas_per_primary = 0});
  cut_calls(cluster.url(), "cluster-in-wait-", 10, true);
  cut_calls(cluster.url(), "cluster-at-end-", 0, true);
  cut_calls(cluster.url(), "cluster-in-script-", -5, true);
}

}  // namespace
}  // namespace verikit
