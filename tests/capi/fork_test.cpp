// C API after fork() (gunicorn --preload, uWSGI, Celery prefork, multiprocessing): an engine
// made before the fork keeps working in every child and in the parent. On Redis (a single
// server, and a Cluster) each child makes its own connections on first use: every call
// completes (a child that hangs is killed after 10 s, and that fails the test), and codes
// issued by one process verify in another exactly once; on file:// (LMDB) each child opens its own
// environment on first use, with the same guarantees. On memory:// a child's calls fail
// clearly (VERIKIT_E_UNSUPPORTED, naming the fix) and freeing the engine there does not hang.
// An engine with an event handler delivers the child's own events in the child.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "verikit.h"

namespace {

using namespace std::chrono_literals;

constexpr auto kChildLimit = 10s;  // a child still running then is hung: killed, and a failure

verikit_engine* make_engine(const std::string& url, verikit_event_handler handler = nullptr, void* user = nullptr) {
  verikit_config* c = nullptr;
  EXPECT_EQ(verikit_config_new(&c), VERIKIT_OK);
  EXPECT_EQ(verikit_config_set_store(c, url.c_str()), VERIKIT_OK);
  uint8_t key[VERIKIT_KEY_BYTES] = {7};
  EXPECT_EQ(verikit_config_set_key(c, 1, key, sizeof key), VERIKIT_OK);
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.flags = VERIKIT_POLICY_NO_COOLDOWN | VERIKIT_POLICY_NO_SEND_LIMIT | VERIKIT_POLICY_NO_LOCKOUT |
            VERIKIT_POLICY_NO_CLIENT_LIMITS | VERIKIT_POLICY_NO_ACTIVE_CAP;
  EXPECT_EQ(verikit_config_set_default_policy(c, &p), VERIKIT_OK);
  if (handler != nullptr) EXPECT_EQ(verikit_config_set_event_handler(c, handler, user), VERIKIT_OK);
  verikit_engine* e = nullptr;
  EXPECT_EQ(verikit_engine_new(&e, c), VERIKIT_OK) << verikit_error_message();
  verikit_config_free(c);
  return e;
}

// One call's outcome: the C error code, the status (when rc is VERIKIT_OK) and the secret.
struct Call {
  int rc = -100;
  int status = -1;
  std::string secret;
  std::string message;
};

Call done(int rc, verikit_result* r) {
  Call c;
  c.rc = rc;
  if (rc == VERIKIT_OK) {
    verikit_result_status(r, &c.status);
    const char* d = nullptr;
    size_t n = 0;
    if (verikit_result_secret(r, &d, &n) == VERIKIT_OK && d != nullptr) c.secret.assign(d, n);
  } else {
    c.message = verikit_error_message();
  }
  verikit_result_free(r);
  return c;
}

Call issue(verikit_engine* e, const std::string& id) {
  verikit_result* r = nullptr;
  const int rc = verikit_otp_issue(&r, e, "login", id.data(), id.size(), nullptr);
  return done(rc, r);
}

Call verify(verikit_engine* e, const std::string& id, const std::string& code) {
  verikit_result* r = nullptr;
  const int rc = verikit_otp_verify(&r, e, "login", id.data(), id.size(), code.data(), code.size(), nullptr);
  return done(rc, r);
}

// A forked child: runs `body` (which writes "name value" lines to `out`) and exits with its
// return value, skipping the parent's destructors and atexit handlers (_exit).
struct Child {
  pid_t pid = -1;
  int read_fd = -1;
  std::string output;
  int status = -1;  // exit code; -1: killed (hung) or crashed
};

Child start_child(const std::function<int(FILE*)>& body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::close(fds[0]);
    FILE* out = ::fdopen(fds[1], "w");
    int code = 99;
    try {
      code = body(out);
    } catch (...) {
      code = 98;
    }
    std::fflush(out);
    std::fflush(stderr);
    ::_exit(code);
  }
  ::close(fds[1]);
  c.read_fd = fds[0];
  return c;
}

