// The conformance suite on the file store (file://, LMDB), each test in a fresh directory with a
// manual clock; then the file store's own guarantees: its record format, expiry reclaim, the
// size limit, and state shared between processes (8 racing on one code, wrong guesses counted
// exactly, a process killed with SIGKILL).
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <future>
#include <thread>
#include <random>
#include <string>

#include "conformance/conformance.hpp"
#include "store/group_codec.hpp"
#include "store/lmdb_pages.hpp"

namespace verikit::test {

// A fresh directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "verikit-file-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class FileHarness final : public StoreHarness {
 public:
  FileHarness() : clock_(std::make_shared<ManualClock>()) {
    auto s = make_file_store(dir_.path(), clock_);
    if (!s) throw std::runtime_error(s.error().message);
    store_ = std::move(s).value();
  }
  std::shared_ptr<Store> store() override { return store_; }
  TimePoint now() override { return clock_->now(); }
  void advance(std::chrono::milliseconds d) override { clock_->advance(d); }

 private:
  TempDir dir_;  // first: outlives the store
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Store> store_;
};

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"file", [] { return std::make_unique<FileHarness>(); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

namespace {

pid_t fork_child(const std::function<int()>& body);  // (below: between processes)
int exit_code(pid_t pid);

using namespace std::chrono_literals;

// One fixed key: every process (forked before or after a first use) hashes and seals alike.
KeySet test_keys() {
  Key key;
  key.id = 1;
  key.bytes.fill(7);
  return KeySet{key, {}, std::nullopt};
}

Config file_config(const std::string& url, int max_attempts = 5) {
  Config c;
  c.store_url = url;
  c.keys = test_keys();
  c.default_policy = without_abuse_controls(c.default_policy);
  c.default_policy.max_attempts = max_attempts;
  return c;
}

std::shared_ptr<Engine> engine_on(std::shared_ptr<Store> store, int max_attempts = 5) {
  auto e = Engine::create(file_config("", max_attempts), std::move(store));
  if (!e) throw std::runtime_error(e.error().message);
  return e.value();
}

std::shared_ptr<Engine> engine_at(const std::string& url, int max_attempts = 5) {
  auto e = Engine::create(file_config(url, max_attempts));
  if (!e) throw std::runtime_error(e.error().message);
  return e.value();
}

// ---- the record format ----

// The record keeps tokens in issue order (the cap on live ones revokes the first issued) without
// a field for it: the sequence is the order, so the format stays version 1.
TEST(FileStoreFormat, TokensKeepTheirIssueOrderAcrossARoundTrip) {
  detail::Group g;
  const std::vector<long long> orders = {1764400000123, 7, 1764400000124, 1764400000122, 42};
  for (std::size_t i = 0; i < orders.size(); ++i) {
    detail::TokenRecord t{TokenKind::token, "p", "", "", TimePoint(99ms), true, false};
    t.order = orders[i];
    g.tokens["t" + std::to_string(i)] = t;
  }
  std::string bytes;
  detail::encode_group(g, bytes);
  auto back = detail::decode_group(bytes);
  ASSERT_TRUE(back) << back.error().message;
  std::vector<std::pair<long long, std::string>> was, now;
  for (const auto& [id, t] : g.tokens) was.emplace_back(t.order, id);
  for (const auto& [id, t] : back->tokens) now.emplace_back(t.order, id);
  std::sort(was.begin(), was.end());
  std::sort(now.begin(), now.end());
  ASSERT_EQ(was.size(), now.size());
  for (std::size_t i = 0; i < was.size(); ++i) EXPECT_EQ(now[i].second, was[i].second) << "rank " << i;
  std::string again;
  detail::encode_group(*back, again);
  EXPECT_EQ(again, bytes);
}

// A group as 0.4.0 wrote it: its tokens in no set order and without the "in issue order" flag.
// They count as issued before any newer one, the first to expire first among them (0.4.0's cap
// rule), and a write lists them so (with the flag).
TEST(FileStoreFormat, TokensWrittenBy040AreOrderedByExpiry) {
  std::string b;
  auto u8 = [&](int v) { b.push_back(static_cast<char>(v)); };
  auto u32 = [&](std::uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(v >> (8 * i))); };
  auto i64 = [&](long long v) { for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>(static_cast<unsigned long long>(v) >> (8 * i))); };
  auto str = [&](std::string_view v) { u32(static_cast<std::uint32_t>(v.size())); b.append(v); };
  u8(detail::kRecordFormat), u8('g');
  i64(0), i64(0), i64(0), i64(0);  // rate state, indexed_until
  u8(0);                           // no OTP
  const std::vector<std::pair<std::string, long long>> tokens = {{"late", 3000}, {"early", 1000}, {"middle", 2000}};
  u32(static_cast<std::uint32_t>(tokens.size()));
  for (const auto& [id, expires] : tokens) {
    str(id), u8(static_cast<int>(TokenKind::token)), str("p"), str(""), str("");
    i64(expires), u8(1 /* one_time, as 0.4.0 wrote it */), str("");
  }
  u32(0), u8(0), u8(0);  // no pairs, recovery codes or enrollment
  auto g = detail::decode_group(b);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_LT(g->tokens.at("early").order, g->tokens.at("middle").order);
  EXPECT_LT(g->tokens.at("middle").order, g->tokens.at("late").order);
  std::string again;
  detail::encode_group(*g, again);
  auto back = detail::decode_group(again);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_LT(back->tokens.at("early").order, back->tokens.at("middle").order);
  EXPECT_LT(back->tokens.at("middle").order, back->tokens.at("late").order);
  EXPECT_GT(back->tokens.at("early").order, g->tokens.at("late").order) << "listed in issue order now";
  EXPECT_TRUE(back->tokens.at("early").one_time);
}

