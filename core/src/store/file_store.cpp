// verikit — the file store: LMDB in a directory shared by the processes of one machine. Every
// operation is one write transaction (LMDB lets one writer in at a time, across processes): the
// group's record is read, the memory store's rules (store/group_rules) run on it, and it is
// written back, or deleted when empty. Records ("g" + group tag, "c" + client tag) hold only
// what the engine gives a store: keyed hashes, sealed blobs and times. An expiry index ("due":
// big-endian deadline + record key, one entry per record) is reaped a few entries per write and
// by a thread every reap_interval. A forked child opens its own environment on first use (an
// LMDB environment must not be used across fork()); the parent's stays the parent's.
#include "verikit/file_store.hpp"

#include <lmdb.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <type_traits>
#include <vector>

#include "store/group_codec.hpp"
#include "store/group_rules.hpp"
#include "store/lmdb_pages.hpp"
#include "store/reaper.hpp"
#include "verikit/process.hpp"

namespace verikit {
namespace {

using detail::ClientBuckets;
using detail::Group;
using detail::ms;

constexpr std::string_view kFormatName = "format";
constexpr std::string_view kKeyCheckName = "key-check";  // meta: the tag of the records' index key
constexpr std::string_view kFormat = "verikit file store 1";

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

Error lmdb_error(int rc, const std::string& what) {
  return make_error(Errc::store_unavailable, "file store: " + what + ": " + mdb_strerror(rc));
}

// The expiry index's key: the deadline big-endian (so the index is in deadline order), then the
// record's key.
std::string due_key(long long at, std::string_view record) {
  std::string k(8, '\0');
  auto u = static_cast<std::uint64_t>(std::max(0LL, at));
  for (int i = 7; i >= 0; --i, u >>= 8) k[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xff);
  k.append(record);
  return k;
}
long long due_at(std::string_view k) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8 && i < static_cast<int>(k.size()); ++i) u = (u << 8) | static_cast<unsigned char>(k[i]);
  return static_cast<long long>(u);
}

// One opened environment (the directory's data and lock files, mapped) and its databases.
struct Env {
  MDB_env* env = nullptr;
  MDB_dbi records = 0;
  MDB_dbi due = 0;
  MDB_dbi meta = 0;   // the format, the key-check record
  std::size_t page_size = 4096;
  std::size_t map_pages = 0;
  std::string dir_path;         // the directory, as opened
  std::string data_path;        // the directory's data.mdb (for messages)
  int dir_fd = -1;              // the directory (a rename of it changes nothing below)
  dev_t data_dev = 0;           // the files opened (replaced_error)
  ino_t data_ino = 0;
  dev_t lock_dev = 0;
  ino_t lock_ino = 0;
};

// Whether the store's files are still the ones the environment opened, and whole. Under running
// processes, a data file put in its place (a restore, `cp` of a backup then `mv`), a directory
// put in the directory's place (`mv dir dir.old; cp -a dir.old dir`; a directory only renamed
// is fine), or a lock file removed (a
// "stale lock" clean-up: processes that open the store afterwards make a new lock table, and
// this one's transactions, on the old table, undo theirs) would each have this process and newer
// ones work apart: split state, where a code one of them spent verifies again (all three found
// by a review: 49 of 50 codes verified twice after a lock file was removed). Two system calls per
// transaction; any of these fails every call until restart. (Not its length: LMDB may leave a
// commit's last pages unwritten, allocated and freed in one transaction, so a whole file can be
// shorter than its last page number says; a file cut short under a running process can still end
// it with SIGBUS. See open_env for the check at open.)
std::optional<Error> replaced_error(const Env& e) {
  if (e.dir_fd < 0) return std::nullopt;  // (not known: the directory could not be opened)
  auto same = [](const struct stat& st, dev_t dev, ino_t ino) { return st.st_dev == dev && st.st_ino == ino; };
  auto gone = [&](const std::string& what) {
    return make_error(Errc::store_protocol,
                      "file store: " + what +
                          " is no longer the one this process opened (replaced or removed while in use): restart "
                          "every process that uses the store (restore or clean up only with all of them stopped)");
  };
  // data.mdb by its whole path: another file there, or another directory by that name, is split
  // state; nothing (readable) there is a directory renamed away, or a path this process may no
  // longer search (fine): then its own data.mdb is looked at.
  struct stat now {};
  if (::stat(e.data_path.c_str(), &now) != 0) {
    if (::fstatat(e.dir_fd, "data.mdb", &now, 0) != 0 || !same(now, e.data_dev, e.data_ino)) return gone(e.data_path);
  } else if (!same(now, e.data_dev, e.data_ino)) {
    return gone(e.data_path + " (or its directory)");
  }
  if (::fstatat(e.dir_fd, "lock.mdb", &now, 0) != 0 || !same(now, e.lock_dev, e.lock_ino))
    return gone(e.dir_path + "/lock.mdb");
  return std::nullopt;
}

unsigned int env_flags(FileDurability d) {
  switch (d) {
    case FileDurability::sync: return MDB_NOTLS;
    case FileDurability::nometasync: return MDB_NOTLS | MDB_NOMETASYNC;
    case FileDurability::nosync: return MDB_NOTLS | MDB_NOSYNC;
  }
  return MDB_NOTLS;
}