// Waits for every child, reading their output as it comes; one still running after
// kChildLimit is killed (SIGKILL) and reported as hung.
void finish(std::vector<Child>& children) {
  const auto deadline = std::chrono::steady_clock::now() + kChildLimit;
  for (auto& c : children) {
    for (;;) {
      pollfd p{c.read_fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100))) > 0) {
        char buf[4096];
        const ssize_t n = ::read(c.read_fd, buf, sizeof buf);
        if (n <= 0) break;  // end of output: the child has exited (or closed it)
        c.output.append(buf, static_cast<std::size_t>(n));
      }
    }
    ::close(c.read_fd);
    int ws = 0;
    pid_t got = 0;
    while ((got = ::waitpid(c.pid, &ws, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    if (got == 0) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &ws, 0);
      ADD_FAILURE() << "child " << c.pid << " hung (killed after " << kChildLimit.count() << " s); output: " << c.output;
      continue;
    }
    c.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    EXPECT_EQ(c.status, 0) << "child " << c.pid << " failed; output: " << c.output;
  }
}

// The "name value" lines of a child's output.
std::multimap<std::string, std::string> lines(const std::string& text) {
  std::multimap<std::string, std::string> out;
  std::istringstream in(text);
  std::string name, value;
  while (in >> name >> value) out.emplace(name, value);
  return out;
}

void ignore(void*, int, const char*, verikit_result* r) { verikit_result_free(r); }