TEST(FileStoreFormat, GroupsAndClientBucketsRoundTrip) {
  detail::Group g;
  g.otp = detail::OtpRecord{.key_id = 3,
                            .one_time = false,
                            .revoke_group = true,
                            .attempts_left = 4,
                            .expires_at = TimePoint(1234ms),
                            .hash = SmallBytes("hash"),
                            .binding_hash = "bh",
                            .sealed_payload = "payload",
                            .sealed_code = "sealed",
                            .payload_hash = "ph"};
  g.tokens["t1"] = detail::TokenRecord{TokenKind::link, "purpose", "identity", "", TimePoint(99ms), true, false};
  g.rate = RateState{1, 2, 3};
  g.pairs["client"] = 77;
  g.indexed_until = 5555;
  std::string bytes;
  detail::encode_group(g, bytes);
  auto back = detail::decode_group(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->otp->hash.view(), "hash");
  EXPECT_EQ(back->otp->binding_hash, "bh");
  EXPECT_EQ(back->otp->sealed_payload, "payload");
  EXPECT_EQ(back->otp->sealed_code, "sealed");
  EXPECT_EQ(back->otp->payload_hash, "ph");
  EXPECT_EQ(back->otp->key_id, 3);
  EXPECT_EQ(back->otp->attempts_left, 4);
  EXPECT_EQ(back->otp->expires_at, TimePoint(1234ms));
  EXPECT_FALSE(back->otp->one_time);
  EXPECT_TRUE(back->otp->revoke_group);
  EXPECT_EQ(back->tokens.at("t1").kind, TokenKind::link);
  EXPECT_EQ(back->tokens.at("t1").sealed_identity, "identity");
  EXPECT_EQ(back->rate.failure_tat, 3);
  EXPECT_EQ(back->pairs.at("client"), 77);
  EXPECT_EQ(back->indexed_until, 5555);
  std::string again;
  detail::encode_group(*back, again);
  EXPECT_EQ(again, bytes);

  detail::ClientBuckets b{10, 20, 30};
  detail::encode_client(b, bytes);
  auto cb = detail::decode_client(bytes);
  ASSERT_TRUE(cb);
  EXPECT_EQ(cb->issue_tat, 10);
  EXPECT_EQ(cb->failure_tat, 20);
  EXPECT_EQ(cb->indexed_until, 30);
}

TEST(FileStoreFormat, UnknownVersionsAndDamageAreRefusedClearly) {
  detail::Group g;
  g.rate.send_tat = 1;
  std::string bytes;
  detail::encode_group(g, bytes);
  std::string newer = bytes;
  newer[0] = 2;
  auto r = detail::decode_group(newer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::store_protocol);
  EXPECT_NE(r.error().message.find("format version 2"), std::string::npos) << r.error().message;
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto t = detail::decode_group(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(t) << "a record cut at " << cut << " bytes was read";
    EXPECT_EQ(t.error().code, Errc::store_protocol);
  }
  EXPECT_FALSE(detail::decode_group(bytes + "x")) << "trailing bytes";
  EXPECT_FALSE(detail::decode_client(bytes)) << "a group is not a client record";
}

// ---- opening ----

TEST(FileStoreUrl, OptionsAreCheckedAndNamed) {
  TempDir dir;
  for (const std::string& bad : {std::string("file://relative/dir"), "file:///" + dir.path().substr(1) + "?max_size_mb=0",
                                 "file://" + dir.path() + "?durability=sometimes",
                                 "file://" + dir.path() + "?reap_interval_ms=-1", "file://" + dir.path() + "?colour=blue"}) {
    auto e = Engine::create(file_config(bad));
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code, Errc::config) << bad;
  }
  for (const char* level : {"sync", "nometasync", "nosync"}) {
    auto e = Engine::create(file_config("file://" + dir.path() + "?max_size_mb=8&reap_interval_ms=0&durability=" + level));
    ASSERT_TRUE(e) << e.error().message;
    auto r = (*e)->issue_otp("login", std::string("u-") + level);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*e)->verify_otp("login", std::string("u-") + level, r->secret.view())->outcome, Outcome::verified);
  }
  Config no_key = file_config("file://" + dir.path());
  no_key.keys.reset();
  auto e = Engine::create(no_key);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::config) << "a shared store needs a configured key";
}

// ---- what the file holds ----

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Whether this process holds a lock (fcntl) on `file`: /proc/locks names the inode and the pid.
bool holds_lock_on(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return false;
  std::ifstream locks("/proc/locks");
  const std::string inode = ":" + std::to_string(st.st_ino) + " ", pid = " " + std::to_string(::getpid()) + " ";
  for (std::string line; std::getline(locks, line);)
    if (line.find(inode) != std::string::npos && line.find(pid) != std::string::npos) return true;
  return false;
}

// The last engine on a directory freed by one thread while another opens one: the new engine
// must not open the files a second time while the old environment is still closing (closing it
// then drops the process's locks on lock.mdb: every process that opens the store afterwards takes
// itself to be alone and resets LMDB's lock table, the writer lock with it, and two writers lose
// each other's updates). Found by an adversarial review; with the previous registry (a weak_ptr
// per path, the environment closed outside its lock) this lost the lock in 2 of 5 runs of 2,000 rounds.
TEST(FileStore, ClosingTheLastEngineWhileAnotherOpensKeepsTheProcesssLock) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?reap_interval_ms=0";
  auto a = engine_at(url);
  ASSERT_TRUE(holds_lock_on(dir.path() + "/lock.mdb")) << "no lock to begin with: this test proves nothing";
  for (int round = 0; round < 6000; ++round) {
    std::shared_ptr<Engine> b;
    std::atomic<int> ready{0};
    std::thread opener([&, pause = round % 64] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      for (volatile int spin = 0; spin < pause * 40; spin = spin + 1) {
      }  // (a pause of its own each round: the opening sweeps the closing)
      b = engine_at(url);
    });
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    a.reset();
    opener.join();
    ASSERT_TRUE(holds_lock_on(dir.path() + "/lock.mdb")) << "round " << round << ": the process lost its lock";
    a = std::move(b);
  }
}

