// The pool's previous design, kept as a benchmark variant and a lesson step:
// a fixed-size pool whose free list is intrusive (kept inside the free
// blocks), carved from large chunks. FixedPool (fixed_pool.h) replaced it;
// README.md says why.
//
// Every block has the same size, so a free block can be found in O(1) and
// needs no header: the pool keeps its bookkeeping INSIDE the free blocks.
// Chunks are carved lazily (a bump pointer over the newest chunk), so a
// fresh 4 MiB chunk costs one malloc and no page faults until blocks are
// actually handed out.
//
// The free list is batched. A textbook intrusive list stores one "next"
// pointer per free block; allocation must load that pointer from the block
// just popped before it knows the following block, so allocating from a list
// freed in random order is a chain of dependent cache misses (one per
// allocation: ~100 ns each once the live set outgrows the caches). Here a free
// block that heads the list also stores the addresses of up to `batch` other
// free blocks:
//
//     base_ -> [ next | b1 | b2 | ... | bn ]      top_ = &bn, limit_ = &b_batch
//                 |
//                 v
//              [ next | b1 | ... | b_batch ]      (every later node is full)
//
// Allocation pops b_n from the head node (a load from a line that is hot
// because the previous free wrote it), and only every (batch+1)-th call
// follows `next` - which was prefetched when the head node was reached.
// Freeing pushes into the head node without touching the freed block's own
// line, so random-order frees do not miss in the cache either. With
// batch = 0 this is exactly the textbook list (kept as a benchmark variant).
//
// Where it falls short: the batch must fit in a block (a 16 B block holds
// `next` and ONE address, so a million random frees still mean a pointer
// chase every second allocation), and a free/allocate pair on a pool with no
// other free block takes both slow paths every time (the freed block becomes
// an empty head node, the next allocation takes the node itself): 27
// instructions per pair under callgrind, boost::pool's list 9.
//
// Not thread-safe: one pool per thread (or per data structure), which is the
// point - no atomics on the fast path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/alloc/checks.h"
#include "kernels/alloc/chunk_list.h"
#include "kernels/alloc/pool_checker.h"

namespace cachetick::alloc {

struct ListPoolOptions {
  std::size_t first_chunk_bytes = 64 * 1024;  // fits L2; grows by doubling
  std::size_t max_chunk_bytes = 4 * 1024 * 1024;
  // Free blocks remembered per list node; clipped to what fits in a block.
  // 0 = textbook one-pointer intrusive list.
  std::size_t batch = 63;
};

template <bool Checks>
class BasicListPool {
 public:
  static constexpr bool kChecked = Checks;

  explicit BasicListPool(std::size_t block_size,
                         std::size_t align = alignof(std::max_align_t),
                         ListPoolOptions opt = {})
      : checker_("ListPool", detail::PoolGeometry{round_block(block_size, align)}) {
    if (!is_pow2(align) || align > kMaxAlign)
      throw std::invalid_argument("ListPool: alignment must be a power of two <= 4096");
    if (block_size == 0 || block_size > opt.max_chunk_bytes)
      throw std::invalid_argument("ListPool: block size must be in [1, max_chunk_bytes]");
    align_ = align;
    block_ = round_block(block_size, align);
    // A node is `next` plus `cap_` block addresses and must fit in one block.
    cap_ = static_cast<std::uint32_t>(
        std::min(opt.batch, block_ / sizeof(void*) - 1));
    next_chunk_ = std::max(opt.first_chunk_bytes, block_);
    max_chunk_ = std::max(opt.max_chunk_bytes, next_chunk_);
  }

  BasicListPool(const BasicListPool&) = delete;
  BasicListPool& operator=(const BasicListPool&) = delete;


  // O(1). Never returns null: throws std::bad_alloc if a new chunk cannot be
  // obtained.
  CACHETICK_INLINE void* allocate() {
    void* p;
    void** t = top_;
    if (CACHETICK_LIKELY(t != base_)) {
      p = load_word(t);
      top_ = t - 1;
      CACHETICK_UNPOISON(p, block_);
    } else if (base_ != nullptr) {
      p = pop_node();
    } else {
      p = carve();
    }
    if constexpr (Checks) checker_.on_allocate(p);
    return p;
  }

  // O(1). `p` must come from this pool's allocate() and not be freed yet;
  // checked pools abort with a message otherwise.
  CACHETICK_INLINE void deallocate(void* p) {
    if constexpr (Checks) checker_.on_deallocate(p);
    void** t = top_;
    if (CACHETICK_LIKELY(t != limit_)) {
      store_word(t + 1, p);
      top_ = t + 1;
      CACHETICK_POISON(p, block_);
    } else {
      // The head node is full (or there is none): the freed block becomes
      // the new, empty head node. Poisoned like any free block: only the
      // pool's own accesses to it unpoison a word (load_word/store_word).
      void** node = static_cast<void**>(p);
      CACHETICK_POISON(p, block_);
      store_word(node, base_);
      base_ = top_ = node;
      limit_ = node + cap_;
    }
  }