void read_geometry(Env& e) {
  MDB_stat st{};
  MDB_envinfo info{};
  mdb_env_stat(e.env, &st);
  mdb_env_info(e.env, &info);
  e.page_size = st.ms_psize;
  e.map_pages = info.me_mapsize / st.ms_psize;
}

Expected<Env> open_env(const std::string& dir, const FileStoreOptions& o) {
  Env e;
  e.dir_path = dir;
  e.data_path = dir + "/data.mdb";
  if (int rc = mdb_env_create(&e.env); rc != 0) return lmdb_error(rc, "mdb_env_create");
  // Closed (its transaction aborted) on every way out but success, an exception included: an
  // environment left open would have the next store of this process open the files again.
  struct Closing {
    MDB_env* env;
    MDB_txn* txn = nullptr;
    bool keep = false;
    ~Closing() {
      if (txn != nullptr) mdb_txn_abort(txn);
      if (!keep) mdb_env_close(env);
    }
  } closing{e.env};
  if (int rc = mdb_env_set_maxdbs(e.env, 3); rc != 0) return lmdb_error(rc, "mdb_env_set_maxdbs");
  // Reader slots for every process's concurrent read transactions (inspect and the recovery
  // count read beside the writes: LMDB's default is 126 for all processes together). A lock
  // file made with fewer keeps its size until every process has closed the store.
  if (int rc = mdb_env_set_maxreaders(e.env, 1024); rc != 0) return lmdb_error(rc, "mdb_env_set_maxreaders");
  if (int rc = mdb_env_set_mapsize(e.env, o.max_size_mb << 20); rc != 0) return lmdb_error(rc, "mdb_env_set_mapsize");
  if (int rc = mdb_env_open(e.env, dir.c_str(), env_flags(o.durability), 0600); rc != 0)
    return lmdb_error(rc, "cannot open " + dir);
  int dead = 0;  // reader slots of processes that died (SIGKILL) holding them
  if (int rc = mdb_reader_check(e.env, &dead); rc != 0) return lmdb_error(rc, "mdb_reader_check");
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(e.env, nullptr, 0, &txn); rc != 0) return lmdb_error(rc, "mdb_txn_begin");
  closing.txn = txn;
  // A data file shorter than the pages its last commit names (cut short by a partial restore,
  // or by `cp` over a live file) would end the process with SIGBUS at the first read past its end.
  // Short by a few pages can be a whole file: LMDB may leave a commit's last pages unwritten (pages
  // allocated and freed in one transaction, found by a review). So a short file's trees are walked
  // (read with pread, never through the map: lmdb_pages.hpp), holding the writer lock (no commit
  // moves them meanwhile) and before anything reads a page: every page they use must be in the
  // file. (A flat allowance of 64 pages let a copy cut by 1 to 63 pages open and crash at its
  // first use: the newest pages, the trees' roots among them, are the last; found by a review.)
  {
    MDB_envinfo info{};
    MDB_stat st{};
    mdb_env_info(e.env, &info);
    mdb_env_stat(e.env, &st);
    mdb_filehandle_t fd = -1;
    struct stat file {};
    if (mdb_env_get_fd(e.env, &fd) != 0 || ::fstat(fd, &file) != 0)
      return make_error(Errc::store_unavailable, "file store: cannot stat " + e.data_path);
    e.data_dev = file.st_dev;
    e.data_ino = file.st_ino;
    // (in pages: a damaged meta page's last page number, times the page size, could wrap)
    const auto size = static_cast<unsigned long long>(file.st_size);
    const unsigned long long file_pages = size / st.ms_psize;
    if (file_pages <= info.me_last_pgno) {
      const detail::PageWalk walk = detail::walk_lmdb_pages(fd, st.ms_psize, file_pages);
      if (!walk.whole)
        return make_error(Errc::store_protocol,
                          "file store: " + dir + "/data.mdb holds " + std::to_string(file_pages) + " pages of the " +
                              std::to_string(static_cast<unsigned long long>(info.me_last_pgno) + 1) +
                              " its last commit counts, and " + walk.problem +
                              ": it was cut short (copied while in use, or a partial restore), or damaged. Restore a "
                              "copy made with mdb_copy with every process stopped, or remove the directory (every "
                              "code and lockout in it is then lost)");
    }
  }
  MDB_dbi& meta = e.meta;
  int rc = mdb_dbi_open(txn, "records", MDB_CREATE, &e.records);
  if (rc == 0) rc = mdb_dbi_open(txn, "due", MDB_CREATE, &e.due);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
  MDB_val k = val(kFormatName), v{};
  if (rc == 0) {
    rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
      v = val(kFormat);
      rc = mdb_put(txn, meta, &k, &v, 0);
    } else if (rc == 0 && view(v) != kFormat) {
      const std::string found(view(v));
      return make_error(Errc::store_protocol, "file store: " + dir + " holds '" + found + "', and this verikit reads '" +
                                                  std::string(kFormat) + "' only (was it written by a newer verikit?)");
    }
  }
  if (rc != 0) return lmdb_error(rc, "cannot set up " + dir);
  closing.txn = nullptr;  // (the commit ends it, whatever it returns)
  if (rc = mdb_txn_commit(txn); rc != 0) return lmdb_error(rc, "cannot set up " + dir);
  read_geometry(e);
  // (closed with the environment; opened only when every identity is known)
  struct stat lock {};
  if (e.data_ino != 0 && ::stat((dir + "/lock.mdb").c_str(), &lock) == 0) {
    e.lock_dev = lock.st_dev;
    e.lock_ino = lock.st_ino;
    e.dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  closing.keep = true;
  return e;
}

