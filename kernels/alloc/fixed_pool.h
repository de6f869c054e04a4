// Fixed-size object pool: pages with a free bitmap, behind a LIFO cache.
//
// Every block has the same size, so a free block can be found in O(1) and
// needs no header. Where the pool keeps track of free blocks decides what
// allocation costs once frees have come in random order:
//
// - An intrusive free list (a `next` pointer in each free block, the textbook
//   pool, ListPool) hands blocks out in the order they were freed. After
//   random frees that order is a random walk over the whole pool: each
//   allocation loads `next` from a block nobody touched lately, a dependent
//   cache (and TLB) miss per allocation once the pool outgrows the caches.
// - Here the pool is cut into 64 KiB pages (32 KiB for 8 B blocks, larger
//   for blocks over 8 KiB), and every page has a record: a bitmap of its
//   free blocks, one bit per block, and a 64-bit summary of which bitmap
//   words are non-zero. Allocation takes
//   free blocks from the current page IN ADDRESS ORDER, a bitmap word (64
//   blocks) at a time, whatever order they were freed in: the blocks it
//   hands out are consecutive and the writes into them stream. A free sets
//   one bit in its page's record and never touches the freed block.
// - The records sit together, not in their pages: chunks are aligned to
//   seg_ (4 MiB, the largest chunk), and the first bytes of each 4 MiB
//   piece hold the records of its pages (64 of 64 KiB), so a free finds its record by
//   arithmetic on its address (mask, shift, multiply, no load) and a
//   million 64 B blocks have 192 KiB of records, in L2. The first version
//   kept each record at the start of its own page: every record 64
//   KiB-aligned (one L2 set for all of them) and on its own 4 KiB page (a
//   TLB miss per random free); freeing a million blocks in random order
//   cost 11-19 ns a free against 3.4-4.5 for a vector of pointers (issue
//   20, seventh pass: kSpill has the figures after the change).
// - Blocks that are a multiple of 2^k cache lines would all start in one
//   cache set of every 2^k; pages take turns at 2^k offsets a line apart
//   instead (page colouring: see colour()).
// - Chunks of 2 MiB and more ask for 2 MiB pages (transparent huge pages,
//   ChunkList::advise_huge): a million blocks handed out a page at a time
//   in random page order touch 4 KiB pages faster than the TLB maps them.
//   PoolOptions::max_chunk_bytes says how to keep 4 KiB pages.
//
// The fast paths work on ONE bitmap word, the current group of 64
// consecutive blocks, held in the pool object: allocation is "lowest set bit,
// clear it" and a free into the current group is "set a bit", with no page
// lookup, and the hot pair (free, then allocate again) gets the same block
// back. A free outside the current group computes its record's address and
// sets the bit there (a dozen more instructions).
//
// In front of all that sits a LIFO cache: an array of the last 4096
// freed blocks in the pool object (32 KiB). A free pushes while there is room, an
// allocation pops while there is something; only beyond that do they reach
// the bitmaps (a free into a full array first sends its newest kSpill
// blocks there in one pass). It is there for the hot pair: a push and a pop form a short
// dependency chain (store, load), while the bitmap's chain runs through a
// bit scan, a multiply and a shift (measured here: ~2 vs ~6 ns CPU per
// pair), and a LIFO burst, or a random-order free, of up to 4096 blocks
// never leaves it (through the bitmaps a random free and its allocation
// cost about twice as much, measured on random_4k: see kCache). Bounded:
// blocks in it come back in free order, not address order, so it delays
// the bitmaps' address order by at most 4096 blocks, which matters from a
// few MiB of live blocks on, where 4096 is a fraction of a percent.
//
// One block of the cache sits apart, in hot_: a free fills it when it is
// empty, an allocation empties it first. A free followed by an allocation
// (the hot pair; a churn of frees and allocations over several pools) then
// stores a pointer and loads it back, with no count to read, adjust and
// write: the array's top_ is such a count, a read-modify-write through
// memory that the next operation on the pool waits for. Measured in the
// harness (issue 20, fifth pass, Zen 5, paired): boost::pool / ct_pool on
// churn 0.79 -> 0.92-0.99, on hot 0.99 -> 1.13-1.31 on a whole core (a tie,
// 0.99-1.01, in the next day's runs: the pair's lead moves with the host;
// 0.87-0.95 in the seventh pass's build, the same instructions, and 0.99
// once its layout had one taken branch a pair: README, eighth pass); the
// price is one more load and branch per operation where the array works
// (lifo 1.7-1.9 -> 1.2-1.6 against boost::pool, a tie with the naive
// vector of pointers).
//
//   pool:  hot_ (one cached free block, or 0)
//          top_ -> slots_[1..4095] (the other cached free blocks, newest on top)
//          word_ (free bits of the current group), wbase_ (its block 0)
//          cur_ -> record [ summary | next | listed | base | bits[] ] of a page
//          avail_ -> record -> record ...   (pages with free blocks, not current)
//   piece (4 MiB aligned): [ records of its pages | blocks ... ]
//          its first blocks, those the records overlap, are never handed out
//
// Not thread-safe: one pool per thread (or per data structure), which is the
// point - no atomics on the fast path.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/alloc/checks.h"
#include "kernels/alloc/chunk_list.h"
#include "kernels/alloc/pool_checker.h"

