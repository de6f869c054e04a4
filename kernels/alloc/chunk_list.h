// The large chunks a pool carves its blocks from: obtained aligned, poisoned
// for ASan until carved, on huge pages if asked, released together when
// the pool dies. One owner for FixedPool and ListPool (the arena links its
// chunks through headers inside them instead, so that reset() can walk
// them without a vector).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "kernels/alloc/checks.h"

namespace cachetick::alloc::detail {

class ChunkList {
 public:
  ChunkList() = default;
  ChunkList(const ChunkList&) = delete;
  ChunkList& operator=(const ChunkList&) = delete;
  ~ChunkList() {
    for (const Chunk& c : chunks_) {
      CACHETICK_UNPOISON(c.p, c.bytes);
      ::operator delete(c.p, c.bytes, std::align_val_t{align_});
    }
  }

  // A new chunk of `bytes`, aligned to `align` (one alignment per list: a
  // pool's chunks all share it), poisoned. Throws std::bad_alloc and then
  // owns nothing more (a chunk whose record cannot be stored is given back).
  // `huge`: ask for transparent huge pages (see advise_huge).
  void* add(std::size_t bytes, std::size_t align, bool huge = false) {
    void* p = ::operator new(bytes, std::align_val_t{align});
    try {
      chunks_.push_back({p, bytes});
    } catch (...) {
      ::operator delete(p, bytes, std::align_val_t{align});
      throw;
    }
    align_ = align;
    if (huge) advise_huge(p, bytes);
    CACHETICK_POISON(p, bytes);
    return p;
  }

  std::size_t count() const { return chunks_.size(); }
  std::size_t bytes() const {
    std::size_t s = 0;
    for (const Chunk& c : chunks_) s += c.bytes;
    return s;
  }

  // The whole 2 MiB pieces of [a, a + bytes): [first, last), empty when
  // no whole piece lies inside (every chunk under 2 MiB, and some larger
  // ones that are not 2 MiB-aligned).
  struct Range {
    std::uintptr_t first, last;
  };
  static constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  static Range huge_pieces(std::uintptr_t a, std::size_t bytes) {
    const std::uintptr_t first = (a + kHugePage - 1) & ~(kHugePage - 1);
    const std::uintptr_t last = (a + bytes) & ~(kHugePage - 1);
    return first < last ? Range{first, last} : Range{first, first};
  }

 private:
  // Asks for 2 MiB pages over the chunk's whole 2 MiB pieces (madvise
  // MADV_HUGEPAGE: Linux's transparent huge pages, honoured in THP's
  // "madvise" and "always" modes). The reason is the TLB: a pool whose
  // blocks come back from random pages (random_1m: a million blocks freed
  // in random order are handed out again a 64 KiB page at a time, pages in
  // random order) crosses a 4 KiB page every 16 256 B blocks, and 256 MiB
  // of 4 KiB pages is over ten times what a second-level TLB maps (2-4
  // thousand entries: 8-16 MiB); its 128 2 MiB pages fit one. The price: a
  // piece is faulted in (and zeroed) whole on its first touch, so up to
  // 2 MiB of a new chunk is resident before its blocks are used. Advice
  // only: a kernel without THP, or with it off, refuses or ignores it and
  // nothing else changes, so the result is not checked. Out of line: it
  // runs once per chunk.
  [[gnu::cold]] CACHETICK_NOINLINE static void advise_huge(void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
    const Range r = huge_pieces(reinterpret_cast<std::uintptr_t>(p), bytes);
    if (r.first < r.last) (void)madvise(reinterpret_cast<void*>(r.first), r.last - r.first, MADV_HUGEPAGE);
#else
    (void)p, (void)bytes;
#endif
  }

  struct Chunk {
    void* p;
    std::size_t bytes;
  };
  std::vector<Chunk> chunks_;
  std::size_t align_ = 0;
};

}  // namespace cachetick::alloc::detail