// Two spellings of one directory are one environment: here the directory renamed while an engine
// has it open, then opened under its new name (a bind mount does the same). The second engine must
// not open the files again: closing it would drop the first's locks.
TEST(FileStore, TwoSpellingsOfOneDirectoryShareOneEnvironment) {
  TempDir dir;
  const std::string before = dir.path() + "/before", after = dir.path() + "/after";
  auto a = engine_at("file://" + before + "?reap_interval_ms=0");
  std::filesystem::rename(before, after);
  ASSERT_TRUE(holds_lock_on(after + "/lock.mdb")) << "no lock to begin with: this test proves nothing";
  {
    auto b = engine_at("file://" + after + "?reap_interval_ms=0");
    auto r = a->issue_otp("login", "shared");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(b->verify_otp("login", "shared", r->secret.view())->outcome, Outcome::verified);
  }
  EXPECT_TRUE(holds_lock_on(after + "/lock.mdb")) << "the second spelling's close dropped the first's lock";
}

// A directory or file another user could change is refused (whoever writes the files resets every
// budget without the key); a symlink where LMDB's files go is refused (LMDB would write its lock
// table through it); a directory the store makes is 0700.
TEST(FileStore, FilesOthersCouldChangeAreRefused) {
  TempDir dir;
  const std::string made = dir.path() + "/made";
  ASSERT_TRUE(engine_at("file://" + made));
  struct stat st {};
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  const std::string open_dir = dir.path() + "/world";
  ASSERT_EQ(::mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  auto e = Engine::create(file_config("file://" + open_dir));
  ASSERT_FALSE(e) << "a world-writable directory was used";
  EXPECT_EQ(e.error().code, Errc::config);
  EXPECT_NE(e.error().message.find("could be changed by other users"), std::string::npos) << e.error().message;

  const std::string linked = dir.path() + "/linked";
  ASSERT_EQ(::mkdir(linked.c_str(), 0700), 0);
  std::ofstream(dir.path() + "/elsewhere") << "not LMDB's";
  std::filesystem::create_symlink(dir.path() + "/elsewhere", linked + "/lock.mdb");
  e = Engine::create(file_config("file://" + linked));
  ASSERT_FALSE(e) << "a symlinked lock.mdb was followed";
  EXPECT_EQ(e.error().code, Errc::config);
  EXPECT_EQ(file_bytes(dir.path() + "/elsewhere"), "not LMDB's");

  const std::string open_file = dir.path() + "/file";
  ASSERT_TRUE(engine_at("file://" + open_file));  // made, then its data file opened to everyone
  ASSERT_EQ(::chmod((open_file + "/data.mdb").c_str(), 0666), 0);
  e = Engine::create(file_config("file://" + open_file));
  ASSERT_FALSE(e) << "a world-writable data file was used";
  EXPECT_EQ(e.error().code, Errc::config);

  // Writable by a group this process is not in, whoever owns it: as open as any other user's
  // (accepted when this process's user owned it: found by a review). A group no process here is
  // in: one past every group of this process's.
  gid_t groups[256];
  const int n = ::getgroups(256, groups);
  gid_t foreign = std::max(::getegid(), ::getgid()) + 1;
  for (int i = 0; i < n; ++i) foreign = std::max(foreign, groups[i] + 1);
  const std::string grouped = dir.path() + "/grouped";
  ASSERT_EQ(::mkdir(grouped.c_str(), 0700), 0);
  if (::chown(grouped.c_str(), ::geteuid(), foreign) == 0) {  // (as root, as CI runs; else not allowed)
    ASSERT_EQ(::chmod(grouped.c_str(), 02770), 0);
    e = Engine::create(file_config("file://" + grouped));
    ASSERT_FALSE(e) << "a directory writable by a group this process is not in was used";
    EXPECT_NE(e.error().message.find("could be changed by other users"), std::string::npos) << e.error().message;
    ASSERT_EQ(::chmod(grouped.c_str(), 0750), 0);  // the group may read only: fine
    EXPECT_TRUE(Engine::create(file_config("file://" + grouped))) << "a group that may only read was refused";
  } else {
    EXPECT_NE(::geteuid(), 0u) << "root could not chown";
  }
}

// A data file put in place of the one a running process opened (a restore, a backup copied over
// with `mv`) is noticed at the next call: the process would otherwise work on the old file while
// others use the new one, and a code it spent would verify again there (found by an adversarial
// review). A rename of the directory itself changes nothing.
TEST(FileStore, ADataFileReplacedUnderARunningProcessFailsItsCalls) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "/store?reap_interval_ms=0";
  auto e = engine_at(url);
  auto issued = e->issue_otp("login", "victim");
  ASSERT_TRUE(issued) << issued.error().message;
  const std::string data = dir.path() + "/store/data.mdb";
  std::filesystem::copy_file(data, dir.path() + "/backup.mdb");  // (no write in flight: a whole copy)
  ASSERT_EQ(e->verify_otp("login", "victim", issued->secret.view())->outcome, Outcome::verified);
  std::filesystem::rename(dir.path() + "/store", dir.path() + "/moved");  // the directory renamed: still fine
  ASSERT_TRUE(e->issue_otp("login", "other")) << "a renamed directory broke the store";
  std::filesystem::rename(dir.path() + "/backup.mdb", dir.path() + "/moved/data.mdb");  // the restore
  auto again = e->verify_otp("login", "victim", issued->secret.view());
  ASSERT_FALSE(again) << "the spent code was checked against the restored file: " << static_cast<int>(again->outcome);
  EXPECT_EQ(again.error().code, Errc::store_protocol);
  EXPECT_NE(again.error().message.find("no longer the one this process opened"), std::string::npos)
      << again.error().message;
}

// The other ways a running process and newer ones could come to work apart (each found by a
// review, each leaving a spent code to verify again, or ending the process): the lock file
// removed (a "stale lock" clean-up), the directory replaced by a copy, the data file overwritten
// in place by an older copy. Each fails the next call with an error.
TEST(FileStore, ALockFileRemovedUnderARunningProcessFailsItsCalls) {
  TempDir dir;
  auto e = engine_at("file://" + dir.path() + "/store?reap_interval_ms=0");
  auto issued = e->issue_otp("login", "victim");
  ASSERT_TRUE(issued) << issued.error().message;
  ASSERT_EQ(::unlink((dir.path() + "/store/lock.mdb").c_str()), 0);
  auto r = e->verify_otp("login", "victim", issued->secret.view());
  ASSERT_FALSE(r) << "answered " << static_cast<int>(r->outcome) << " on an orphaned lock table";
  EXPECT_EQ(r.error().code, Errc::store_protocol);
  EXPECT_NE(r.error().message.find("lock.mdb"), std::string::npos) << r.error().message;
}