namespace cachetick::alloc {

struct PoolOptions {
  std::size_t first_chunk_bytes = 64 * 1024;  // rounded up to whole pages; grows by doubling
  // Chunks of 2 MiB and more ask for huge pages (see the top): under
  // 2 MiB, 4 KiB pages only (unless a reserve() or blocks over 256 KiB
  // need a larger chunk).
  std::size_t max_chunk_bytes = 4 * 1024 * 1024;
};

template <bool Checks>
class BasicFixedPool {
 public:
  static constexpr bool kChecked = Checks;
  // Blocks the LIFO cache in front of the bitmaps holds (see the top): hot_
  // and 4095 in the array.
  // 4096 (32 KiB of pointers in the pool object): a burst of up to 4096
  // allocations freed in reverse or in random order never reaches the
  // bitmaps. 32 was measured slower on lifo (issue 20, Zen 5, CPU time,
  // 64 B: 2.4-4.3 vs 1.1-1.7 ns with 1024); 1024 -> 4096 halves random_4k
  // (16-256 B: 2.5-3.0 -> 1.2-1.5 ns, boost::pool 2.9-6.4), where 3 of 4
  // frees and allocations went through the bitmaps. A random set larger
  // than the cache pays the bitmap path again for the excess.
  // What the bound costs (issue 20, third pass, Zen 5): keeping a count is a
  // read-modify-write through memory on every free and allocation, and a
  // free followed by an allocation from the same pool waits on it; on churn
  // (five pools, picked at random) boost::pool's unbounded list is ~20%
  // faster. An intrusive list bounded by a depth in each node was no faster
  // on churn and 2x slower on hot; unbounded, it ties boost on churn and
  // hot but loses lifo 2x (see README, "third pass"). hot_ (fifth pass)
  // takes the count off the path of a free followed by an allocation.
  static constexpr std::size_t kCache = 4096;
  // Blocks a free into a full array sends to the bitmaps in one pass (the
  // newest ones: the array is a stack). One at a time, each free into a
  // full array waited on its own pointer's miss before it could look up the
  // record; in a pass the pointers are in L1 and the records' misses
  // overlap. Measured in a standalone loop (a million blocks freed in
  // random order, Zen 5, ns a free): records in their pages 8.8-25 one at a
  // time, 11-13 in passes of 64; records together 9.7-21 one at a time,
  // 4.2-4.7 in passes of 64; a vector of pointers 3.2-5.7. In the harness
  // (random_1m, naive_pool / ct_pool at 16 / 64 / 256 B, 2-4 runs each,
  // separate binaries): 64 -> 1.22-1.37, 0.90-1.07, 0.80-0.83; 256 ->
  // 1.38-1.72, 1.08-1.23, 0.86-0.90; 1024 -> 1.71-1.79, 1.17-1.19,
  // 0.92-0.99 (before the change: 0.82-1.02, 0.62-0.68, 0.44-0.45).
  static constexpr std::size_t kSpill = 1024;
  // Largest block: keeps the page size, and the index arithmetic, in range.
  static constexpr std::size_t kMaxBlock = std::size_t{1} << 26;