// A write transaction, or a read-only one (`read_only`: it takes no part in LMDB's writer lock,
// so it is not held up by another process's write). The first failure is kept and later calls do
// nothing; commit() then aborts and reports it. A transaction that changed nothing is aborted
// (no sync).
class Txn {
 public:
  // A map made larger by another process is adopted when `resize` is given: the caller holds the
  // store's txn_mutex (no write transaction of this process is open), and `resize` is the mutex
  // its lock-free read transactions hold shared (taken here exclusively: none is open either).
  // Without it, that case fails with MDB_MAP_RESIZED (resized()).
  Txn(Env& e, bool read_only, std::shared_mutex* resize) : read_only_(read_only) {
    const unsigned flags = read_only ? MDB_RDONLY : 0;
    int rc = mdb_txn_begin(e.env, nullptr, flags, &txn_);
    if (rc == MDB_MAP_RESIZED && resize != nullptr) {  // another process made the map larger: adopt its size
      {
        std::unique_lock<std::shared_mutex> alone(*resize);
        if (mdb_env_set_mapsize(e.env, 0) == 0) read_geometry(e);
      }
      rc = mdb_txn_begin(e.env, nullptr, flags, &txn_);
    }
    resized_ = rc == MDB_MAP_RESIZED;
    if (rc != 0) {
      txn_ = nullptr;
      error_ = lmdb_error(rc, "mdb_txn_begin");
    }
  }
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  bool ok() const { return !error_; }
  bool full() const { return full_; }  // the failure was LMDB's map (or a transaction) being full
  bool resized() const { return resized_; }  // begun without `resize` on a map grown by another process
  bool dirty() const { return dirty_; }
  MDB_txn* raw() const { return txn_; }
  void fail(Error e) {
    if (!error_) error_ = std::move(e);
  }

  // The value, valid until the next write of this transaction; nothing when absent or failed.
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) {
    if (!ok()) return std::nullopt;
    MDB_val k = val(key), v{};
    const int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    if (rc != 0) {
      check(rc, "mdb_get");
      return std::nullopt;
    }
    return view(v);
  }
  void put(MDB_dbi dbi, std::string_view key, std::string_view value) {
    if (!ok() || !writable()) return;
    MDB_val k = val(key), v = val(value);
    check(mdb_put(txn_, dbi, &k, &v, 0), "mdb_put");
    dirty_ = true;
  }
  void del(MDB_dbi dbi, std::string_view key) {
    if (!ok() || !writable()) return;
    MDB_val k = val(key);
    const int rc = mdb_del(txn_, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return;
    check(rc, "mdb_del");
    dirty_ = true;
  }

  Status commit() {
    MDB_txn* t = std::exchange(txn_, nullptr);
    if (!ok()) {
      if (t != nullptr) mdb_txn_abort(t);
      return std::move(*error_);
    }
    if (!dirty_) {
      mdb_txn_abort(t);
      return Unit{};
    }
    if (const int rc = mdb_txn_commit(t); rc != 0) {
      check(rc, "mdb_txn_commit");
      return std::move(*error_);
    }
    return Unit{};
  }

 private:
  bool writable() {  // (a write in a read-only transaction is verikit's bug: the call fails)
    if (read_only_) fail(make_error(Errc::internal, "file store: a write in a read-only transaction"));
    return !read_only_;
  }
  void check(int rc, const char* what) {
    if (rc == 0) return;
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) full_ = true;
    fail(lmdb_error(rc, what));
  }

  MDB_txn* txn_ = nullptr;
  bool read_only_ = false;
  bool resized_ = false;
  bool full_ = false;
  bool dirty_ = false;
  std::optional<Error> error_;
};

// An environment shared by the file stores of a process that name the same directory: LMDB
// must not have one file open twice in a process (closing one drops the other's locks: every
// process that opens the store afterwards thinks itself alone and resets the lock table, the
// writer lock included, and two writers lose each other's updates — wrong guesses answered and
// never counted). Closed by the last store, and only in the process that opened it: closing the
// parent's environment in a forked child would free the parent's reader slots.
struct SharedEnv {
  detail::ProcessTag process;
  Env e;
  std::mutex txn_mutex;  // this process's write transactions on it, one at a time
  std::shared_mutex map_mutex;  // held shared by read transactions begun outside txn_mutex
  explicit SharedEnv(Env env) : e(env) {}
  ~SharedEnv() {
    if (e.dir_fd >= 0) ::close(e.dir_fd);  // (a copy of the descriptor in a forked child)
    if (!process.forked()) mdb_env_close(e.env);
  }
};