TEST(FileStore, ADirectoryReplacedUnderARunningProcessFailsItsCalls) {
  TempDir dir;
  const std::string store = dir.path() + "/store";
  auto e = engine_at("file://" + store + "?reap_interval_ms=0");
  auto issued = e->issue_otp("login", "victim");
  ASSERT_TRUE(issued) << issued.error().message;
  std::filesystem::rename(store, dir.path() + "/store.old");
  ASSERT_EQ(::mkdir(store.c_str(), 0700), 0);  // `cp -a store.old store`: a copy in its place
  std::filesystem::copy_file(dir.path() + "/store.old/data.mdb", store + "/data.mdb");
  auto r = e->verify_otp("login", "victim", issued->secret.view());
  ASSERT_FALSE(r) << "the running process went on in the old directory while newer ones use the copy";
  EXPECT_EQ(r.error().code, Errc::store_protocol);
  EXPECT_NE(r.error().message.find("or its directory"), std::string::npos) << r.error().message;
}

TEST(FileStore, ADataFileOverwrittenInPlaceFailsItsCalls) {
  TempDir dir;
  const std::string data = dir.path() + "/store/data.mdb";
  auto e = engine_at("file://" + dir.path() + "/store?reap_interval_ms=0");
  std::vector<std::string> codes;
  for (int i = 0; i < 3; ++i) codes.emplace_back(e->issue_otp("login", "u" + std::to_string(i))->secret.view());
  std::filesystem::copy_file(data, dir.path() + "/backup.mdb");  // (no write in flight: a whole copy)
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(e->verify_otp("login", "u" + std::to_string(i), codes[i])->outcome, Outcome::verified);
  {  // `cp backup.mdb data.mdb`: the same file, its bytes the older copy's
    std::ifstream in(dir.path() + "/backup.mdb", std::ios::binary);
    std::fstream out(data, std::ios::binary | std::ios::in | std::ios::out);
    out << in.rdbuf();
  }
  for (int i = 0; i < 3; ++i) {
    auto r = e->verify_otp("login", "u" + std::to_string(i), codes[i]);
    ASSERT_FALSE(r) << "a spent code was answered " << static_cast<int>(r->outcome) << " from the older copy";
    EXPECT_EQ(r.error().code, Errc::store_protocol);
  }
}

// A data file cut short (a partial restore, `cp` over a live file) is refused with a clear error at
// open, not read past its end (SIGBUS: found by an adversarial review).
TEST(FileStore, ADataFileCutShortIsRefusedClearly) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?reap_interval_ms=0";
  {
    auto e = engine_at(url);
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(e->issue_otp("login", "user-" + std::to_string(i)));
  }
  const std::string data = dir.path() + "/data.mdb";
  const auto size = std::filesystem::file_size(data);
  ASSERT_GT(size, 64u * 1024u);
  // Copies cut by a few pages too, each opened by a process that never had the file mapped (a
  // flat allowance of 64 pages let these open and end the process with SIGBUS at its first read).
  // A copy whose missing pages the trees do not use (LMDB's high-water mark can pass the last page
  // in use) is whole: it opens and reads every record; one without a page in use is refused.
  const std::uintmax_t page = static_cast<std::uintmax_t>(::sysconf(_SC_PAGESIZE));
  const std::uintmax_t pages = size / page;
  std::uintmax_t last_used = 0;
  {
    const int fd = ::open(data.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    const detail::PageWalk walk = detail::walk_lmdb_pages(fd, page, pages);
    ::close(fd);
    ASSERT_TRUE(walk.whole) << walk.problem;
    last_used = walk.last;
  }
  constexpr int kRefused = 0, kOpenedAndRead = 3;
  for (std::uintmax_t cut : {std::uintmax_t{1}, std::uintmax_t{2}, std::uintmax_t{8}, std::uintmax_t{63},
                             std::uintmax_t{64}, std::uintmax_t{65}, pages - last_used, pages - last_used + 1, pages / 2}) {
    SCOPED_TRACE("cut by " + std::to_string(cut) + " pages of " + std::to_string(pages) + ", the last in use " +
                 std::to_string(last_used));
    TempDir copy;
    std::filesystem::copy_file(data, copy.path() + "/data.mdb");
    std::filesystem::resize_file(copy.path() + "/data.mdb", size - cut * page);
    const pid_t child = fork_child([&]() -> int {
      auto e = Engine::create(file_config("file://" + copy.path() + "?reap_interval_ms=0"));
      if (e) {  // every record read (a SIGBUS ends the child: exit_code -1)
        for (int i = 0; i < 3000; ++i) {
          auto r = e.value()->inspect("login", "user-" + std::to_string(i));
          if (!r || r->attempts_remaining != 5) return 4;
        }
        auto w = e.value()->issue_otp("login", "after-the-copy");  // and written
        return w && w->outcome == Outcome::issued ? kOpenedAndRead : 5;
      }
      if (e.error().code != Errc::store_protocol || e.error().message.find("cut short") == std::string::npos) {
        std::fprintf(stderr, "%s\n", e.error().message.c_str());
        return 2;
      }
      return kRefused;
    });
    const int code = exit_code(child);
    if (cut >= pages - last_used) EXPECT_EQ(code, kRefused) << "a page in use is missing";
    else EXPECT_TRUE(code == kRefused || code == kOpenedAndRead) << code << " (-1: killed, SIGBUS)";
  }
  // A meta page whose last page number times the page size wraps to a small size (2^52 pages
  // of 4 KiB): refused, never opened nor read past the file's end (LMDB refuses a last page past
  // the map itself, MDB_MAP_RESIZED; the open compares the file with it in pages anyway).
  {
    TempDir copy;
    const std::string path = copy.path() + "/data.mdb";
    std::filesystem::copy_file(data, path);
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    std::uint64_t txn[2] = {0, 0};
    for (int m = 0; m < 2; ++m) {
      f.seekg(static_cast<std::streamoff>(m * page + 144));
      f.read(reinterpret_cast<char*>(&txn[m]), 8);
    }
    const std::uint64_t huge = std::uint64_t{1} << 52;
    f.seekp(static_cast<std::streamoff>((txn[1] > txn[0] ? page : 0) + 136));
    f.write(reinterpret_cast<const char*>(&huge), 8);
    f.close();
    std::filesystem::resize_file(path, last_used * page);  // the last page in use, gone
    const pid_t child = fork_child([&]() -> int {
      auto e = Engine::create(file_config("file://" + copy.path() + "?reap_interval_ms=0"));
      if (e) {
        (void)e.value()->inspect("login", "user-1");
        return 1;
      }
      return e.error().message.empty() ? 2 : 0;
    });
    EXPECT_EQ(exit_code(child), 0) << "-1: killed (SIGBUS); 1: opened";
  }
  std::filesystem::resize_file(data, size / 2);
  auto e = Engine::create(file_config(url));
  ASSERT_FALSE(e) << "a data file cut in half was opened";
  EXPECT_EQ(e.error().code, Errc::store_protocol);
  EXPECT_NE(e.error().message.find("cut short"), std::string::npos) << e.error().message;
}