  explicit BasicFixedPool(std::size_t block_size,
                          std::size_t align = alignof(std::max_align_t),
                          PoolOptions opt = {})
      : BasicFixedPool(geometry(check_args(block_size, align), align, opt), align, opt) {}

  BasicFixedPool(const BasicFixedPool&) = delete;
  BasicFixedPool& operator=(const BasicFixedPool&) = delete;


  // O(1). Never returns null: throws std::bad_alloc if a new chunk cannot
  // be obtained.
  CACHETICK_INLINE void* allocate() {
    // hot_ first, then the array: slots_[0] is a null sentinel, so testing
    // the popped pointer instead of comparing top_ with the bottom saves an
    // instruction. Both hot_ tests (here and in deallocate) are marked
    // likely for the code's layout, not for prediction: GCC then lays a
    // free-allocate pair through hot_ out straight, the loop's back edge its
    // only taken branch, where unmarked it jumped to the hot_ path and back
    // (two taken branches a pair). See the README's eighth pass.
    void* p = reinterpret_cast<void*>(hot_);
    if (CACHETICK_LIKELY(p != nullptr)) {
      hot_ = 0;
    } else if (void** t = top_; (p = *t) != nullptr) {
      top_ = t - 1;
    } else if (std::uint64_t w = word_; CACHETICK_LIKELY(w != 0)) {
      word_ = w & (w - 1);
      p = reinterpret_cast<void*>(wbase_ + static_cast<unsigned>(std::countr_zero(w)) * block_);
    } else {
      p = next_word();
    }
    CACHETICK_UNPOISON(p, block_);
    if constexpr (Checks) checker_.on_allocate(p);
    return p;
  }

  // O(1). `p` must come from this pool's allocate() and not be freed yet;
  // checked pools abort with a message otherwise (a null included).
  CACHETICK_INLINE void deallocate(void* p)
    requires Checks
  {
    checker_.on_deallocate(p);
    release(p);
  }
  // Unchecked, `p` is never null, and the compiler is told so (nonnull):
  // after a free it then knows hot_ is not empty, and a free followed by an
  // allocation needs no test of hot_, as boost::pool's needs none of its
  // list head (GCC knows that head is the block just freed). hot pair: 13
  // -> 11 instructions, boost::pool / ct_pool 0.98-0.99 -> 1.31; lifo
  // 1.27-1.40 -> 1.40-1.55 (README, tenth pass). Said with
  // __builtin_unreachable instead, the same fact moved GCC's register
  // allocation in the churn loop (+2 instructions, churn 0.98 -> 0.90).
  // Not on the checked overload: GCC would drop the checker's null test.
  // UBSan reports a null passed here.
  [[gnu::nonnull]] CACHETICK_INLINE void deallocate(void* p)
    requires(!Checks)
  {
    release(p);
  }

  // Makes sure `blocks` more blocks can be carved without another chunk.
  void reserve(std::size_t blocks) {
    if (usable(carve_, carve_end_, carve_end_) >= blocks) return;
    std::size_t bytes = std::max((blocks + per_page_ - 1) / per_page_ * page_, next_chunk_);
    // Page records take blocks at the start of each piece: add pages for them.
    for (std::size_t got; (got = usable(0, bytes, bytes)) < blocks;)
      bytes += (blocks - got + per_page_ - 1) / per_page_ * page_;
    add_chunk(bytes);
  }

  std::size_t block_size() const { return block_; }
  std::size_t alignment() const { return align_; }
  std::size_t page_bytes() const { return page_; }
  std::size_t blocks_per_page() const { return per_page_; }
  std::size_t chunk_count() const { return chunks_.count(); }
  std::size_t reserved_bytes() const { return chunks_.bytes(); }
  // Live blocks (checked pools only: unchecked pools keep no count, so the
  // fast paths touch nothing but the current word).
  std::size_t live() const
    requires Checks
  {
    return checker_.live();
  }