// The directory as the kernel knows it (device and inode): two spellings of one directory (a
// symlink, a renamed parent, a bind mount) are one environment.
using DirId = std::pair<dev_t, ino_t>;

// The environments this process has open, each with how many stores use it. Opening and the
// last store's closing both happen under `mutex`: an environment is never opened while the one
// it replaces is still open (with a weak_ptr, an expired entry's environment was still being
// closed when the next store opened its own: seen losing the process's locks).
struct EnvRegistry {
  detail::ProcessTag process;
  std::mutex mutex;
  std::map<DirId, std::pair<SharedEnv*, long>> open;
};

EnvRegistry& env_registry() {
  // Never destroyed: a store released at exit (a detached thread's, a leaked binding object's)
  // still finds it.
  static EnvRegistry& registry = *new EnvRegistry;
  detail::adopt_after_fork(registry.process, [] {  // the parent's entries are not this process's
    detail::renew_in_place(registry.mutex);
    detail::renew_in_place(registry.open);
  });
  return registry;
}

// A store's share of an environment: the last one closes it, under the registry's lock.
struct ReleaseEnv {
  DirId id;
  void operator()(SharedEnv* env) const noexcept {
    EnvRegistry& registry = env_registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    auto it = registry.open.find(id);
    if (it != registry.open.end() && it->second.first == env) {
      if (--it->second.second > 0) return;
      registry.open.erase(it);
    }
    // In a forked child the parent's environment is left as it is (not freed: several of the
    // child's stores may still point at it, each releasing it once — freed by each, a double
    // free that ended the child, found by a review; not closed: see ~SharedEnv).
    if (env->process.forked()) return;
    delete env;
  }
};

// The directory made (0700) if need be, then checked: a directory or file that another user
// could change, or a symlink where LMDB's files go, is refused. Whoever can write the files can
// reset every guess budget and lockout without the key, or point lock.mdb at a file of this
// process's user for LMDB to overwrite.
Expected<DirId> prepare_directory(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  if (!std::filesystem::exists(path, ec)) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(Errc::config, "file store: cannot create the directory " + dir + ": " + std::strerror(errno));
  }
  const uid_t me = ::geteuid();
  // Trusted: this process's user or root, or a group this process is in when the group may write
  // (a store shared by services of one group); never anything others may write.
  auto in_group = [](gid_t g) {
    if (g == ::getegid()) return true;
    const int count = ::getgroups(0, nullptr);  // (however many: a process may be in thousands)
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(count, 0)));
    const int n = groups.empty() ? 0 : ::getgroups(static_cast<int>(groups.size()), groups.data());
    return std::find(groups.begin(), groups.begin() + std::max(n, 0), g) != groups.begin() + std::max(n, 0);
  };
  // (A group that may write must be one of this process's, whoever the owner: a file of this
  // user's writable by a group it is not in is as open as one of that group's.)
  auto trusted = [&](const struct stat& f) {
    if ((f.st_mode & S_IWOTH) != 0) return false;
    if ((f.st_mode & S_IWGRP) != 0) return in_group(f.st_gid);
    return f.st_uid == me || f.st_uid == 0;
  };
  auto untrusted = [](const std::string& what, const struct stat& f) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(f.st_mode & 07777));
    return make_error(Errc::config, "file store: " + what + " (owner uid " + std::to_string(f.st_uid) + ", mode " +
                                        mode + ") could be changed by other users: it must belong to this process's "
                                        "user or root (or be writable by a group of this process's) and not be "
                                        "writable by others (chmod o-w)");
  };
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return make_error(Errc::config, "file store: " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::config, "file store: " + dir + " is not a directory");
  if (!trusted(st)) return untrusted("the directory " + dir, st);
  for (const char* name : {"data.mdb", "lock.mdb"}) {
    const std::string file = dir + "/" + name;
    struct stat f {};
    if (::lstat(file.c_str(), &f) != 0) {
      if (errno == ENOENT) continue;
      return make_error(Errc::config, "file store: " + file + ": " + std::strerror(errno));
    }
    if (!S_ISREG(f.st_mode))
      return make_error(Errc::config, "file store: " + file + " is not a regular file (a symlink?): refused");
    if (!trusted(f)) return untrusted(file, f);
  }
  return DirId{st.st_dev, st.st_ino};
}