// The walk of a data file's pages (pread, for a file shorter than its last commit's high-water
// mark) visits exactly the pages LMDB counts in its trees (free, main and the named databases, the
// overflow pages of large values included), and a file one page shorter than its last used page
// is not whole.
TEST(FileStoreFormat, ThePageWalkVisitsEveryPageLmdbCounts) {
  TempDir dir;
  {
    auto e = engine_at("file://" + dir.path() + "?reap_interval_ms=0&durability=nosync");
    const std::string big(6000, 'p');  // payloads sealed on overflow pages
    for (int i = 0; i < 4000; ++i) {
      IssueOptions o;
      if (i % 10 == 0) o.payload = big;
      ASSERT_TRUE(e->issue_otp("login", "walk-" + std::to_string(i), o));
      if (i % 3 == 0) ASSERT_TRUE(e->revoke_otp("login", "walk-" + std::to_string(i)));  // pages freed
    }
  }
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 3), 0);
  ASSERT_EQ(mdb_env_set_maxreaders(env, 1024), 0);
  ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), MDB_NOTLS | MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  std::uint64_t counted = 0, overflow = 0;
  auto add = [&](MDB_dbi dbi) {
    MDB_stat st{};
    ASSERT_EQ(mdb_stat(txn, dbi, &st), 0);
    counted += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    overflow += st.ms_overflow_pages;
  };
  add(0);  // the free pages' tree
  add(1);  // the main tree
  for (const char* name : {"records", "due", "meta"}) {
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0) << name;
    add(dbi);
  }
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  MDB_stat st{};
  mdb_env_stat(env, &st);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  EXPECT_GT(overflow, 0u) << "no value on overflow pages: the walk of those is not tested";
  const int fd = ::open((dir.path() + "/data.mdb").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const std::uint64_t file_pages = std::filesystem::file_size(dir.path() + "/data.mdb") / st.ms_psize;
  const detail::PageWalk whole = detail::walk_lmdb_pages(fd, st.ms_psize, file_pages);
  EXPECT_TRUE(whole.whole) << whole.problem;
  EXPECT_EQ(whole.pages, counted);
  EXPECT_LE(whole.last, info.me_last_pgno);
  // the last page in use, cut off
  const detail::PageWalk cut = detail::walk_lmdb_pages(fd, st.ms_psize, whole.last);
  EXPECT_FALSE(cut.whole);
  EXPECT_NE(cut.problem.find("past the end"), std::string::npos) << cut.problem;
  ::close(fd);
  // A branch page that also carries a leaf-of-duplicates flag (LMDB follows a branch's children
  // whatever else its flags say): its children are walked, or the page is refused; never skipped.
  {
    TempDir crafted;
    const std::size_t ps = 4096;
    std::string file(3 * ps, '\0');
    auto put = [&](std::size_t off, auto v) { std::memcpy(file.data() + off, &v, sizeof v); };
    for (std::uint64_t m = 0; m < 2; ++m) {
      put(m * ps, m);                                   // page number
      put(m * ps + 10, std::uint16_t{0x08});            // P_META
      put(m * ps + 16, std::uint32_t{0xBEEFC0DE});      // magic
      put(m * ps + 20, std::uint32_t{1});               // version
      put(m * ps + 40 + 40, ~std::uint64_t{0});         // the free pages' tree: empty
      put(m * ps + 88 + 40, std::uint64_t{2});          // the main tree's root: page 2
      put(m * ps + 136, std::uint64_t{2});              // last page
      put(m * ps + 144, std::uint64_t{m});              // txnid
    }
    put(2 * ps, std::uint64_t{2});
    put(2 * ps + 10, std::uint16_t{0x01 | 0x20});       // P_BRANCH | P_LEAF2
    put(2 * ps + 12, std::uint16_t{16 + 2});            // one node
    put(2 * ps + 16, std::uint16_t{4000});              // at 4000
    put(2 * ps + 4000, std::uint16_t{10});              // child page 10: past the end
    const std::string path = crafted.path() + "/data.mdb";
    std::ofstream(path, std::ios::binary) << file;
    const int crafted_fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(crafted_fd, 0);
    const detail::PageWalk w = detail::walk_lmdb_pages(crafted_fd, ps, 3);
    ::close(crafted_fd);
    EXPECT_FALSE(w.whole) << "a branch's children were skipped";
  }
  // Damaged copies (random bytes over random places of the trees' pages): the walk reads them
  // without fault (ASan checks this stage too), whatever it concludes.
  const std::string original = dir.path() + "/data.mdb";
  std::mt19937 rng(GTEST_FLAG_GET(random_seed) + 7);
  for (int round = 0; round < 200; ++round) {
    TempDir copy;
    const std::string path = copy.path() + "/data.mdb";
    std::filesystem::copy_file(original, path);
    {
      std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
      for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) {
        const std::uint64_t at = 2 * st.ms_psize + rng() % ((file_pages - 2) * st.ms_psize);
        f.seekp(static_cast<std::streamoff>(at));
        const char byte = static_cast<char>(rng());
        f.write(&byte, 1);
      }
    }
    const int damaged = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(damaged, 0);
    const detail::PageWalk w = detail::walk_lmdb_pages(damaged, st.ms_psize, file_pages);
    ::close(damaged);
    EXPECT_TRUE(w.whole || !w.problem.empty());
  }
}