 private:
  CACHETICK_INLINE void release(void* p) {
    CACHETICK_POISON(p, block_);
    if (CACHETICK_LIKELY(hot_ == 0)) {
      hot_ = reinterpret_cast<HotWord>(p);
      return;
    }
    void** t = top_;
    if (CACHETICK_LIKELY(t != slots_ + kCache - 1)) {
      t[1] = p;
      top_ = t + 1;
      return;
    }
    spill_push(p);
  }

  // hot_'s type: an integer type nothing else in the pool stores through
  // (word_ and the bitmaps are std::uint64_t, unsigned long here; the
  // array's slots void*). Under strict aliasing the compiler then knows
  // that pushing to the array cannot change hot_, and a loop of frees loads
  // it once instead of once per free (lifo: 28 -> 24 instructions per
  // allocation+free under callgrind, 19 without hot_). As a void* it is
  // reloaded after every push.
  using HotWord = unsigned long long;
  static_assert(sizeof(HotWord) == sizeof(void*));
  // Page record; the bitmap words follow it (words_ of them). Bit i of word g
  // set = block 64*g + i is free (except the current group's word, which
  // lives in word_). Records sit together at the start of their piece (see
  // the top), stride_ bytes apart.
  struct Page {
    std::uint64_t summary;  // bit g set = bits[g] != 0
    Page* next;             // next page on the avail_ stack
    std::uint64_t listed;   // current page or on the avail_ stack
    std::uintptr_t base;    // the page's first byte (block 0)
  };
  // From the address, not `pg + 1`: GCC's -Warray-bounds takes a Page* made
  // from an integer for a pointer to one Page and flags the words after it.
  static std::uint64_t* bits(Page* pg) {
    return reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uintptr_t>(pg) + sizeof(Page));
  }

  static std::size_t check_args(std::size_t block_size, std::size_t align) {
    if (!is_pow2(align) || align > kMaxAlign)
      throw std::invalid_argument("FixedPool: alignment must be a power of two <= 4096");
    if (block_size == 0 || block_size > kMaxBlock)
      throw std::invalid_argument("FixedPool: block size must be in [1, 64 MiB]");
    // Blocks are at least pointer-sized and aligned, so the cache's and the
    // user's view of a block agree on alignment whatever the caller asked.
    std::size_t a = std::max(align, alignof(void*));
    return (std::max(block_size, sizeof(void*)) + a - 1) & ~(a - 1);
  }

  BasicFixedPool(detail::PoolGeometry g, std::size_t align, PoolOptions opt)
      : block_(g.block), align_(align), checker_("FixedPool", g) {
    page_ = g.page;
    page_shift_ = static_cast<unsigned>(std::countr_zero(page_));
    per_page_ = g.per_page;
    words_ = (per_page_ + 63) / 64;
    seg_ = g.seg;
    stride_ = g.stride;
    colour_mask_ = static_cast<std::uint16_t>(g.colours - 1);
    colour_shift_ = static_cast<std::uint16_t>(std::countr_zero(g.colour_step));
    // (d * magic_) >> 32 == d / block_ for every d = k * block_ in a page:
    // magic_ = ceil(2^32 / block_) errs by k * (magic_ * block_ - 2^32) <
    // k * block_ < page <= 2^30 < 2^32, and d * magic_ < 2^30 * (2^29 + 1)
    // fits in 64 bits. Also k for d = k * block_ + c, c a page's colour
    // offset (c <= block_ - 64, coloured blocks <= 1 KiB in 64 KiB pages):
    // d * magic_ exceeds d * 2^32 / block_ by d * (magic_ * block_ - 2^32) /
    // block_ < d < 2^16, and (k + 1) * 2^32 lies (block_ - c) * 2^32 /
    // block_ >= 2^28 beyond it.
    // A multiply instead of a division (~4 vs ~15-40 cycles); a constant
    // shift needs no shift-count register (the build has no BMI2).
    magic_ = ((std::uint64_t{1} << 32) + block_ - 1) / block_;
    next_chunk_ = first_chunk(page_, opt);
    max_chunk_ = max_chunk(page_, opt);
  }