Expected<std::shared_ptr<SharedEnv>> acquire_env(const std::string& dir, const FileStoreOptions& o) {
  auto id = prepare_directory(dir);
  if (!id) return std::move(id).error();
  std::error_code ec;
  const std::string path = std::filesystem::canonical(dir, ec).string();
  if (ec) return make_error(Errc::config, "file store: " + dir + ": " + ec.message());
  EnvRegistry& registry = env_registry();
  SharedEnv* env = nullptr;
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    auto& slot = registry.open[*id];
    if (slot.first != nullptr && !slot.first->process.forked()) {
      ++slot.second;
      env = slot.first;
    } else {
      auto opened = open_env(path, o);
      if (!opened) {
        registry.open.erase(*id);
        return std::move(opened).error();
      }
      std::unique_ptr<SharedEnv> made;
      try {
        made = std::make_unique<SharedEnv>(*opened);
      } catch (...) {
        mdb_env_close(opened->env);
        if (opened->dir_fd >= 0) ::close(opened->dir_fd);
        registry.open.erase(*id);
        throw;
      }
      slot = {made.get(), 1};
      env = made.release();
    }
  }
  // Made outside the lock: if it cannot be made, the deleter gives the share back (under it).
  return std::shared_ptr<SharedEnv>(env, ReleaseEnv{*id});
}

class FileStore final : public Store {
 public:
  FileStore(std::string dir, std::shared_ptr<const Clock> clock, FileStoreOptions options, std::shared_ptr<SharedEnv> env)
      : dir_(std::move(dir)), clock_(std::move(clock)), options_(options), env_(std::move(env)) {
    start_reaper();
  }

  ~FileStore() override { stop_threads(); }

  // Ends the reaper; in a forked child it forgets the parent's (see Reaper::stop).
  void stop_threads() noexcept override { reaper_.stop(); }

