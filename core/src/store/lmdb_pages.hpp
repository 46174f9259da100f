// verikit::detail — which pages of an LMDB data file its last commit uses, read with pread (never
// through the map, where a page past the end of the file is SIGBUS): the check that a data file
// shorter than its last commit's high-water mark is whole (LMDB may leave a commit's last pages,
// allocated and freed in one transaction, unwritten) or was cut short (a partial restore).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace verikit::detail {

struct PageWalk {
  bool whole = false;        // every page the trees use lies inside the file, and reads as LMDB wrote it
  std::string problem;       // else: what was found (a page past the end, a page that is not what it should be)
  std::uint64_t pages = 0;   // pages the trees use (branch, leaf, overflow; the two meta pages not counted)
  std::uint64_t last = 0;    // the highest of them
};

// Walks, from the newer meta page, the free-page tree, the main tree and every named database in
// it, of the data file `fd` (page size `page_size`, `file_pages` pages long). LMDB's on-disk
// format (MDB_DATA_VERSION 1: the layout of liblmdb 0.9 on a 64-bit little-endian machine); any
// other is reported as a problem, never trusted.
PageWalk walk_lmdb_pages(int fd, std::size_t page_size, std::uint64_t file_pages);

}  // namespace verikit::detail
