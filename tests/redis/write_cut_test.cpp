// A connection that breaks part way through a request of a script call and its WAIT
// (wait_replicas): the script's bytes all written, the WAIT's cut. Redis runs the script, so the
// call must fail as one that may have run (a timeout, never sent again), not as "not sent" (which
// a Cluster sends again: a guess counted twice, the user's right code answered not_found, a
// revocation's shortfall hidden; found by a review with an LD_PRELOAD shim).
//
// This program interposes send() (its own program, as capi_oom_tests replaces operator new): when
// armed, the next request that holds a script call and a WAIT is handed to the kernel up to 10
// bytes into its WAIT; the send of the rest waits 300 ms (Redis runs the script) and fails with
// ECONNRESET.
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
      const ssize_t w = real(fd, buf, wait + 10, flags);
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
// (counted by it), a revocation (done by it); each fails as a timeout and took effect once.
void cut_calls_fail_as_may_have_run(const std::string& url, const std::string& tag) {
  Config c;
  c.store_url = url + (url.find('?') == std::string::npos ? "?" : "&") +
                "wait_replicas=1&wait_timeout_ms=50&pool_size=1&command_timeout_ms=5000";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.default_policy = without_abuse_controls(c.default_policy);
  c.default_policy.max_attempts = 5;
  auto e = Engine::create(c).value();
  auto cut = [&](auto call) {
    const int before = cuts.load();
    armed = true;
    auto r = call();
    armed = false;
    EXPECT_EQ(cuts.load(), before + 1) << tag << ": the request was not cut (the test shows nothing)";
    return r;
  };
  auto may_have_run = [&](const auto& r, const char* what) {
    ASSERT_FALSE(r.has_value()) << tag << " " << what << ": answered although its connection broke";
    EXPECT_EQ(r.error().code, Errc::timeout) << tag << " " << what << ": " << r.error().message;
  };

  const Result right = e->issue_otp("login", tag + "right@example.com").value();
  may_have_run(cut([&] { return e->verify_otp("login", tag + "right@example.com", right.secret.view()); }), "right code");
  EXPECT_EQ(e->inspect("login", tag + "right@example.com")->outcome, Outcome::not_found) << tag << ": consumed once";

  const Result guessed = e->issue_otp("login", tag + "wrong@example.com").value();
  may_have_run(cut([&] { return e->verify_otp("login", tag + "wrong@example.com", wrong_for(guessed)); }), "wrong guess");
  Result left = e->inspect("login", tag + "wrong@example.com").value();
  EXPECT_EQ(left.outcome, Outcome::valid);
  EXPECT_EQ(left.attempts_remaining, 4) << tag << ": the guess was counted once, not again";
  EXPECT_EQ(e->verify_otp("login", tag + "wrong@example.com", guessed.secret.view())->outcome, Outcome::verified);

  const Result revoked = e->issue_otp("login", tag + "revoked@example.com").value();
  may_have_run(cut([&] { return e->revoke_otp("login", tag + "revoked@example.com"); }), "revocation");
  EXPECT_EQ(e->verify_otp("login", tag + "revoked@example.com", revoked.secret.view())->outcome, Outcome::not_found);
}

TEST(WriteCut, AScriptWrittenWholeBeforeItsWaitWasCutMayHaveRun) {
  test::RedisServer server;
  cut_calls_fail_as_may_have_run(server.url(), "single-");
}

// On a Cluster a request that was not sent is sent again (after a pause): one cut after its
// script must not be.
TEST(WriteCut, OnAClusterAScriptWrittenWholeIsNotSentAgain) {
  test::RedisCluster cluster(test::RedisClusterOptions{.primaries = 3, .replicas_per_primary = 0});
  cut_calls_fail_as_may_have_run(cluster.url(), "cluster-");
}

}  // namespace
}  // namespace verikit