  static std::size_t first_chunk(std::size_t page, PoolOptions opt) {
    return std::max((opt.first_chunk_bytes + page - 1) / page * page, page);
  }
  static std::size_t max_chunk(std::size_t page, PoolOptions opt) {
    return std::max(opt.max_chunk_bytes / page * page, first_chunk(page, opt));
  }

  static detail::PoolGeometry geometry(std::size_t block, std::size_t align, PoolOptions opt) {
    detail::PoolGeometry g;
    g.block = block;
    // 64 KiB pages (32 KiB for 8 B blocks: at most 4096 blocks), larger only
    // when fewer than 8 blocks would fit. Not larger: when the current page
    // runs out, allocation moves to another page, and the live set then
    // spans both; with 1 MiB pages a 1 MiB live set of 256 B blocks
    // (random_4k) spilled into a second MiB and out of L2 (3x slower,
    // measured), for no gain at a million blocks.
    g.page = block <= 8 ? 32 * 1024 : 64 * 1024;
    while (g.page / block < 8) g.page *= 2;
    g.per_page = std::min<std::size_t>(g.page / block, 4096);
    colour(g, align);
    // A record per page, whole cache lines: a free touches one record, and
    // records of neighbouring pages never share the line it writes.
    g.stride = align_up(sizeof(Page) + 8 * ((g.per_page + 63) / 64), 64);
    // Every chunk fits in one piece unless reserve() asks for more.
    g.seg = std::bit_ceil(max_chunk(g.page, opt));
    return g;
  }

  // Page colouring (the slab allocator's, Bonwick 1994). Blocks whose size
  // is a multiple of 2^k cache lines start 2^k lines apart, so the first
  // line of every block of a page (where an object's header, and the
  // benchmark's write, land) falls in one set of every 2^k of L1 and L2:
  // 256 B blocks use a quarter of the sets, and 4096 of them (1 MiB, Zen
  // 5's L2) evict one another where the same blocks 272 B apart (glibc's
  // stride for 256 B requests) would not. Pages therefore take turns at
  // 2^k offsets, a line apart (or `align` apart, if larger: every block
  // stays aligned), so a set of pages spreads its blocks over every set.
  // Measured, Zen 5, a stack of 4096 256 B blocks freed in random order
  // and allocated again (random_4k's loop): 1.12 ns an operation at a
  // 256 B stride, 1.02-1.03 coloured, 1.01-1.03 at 272 B. The price is one
  // block a page at most (up to 2^k - 1 lines of the page unused): only
  // where a page holds 64 blocks or more (loss <= 1/64).
  static void colour(detail::PoolGeometry& g, std::size_t align) {
    const std::size_t step = std::max<std::size_t>(64, align);
    g.colour_step = step;
    if (g.block % (2 * step) != 0 || g.per_page < 64) return;
    const std::size_t units = g.block / step;
    g.colours = units & (~units + 1);  // the largest power of two dividing it
    g.per_page = (g.page - (g.colours - 1) * step) / g.block;
  }

  // The page record of the block (or page) at address a: in the records at
  // the start of a's piece. Two shifts, a multiply and an add; no load.
  Page* record(std::uintptr_t a) const {
    std::uintptr_t piece = a & ~(seg_ - 1);
    return reinterpret_cast<Page*>(piece + ((a - piece) >> page_shift_) * stride_);
  }

  // Blocks at the start of page c (of a chunk ending at `end`) that its
  // piece's records cover (never handed out).
  std::size_t covered(std::uintptr_t c, std::uintptr_t end) const {
    std::uintptr_t h = detail::records_end(c, end, seg_, page_, stride_);
    std::uintptr_t first = c + colour_of(c);
    return first >= h ? 0 : std::min(per_page_, (h - first + block_ - 1) / block_);
  }
  // The colour offset of the page holding a (see colour()): a shift, a mask
  // and a shift, no load.
  std::size_t colour_of(std::uintptr_t a) const {
    return ((a >> page_shift_) & colour_mask_) << colour_shift_;
  }
  // Blocks the pages [from, to) of a chunk ending at `end` hold. Chunks are
  // aligned to seg_, so only offsets matter (a fresh chunk: from 0).
  std::size_t usable(std::uintptr_t from, std::uintptr_t to, std::uintptr_t end) const {
    std::size_t n = 0;
    for (std::uintptr_t c = from; c < to; c += page_) n += per_page_ - covered(c, end);
    return n;
  }