// An engine on a shared store (url), used before the fork, by 4 children and by the parent after.
void four_children_and_the_parent(const std::string& url) {
  verikit_engine* e = make_engine(url);
  // Used before the fork: the I/O thread and its connections exist in the parent.
  Call before = issue(e, "parent@x");
  ASSERT_EQ(before.rc, VERIKIT_OK) << before.message;
  ASSERT_EQ(before.status, VERIKIT_STATUS_ISSUED);
  // Codes for the children to verify, and one all four race for.
  std::vector<std::string> for_child;
  for (int i = 0; i < 4; ++i) {
    Call c = issue(e, "pre" + std::to_string(i) + "@x");
    ASSERT_EQ(c.rc, VERIKIT_OK) << c.message;
    for_child.push_back(c.secret);
  }
  Call shared = issue(e, "shared@x");
  ASSERT_EQ(shared.rc, VERIKIT_OK);
  // Calls in flight at the fork are the parent's: the child never sees their callbacks, and
  // freeing the engine there does not wait for them.
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(verikit_otp_issue_async(e, "login", "inflight@x", 10, nullptr, &ignore, nullptr), VERIKIT_OK);

  std::vector<Child> children;
  for (int i = 0; i < 4; ++i) {
    children.push_back(start_child([&, i](FILE* out) {
      int bad = 0;
      // The parent's code for this child, then the shared one.
      const std::string pre = "pre" + std::to_string(i) + "@x";
      Call v = verify(e, pre, for_child[static_cast<std::size_t>(i)]);
      if (v.rc != VERIKIT_OK || v.status != VERIKIT_STATUS_VERIFIED) {
        std::fprintf(stderr, "child %d: verify of the parent's code: rc %d status %d %s\n", i, v.rc, v.status,
                     v.message.c_str());
        ++bad;
      }
      Call s = verify(e, "shared@x", shared.secret);
      if (s.rc != VERIKIT_OK) ++bad;
      std::fprintf(out, "shared %d\n", s.status);
      // Codes for the parent to verify, and a round trip of the child's own.
      for (int k = 0; k < 5; ++k) {
        const std::string id = "child" + std::to_string(i) + "-" + std::to_string(k) + "@x";
        Call c = issue(e, id);
        if (c.rc != VERIKIT_OK || c.status != VERIKIT_STATUS_ISSUED) {
          std::fprintf(stderr, "child %d: issue: rc %d %s\n", i, c.rc, c.message.c_str());
          ++bad;
          continue;
        }
        std::fprintf(out, "%s %s\n", id.c_str(), c.secret.c_str());
      }
      const std::string own = "own" + std::to_string(i) + "@x";
      Call o = issue(e, own);
      Call ov = verify(e, own, o.secret);
      if (ov.rc != VERIKIT_OK || ov.status != VERIKIT_STATUS_VERIFIED) ++bad;
      verikit_engine_free(e);  // joins only the child's own threads
      return bad;
    }));
  }
  finish(children);

  // The parent's engine is undisturbed: its own calls, and the children's codes, once each.
  Call after = issue(e, "parent2@x");
  ASSERT_EQ(after.rc, VERIKIT_OK) << after.message;
  EXPECT_EQ(verify(e, "parent2@x", after.secret).status, VERIKIT_STATUS_VERIFIED);
  int shared_verified = 0, codes = 0;
  std::vector<std::vector<std::string>> sequences;  // each child's five codes, in order
  for (auto& c : children) {
    std::vector<std::string> sequence;
    for (auto& [name, value] : lines(c.output)) {
      if (name == "shared") {
        shared_verified += value == std::to_string(VERIKIT_STATUS_VERIFIED);
        continue;
      }
      ++codes;
      sequence.push_back(value);
      Call first = verify(e, name, value);
      EXPECT_EQ(first.rc, VERIKIT_OK) << first.message;
      EXPECT_EQ(first.status, VERIKIT_STATUS_VERIFIED) << name;
      EXPECT_EQ(verify(e, name, value).status, VERIKIT_STATUS_NOT_FOUND) << name << ": verified twice";
    }
    sequences.push_back(sequence);
  }
  EXPECT_EQ(codes, 4 * 5);
  // Randomness is drawn through a per-thread pool, which a forked child must not reuse: with the
  // parent's pool copied into each child, the children would issue the same first codes. Two
  // children's k-th codes match by chance with probability 1e-6 (two such pairs: 1e-12).
  int same = 0;
  for (std::size_t a = 0; a < sequences.size(); ++a)
    for (std::size_t b = a + 1; b < sequences.size(); ++b)
      for (std::size_t k = 0; k < std::min(sequences[a].size(), sequences[b].size()); ++k)
        same += sequences[a][k] == sequences[b][k];
  EXPECT_LE(same, 1) << "children issued the same codes";
  EXPECT_EQ(shared_verified, 1) << "the code all four children raced for";
  // The children consumed the parent's codes: gone here too.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(verify(e, "pre" + std::to_string(i) + "@x", for_child[static_cast<std::size_t>(i)]).status,
              VERIKIT_STATUS_NOT_FOUND);
  verikit_engine_free(e);
}

TEST(Fork, RedisEngineWorksInFourChildrenAndTheParent) {
  verikit::test::RedisServer server;
  four_children_and_the_parent(server.url());
}

// The file store: each child opens its own LMDB environment on first use (one must not be used
// across fork()); the parent's stays the parent's.
TEST(Fork, FileEngineWorksInFourChildrenAndTheParent) {
  char dir[] = "/tmp/verikit-fork-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  four_children_and_the_parent(std::string("file://") + dir + "?durability=nosync");
  std::filesystem::remove_all(dir);
}

// A child's child: it starts over from the child's state (its link, or its environment).
void child_of_a_child(const std::string& url) {
  verikit_engine* e = make_engine(url);
  ASSERT_EQ(issue(e, "a@x").rc, VERIKIT_OK);
  std::vector<Child> children{start_child([&](FILE* out) {
    if (issue(e, "b@x").rc != VERIKIT_OK) return 1;  // the child's own link
    std::vector<Child> grandchildren{start_child([&](FILE* inner) {
      Call c = issue(e, "c@x");
      if (c.rc != VERIKIT_OK) return 1;
      std::fprintf(inner, "c@x %s\n", c.secret.c_str());
      return 0;
    })};
    finish(grandchildren);
    std::fputs(grandchildren[0].output.c_str(), out);
    return grandchildren[0].status == 0 ? 0 : 1;
  })};
  finish(children);
  auto got = lines(children[0].output);
  ASSERT_EQ(got.count("c@x"), 1u);
  EXPECT_EQ(verify(e, "c@x", got.find("c@x")->second).status, VERIKIT_STATUS_VERIFIED);
  verikit_engine_free(e);
}

