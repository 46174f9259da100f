// verikit — the file store: one state shared by every process of a machine that opens the same
// directory (LMDB: a memory-mapped file, one writer at a time across processes, crash-safe).
// Each operation is one write transaction: read the group's record, apply the same rules as the
// memory store, write it back (or delete it when empty). Times come from the wall clock (state
// outlives processes) or an injected clock. Expired records are reclaimed in bounded time: an
// expiry index keyed by deadline is reaped a few records per write and by a periodic pass.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "verikit/clock.hpp"
#include "verikit/error.hpp"
#include "verikit/store.hpp"

namespace verikit {

// What a power loss (or an operating-system crash) can lose; a crash of a process loses nothing
// committed at any level (the operating system's page cache holds it).
enum class FileDurability {
  sync,        // fsync of data and of the meta page per write: nothing answered is lost
  nometasync,  // one fsync per write (LMDB MDB_NOMETASYNC): the last write may be undone
  nosync,      // no fsync (MDB_NOSYNC): the writes of the last seconds (until the kernel wrote
               // them back) may be lost, and on a file system that reorders writes the file may
               // be damaged (delete it: the state is lost, the codes must be re-issued)
};

struct FileStoreOptions {
  // The size of the map (LMDB's map size): the most the file can grow to. A write that needs a
  // new record when less than 1/8 of it is free is refused with store_unavailable ("full");
  // verifications and revocations go on in that reserve.
  std::size_t max_size_mb = 1024;
  FileDurability durability = FileDurability::sync;
  // How often a thread of the store drops expired records; 0: no thread (writes still reap).
  std::chrono::milliseconds reap_interval{1000};
};

// Opens (creating the directory and its files if need be, mode 0600) the store in `directory`.
// With no clock, the system clock: state is shared with other processes and kept across restarts.
Expected<std::shared_ptr<Store>> make_file_store(const std::string& directory,
                                                 std::shared_ptr<const Clock> clock = nullptr,
                                                 FileStoreOptions options = {});

struct FileStoreStats {
  std::size_t records = 0;    // groups and client keys (expired ones not yet reaped included)
  std::size_t indexed = 0;    // entries of the expiry index (one per record)
  std::size_t used_bytes = 0; // pages in use
  std::size_t max_bytes = 0;  // the map size
};
// For a file store (nothing for another store): its counts, and reaping on demand.
std::optional<FileStoreStats> file_store_stats(Store& store);
std::size_t reap_file_store(Store& store);

}  // namespace verikit