  // Makes sure `blocks` more blocks can be carved without another chunk
  // (one chunk holds them all, so they are contiguous).
  void reserve(std::size_t blocks) {
    std::size_t have = (end_ - cur_) / block_;
    if (have >= blocks) return;
    add_chunk(std::max(blocks * block_, next_chunk_));
  }

  std::size_t block_size() const { return block_; }
  std::size_t alignment() const { return align_; }
  std::size_t batch() const { return cap_; }
  std::size_t chunk_count() const { return chunks_.count(); }
  std::size_t reserved_bytes() const { return chunks_.bytes(); }
  // Live blocks (checked pools only: unchecked pools keep no count, so the
  // fast path stays two memory operations).
  std::size_t live() const
    requires Checks
  {
    return checker_.live();
  }

 private:

  // Blocks hold list nodes when free, so they are at least pointer-sized
  // and pointer-aligned whatever the caller's alignment.
  static std::size_t round_block(std::size_t size, std::size_t align) {
    std::size_t a = std::max(is_pow2(align) ? align : 1, alignof(void*));
    std::size_t b = std::max(size, sizeof(void*));
    return (b + a - 1) & ~(a - 1);
  }
  // Chunks start on a cache line at least, so 64 B blocks never straddle two
  // lines (malloc's 16 B alignment plus header makes many of them straddle).
  std::size_t chunk_align() const { return std::max<std::size_t>(align_, 64); }

  // Taking the (now empty) head node itself: its successor is full, so the
  // next `cap_` allocations read only that node. Prefetch the node after it
  // now, so the following switch finds it in cache.
  void* pop_node() {
    void** node = base_;
    void** next = static_cast<void**>(load_word(node));
    CACHETICK_UNPOISON(node, block_);
    base_ = next;
    if (next != nullptr) {
      __builtin_prefetch(load_word(next));
      top_ = limit_ = next + cap_;
    } else {
      top_ = limit_ = nullptr;
    }
    return node;
  }

  // A word of a list node. Nodes are free blocks, poisoned under ASan so
  // that a user's write through a freed pointer is reported (the head node
  // included); the pool unpoisons the one word it reads or writes, for that
  // access only. Without ASan these are a plain load and store.
  static CACHETICK_INLINE void* load_word(void** w) {
    CACHETICK_UNPOISON(w, sizeof(void*));
    void* v = *w;
    CACHETICK_POISON(w, sizeof(void*));
    return v;
  }
  static CACHETICK_INLINE void store_word(void** w, void* v) {
    CACHETICK_UNPOISON(w, sizeof(void*));
    *w = v;
    CACHETICK_POISON(w, sizeof(void*));
  }

  CACHETICK_NOINLINE void* carve() {
    if (end_ - cur_ < block_) add_chunk(next_chunk_);
    void* p = reinterpret_cast<void*>(cur_);
    cur_ += block_;
    CACHETICK_UNPOISON(p, block_);
    return p;
  }

  void add_chunk(std::size_t bytes) {
    bytes = (bytes + block_ - 1) / block_ * block_;
    void* p = chunks_.add(bytes, chunk_align());
    checker_.add_chunk(p, bytes);
    // Blocks left uncarved in the previous chunk are abandoned (less than
    // one chunk's worth of address space, never touched, so never faulted).
    cur_ = reinterpret_cast<std::uintptr_t>(p);
    end_ = cur_ + bytes;
    next_chunk_ = std::min(next_chunk_ * 2, max_chunk_);
  }

  // Hot state first: one cache line serves the fast path. Pointers, not a
  // slot count: the fast path is then one compare and one load or store,
  // with no index arithmetic. No head node: all three are null, so both
  // fast paths fail and fall through.
  void** top_ = nullptr;    // last used slot of the head node (== base_: empty)
  void** base_ = nullptr;   // the head node; base_[0] = next node
  void** limit_ = nullptr;  // last slot the head node may use
  std::uint32_t cap_ = 0;
  std::size_t block_ = 0;
  std::uintptr_t cur_ = 0, end_ = 0;  // uncarved rest of the newest chunk
  std::size_t align_ = 0;
  std::size_t next_chunk_ = 0, max_chunk_ = 0;
  detail::ChunkList chunks_;  // owns the memory; released when the pool dies
  [[no_unique_address]] std::conditional_t<Checks, detail::PoolChecker,
                                           detail::NoChecker> checker_;
};

using ListPool = BasicListPool<kDefaultChecks>;
using CheckedListPool = BasicListPool<true>;

}  // namespace cachetick::alloc