TEST(Fork, ChildOfAChildReconnectsToo) {
  verikit::test::RedisServer server;
  child_of_a_child(server.url());
}

TEST(Fork, FileEngineInAChildOfAChild) {
  char dir[] = "/tmp/verikit-fork-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  child_of_a_child(std::string("file://") + dir + "?durability=nosync");
  std::filesystem::remove_all(dir);
}

// Redis Cluster: the child's routed link (a client per primary, the retry thread) is its own.
TEST(Fork, ClusterEngineWorksInAChild) {
  verikit::test::RedisCluster cluster({.primaries = 3, .replicas_per_primary = 0});
  verikit_engine* e = make_engine(cluster.url());
  std::vector<std::string> pre;
  for (int i = 0; i < 8; ++i) {  // spread over the primaries
    Call c = issue(e, "pre" + std::to_string(i) + "@x");
    ASSERT_EQ(c.rc, VERIKIT_OK) << c.message;
    pre.push_back(c.secret);
  }
  std::vector<Child> children{start_child([&](FILE* out) {
    int bad = 0;
    for (int i = 0; i < 8; ++i)
      bad += verify(e, "pre" + std::to_string(i) + "@x", pre[static_cast<std::size_t>(i)]).status !=
             VERIKIT_STATUS_VERIFIED;
    Call c = issue(e, "from-child@x");
    if (c.rc != VERIKIT_OK) return 100;
    std::fprintf(out, "from-child@x %s\n", c.secret.c_str());
    verikit_engine_free(e);
    return bad;
  })};
  finish(children);
  auto got = lines(children[0].output);
  ASSERT_EQ(got.count("from-child@x"), 1u);
  EXPECT_EQ(verify(e, "from-child@x", got.find("from-child@x")->second).status, VERIKIT_STATUS_VERIFIED);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(verify(e, "pre" + std::to_string(i) + "@x", pre[static_cast<std::size_t>(i)]).status,
              VERIKIT_STATUS_NOT_FOUND);
  verikit_engine_free(e);
}

TEST(Fork, MemoryEngineInAChildFailsClearly) {
  verikit_engine* e = make_engine("memory://");
  Call before = issue(e, "a@x");
  ASSERT_EQ(before.rc, VERIKIT_OK);
  std::vector<Child> children{start_child([&](FILE* out) {
    Call c = issue(e, "b@x");
    Call v = verify(e, "a@x", before.secret);  // would "work" on the child's stale copy
    std::fprintf(out, "issue_rc %d\nverify_rc %d\n", c.rc, v.rc);
    const bool named = c.message.find("memory://") != std::string::npos &&
                       c.message.find("create the engine after fork") != std::string::npos &&
                       c.message.find("Redis") != std::string::npos;
    if (!named) std::fprintf(stderr, "message: %s\n", c.message.c_str());
    verikit_engine_free(e);  // the reaper is the parent's: forgotten, not joined
    return named ? 0 : 1;
  })};
  finish(children);
  auto got = lines(children[0].output);
  EXPECT_EQ(got.find("issue_rc")->second, std::to_string(VERIKIT_E_UNSUPPORTED));
  EXPECT_EQ(got.find("verify_rc")->second, std::to_string(VERIKIT_E_UNSUPPORTED));
  // The parent's store is its own and undisturbed: the code is still there, once.
  EXPECT_EQ(verify(e, "a@x", before.secret).status, VERIKIT_STATUS_VERIFIED);
  verikit_engine_free(e);
}