  // The current group is used up: take the current page's lowest
  // non-empty bitmap word (or move to another page) and allocate from it.
  CACHETICK_NOINLINE void* next_word() {
    Page* pg = cur_;
    while (pg == nullptr || pg->summary == 0) pg = next_page();
    unsigned g = static_cast<unsigned>(std::countr_zero(pg->summary));
    pg->summary &= pg->summary - 1;
    std::uint64_t w = bits(pg)[g];
    bits(pg)[g] = 0;  // the word lives in word_ while its group is current
    wbase_ = pg->base + g * 64 * block_;
    // Only the page's own blocks: the last group of a page may hold fewer
    // than 64, and a free of the next page's first block must not land here.
    wspan_ = std::min<std::size_t>(64, per_page_ - 64 * g) * block_;
    void* p = reinterpret_cast<void*>(wbase_ + static_cast<unsigned>(std::countr_zero(w)) * block_);
    word_ = w & (w - 1);
    return p;
  }

  // The current page has no free block left: move to a page that has, or
  // carve a new one.
  // Nothing changes before add_chunk() has succeeded: a bad_alloc leaves the
  // pool as it was.
  Page* next_page() {
    Page* pg = avail_;
    if (pg != nullptr) {
      avail_ = pg->next;  // stays listed: it is current now
    } else {
      if (carve_end_ - carve_ < page_) add_chunk(next_chunk_);
      pg = carve_page();
    }
    if (cur_ != nullptr) cur_->listed = 0;  // full: a later free will list it again
    cur_ = pg;
    return pg;
  }

