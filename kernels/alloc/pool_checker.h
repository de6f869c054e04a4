// Bookkeeping for checked pools: which chunks belong to the pool and which
// blocks are live. Exact (a bit per block), so a double free is caught on the
// second free rather than guessed from a magic value the user may have
// overwritten. Costs a binary search over chunks per call: debug only.
//
// Two layouts: blocks packed from the chunk's start (ListPool), or chunks cut
// into pages of `page` bytes, `per_page` blocks from each page's colour
// offset (below), whose records (FixedPool: the pages' bitmaps) take the
// first blocks of each seg-aligned piece of a chunk.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc::detail {

struct PoolGeometry {
  std::size_t block = 0;
  std::size_t page = 0;      // 0: no pages, blocks from the chunk's start
  std::size_t per_page = 0;  // blocks per page, from the page's colour offset
  std::size_t seg = 0;       // chunks are aligned to seg; each seg-aligned piece
  std::size_t stride = 0;    // starts with `stride` bytes of records per page of it
  std::size_t colours = 1;   // page colours (a power of two; 1: every page starts at 0)
  std::size_t colour_step = 0;  // bytes between two colours' offsets
};

// Where the first block of the page holding address `a` starts, from the
// page's first byte: pages take turns (by their address) at offsets 0,
// step, 2 step, ... (see FixedPool's geometry).
inline std::size_t colour_offset(std::uintptr_t a, const PoolGeometry& g) {
  return (a / g.page & (g.colours - 1)) * g.colour_step;
}

// Where the page records at the start of the piece holding address `a` end,
// in a chunk ending at `chunk_end` (a piece: seg bytes, or less at the end).
// Blocks that start before it are records, never handed out.
inline std::uintptr_t records_end(std::uintptr_t a, std::uintptr_t chunk_end, std::size_t seg,
                                  std::size_t page, std::size_t stride) {
  std::uintptr_t piece = a & ~static_cast<std::uintptr_t>(seg - 1);
  return piece + std::min<std::uintptr_t>(chunk_end - piece, seg) / page * stride;
}

class PoolChecker {
 public:
  PoolChecker(const char* who, PoolGeometry g) : who_(who), g_(g) {}

  void add_chunk(const void* begin, std::size_t bytes) {
    Region r;
    r.begin = reinterpret_cast<std::uintptr_t>(begin);
    r.end = r.begin + bytes;
    std::size_t slots = g_.page ? bytes / g_.page * g_.per_page : bytes / g_.block;
    r.live.assign((slots + 63) / 64, 0);
    r.ever.assign((slots + 63) / 64, 0);
    auto at = std::upper_bound(regions_.begin(), regions_.end(), r.begin,
                               [](std::uintptr_t b, const Region& x) { return b < x.begin; });
    regions_.insert(at, std::move(r));
  }

  void on_allocate(const void* p) {
    Region* r = find(p);
    std::size_t i;
    if (r == nullptr || !slot(*r, p, &i))
      misuse(who_, "allocate: free structures corrupt, handed out a pointer that is not a block", p);
    std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (r->live[i / 64] & bit)
      misuse(who_, "allocate: free structures corrupt, block handed out twice "
                   "(was it written to after being freed?)", p);
    r->live[i / 64] |= bit;
    r->ever[i / 64] |= bit;
    ++live_;
  }

  void on_deallocate(const void* p) {
    if (p == nullptr) misuse(who_, "deallocate: null pointer", p);
    Region* r = find(p);
    if (r == nullptr)
      misuse(who_, "deallocate: foreign pointer, not allocated by this pool", p);
    std::size_t i;
    if (!slot(*r, p, &i))
      misuse(who_, "deallocate: pointer into the middle of a block (or the pool's own header)", p);
    std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (!(r->live[i / 64] & bit))
      misuse(who_, (r->ever[i / 64] & bit) ? "deallocate: double free"
                                            : "deallocate: pointer inside the pool but never allocated",
             p);
    r->live[i / 64] &= ~bit;
    --live_;
  }

  std::size_t live() const { return live_; }

 private:
  struct Region {
    std::uintptr_t begin = 0, end = 0;
    std::vector<std::uint64_t> live;  // handed out and not freed
    std::vector<std::uint64_t> ever;  // handed out at least once
  };

  Region* find(const void* p) {
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    auto it = std::upper_bound(regions_.begin(), regions_.end(), a,
                               [](std::uintptr_t b, const Region& x) { return b < x.begin; });
    if (it == regions_.begin()) return nullptr;
    --it;
    return a < it->end ? &*it : nullptr;
  }
  // Slot number of the block starting at p; false if p is not a block start.
  bool slot(const Region& r, const void* p, std::size_t* i) const {
    std::uintptr_t rel = reinterpret_cast<std::uintptr_t>(p) - r.begin;
    if (g_.page == 0) {
      if (rel % g_.block != 0) return false;
      *i = rel / g_.block;
      return true;
    }
    std::size_t off = rel % g_.page;
    const std::size_t colour = colour_offset(reinterpret_cast<std::uintptr_t>(p), g_);
    if (off < colour) return false;
    off -= colour;
    std::size_t k = off / g_.block;
    if (off % g_.block != 0 || k >= g_.per_page) return false;
    // A block that starts inside its piece's page records is not a block.
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    if (a < records_end(a, r.end, g_.seg, g_.page, g_.stride)) return false;
    *i = rel / g_.page * g_.per_page + k;
    return true;
  }

  const char* who_;
  PoolGeometry g_;
  std::size_t live_ = 0;
  std::vector<Region> regions_;
};

// Stand-in for unchecked pools: every hook compiles away.
struct NoChecker {
  NoChecker(const char*, PoolGeometry) {}
  void add_chunk(const void*, std::size_t) {}
  void on_allocate(const void*) {}
  void on_deallocate(const void*) {}
};

}  // namespace cachetick::alloc::detail