// Events: the parent's dispatcher thread does not exist in the child; the child's first event
// starts the child's own, which delivers the child's events (never the parent's queued ones).
struct Seen {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> names;
  static void on_event(void* user, const verikit_event* ev) {
    auto* s = static_cast<Seen*>(user);
    std::lock_guard<std::mutex> lock(s->m);
    s->names.emplace_back(verikit_event_name(ev));
    s->cv.notify_all();
  }
  bool wait_for(std::size_t n) {  // a condition with a generous bound, not a timing claim
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, 5s, [&] { return names.size() >= n; });
  }
};

TEST(Fork, EventsAreDeliveredInTheChild) {
  verikit::test::RedisServer server;
  Seen seen;
  verikit_engine* e = make_engine(server.url(), &Seen::on_event, &seen);
  Call a = issue(e, "a@x");
  ASSERT_EQ(a.rc, VERIKIT_OK);
  ASSERT_TRUE(seen.wait_for(1));  // the dispatcher thread runs in the parent
  std::vector<Child> children{start_child([&](FILE* out) {
    std::size_t inherited = 0;
    {
      std::lock_guard<std::mutex> lock(seen.m);
      inherited = seen.names.size();
    }
    Call b = issue(e, "b@x");
    if (b.rc != VERIKIT_OK) return 1;
    Call v = verify(e, "b@x", b.secret);
    if (v.status != VERIKIT_STATUS_VERIFIED) return 2;
    if (!seen.wait_for(inherited + 2)) return 3;
    {
      std::lock_guard<std::mutex> lock(seen.m);
      for (std::size_t i = inherited; i < seen.names.size(); ++i) std::fprintf(out, "event %s\n", seen.names[i].c_str());
    }
    verikit_engine_free(e);
    return 0;
  })};
  finish(children);
  auto got = lines(children[0].output);
  std::vector<std::string> names;
  for (auto& [k, v] : got) names.push_back(v);
  EXPECT_EQ(names, (std::vector<std::string>{"otp.issued", "otp.verified"}));
  // The parent's events go on, on its own thread.
  ASSERT_EQ(issue(e, "c@x").rc, VERIKIT_OK);
  EXPECT_TRUE(seen.wait_for(2));
  verikit_engine_free(e);
}

// A completion callback that calls fork(): on Redis it runs on the client's I/O thread, so the
// child gets a copy of that thread, inside the callback, sharing the parent's sockets. When the
// callback returns there, the copy must end: reading on, it would take replies meant for the
// parent (whose calls would then time out) and run the parent's callbacks in the child. The
// child's own calls work (a new link of its own), and freeing the engine there waits only for
// those: the forking callback, counted in by the parent, is not counted out again in the child.
struct ForkingVerifies {
  verikit_engine* engine = nullptr;
  pid_t parent = 0;
  int pipe_w = -1;  // a byte per callback run in the child
  std::atomic<bool> submitted{false};  // every call started (no lock of the test's thread held at the fork)
  std::atomic<bool> forked{false};
  std::atomic<pid_t> child{0};
  std::mutex m;
  std::condition_variable cv;
  int settled = 0, verified = 0, twice = 0;
};
struct ForkingVerify {
  ForkingVerifies* all;
  bool done = false;
};
struct ChildIssue {
  std::mutex m;
  std::condition_variable cv;
  int rc = -100;
  bool done = false;
};

void on_child_issue(void* user, int rc, const char*, verikit_result* r) {
  verikit_result_free(r);
  auto* ci = static_cast<ChildIssue*>(user);
  std::lock_guard<std::mutex> lock(ci->m);
  ci->rc = rc;
  ci->done = true;
  ci->cv.notify_all();
}

