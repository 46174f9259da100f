// verikit::detail — the pages of an LMDB data file's last commit, read with pread. The layout
// (liblmdb 0.9, MDB_DATA_VERSION 1, 64-bit): a page is a 16-byte header (pgno u64, pad u16,
// flags u16, lower u16 and upper u16 — or, on an overflow page, its page count u32) and, on a
// branch or leaf page, (lower - 16) / 2 node offsets (u16) after it; a node is lo u16, hi u16,
// flags u16, key size u16, the key, then (leaf) the value. Pages 0 and 1 are the meta pages:
// magic u32 at 16, version u32 at 20, the free and main trees' MDB_db at 40 and 88 (root at 40 in
// each), txnid at 144.
#include "store/lmdb_pages.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace verikit::detail {
namespace {

constexpr std::uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04, kLeaf2 = 0x20;
constexpr std::uint16_t kBigData = 0x01, kSubData = 0x02, kDupData = 0x04;
constexpr std::uint32_t kMagic = 0xBEEFC0DE, kDataVersion = 1;
constexpr std::uint64_t kNoPage = ~std::uint64_t{0};
constexpr std::size_t kHeader = 16, kNode = 8, kDb = 48, kDbRoot = 40;

template <class T>
T at(const std::vector<unsigned char>& b, std::size_t off) {
  T v{};
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

class Walker {
 public:
  Walker(int fd, std::size_t page_size, std::uint64_t file_pages)
      : fd_(fd), psize_(page_size), file_pages_(file_pages), seen_(file_pages, false) {}

  PageWalk run() {
    PageWalk w;
    if (sizeof(void*) != 8 || sizeof(std::size_t) != 8) return fail("the walk reads the layout of 64-bit machines only");
    if (psize_ < 512 || file_pages_ < 2) return fail("the file is too short for its two meta pages");
    std::vector<unsigned char> m0, m1;
    if (!read(0, m0) || !read(1, m1)) return result_;
    for (const auto* m : {&m0, &m1})
      if (at<std::uint32_t>(*m, 16) != kMagic || at<std::uint32_t>(*m, 20) != kDataVersion)
        return fail("a meta page is not LMDB's (version 1)");
    const auto& meta = at<std::uint64_t>(m0, 144) < at<std::uint64_t>(m1, 144) ? m1 : m0;
    tree(at<std::uint64_t>(meta, 40 + kDbRoot));  // the free pages
    tree(at<std::uint64_t>(meta, 88 + kDbRoot));  // the main tree, and the named databases in it
    while (result_.problem.empty() && !pending_.empty()) {
      const std::uint64_t pg = pending_.back();
      pending_.pop_back();
      page(pg);
    }
    if (!result_.problem.empty()) return result_;
    w.whole = true;
    w.pages = pages_;
    w.last = last_;
    return w;
  }

 private:
  PageWalk fail(std::string what) {
    if (result_.problem.empty()) result_.problem = std::move(what);
    return result_;
  }
  bool read(std::uint64_t pg, std::vector<unsigned char>& out, std::size_t count = 1) {
    out.resize(psize_ * count);
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(pg * psize_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fail("page " + std::to_string(pg) + " could not be read" + (n < 0 ? std::string(": ") + std::strerror(errno) : ""));
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Marks pages [pg, pg + count) as used; false (a problem) past the end of the file or used twice.
  bool claim(std::uint64_t pg, std::uint64_t count) {
    if (pg < 2 || count == 0 || pg >= file_pages_ || count > file_pages_ - pg) {
      fail("page " + std::to_string(pg) + (count > 1 ? " (and " + std::to_string(count - 1) + " after it)" : "") +
           " is past the end of the file (" + std::to_string(file_pages_) + " pages)");
      return false;
    }
    for (std::uint64_t p = pg; p < pg + count; ++p) {
      if (seen_[p]) {
        fail("page " + std::to_string(p) + " is used twice");
        return false;
      }
      seen_[p] = true;
    }
    pages_ += count;
    last_ = std::max(last_, pg + count - 1);
    return true;
  }
  void tree(std::uint64_t root) {
    if (root == kNoPage) return;  // an empty database
    if (claim(root, 1)) pending_.push_back(root);
  }
  void page(std::uint64_t pg) {
    std::vector<unsigned char> b;
    if (!read(pg, b)) return;
    const auto flags = at<std::uint16_t>(b, 10);
    if (at<std::uint64_t>(b, 0) != pg) return (void)fail("page " + std::to_string(pg) + " does not hold its own number");
    const bool branch = (flags & kBranch) != 0, leaf = (flags & kLeaf) != 0;
    if (branch == leaf) return (void)fail("page " + std::to_string(pg) + " is neither a branch nor a leaf");
    if ((flags & kLeaf2) != 0) {  // fixed-size duplicates: no pages below (a leaf's flag only:
      // LMDB follows a branch's children whatever else its flags say)
      if (branch) fail("page " + std::to_string(pg) + " is a branch with a leaf's flag");
      return;
    }
    const std::size_t lower = at<std::uint16_t>(b, 12);
    if (lower < kHeader || lower > psize_ || (lower - kHeader) % 2 != 0)
      return (void)fail("page " + std::to_string(pg) + " has a malformed node table");
    for (std::size_t i = 0; i < (lower - kHeader) / 2 && result_.problem.empty(); ++i) {
      const std::size_t off = at<std::uint16_t>(b, kHeader + 2 * i);
      if (off < lower || off + kNode > psize_) return (void)fail("page " + std::to_string(pg) + " has a node out of place");
      const auto lo = at<std::uint16_t>(b, off), hi = at<std::uint16_t>(b, off + 2), nflags = at<std::uint16_t>(b, off + 4);
      const std::size_t ksize = at<std::uint16_t>(b, off + 6);
      if (branch) {
        const std::uint64_t child = lo | (std::uint64_t{hi} << 16) | (std::uint64_t{nflags} << 32);
        if (claim(child, 1)) pending_.push_back(child);
        continue;
      }
      const std::size_t data = off + kNode + ksize;
      const std::size_t dsize = lo | (std::size_t{hi} << 16);
      if ((nflags & kBigData) != 0) {  // the value on overflow pages
        if (data + 8 > psize_) return (void)fail("page " + std::to_string(pg) + " has a node out of place");
        overflow(at<std::uint64_t>(b, data), dsize);
      } else if ((nflags & kSubData) != 0) {  // a named database (main tree), or a tree of duplicates
        if (data + kDb > psize_) return (void)fail("page " + std::to_string(pg) + " has a node out of place");
        tree(at<std::uint64_t>(b, data + kDbRoot));
      } else if ((nflags & kDupData) == 0 && data + dsize > psize_) {
        return (void)fail("page " + std::to_string(pg) + " has a value out of place");
      }
    }
  }
  void overflow(std::uint64_t pg, std::size_t dsize) {
    std::vector<unsigned char> b;
    if (pg >= file_pages_ || pg < 2) return (void)claim(pg, 1);  // (reports it)
    if (!read(pg, b)) return;
    const std::uint64_t count = at<std::uint32_t>(b, 12);
    if (at<std::uint64_t>(b, 0) != pg || (at<std::uint16_t>(b, 10) & kOverflow) == 0 || count == 0 ||
        dsize + kHeader > count * psize_)
      return (void)fail("overflow page " + std::to_string(pg) + " is not one");
    claim(pg, count);
  }

  int fd_;
  std::size_t psize_;
  std::uint64_t file_pages_;
  std::vector<bool> seen_;
  std::vector<std::uint64_t> pending_;
  std::uint64_t pages_ = 0, last_ = 0;
  PageWalk result_;
};

}  // namespace

PageWalk walk_lmdb_pages(int fd, std::size_t page_size, std::uint64_t file_pages) {
  return Walker(fd, page_size, file_pages).run();
}

}  // namespace verikit::detail