// The database file holds keyed hashes and sealed blobs only: no identifier, code, token or
// payload in the clear (the live records and the pages of earlier versions alike).
TEST(FileStore, NothingSecretIsInTheFile) {
  TempDir dir;
  const std::string id = "secret.person@example.com";
  const std::string payload = "PAYLOAD-new-address@example.org";
  std::vector<std::string> secrets;
  {
    auto e = engine_at("file://" + dir.path());
    IssueOptions o;
    o.payload = payload;
    for (int i = 0; i < 3; ++i) {
      Result code = e->issue_otp("verify-email", id + std::to_string(i), o).value();
      secrets.emplace_back(code.secret.view());
      e->verify_otp("verify-email", id + std::to_string(i), code.secret.view() == "000000" ? "111111" : "000000").value();
    }
    Result token = e->issue_token("confirm", id, o).value();
    Result link = e->issue_link("login", id, "https://e.com/m", o).value();
    secrets.emplace_back(token.secret.view());
    secrets.emplace_back(link.secret.view());
    secrets.push_back(std::string(token.secret.view()).substr(24));
  }
  const std::string data = file_bytes(dir.path() + "/data.mdb");
  ASSERT_GT(data.size(), 8192u);
  EXPECT_EQ(data.find("secret.person"), std::string::npos);
  EXPECT_EQ(data.find("PAYLOAD"), std::string::npos);
  EXPECT_EQ(data.find("verify-email"), std::string::npos);
  for (const std::string& s : secrets) EXPECT_EQ(data.find(s), std::string::npos) << s;
  EXPECT_NE(data.find("verikit file store 1"), std::string::npos) << "(the scan reads the file: its format mark is there)";
}

// ---- expiry: reclaimed in bounded time whatever the key pattern ----

TEST(FileStore, ExpiredRecordsAreReclaimedByWritesAndByThePass) {
  TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto store = make_file_store(dir.path(), clock, FileStoreOptions{.reap_interval = 0ms}).value();
  auto e = engine_on(store);
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(e->issue_otp("login", "a" + std::to_string(i), IssueOptions{.ttl = 2s}));
  EXPECT_EQ(file_store_stats(*store)->records, 2000u);
  EXPECT_EQ(file_store_stats(*store)->indexed, 2000u) << "one index entry per record";
  clock->advance(3s);
  // Writes alone: each reaps 8 due records (more than it adds).
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(e->issue_otp("login", "b" + std::to_string(i), IssueOptions{.ttl = 60s}));
  const FileStoreStats mid = *file_store_stats(*store);
  EXPECT_EQ(mid.records, 2000u - 100u * 8 + 100u);
  EXPECT_EQ(mid.indexed, mid.records);
  // The periodic pass (here on demand): every due record.
  EXPECT_EQ(reap_file_store(*store), 2000u - 100u * 8);
  const FileStoreStats after = *file_store_stats(*store);
  EXPECT_EQ(after.records, 100u);
  EXPECT_EQ(after.indexed, 100u);
  clock->advance(61s);
  reap_file_store(*store);
  EXPECT_EQ(file_store_stats(*store)->records, 0u);
  EXPECT_EQ(file_store_stats(*store)->indexed, 0u);
}

TEST(FileStore, TheReaperThreadReclaimsWithoutWrites) {
  TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto store = make_file_store(dir.path(), clock, FileStoreOptions{.reap_interval = 20ms}).value();
  auto e = engine_on(store);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(e->issue_token("confirm", "t" + std::to_string(i), IssueOptions{.ttl = 1s}));
  clock->advance(2s);
  for (int waited = 0; waited < 500 && file_store_stats(*store)->records > 0; ++waited) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(file_store_stats(*store)->records, 0u) << "reclaimed by the reaper within 5 s";
}

// ---- the size limit: a clear refusal; wrong guesses still counted ----

TEST(FileStore, AFullStoreRefusesNewRecordsClearlyAndStillCountsGuesses) {
  TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto store = make_file_store(dir.path(), clock, FileStoreOptions{.max_size_mb = 1, .reap_interval = 0ms}).value();
  auto e = engine_on(store, 5);
  auto first = e->issue_otp("login", "first", IssueOptions{.ttl = 60s});
  ASSERT_TRUE(first);
  int issued = 1, refused = 0;
  for (int i = 0; i < 20'000 && refused < 10; ++i) {
    auto r = e->issue_otp("login", "fill" + std::to_string(i), IssueOptions{.ttl = 60s});
    if (r) {
      ++issued;
      continue;
    }
    ++refused;
    EXPECT_EQ(r.error().code, Errc::store_unavailable);
    EXPECT_NE(r.error().message.find("full"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("max_size_mb"), std::string::npos) << r.error().message;
  }
  ASSERT_EQ(refused, 10) << "a 1 MiB store never filled (" << issued << " issued)";
  EXPECT_GT(issued, 100);
  // Guesses against a held code are not free: each wrong one is counted, to exhaustion.
  const std::string code(first->secret.view());
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int left = 4; left >= 1; --left) {
    auto v = e->verify_otp("login", "first", wrong);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->outcome, Outcome::invalid);
    EXPECT_EQ(v->attempts_remaining, left);
  }
  auto last = e->verify_otp("login", "first", wrong);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->outcome, Outcome::attempts_exhausted);
  EXPECT_EQ(e->verify_otp("login", "first", code)->outcome, Outcome::not_found) << "the dead code stays dead";
  // A held code still verifies; expired records make room.
  auto held = e->issue_otp("login", "fill0", IssueOptions{.ttl = 60s});
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_EQ(e->verify_otp("login", "fill0", held->secret.view())->outcome, Outcome::verified);
  clock->advance(61s);
  reap_file_store(*store);
  auto newcomer = e->issue_otp("login", "newcomer");
  ASSERT_TRUE(newcomer) << newcomer.error().message;
}