void on_forking_verify(void* user, int rc, const char*, verikit_result* r) {
  auto* call = static_cast<ForkingVerify*>(user);
  ForkingVerifies* all = call->all;
  if (::getpid() != all->parent) {  // a callback the child should never have run
    verikit_result_free(r);
    const char c = 'x';
    (void)!::write(all->pipe_w, &c, 1);
    return;
  }
  int status = -1;
  if (rc == VERIKIT_OK) verikit_result_status(r, &status);
  verikit_result_free(r);
  if (!all->forked.exchange(true)) {
    while (!all->submitted.load()) std::this_thread::sleep_for(1ms);  // (the replies queue up meanwhile)
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The child: a call of its own, made and completed before this callback returns.
      static ChildIssue ci;
      if (verikit_otp_issue_async(all->engine, "login", "child@x", 7, nullptr, &on_child_issue, &ci) != VERIKIT_OK) ::_exit(7);
      {
        std::unique_lock<std::mutex> lock(ci.m);
        if (!ci.cv.wait_for(lock, 5s, [&] { return ci.done; }) || ci.rc != VERIKIT_OK) ::_exit(8);
      }
      // Then, once this callback has returned: free the engine (waits for the child's calls
      // only) and end the child.
      verikit_engine* e = all->engine;
      std::thread([e] {
        std::this_thread::sleep_for(300ms);
        verikit_engine_free(e);
        ::_exit(0);
      }).detach();
      return;  // back into the child's copy of the I/O thread
    }
    all->child.store(pid);
  }
  std::lock_guard<std::mutex> lock(all->m);
  if (call->done) ++all->twice;
  call->done = true;
  ++all->settled;
  if (status == VERIKIT_STATUS_VERIFIED) ++all->verified;
  all->cv.notify_all();
}