  bool shared() const noexcept override { return true; }
  bool completes_inline() const noexcept override { return true; }

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    done(on_group<OtpIssueReply>(req.group, Open::create, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::issue_otp(g, req, now);
    }));
  }

  // The failed state is written first: when the file has no room for it, the call fails before
  // the secret is compared (the reply never depends on it then), and a wrong guess is never
  // answered without being counted. A right code then rewrites the same pages (already the
  // transaction's own); only a B-tree rebalance on deleting the record could still need a new
  // page, and with the reserve that new records leave (room_for_new_record) none is missing.
  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    done(on_group<VerifyReply>(req.group, Open::existing, [&](Txn& t, const std::string& key, Group& g, TimePoint now) {
      Group failed = g;
      OtpVerifyRequest wrong = req;
      for (SecretHash& c : wrong.candidates) c.hash.clear();
      detail::verify_otp(failed, wrong, now);
      save_group(t, key, failed);
      g.indexed_until = failed.indexed_until;  // the index entry is the failed state's now
      return detail::verify_otp(g, req, now);  // then written back by on_group (when it differs)
    }));
  }

  void recovery_set(const RecoverySetRequest& req, Callback<WriteReply> done) override {
    done(on_group<WriteReply>(req.group, Open::create, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return WriteReply{detail::set_recovery(g, req, now)};
    }));
  }

  // As otp_verify: the state of a wrong guess is written first, so that a file with no room for
  // it fails the call whatever the code was (a right one is never told apart by succeeding).
  void recovery_use(const RecoveryUseRequest& req, Callback<VerifyReply> done) override {
    done(on_group<VerifyReply>(req.group, Open::existing, [&](Txn& t, const std::string& key, Group& g, TimePoint now) {
      Group failed = g;
      RecoveryUseRequest wrong = req;
      for (SecretHash& c : wrong.candidates) c.hash.clear();
      detail::use_recovery(failed, wrong, now);
      save_group(t, key, failed);
      g.indexed_until = failed.indexed_until;
      return detail::use_recovery(g, req, now);
    }));
  }

  void recovery_count(const std::string& group, Callback<int> done) override {
    done(on_group<int>(group, Open::read_only, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::count_recovery(g, now);
    }));
  }

  // Read first, in a read-only transaction (a start is not held up by another process's writer
  // unless the record must be made); made in a write transaction that looks again.
  void key_check(const std::string& tag, bool create, Callback<KeyCheck> done) override {
    auto look = [&](Txn& t) {
      auto found = t.get(env_->e.meta, kKeyCheckName);
      if (!found) return KeyCheck::absent;
      return *found == tag ? KeyCheck::matched : KeyCheck::mismatch;
    };
    auto seen = transact<KeyCheck>([&](Txn& t, TimePoint) { return look(t); }, false, true);
    if (!seen || *seen != KeyCheck::absent || !create) return done(std::move(seen));
    done(transact<KeyCheck>([&](Txn& t, TimePoint) {
      const KeyCheck now = look(t);
      if (now != KeyCheck::absent) return now;
      t.put(env_->e.meta, kKeyCheckName, tag);
      return KeyCheck::created;
    }, false));
  }

  void second_factors_revoke(const SecondFactorsRevokeRequest& req, Callback<int> done) override {
    done(on_group<int>(req.group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::revoke_second_factors(g, req, now);
    }));
  }

  void totp_enroll(const TotpEnrollRequest& req, Callback<WriteReply> done) override {
    done(on_group<WriteReply>(req.group, Open::create, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      detail::enroll_totp(g, req, now);
      return WriteReply{1};
    }));
  }

  void totp_load(const std::string& group, const FailureBudget& budget, Callback<TotpLoadReply> done) override {
    done(on_group<TotpLoadReply>(group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::load_totp_step(g, budget, now);
    }));
  }

  // The failed state first, as recovery_use.
  void totp_commit(const TotpCommitRequest& req, Callback<VerifyReply> done) override {
    done(on_group<VerifyReply>(req.group, Open::existing, [&](Txn& t, const std::string& key, Group& g, TimePoint now) {
      Group failed = g;
      TotpCommitRequest wrong = req;
      wrong.step = -1;
      detail::commit_totp_step(failed, wrong, now);
      save_group(t, key, failed);
      g.indexed_until = failed.indexed_until;
      return detail::commit_totp_step(g, req, now);
    }));
  }

  // The failed state first, as recovery_use.
  void totp_confirm(const TotpConfirmRequest& req, Callback<VerifyReply> done) override {
    done(on_group<VerifyReply>(req.group, Open::create, [&](Txn& t, const std::string& key, Group& g, TimePoint now) {
      Group failed = g;
      TotpConfirmRequest wrong = req;
      wrong.step = -1;
      detail::confirm_totp_step(failed, wrong, now);
      save_group(t, key, failed);
      g.indexed_until = failed.indexed_until;
      return detail::confirm_totp_step(g, req, now);
    }));
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
    done(on_group<bool>(group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::revoke_otp(g, now);
    }));
  }

  void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) override {
    done(on_group<TokenIssueReply>(req.group, Open::create, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::issue_token(g, req, now);
    }));
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    done(on_group<VerifyReply>(req.group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::verify_token(g, req, now);
    }));
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
    done(on_group<bool>(group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::revoke_token(g, token_id, now);
    }));
  }

  void revoke_all(const std::string& group, Callback<int> done) override {
    done(on_group<int>(group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::revoke_credentials(g, now);
    }));
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    done(on_group<InspectReply>(group, Open::read_only, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      InspectReply reply;
      detail::inspect_group(g, now, reply);
      return reply;
    }));
  }

  void unlock(const std::string& group, const GcraLimit& budget, Callback<bool> done) override {
    done(on_group<bool>(group, Open::existing, [&](Txn&, const std::string&, Group& g, TimePoint now) {
      return detail::unlock_group(g, budget, now);
    }));
  }

  void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) override {
    done(transact<ClientLimitReply>([&](Txn& t, TimePoint now_tp) {
      const long long now = ms(now_tp);
      const std::string key = "c" + req.client;
      ClientLimitReply reply;
      ClientBuckets b;
      if (auto bytes = t.get(env_->e.records, key)) {
        auto decoded = detail::decode_client(*bytes);
        if (!decoded) {
          t.fail(std::move(decoded).error());
          return reply;
        }
        b = *decoded;
      } else {
        if (req.refund) return reply;  // nothing to give back
        if (!room_for_new_record(t)) return reply;
      }
      reply = detail::take_client_limit(b, req, now);
      if (b.expired(now)) {
        t.del(env_->e.records, key);
        if (b.indexed_until != 0) t.del(env_->e.due, due_key(b.indexed_until, key));
      } else {
        reindex(t, key, b.indexed_until, b.deadline());
        std::string bytes;
        detail::encode_client(b, bytes);
        t.put(env_->e.records, key, bytes);
      }
      return reply;
    }));
  }

  std::size_t reap_all() {
    clear_dead_readers();
    std::size_t total = 0;
    for (;;) {
      std::size_t n = 0;
      auto r = transact<std::size_t>([&](Txn& t, TimePoint now) { return n = reap(t, ms(now), kReapChunk); }, false);
      if (!r) return total;
      total += n;
      if (n < kReapChunk) return total;
    }
  }

  FileStoreStats stats() {
    adopt();
    if (reopen_error_) return FileStoreStats{};
    std::lock_guard<std::mutex> lock(env_->txn_mutex);
    FileStoreStats s;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_->e.env, nullptr, MDB_RDONLY, &txn) != 0) return s;
    MDB_stat st{};
    if (mdb_stat(txn, env_->e.records, &st) == 0) s.records = st.ms_entries;
    if (mdb_stat(txn, env_->e.due, &st) == 0) s.indexed = st.ms_entries;
    mdb_txn_abort(txn);
    s.used_bytes = used_pages() * env_->e.page_size;
    s.max_bytes = env_->e.map_pages * env_->e.page_size;
    return s;
  }

 private:
  static constexpr std::size_t kReapPerWrite = 8;  // more than a write can add: the index drains
  static constexpr std::size_t kReapChunk = 1024;

  // In a forked child, first: the environment, the locks and the reaper become the child's own.
  void adopt() {
    detail::adopt_after_fork(process_, [this] {
      reaper_.stop();  // the parent's: forgotten
      // The parent's environment is forgotten, never closed or destroyed here (its mutex may
      // have been held by a thread of the parent at the fork).
      new std::shared_ptr<SharedEnv>(std::move(env_));
      auto env = acquire_env(dir_, options_);
      if (env) {
        env_ = std::move(env).value();
        start_reaper();
      } else {
        reopen_error_ = std::move(env).error();
      }
    });
  }

  void start_reaper() {
    reaper_.start(options_.reap_interval, [this] { reap_all(); });
  }

  // Runs body(txn, now) in a write transaction of this process (one at a time: LMDB's writer lock
  // serialises processes, this mutex the threads), then commits what it changed; `read_only`: in a
  // read-only transaction (still one at a time in this process: a map grown by another process is
  // adopted only with no transaction open), which no other process's write holds up.
  template <class Reply, class Body>
  Expected<Reply> transact(Body&& body, bool reap_after = true, bool read_only = false) {
    adopt();
    if (reopen_error_) return *reopen_error_;
    if (read_only) {
      if (auto replaced = replaced_error(env_->e)) return std::move(*replaced);
      // Not under txn_mutex, which a write of this process holds while it waits for another
      // process's writer lock.
      {
        std::shared_lock<std::shared_mutex> mapped(env_->map_mutex);
        Txn t(env_->e, true, nullptr);
        if (!t.resized()) return finish<Reply>(t, body(t, clock_->now()));
      }
      // (the map grown by another process: adopted with this process's transactions closed)
    }
    std::lock_guard<std::mutex> lock(env_->txn_mutex);
    if (auto replaced = replaced_error(env_->e)) return std::move(*replaced);
    Txn t(env_->e, read_only, &env_->map_mutex);
    // A data file overwritten in place with an older copy (`cp backup data.mdb` under running
    // processes: the same file, its pages older): its last commit (its meta page) is then older
    // than the lock table's, which numbers the write transactions; a code spent since would
    // verify again (4 of 5, found by a review). Holding the writer lock, the two agree otherwise.
    if (!read_only && t.raw() != nullptr) {
      MDB_envinfo info{};
      mdb_env_info(env_->e.env, &info);
      if (info.me_last_txnid + 1 < mdb_txn_id(t.raw()))
        return make_error(Errc::store_protocol, "file store: " + env_->e.data_path +
                                                    " went back to an older state while in use (overwritten in place "
                                                    "with a copy?): restart every process that uses the store");
    }
    const TimePoint now = clock_->now();
    Reply reply = body(t, now);
    if (reap_after && t.dirty()) reap(t, ms(now), kReapPerWrite);
    return finish<Reply>(t, std::move(reply));
  }

  // The transaction committed (or, unchanged, aborted): the reply, or what failed.
  template <class Reply>
  Expected<Reply> finish(Txn& t, Reply reply) {
    // (asked after the commit: the map can fill at the commit too, after every write fitted)
    if (auto s = t.commit(); !s) {
      if (!t.full()) return std::move(s).error();
      clear_dead_readers();  // (pages a dead reader pinned are free for the next write)
      return full_error();
    }
    return reply;
  }

  // Reader slots of processes that died inside a read transaction (SIGKILL, the OOM killer) keep
  // their snapshot's pages from being reused: the file grows until the store is "full". LMDB clears
  // them at open only; the reaper's thread clears them every reap_interval_ms, and so does a write
  // refused as full.
  void clear_dead_readers() {
    if (env_ == nullptr || env_->e.env == nullptr) return;
    int dead = 0;
    (void)mdb_reader_check(env_->e.env, &dead);
  }

  // How on_group opens a group: `create` makes an absent one (if there is room); `existing` and
  // `read_only` give the default reply for an absent one; `read_only` reads in a read-only
  // transaction and writes nothing back (what the rule changes, such as parts found expired, is
  // left to the next write and the reaper): an inspection or a count is answered while another
  // process holds the writer lock (stopped inside a write, say).
  enum class Open { create, existing, read_only };

  // The group's record through `rule(txn, key, group, now)`, written back when it changed
  // (deleted when empty), as `mode` says.
  template <class Reply, class Rule>
  Expected<Reply> on_group(const std::string& group, Open mode, Rule&& rule) {
    const bool create = mode == Open::create, read_only = mode == Open::read_only;
    return transact<Reply>([&](Txn& t, TimePoint now) {
      const std::string key = "g" + group;
      Group g;
      if (auto bytes = t.get(env_->e.records, key)) {
        auto decoded = detail::decode_group(*bytes);
        if (!decoded) {
          t.fail(std::move(decoded).error());
          return Reply{};
        }
        g = std::move(decoded).value();
      } else if (!create || !room_for_new_record(t)) {
        Reply absent{};
        if constexpr (std::is_same_v<Reply, InspectReply>) absent.now = now;  // the time of the look
        if constexpr (std::is_same_v<Reply, TotpLoadReply>) absent.now_ms = detail::ms(now);  // (a two-step enrollment's)
        return absent;
      }
      Reply reply = rule(t, key, g, now);
      if (!read_only) save_group(t, key, g);
      return reply;
    }, !read_only, read_only);
  }

  // Writes the group back when its bytes changed; deletes it (and its index entry) when empty.
  void save_group(Txn& t, const std::string& key, Group& g) {
    if (!t.ok()) return;
    if (g.empty()) {
      t.del(env_->e.records, key);
      if (g.indexed_until != 0) t.del(env_->e.due, due_key(g.indexed_until, key));
      g.indexed_until = 0;
      return;
    }
    reindex(t, key, g.indexed_until, detail::deadline(g));
    std::string bytes;
    detail::encode_group(g, bytes);
    if (auto old = t.get(env_->e.records, key); !old || *old != bytes) t.put(env_->e.records, key, bytes);
  }

  // Moves the record's expiry index entry from `from` to `to` (0: none).
  void reindex(Txn& t, const std::string& key, long long& from, long long to) {
    if (from == to) return;
    if (from != 0) t.del(env_->e.due, due_key(from, key));
    t.put(env_->e.due, due_key(to, key), {});
    from = to;
  }

  // Drops up to `max` records whose deadline has passed (re-indexing those that live on).
  std::size_t reap(Txn& t, long long now, std::size_t max) {
    std::size_t n = 0;
    MDB_cursor* c = nullptr;
    if (!t.ok() || mdb_cursor_open(t.raw(), env_->e.due, &c) != 0) return 0;
    MDB_val k{}, v{};
    while (n < max && t.ok() && mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && due_at(view(k)) <= now) {
      const std::string entry(view(k));
      const long long at = due_at(entry);
      const std::string key = entry.substr(8);
      ++n;
      t.del(env_->e.due, entry);
      auto bytes = t.get(env_->e.records, key);
      if (!bytes) continue;
      if (key[0] == 'c') {  // (a damaged or stale one is left to the operations on it)
        auto b = detail::decode_client(*bytes);
        if (b && b->indexed_until == at && b->expired(now)) t.del(env_->e.records, key);
        continue;
      }
      auto g = detail::decode_group(*bytes);
      if (!g || g->indexed_until != at) continue;
      g->indexed_until = 0;  // its entry is gone
      detail::drop_expired(*g, TimePoint(std::chrono::milliseconds(now)));
      save_group(t, key, *g);
    }
    mdb_cursor_close(c);
    return n;
  }

  // Whether a new record fits: the pages in use (the high-water mark less the free pages) leave
  // at least the reserve (1/8 of the map) for the writes of existing records. Otherwise `t`
  // fails with "full".
  bool room_for_new_record(Txn& t) {
    const std::size_t reserve = std::max<std::size_t>(env_->e.map_pages / 8, 16);
    const std::size_t limit = env_->e.map_pages > reserve ? env_->e.map_pages - reserve : 0;
    MDB_envinfo info{};
    mdb_env_info(env_->e.env, &info);
    if (info.me_last_pgno + 1 <= limit || used_pages() <= limit) return true;
    t.fail(full_error());
    return false;
  }

  // Pages in use: the high-water mark less the pages on LMDB's free list (read in a read-only
  // transaction: the free list is not readable in a write one).
  std::size_t used_pages() {
    MDB_envinfo info{};
    mdb_env_info(env_->e.env, &info);
    std::size_t free_pages = 0;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_->e.env, nullptr, MDB_RDONLY, &txn) != 0) return info.me_last_pgno + 1;
    MDB_cursor* c = nullptr;
    if (mdb_cursor_open(txn, 0 /* FREE_DBI */, &c) == 0) {
      MDB_val k{}, v{};
      for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, static_cast<MDB_cursor_op>(op)) == 0; op = MDB_NEXT)
        if (v.mv_size >= sizeof(std::size_t)) free_pages += *static_cast<const std::size_t*>(v.mv_data);
      mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    return info.me_last_pgno + 1 - std::min<std::size_t>(free_pages, info.me_last_pgno + 1);
  }

  Error full_error() const {
    return make_error(Errc::store_unavailable,
                      "the file store is full (" + dir_ + ", max_size_mb=" + std::to_string(options_.max_size_mb) +
                          ": file://" + dir_ + "?max_size_mb=N raises it; expired records make room)");
  }

  detail::ProcessTag process_;
  const std::string dir_;
  std::shared_ptr<const Clock> clock_;
  const FileStoreOptions options_;
  std::shared_ptr<SharedEnv> env_;
  std::optional<Error> reopen_error_;
  detail::Reaper reaper_;  // last: started when everything it touches exists, stopped first
};

}  // namespace

Expected<std::shared_ptr<Store>> make_file_store(const std::string& directory, std::shared_ptr<const Clock> clock,
                                                 FileStoreOptions options) {
  if (directory.empty() || directory.front() != '/')
    return make_error(Errc::config, "file store: the directory must be an absolute path (file:///path/to/dir)");
  if (options.max_size_mb < 1 || options.max_size_mb > (std::size_t{1} << 20))
    return make_error(Errc::config, "file store: max_size_mb must be 1 to 1048576");
  auto env = acquire_env(directory, options);
  if (!env) return std::move(env).error();
  if (!clock) clock = std::make_shared<SystemClock>();
  return std::shared_ptr<Store>(std::make_shared<FileStore>(directory, std::move(clock), options, std::move(env).value()));
}

std::optional<FileStoreStats> file_store_stats(Store& store) {
  auto* f = dynamic_cast<FileStore*>(&store);
  if (f == nullptr) return std::nullopt;
  return f->stats();
}

std::size_t reap_file_store(Store& store) {
  auto* f = dynamic_cast<FileStore*>(&store);
  return f == nullptr ? 0 : f->reap_all();
}

}  // namespace verikit