// ---- between processes ----

// A child process: body() is its exit code; it never returns into the test. One that hangs is
// ended by SIGALRM after 30 s (a failure: it did not exit).
pid_t fork_child(const std::function<int()>& body) {
  std::fflush(stdout);  // (else the child would print what the parent had buffered)
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(30);
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    std::fflush(stderr);
    ::_exit(code);
  }
  return pid;
}

int exit_code(pid_t pid) {
  int ws = 0;
  if (::waitpid(pid, &ws, 0) != pid) return -1;
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

// Children block on a pipe until the parent closes it: released together.
struct StartLine {
  int fds[2] = {-1, -1};
  StartLine() { EXPECT_EQ(::pipe(fds), 0); }
  void wait_in_child() {
    ::close(fds[1]);
    char c;
    while (::read(fds[0], &c, 1) > 0) {
    }
  }
  void release() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

constexpr int kVerified = 10, kOther = 11;

TEST(FileStoreProcesses, EightProcessesRacingOnOneCodeGiveExactlyOneVerified) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?durability=nosync";
  for (int round = 0; round < 5; ++round) {
    const std::string id = "race" + std::to_string(round);
    std::string code;
    {
      auto e = engine_at(url);
      code = std::string(e->issue_otp("login", id)->secret.view());
    }
    StartLine start;
    std::vector<pid_t> children;
    for (int i = 0; i < 8; ++i)
      children.push_back(fork_child([&] {
        auto e = engine_at(url);  // each process opens the store itself
        start.wait_in_child();
        auto r = e->verify_otp("login", id, code);
        if (!r) return 1;
        return r->outcome == Outcome::verified ? kVerified : (r->outcome == Outcome::not_found ? kOther : 2);
      }));
    start.release();
    int verified = 0, not_found = 0;
    for (pid_t pid : children) {
      const int c = exit_code(pid);
      verified += c == kVerified;
      not_found += c == kOther;
    }
    EXPECT_EQ(verified, 1) << "round " << round;
    EXPECT_EQ(not_found, 7) << "round " << round;
  }
}

TEST(FileStoreProcesses, WrongGuessesFromSeveralProcessesAreCountedExactly) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?durability=nosync";
  auto e = engine_at(url, 100);
  const std::string code(e->issue_otp("login", "target")->secret.view());
  const std::string wrong = code == "000000" ? "111111" : "000000";
  constexpr int kProcesses = 4, kGuesses = 15;  // N = 60 wrong guesses
  StartLine start;
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i)
    children.push_back(fork_child([&] {
      auto mine = engine_at(url, 100);
      start.wait_in_child();
      int invalid = 0;
      for (int k = 0; k < kGuesses; ++k) {
        auto r = mine->verify_otp("login", "target", wrong);
        invalid += r && r->outcome == Outcome::invalid;
      }
      return invalid == kGuesses ? 0 : 1;
    }));
  start.release();
  for (pid_t pid : children) EXPECT_EQ(exit_code(pid), 0);
  auto seen = e->inspect("login", "target");
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(seen->attempts_remaining, 100 - kProcesses * kGuesses) << "every wrong guess counted once";
  EXPECT_EQ(e->verify_otp("login", "target", code)->outcome, Outcome::verified);
}

// Issued by a process that is then killed (SIGKILL: no destructor, no close); a new process
// verifies it. A process killed while writing leaves no lock behind: the next ones write.
TEST(FileStoreProcesses, StateSurvivesAProcessKilledWithSigkill) {
  TempDir dir;
  const std::string url = "file://" + dir.path();  // the default durability
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t issuer = fork_child([&]() -> int {
    auto e = engine_at(url);
    auto r = e->issue_otp("login", "survivor");
    if (!r) return 1;
    const std::string line(r->secret.view());
    if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 2;
    ::close(fds[1]);
    for (;;) ::pause();  // alive, with the store open, until killed
  });
  ::close(fds[1]);
  char buf[64];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  const std::string code(buf, static_cast<std::size_t>(n));
  ::kill(issuer, SIGKILL);
  EXPECT_EQ(exit_code(issuer), -1);

  // A writer killed at a random point of its stream of writes (maybe inside a transaction).
  const pid_t writer = fork_child([&]() -> int {
    auto e = engine_at(url + "?durability=nosync");
    for (int i = 0;; ++i) e->issue_otp("login", "w" + std::to_string(i % 50)).value();
  });
  std::this_thread::sleep_for(200ms);
  ::kill(writer, SIGKILL);
  EXPECT_EQ(exit_code(writer), -1);

  // "Start again": a new process opens the directory and verifies, once.
  const pid_t verifier = fork_child([&] {
    auto e = engine_at(url);
    auto r = e->verify_otp("login", "survivor", code);
    if (!r || r->outcome != Outcome::verified) {
      std::fprintf(stderr, "verify after the kill: %s\n", r ? to_string(r->outcome) : r.error().message.c_str());
      return 1;
    }
    auto again = e->verify_otp("login", "survivor", code);
    if (!again || again->outcome != Outcome::not_found) return 2;
    auto own = e->issue_otp("login", "after");  // writes go on after the killed writer
    if (!own || e->verify_otp("login", "after", own->secret.view())->outcome != Outcome::verified) return 3;
    return 0;
  });
  EXPECT_EQ(exit_code(verifier), 0);
}