  // The next uncarved page of the newest chunk: its record set up, every
  // block free but those the piece's records cover (a page they cover
  // entirely gets an empty summary and is passed over).
  Page* carve_page() {
    std::uintptr_t c = carve_;
    carve_ += page_;
    std::size_t lo = covered(c, carve_end_);
    Page* pg = record(c);
    CACHETICK_UNPOISON(pg, stride_);
    pg->next = nullptr;
    pg->listed = 1;
    pg->base = c + colour_of(c);
    pg->summary = 0;
    std::uint64_t* b = bits(pg);
    for (std::size_t g = 0; g < words_; ++g) {
      std::size_t from = std::clamp<std::size_t>(lo, 64 * g, 64 * g + 64) - 64 * g;
      std::size_t to = std::min<std::size_t>(64, per_page_ - 64 * g);
      std::uint64_t upto = to == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << to) - 1;
      b[g] = from >= to ? 0 : upto & ~((std::uint64_t{1} << from) - 1);
      pg->summary |= std::uint64_t{b[g] != 0} << g;
    }
    return pg;
  }

  // The array is full: hand its newest kSpill blocks to the bitmaps in one
  // pass, then push p. Their pointers are in the array (in L1), so the
  // records' loads wait neither on one another nor on the caller's pointer
  // loads: the misses overlap (see kSpill).
  CACHETICK_NOINLINE void spill_push(void* p) {
    void** t = top_;
    std::uint64_t w = word_;
    const std::uintptr_t base = wbase_, span = wspan_;
    for (std::size_t i = 0; i < kSpill; ++i, --t) {
      std::uintptr_t d = reinterpret_cast<std::uintptr_t>(*t) - base;
      if (d < span) {
        w |= std::uint64_t{1} << ((d * magic_) >> 32);
      } else {
        to_page(*t);
      }
    }
    word_ = w;
    t[1] = p;
    top_ = t + 1;
  }

  // A free outside the current group: set the block's bit in its page's
  // record. Touches the record only, never the block.
  CACHETICK_INLINE void to_page(void* p) {
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    Page* pg = record(a);
    // The block's index from its offset in the page, colour offset and all:
    // the offset is k * block_ + colour with colour < block_ (see colour()),
    // and the multiply floors it to k (see magic_), so nothing is subtracted.
    std::size_t k = ((a & (page_ - 1)) * magic_) >> 32;
    bits(pg)[k / 64] |= std::uint64_t{1} << (k % 64);
    std::uint64_t s = pg->summary;
    pg->summary = s | std::uint64_t{1} << (k / 64);
    // Only a page with no free bit can be off the stack: the current page,
    // or a full one, which goes back on the stack.
    if (CACHETICK_UNLIKELY(s == 0) && !pg->listed) {
      pg->listed = 1;
      pg->next = avail_;
      avail_ = pg;
    }
  }

  void add_chunk(std::size_t bytes) {
    bytes = (bytes + page_ - 1) / page_ * page_;
    // Aligned to seg_ so that masking an address finds its piece's records.
    // Huge pages always (no option): a flag in the pool object, even at its
    // end, added two instructions an op to hot and random_4k (callgrind;
    // README, tenth pass). See PoolOptions::max_chunk_bytes to avoid them.
    void* p = chunks_.add(bytes, seg_, /*huge=*/true);
    checker_.add_chunk(p, bytes);
    // Pages left uncarved in the previous chunk are abandoned (never
    // touched, so never faulted in).
    carve_ = reinterpret_cast<std::uintptr_t>(p);
    carve_end_ = carve_ + bytes;
    next_chunk_ = std::min(next_chunk_ * 2, max_chunk_);
  }

  // Hot state first.
  HotWord hot_ = 0;                    // a cached free block, in front of the array (0: none)
  void** top_ = slots_;                // last used array slot (slots_ itself: empty)
  void* slots_[kCache] = {nullptr};    // slots_[1..kCache-1]; slots_[0] stays null
  std::uint64_t word_ = 0;             // free blocks of the current group (bit i: block i)
  std::uintptr_t wbase_ = 0;  // block 0 of the current group
  std::size_t wspan_ = 0;     // bytes of its blocks (0: no group yet, no free matches)
  std::uint64_t magic_ = 0;
  std::size_t block_ = 0, align_ = 0;
  std::size_t page_ = 0, per_page_ = 0, words_ = 0;
  unsigned page_shift_ = 0;
  // In page_shift_'s padding (the pool object keeps its size: see colour()).
  std::uint16_t colour_mask_ = 0;  // page colours - 1 (at most 15)
  std::uint16_t colour_shift_ = 0;  // log2 of the bytes between two colours
  std::size_t seg_ = 0, stride_ = 0;  // piece size (chunk alignment); bytes per page record
  Page* cur_ = nullptr;    // page the current group belongs to
  Page* avail_ = nullptr;  // stack of other pages with free blocks
  std::uintptr_t carve_ = 0, carve_end_ = 0;  // uncarved pages of the newest chunk
  std::size_t next_chunk_ = 0, max_chunk_ = 0;
  detail::ChunkList chunks_;  // owns the memory; released when the pool dies
  [[no_unique_address]] std::conditional_t<Checks, detail::PoolChecker,
                                           detail::NoChecker> checker_;
};

using FixedPool = BasicFixedPool<kDefaultChecks>;
using CheckedFixedPool = BasicFixedPool<true>;

// Typed interface: constructs and destroys T in pool blocks.
// Objects still alive when the pool dies are released without their
// destructors running: destroy() them first if T owns resources.
template <class T, bool Checks = kDefaultChecks>
class ObjectPool {
  static_assert(alignof(T) <= kMaxAlign, "ObjectPool: alignment above 4096");

 public:
  explicit ObjectPool(PoolOptions opt = {}) : pool_(sizeof(T), alignof(T), opt) {}

  template <class... Args>
  T* create(Args&&... args) {
    void* p = pool_.allocate();
    if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
      return ::new (p) T(std::forward<Args>(args)...);
    } else {
      try {
        return ::new (p) T(std::forward<Args>(args)...);
      } catch (...) {
        pool_.deallocate(p);
        throw;
      }
    }
  }

  // Like delete: null is a no-op.
  void destroy(T* p) {
    if (p == nullptr) return;
    p->~T();
    pool_.deallocate(p);
  }

  BasicFixedPool<Checks>& raw() { return pool_; }

 private:
  BasicFixedPool<Checks> pool_;
};

}  // namespace cachetick::alloc