TEST(Fork, ACallbackThatForksLeavesTheParentsRepliesToTheParent) {
  verikit::test::RedisServer server;
  verikit_engine* e = make_engine(server.url());
  constexpr int kCalls = 200;
  std::vector<std::string> codes;
  for (int i = 0; i < kCalls; ++i) {
    Call c = issue(e, "cb" + std::to_string(i) + "@x");
    ASSERT_EQ(c.rc, VERIKIT_OK) << c.message;
    codes.push_back(c.secret);
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ForkingVerifies all;
  all.engine = e;
  all.parent = ::getpid();
  all.pipe_w = fds[1];
  std::vector<ForkingVerify> calls(kCalls, ForkingVerify{&all});
  for (int i = 0; i < kCalls; ++i) {
    const std::string id = "cb" + std::to_string(i) + "@x";
    // (EXPECT: a failed start must not leave the first callback waiting for `submitted`)
    EXPECT_EQ(verikit_otp_verify_async(e, "login", id.data(), id.size(), codes[static_cast<std::size_t>(i)].data(),
                                       codes[static_cast<std::size_t>(i)].size(), nullptr, &on_forking_verify, &calls[static_cast<std::size_t>(i)]),
              VERIKIT_OK);
  }
  all.submitted.store(true);
  {
    std::unique_lock<std::mutex> lock(all.m);
    EXPECT_TRUE(all.cv.wait_for(lock, 20s, [&] { return all.settled == kCalls; })) << all.settled << " of " << kCalls << " settled";
    EXPECT_EQ(all.verified, kCalls) << "a reply meant for the parent went elsewhere";
    EXPECT_EQ(all.twice, 0);
  }
  ASSERT_GT(all.child.load(), 0);
  int ws = 0;
  pid_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + kChildLimit;
  while ((got = ::waitpid(all.child.load(), &ws, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  if (got == 0) {
    ::kill(all.child.load(), SIGKILL);
    ::waitpid(all.child.load(), &ws, 0);
    ADD_FAILURE() << "the child hung (killed after " << kChildLimit.count() << " s)";
  } else {
    EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "the child's wait status: " << ws;
  }
  ::close(fds[1]);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  char buf[256];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  EXPECT_LE(n, 0) << "the child ran " << n << " of the parent's callbacks";
  // The parent's client goes on.
  Call after = issue(e, "after@x");
  EXPECT_EQ(after.rc, VERIKIT_OK) << after.message;
  verikit_engine_free(e);
}

// A child's first Redis call makes the child's own link while holding the adoption lock; a
// child's child forked meanwhile (by another thread of the child) inherits that lock held by a
// thread it does not have. Its own first call must still make its link (the lock is made new in
// every child; a store's own mutex used to stay locked there for good). The connect is held
// open by CLIENT PAUSE: its start-up checks wait for the pause to end.
TEST(Fork, AGrandchildForkedWhileItsParentReconnectsReconnectsToo) {
  verikit::test::RedisServer server;
  verikit_engine* e = make_engine(server.url());
  ASSERT_EQ(issue(e, "before@x").rc, VERIKIT_OK);  // the parent's link exists
  std::vector<Child> children{start_child([&](FILE* out) {
    if (server.cli("CLIENT PAUSE 700 ALL").find("OK") == std::string::npos) return 5;  // (the case would not be reached)
    std::thread connecting([&] { (void)issue(e, "child@x"); });  // reconnects: waits for the pause
    std::this_thread::sleep_for(200ms);
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      for (int attempt = 0; attempt < 10; ++attempt) {
        if (issue(e, "grandchild@x").rc == VERIKIT_OK) ::_exit(0);
        std::this_thread::sleep_for(200ms);
      }
      ::_exit(1);
    }
    connecting.join();
    if (grandchild < 0) return 2;
    int ws = 0;
    pid_t got = 0;
    for (int i = 0; i < 800 && (got = ::waitpid(grandchild, &ws, WNOHANG)) == 0; ++i) std::this_thread::sleep_for(10ms);
    if (got == 0) {
      ::kill(grandchild, SIGKILL);
      ::waitpid(grandchild, &ws, 0);
      std::fprintf(out, "grandchild hung\n");
      return 3;
    }
    std::fprintf(out, "grandchild %d\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : 4;
  })};
  finish(children);
  EXPECT_EQ(issue(e, "after@x").rc, VERIKIT_OK);
  verikit_engine_free(e);
}

// A child's first Redis call reconnects under the store's own lock, not the process-wide
// adoption lock: the child's other adoptions do not wait for that connect. Here another engine's
// first asynchronous call in the child (it adopts that engine's count of calls in flight) must
// start at once while the Redis engine's connect is held open by CLIENT PAUSE for 2 s. It took
// the whole pause when the connect held the adoption lock.
TEST(Fork, AChildsOtherEnginesDoNotWaitForItsRedisReconnect) {
  verikit::test::RedisServer server;
  verikit_engine* redis = make_engine(server.url());
  verikit_engine* other = make_engine("memory://");
  ASSERT_EQ(issue(redis, "before@x").rc, VERIKIT_OK);  // the parent's link exists
  ASSERT_EQ(issue(other, "before@x").rc, VERIKIT_OK);
  std::vector<Child> children{start_child([&](FILE* out) {
    if (server.cli("CLIENT PAUSE 2000 ALL").find("OK") == std::string::npos) return 5;  // (the case would not be reached)
    std::thread connecting([&] { (void)issue(redis, "child@x"); });  // reconnects: waits for the pause
    std::this_thread::sleep_for(300ms);
    struct Settled {
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
    } settled;
    const auto start = std::chrono::steady_clock::now();
    const int rc = verikit_otp_issue_async(other, "login", "other@x", 7, nullptr, [](void* user, int, const char*, verikit_result* r) {
      verikit_result_free(r);
      auto* s = static_cast<Settled*>(user);
      std::lock_guard<std::mutex> lock(s->m);
      s->done = true;
      s->cv.notify_all();
    }, &settled);
    const auto started = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (rc == VERIKIT_OK) {
      std::unique_lock<std::mutex> lock(settled.m);
      settled.cv.wait(lock, [&] { return settled.done; });
    }
    connecting.join();
    std::fprintf(out, "started in %lld ms (rc %d)\n", static_cast<long long>(started.count()), rc);
    return started < 1000ms ? 0 : 6;
  })};
  finish(children);
  EXPECT_EQ(issue(redis, "after@x").rc, VERIKIT_OK);
  verikit_engine_free(other);
  verikit_engine_free(redis);
}

}  // namespace