// A process stopped inside a write (SIGSTOP, a debugger, a frozen container) holds LMDB's writer
// lock, and every write of every process waits for it; an inspection and a count of recovery
// codes read in read-only transactions and are answered meanwhile. The holder here is a child
// with a write transaction of its own, opened through LMDB itself.
TEST(FileStoreProcesses, AnInspectionIsAnsweredWhileAnotherProcessHoldsTheWriterLock) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?reap_interval_ms=0";
  auto e = engine_at(url);
  auto issued = e->issue_otp("login", "looked-at");
  ASSERT_TRUE(issued) << issued.error().message;
  auto codes = e->generate_recovery_codes("login", "looked-at");
  ASSERT_TRUE(codes) << codes.error().message;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = fork_child([&]() -> int {
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 3) != 0 ||
        mdb_env_open(env, dir.path().c_str(), MDB_NOTLS, 0600) != 0 || mdb_txn_begin(env, nullptr, 0, &txn) != 0)
      return 1;
    if (::write(ready[1], "x", 1) != 1) return 2;
    for (;;) ::pause();  // the writer lock held until killed
  });
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child could not begin a write transaction";
  ::close(ready[0]);

  // A write waits for the lock (the holder really holds it)...
  auto blocked = std::async(std::launch::async, [&] { return e->issue_otp("login", "someone-else"); });
  EXPECT_EQ(blocked.wait_for(300ms), std::future_status::timeout) << "a write went through a held writer lock";
  // ...while the reads are answered.
  auto seen = std::async(std::launch::async, [&] { return e->inspect("login", "looked-at"); });
  auto count = std::async(std::launch::async, [&] { return e->recovery_codes_remaining("login", "looked-at"); });
  const bool answered = seen.wait_for(20s) == std::future_status::ready && count.wait_for(20s) == std::future_status::ready;
  ::kill(holder, SIGKILL);  // (LMDB's writer lock is a robust mutex: released with the process)
  EXPECT_EQ(exit_code(holder), -1);
  ASSERT_TRUE(answered) << "an inspection waited for another process's write";
  auto r = seen.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->attempts_remaining, 5);
  auto n = count.get();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, static_cast<int>(codes->codes.size()));
  auto after = blocked.get();  // the waiting write goes on once the holder is gone
  EXPECT_TRUE(after) << after.error().message;
  EXPECT_EQ(e->verify_otp("login", "looked-at", issued->secret.view())->outcome, Outcome::verified);
}

// A process killed inside a read transaction (SIGKILL, the OOM killer) leaves its reader slot,
// whose snapshot keeps every page freed since from being reused: the file grew until every new
// issue was refused as "full", for good (LMDB clears dead readers at open only; found by a review).
// A write refused as full clears them (so does the reaper's thread, off here), and the store goes on.
TEST(FileStoreProcesses, AReaderKilledInsideItsSnapshotDoesNotFillTheStore) {
  TempDir dir;
  auto e = engine_at("file://" + dir.path() + "?max_size_mb=2&durability=nosync&reap_interval_ms=0");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(e->issue_otp("login", "u" + std::to_string(i)));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t reader = fork_child([&]() -> int {
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 3) != 0 || mdb_env_set_maxreaders(env, 1024) != 0 ||
        mdb_env_open(env, dir.path().c_str(), MDB_NOTLS, 0600) != 0 ||
        mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0)
      return 1;
    if (::write(ready[1], "x", 1) != 1) return 2;
    for (;;) ::pause();  // the snapshot held until killed
  });
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child could not begin a read transaction";
  ::close(ready[0]);
  ::kill(reader, SIGKILL);
  EXPECT_EQ(exit_code(reader), -1);
  int refused = 0;
  std::string first_refusal;
  for (int i = 0; i < 3000; ++i) {
    const std::string who = "u" + std::to_string(i % 50);
    auto issued = e->issue_otp("login", who);
    if (!issued) {
      if (refused++ == 0) first_refusal = issued.error().message;
      continue;
    }
    auto v = e->verify_otp("login", who, issued->secret.view());
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->outcome, Outcome::verified);
  }
  EXPECT_LE(refused, 1) << "first: " << first_refusal;  // the one that found the store full, at most
}

// A process that opens the store with a larger max_size_mb grows the map, and one with the smaller
// size adopts it at its next transaction, a read-only one (an inspection) too: both see every record.
TEST(FileStoreProcesses, AMapGrownByAnotherProcessIsAdoptedByReadsAndWrites) {
  TempDir dir;
  auto small = engine_at("file://" + dir.path() + "?max_size_mb=1&reap_interval_ms=0");
  auto mine = small->issue_otp("login", "small-one");
  ASSERT_TRUE(mine) << mine.error().message;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t grower = fork_child([&]() -> int {
    auto big = engine_at("file://" + dir.path() + "?max_size_mb=16&reap_interval_ms=0");
    for (int i = 0; i < 8000; ++i)
      if (!big->issue_otp("login", "bulk-" + std::to_string(i))) return 1;
    auto last = big->issue_otp("login", "grown");
    if (!last) return 2;
    const std::string code(last->secret.view());
    return ::write(fds[1], code.data(), code.size()) == static_cast<ssize_t>(code.size()) ? 0 : 3;
  });
  ::close(fds[1]);
  EXPECT_EQ(exit_code(grower), 0);
  char buf[64];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  ASSERT_GT(std::filesystem::file_size(dir.path() + "/data.mdb"), 1u << 20) << "the map did not grow";
  auto seen = small->inspect("login", "grown");
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(seen->attempts_remaining, 5);
  auto bulk = small->inspect("login", "bulk-7999");
  ASSERT_TRUE(bulk) << bulk.error().message;
  EXPECT_EQ(bulk->attempts_remaining, 5);
  auto r = small->verify_otp("login", "grown", std::string_view(buf, static_cast<std::size_t>(n)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, Outcome::verified);
  EXPECT_EQ(small->verify_otp("login", "small-one", mine->secret.view())->outcome, Outcome::verified);
}

}  // namespace
// Two engines on one directory, made before a fork: the child lets go of both, used or not
// (gunicorn --preload with two engines, a worker recycled). The parent's environment was freed
// by each of them in the child: a double free that ended it (found by a review).
TEST(FileStoreProcesses, AChildLetsGoOfTwoEnginesOnOneDirectory) {
  TempDir dir;
  const std::string url = "file://" + dir.path() + "?reap_interval_ms=0";
  for (bool use_one : {false, true}) {
    auto a = engine_at(url), b = engine_at(url);
    const pid_t child = fork_child([&] {
      if (use_one && !a->issue_otp("login", "in-child")) return 1;
      a.reset();
      b.reset();
      return 0;
    });
    EXPECT_EQ(exit_code(child), 0) << (use_one ? "one engine used in the child" : "neither used in the child");
    EXPECT_TRUE(a->issue_otp("login", "parent")) << "the parent's store still works";
  }
}

}  // namespace verikit::test
