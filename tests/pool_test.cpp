// Pools: alignment, no overlap between live blocks, reuse, growth, the typed
// interface, and misuse detection. Run under ASan+UBSan as well: a free list
// that hands one block out twice shows up there as overlapping stamps here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/alloc/fixed_pool.h"
#include "kernels/alloc/list_pool.h"
#include "kernels/alloc/naive_pool.h"

namespace {

using cachetick::alloc::CheckedFixedPool;
using cachetick::alloc::CheckedListPool;
using cachetick::alloc::FixedPool;
using cachetick::alloc::ListPoolOptions;
using cachetick::alloc::NaivePool;
using cachetick::alloc::ObjectPool;
using cachetick::alloc::PoolOptions;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Live blocks must not overlap: sort by address and compare neighbours.
void expect_disjoint(std::vector<void*> ptrs, std::size_t size) {
  std::sort(ptrs.begin(), ptrs.end(), [](void* a, void* b) { return addr(a) < addr(b); });
  for (std::size_t i = 1; i < ptrs.size(); ++i)
    ASSERT_LE(addr(ptrs[i - 1]) + size, addr(ptrs[i])) << "blocks " << i - 1 << " and " << i;
}

// Writes `id` over the whole block, so a block handed out twice (or a free
// list written into a live block) shows up as a wrong stamp.
void stamp(void* p, std::size_t size, std::uint32_t id) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<unsigned char>(id * 131 + i);
}
bool stamped(const void* p, std::size_t size, std::uint32_t id) {
  auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < size; ++i)
    if (b[i] != static_cast<unsigned char>(id * 131 + i)) return false;
  return true;
}

ListPoolOptions small_list_chunks(std::size_t batch) {
  ListPoolOptions o;
  o.first_chunk_bytes = 4096;  // force growth after a few dozen blocks
  o.max_chunk_bytes = 16384;
  o.batch = batch;
  return o;
}
// FixedPool chunks are whole pages (32-64 KiB for small blocks): the
// smallest chunks possible, so growth happens after a page or two.
PoolOptions small_chunks() {
  PoolOptions o;
  o.first_chunk_bytes = 1;
  o.max_chunk_bytes = 1;
  return o;
}

// How many blocks a fresh FixedPool hands out from its first `chunks`
// chunks: measured (allocate until the next chunk appears), since a chunk's
// first blocks hold its pages' records.
std::size_t blocks_in_chunks(std::size_t size, std::size_t align, PoolOptions o, std::size_t chunks) {
  CheckedFixedPool pool(size, align, o);
  std::vector<void*> v;
  while (true) {
    v.push_back(pool.allocate());
    if (pool.chunk_count() > chunks) break;
  }
  for (void* p : v) pool.deallocate(p);
  return v.size() - 1;
}

// The same behavioural tests for both pool designs: `make(size, align)`
// returns a checked pool.
template <class Make>
void alignment_every_power_of_two(Make make) {
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    for (std::size_t size : {1u, 8u, 24u, 64u, 100u}) {
      auto pool = make(size, align);
      EXPECT_EQ(pool->block_size() % align, 0u);
      EXPECT_GE(pool->block_size(), size);
      std::vector<void*> v;
      for (int i = 0; i < 40; ++i) {
        void* p = pool->allocate();
        ASSERT_EQ(addr(p) % align, 0u) << "align " << align << " size " << size;
        stamp(p, size, static_cast<std::uint32_t>(i));
        v.push_back(p);
      }
      expect_disjoint(v, size);
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_TRUE(stamped(v[i], size, static_cast<std::uint32_t>(i)));
      for (void* p : v) pool->deallocate(p);
      EXPECT_EQ(pool->live(), 0u);
    }
  }
}

template <class Make>
void reuse_after_free(Make make) {
  auto pool = make(64, 16);
  void* a = pool->allocate();
  void* b = pool->allocate();
  ASSERT_NE(a, b);
  pool->deallocate(b);
  EXPECT_EQ(pool->allocate(), b);  // the block just freed (still warm) comes back first
  pool->deallocate(a);
  pool->deallocate(b);
  std::set<void*> again{pool->allocate(), pool->allocate()};
  EXPECT_EQ(again, (std::set<void*>{a, b}));
  EXPECT_EQ(pool->chunk_count(), 1u);  // nothing new was carved
}

// Random allocate/free against a std::set reference: every allocation must
// be a block that is not live, and every live block must keep its stamp.
// `steps` long enough to grow past several chunks.
template <class Make>
void randomised_against_reference(Make make, int steps) {
  for (std::size_t size : {8u, 16u, 24u, 64u, 256u}) {
    auto pool = make(size, 8);
    std::mt19937_64 rng(42 + size);
    std::vector<std::pair<void*, std::uint32_t>> live;
    std::set<void*> live_set;
    std::uint32_t next_id = 0;
    for (int step = 0; step < steps; ++step) {
      bool alloc = live.empty() || (rng() % 100) < (step < steps / 2 ? 60u : 40u);
      if (alloc) {
        void* p = pool->allocate();
        ASSERT_TRUE(live_set.insert(p).second) << "block handed out twice";
        stamp(p, size, next_id);
        live.emplace_back(p, next_id++);
      } else {
        std::size_t k = rng() % live.size();
        ASSERT_TRUE(stamped(live[k].first, size, live[k].second)) << "live block overwritten";
        pool->deallocate(live[k].first);
        live_set.erase(live[k].first);
        live[k] = live.back();
        live.pop_back();
      }
    }
    ASSERT_EQ(pool->live(), live.size());
    for (auto& [p, id] : live) ASSERT_TRUE(stamped(p, size, id));
  }
}

// Batch sizes: 0 = textbook list, 1 = minimum, 3 = odd, 63 = default.
class ListPoolBatch : public ::testing::TestWithParam<std::size_t> {
 protected:
  auto maker() {
    std::size_t batch = GetParam();
    return [batch](std::size_t size, std::size_t align) {
      return std::make_unique<CheckedListPool>(size, align, small_list_chunks(batch));
    };
  }
};

TEST_P(ListPoolBatch, AlignmentEveryPowerOfTwo) { alignment_every_power_of_two(maker()); }
TEST_P(ListPoolBatch, ReuseAfterFree) { reuse_after_free(maker()); }
TEST_P(ListPoolBatch, RandomisedAgainstReference) { randomised_against_reference(maker(), 20000); }

TEST_P(ListPoolBatch, GrowthPastFirstChunk) {
  CheckedListPool pool(48, 16, small_list_chunks(GetParam()));
  std::vector<void*> v;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    v.push_back(pool.allocate());
    stamp(v.back(), 48, i);
  }
  EXPECT_GT(pool.chunk_count(), 3u);
  expect_disjoint(v, 48);
  for (std::uint32_t i = 0; i < v.size(); ++i) ASSERT_TRUE(stamped(v[i], 48, i));
}

INSTANTIATE_TEST_SUITE_P(Batches, ListPoolBatch, ::testing::Values(0u, 1u, 3u, 63u));

TEST(ListPool, BatchClippedToBlock) {
  EXPECT_EQ(CheckedListPool(16, 8).batch(), 1u);   // next + 1 address
  EXPECT_EQ(CheckedListPool(8, 8).batch(), 0u);    // only room for next
  EXPECT_EQ(CheckedListPool(256, 8).batch(), 31u);
  EXPECT_EQ(CheckedListPool(4096, 8).batch(), 63u);  // option's default cap
}

auto fixed_maker() {
  return [](std::size_t size, std::size_t align) {
    return std::make_unique<CheckedFixedPool>(size, align, small_chunks());
  };
}

TEST(FixedPool, AlignmentEveryPowerOfTwo) { alignment_every_power_of_two(fixed_maker()); }
TEST(FixedPool, ReuseAfterFree) { reuse_after_free(fixed_maker()); }
// 200k steps: tens of thousands live, many pages and chunks, the cache
// flushed and refilled thousands of times.
TEST(FixedPool, RandomisedAgainstReference) { randomised_against_reference(fixed_maker(), 200000); }

// Block sizes that are not powers of two exercise the multiply that
// replaces the division by the block size when a free finds its bit.
TEST(FixedPool, OddBlockSizesManyPages) {
  for (std::size_t size : {1u, 12u, 24u, 40u, 72u, 100u, 200u, 1000u, 5000u, 40000u}) {
    CheckedFixedPool pool(size, 8, small_chunks());
    // Whole chunks (5 pages here), so the blocks allocated are exactly the
    // blocks the pool has carved.
    std::size_t n = blocks_in_chunks(size, 8, small_chunks(), 5);
    std::vector<void*> v(n);
    for (std::size_t i = 0; i < n; ++i) {
      v[i] = pool.allocate();
      stamp(v[i], std::min<std::size_t>(size, 64), static_cast<std::uint32_t>(i));
    }
    EXPECT_GE(pool.chunk_count(), 5u) << size;
    expect_disjoint(v, size);
    // Free everything in random order, then allocate as many again: the
    // same blocks must come back (from the page bitmaps), nothing new.
    std::vector<void*> order = v;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(size));
    for (void* p : order) pool.deallocate(p);
    EXPECT_EQ(pool.live(), 0u);
    std::size_t chunks = pool.chunk_count();
    std::vector<void*> again(n);
    for (std::size_t i = 0; i < n; ++i) again[i] = pool.allocate();
    EXPECT_EQ(pool.chunk_count(), chunks) << size;
    std::sort(v.begin(), v.end());
    std::sort(again.begin(), again.end());
    EXPECT_EQ(v, again) << size;
    for (void* p : again) pool.deallocate(p);
  }
}

// After random frees, allocation comes back in address order within a
// page: the property that keeps a million-block pool's allocations local.
TEST(FixedPool, AllocatesInAddressOrderAfterRandomFrees) {
  CheckedFixedPool pool(16, 16, small_chunks());
  // Whole pages (a chunk each), two more than the cache holds: the excess
  // goes through the bitmaps, and the same blocks come back.
  const std::size_t per = pool.blocks_per_page();
  const std::size_t pages = (CheckedFixedPool::kCache + per - 1) / per + 2;
  const std::size_t n = blocks_in_chunks(16, 16, small_chunks(), pages);
  std::vector<void*> v(n);
  for (auto& p : v) p = pool.allocate();
  std::vector<void*> order = v;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  for (void* p : order) pool.deallocate(p);
  // The LIFO cache gives back the last kCache frees first (free order); then
  // the bitmaps: the current group, then each page from its start. Within a
  // page everything ascends: one step back per page change at most.
  std::vector<void*> got(n);
  for (auto& p : got) p = pool.allocate();
  std::size_t descents = 0;
  for (std::size_t i = CheckedFixedPool::kCache; i + 1 < n; ++i)
    descents += addr(got[i]) > addr(got[i + 1]);
  EXPECT_LE(descents, pages + 1);
  std::sort(got.begin(), got.end());
  std::sort(v.begin(), v.end());
  EXPECT_EQ(got, v);
  for (void* p : got) pool.deallocate(p);
}

// The LIFO cache: the first block freed into an empty cache waits apart
// (hot_) and comes back first; the array behind it gives back the others
// newest first. Together they hold kCache blocks; a free into a full array
// first sends its newest kSpill blocks to the bitmaps.
TEST(FixedPool, CacheGivesBackTheSlotThenNewestFirst) {
  CheckedFixedPool pool(64, 64);
  std::vector<void*> v(CheckedFixedPool::kCache + 100);
  for (auto& p : v) p = pool.allocate();
  for (void* p : v) pool.deallocate(p);
  std::vector<void*> model;  // the array, newest last
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (model.size() == CheckedFixedPool::kCache - 1) model.resize(model.size() - CheckedFixedPool::kSpill);
    model.push_back(v[i]);
  }
  ASSERT_LT(model.size(), v.size() - 1);  // the spill happened
  std::vector<void*> got(v.size());
  for (auto& p : got) p = pool.allocate();
  EXPECT_EQ(got[0], v[0]);
  for (std::size_t i = 1; i <= model.size(); ++i)
    ASSERT_EQ(got[i], model[model.size() - i]) << "allocation " << i;
  // The rest went to the bitmaps, which hand out blocks by address (never
  // allocated ones of the current page included): none twice.
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
  for (void* p : got) pool.deallocate(p);
}

// The hot pair: a free followed by an allocation gets the same block,
// whether the array behind the slot is empty or not.
TEST(FixedPool, HotPairGetsTheSameBlock) {
  CheckedFixedPool pool(32);
  std::vector<void*> held(10);
  for (auto& p : held) p = pool.allocate();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      void* p = pool.allocate();
      stamp(p, 32, static_cast<std::uint32_t>(i));
      pool.deallocate(p);
      ASSERT_EQ(pool.allocate(), p);
      pool.deallocate(p);
    }
    if (round == 0)
      for (void* p : held) pool.deallocate(p);  // round 2: the array is not empty
  }
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FixedPool, GrowthPastManyChunks) {
  CheckedFixedPool pool(48, 16, small_chunks());
  std::vector<void*> v;
  for (std::uint32_t i = 0; i < 20000; ++i) {
    v.push_back(pool.allocate());
    stamp(v.back(), 48, i);
  }
  EXPECT_GT(pool.chunk_count(), 10u);
  expect_disjoint(v, 48);
  for (std::uint32_t i = 0; i < v.size(); ++i) ASSERT_TRUE(stamped(v[i], 48, i));
  for (void* p : v) pool.deallocate(p);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FixedPool, PageGeometry) {
  CheckedFixedPool p8(8, 8), p16(16, 16), p64(64, 64), big(100000, 8), a4k(100, 4096);
  EXPECT_EQ(p8.page_bytes(), 32u * 1024);
  EXPECT_EQ(p16.page_bytes(), 64u * 1024);
  EXPECT_EQ(p64.page_bytes(), 64u * 1024);
  EXPECT_EQ(CheckedFixedPool(20000, 8).page_bytes(), 256u * 1024);  // >= 8 blocks a page
  EXPECT_GT(p16.blocks_per_page(), 4000u);  // header < 1% of the page
  EXPECT_LE(p16.blocks_per_page(), 4096u);
  EXPECT_GE(big.blocks_per_page(), 8u);
  EXPECT_LT(big.blocks_per_page() * big.block_size(), big.page_bytes());  // header fits too
  EXPECT_GE(a4k.blocks_per_page(), 8u);
}

// Page colouring: where blocks are a multiple of two or more lines (or of
// twice the alignment, if larger), pages take turns at offsets a line (the
// alignment) apart, so the blocks' first lines spread over every cache set.
// Blocks stay aligned, disjoint and inside their page, and a free through
// the page bitmaps finds its block whatever the page's offset.
TEST(FixedPool, PagesTakeTurnsAtLineOffsets) {
  struct Case {
    std::size_t size, align, colours, per_page;
  };
  for (Case c : {Case{256, 8, 4, 255}, Case{128, 8, 2, 511}, Case{384, 8, 2, 170}, Case{1024, 8, 16, 63},
                 Case{256, 128, 2, 255}, Case{512, 256, 2, 127},
                 // No colours: a line or less, an odd number of lines, few blocks a page.
                 Case{64, 8, 1, 1024}, Case{200, 8, 1, 327}, Case{192, 64, 1, 341}, Case{2048, 8, 1, 32}}) {
    CheckedFixedPool pool(c.size, c.align);
    EXPECT_EQ(pool.blocks_per_page(), c.per_page) << c.size << " align " << c.align;
    const std::size_t page = pool.page_bytes();
    // Whole chunks (64 KiB to 4 MiB, 12 MiB in all: the blocks handed out
    // are all the pool has carved, and well over the cache's), so the same
    // blocks come back after the frees.
    const std::size_t n = blocks_in_chunks(c.size, c.align, PoolOptions{}, 8);
    std::vector<void*> v(n);
    std::set<std::size_t> offsets;
    for (std::size_t i = 0; i < n; ++i) {
      v[i] = pool.allocate();
      ASSERT_EQ(addr(v[i]) % c.align, 0u);
      ASSERT_LE(addr(v[i]) % page + c.size, page) << "a block past its page";
      offsets.insert(addr(v[i]) % page % c.size);
      stamp(v[i], std::min<std::size_t>(c.size, 64), static_cast<std::uint32_t>(i));
    }
    EXPECT_EQ(offsets.size(), c.colours) << c.size << " align " << c.align;
    for (std::size_t o : offsets) EXPECT_EQ(o % std::max<std::size_t>(64, c.align), 0u);
    expect_disjoint(v, c.size);
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_TRUE(stamped(v[i], std::min<std::size_t>(c.size, 64), static_cast<std::uint32_t>(i)));
    std::vector<void*> order = v;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(c.size + c.align));
    for (void* p : order) pool.deallocate(p);
    std::vector<void*> again(n);
    for (auto& p : again) p = pool.allocate();
    std::sort(v.begin(), v.end());
    std::sort(again.begin(), again.end());
    EXPECT_EQ(v, again) << c.size << " align " << c.align;
    for (void* p : again) pool.deallocate(p);
  }
}

TEST(FixedPool, ReserveAvoidsNewChunks) {
  CheckedFixedPool pool(64, 64, small_chunks());
  pool.reserve(5000);
  std::size_t chunks = pool.chunk_count();
  std::vector<void*> v;
  for (int i = 0; i < 5000; ++i) v.push_back(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), chunks);
  // Within a page, fresh blocks are consecutive.
  std::size_t steps = 0;
  for (std::size_t i = 1; i < v.size(); ++i) steps += addr(v[i]) == addr(v[i - 1]) + 64;
  EXPECT_GE(steps, v.size() - 1 - v.size() / pool.blocks_per_page() - 1);
  for (void* p : v) pool.deallocate(p);
}

// Huge-page advice covers exactly the whole 2 MiB pieces inside a chunk.
TEST(ChunkList, HugePiecesAreTheWhole2MiBPiecesInside) {
  using cachetick::alloc::detail::ChunkList;
  constexpr std::uintptr_t M = std::uintptr_t{1} << 20;
  struct Case {
    std::uintptr_t a;
    std::size_t bytes;
    std::uintptr_t first, last;  // first == last: nothing advised
  };
  for (const Case& c : {Case{40 * M, 4 * M, 40 * M, 44 * M},         // an aligned 4 MiB chunk
                        Case{40 * M, 3 * M + 4096, 40 * M, 42 * M},  // the tail is not whole
                        Case{40 * M, 2 * M, 40 * M, 42 * M},
                        Case{40 * M, 2 * M - 4096, 40 * M, 40 * M},  // under 2 MiB
                        Case{41 * M, 3 * M, 42 * M, 44 * M},         // the head is not whole
                        Case{41 * M, 2 * M, 42 * M, 42 * M},         // 2 MiB over two pieces
                        Case{40 * M + 65536, M, 42 * M, 42 * M}}) {
    ChunkList::Range r = ChunkList::huge_pieces(c.a, c.bytes);
    EXPECT_EQ(r.first == r.last, c.first == c.last) << c.a / M << " MiB + " << c.bytes;
    if (c.first != c.last) {
      EXPECT_EQ(r.first, c.first);
      EXPECT_EQ(r.last, c.last);
    }
  }
}

// The flags of the mapping holding address a (/proc/self/smaps' VmFlags).
std::string vm_flags(std::uintptr_t a) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') inside = lo <= a && a < hi;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return {};
}

// A chunk of 2 MiB or more asks for transparent huge pages: its mapping
// carries the kernel's "hg" flag (MADV_HUGEPAGE), whatever THP's mode. A
// kernel built without THP refuses the advice (and has no THP directory in
// sysfs): the pool works the same, without the flag.
TEST(FixedPool, AsksForHugePagesOnLargeChunks) {
  FixedPool pool(64);
  pool.reserve(60000);  // one chunk of ~3.8 MiB, 4 MiB-aligned: one whole piece
  void* p = pool.allocate();
  const std::string flags = vm_flags(addr(p));
  ASSERT_FALSE(flags.empty()) << "no mapping in /proc/self/smaps holds the block";
  const bool thp = std::filesystem::exists("/sys/kernel/mm/transparent_hugepage");
  EXPECT_EQ(flags.find(" hg") != std::string::npos, thp) << flags;
  pool.deallocate(p);
}

// A reserve() larger than the chunk alignment (PoolOptions' max_chunk_bytes,
// 4 MiB) makes a chunk of several pieces, each with its pages' records at
// its start: every block is found again through its own piece's records.
TEST(FixedPool, ReserveAcrossPieces) {
  CheckedFixedPool pool(64, 64);
  const std::size_t n = 100000;  // 6.4 MB of blocks: two pieces
  pool.reserve(n);
  ASSERT_EQ(pool.chunk_count(), 1u);
  std::vector<void*> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = pool.allocate();
    stamp(v[i], 64, static_cast<std::uint32_t>(i));
  }
  EXPECT_EQ(pool.chunk_count(), 1u);
  expect_disjoint(v, 64);
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(stamped(v[i], 64, static_cast<std::uint32_t>(i)));
  std::vector<void*> order = v;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(11));
  for (void* p : order) pool.deallocate(p);
  std::vector<void*> again(n);
  for (auto& p : again) p = pool.allocate();
  EXPECT_EQ(pool.chunk_count(), 1u);
  expect_disjoint(again, 64);
  // The freed blocks come back; only the current page's never-used tail
  // (the chunk holds a little more than n) may come first.
  std::sort(v.begin(), v.end());
  std::size_t fresh = 0;
  for (void* p : again) fresh += !std::binary_search(v.begin(), v.end(), p);
  EXPECT_LT(fresh, pool.blocks_per_page());
  for (void* p : again) pool.deallocate(p);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(FixedPool, BadArguments) {
  EXPECT_THROW(FixedPool(64, 3), std::invalid_argument);
  EXPECT_THROW(FixedPool(64, 8192), std::invalid_argument);
  EXPECT_THROW(FixedPool(0, 8), std::invalid_argument);
}

TEST(FixedPool, DefaultFollowsNDEBUG) {
#ifdef NDEBUG
  EXPECT_EQ(FixedPool::kChecked, CACHETICK_ALLOC_CHECKS != 0);
#else
  EXPECT_TRUE(FixedPool::kChecked);
#endif
  EXPECT_TRUE(CheckedFixedPool::kChecked);
}

struct Tracked {
  static inline int alive = 0;
  std::string name;
  int value;
  Tracked(std::string n, int v) : name(std::move(n)), value(v) {
    if (v < 0) throw std::runtime_error("negative");
    ++alive;
  }
  ~Tracked() { --alive; }
};

TEST(ObjectPool, ConstructsAndDestroys) {
  ObjectPool<Tracked, true> pool;
  std::vector<Tracked*> v;
  for (int i = 0; i < 500; ++i) v.push_back(pool.create("object number " + std::to_string(i), i));
  EXPECT_EQ(Tracked::alive, 500);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(v[i]->value, i);
    EXPECT_EQ(v[i]->name, "object number " + std::to_string(i));
    EXPECT_EQ(addr(v[i]) % alignof(Tracked), 0u);
  }
  for (Tracked* t : v) pool.destroy(t);
  pool.destroy(nullptr);  // like delete
  EXPECT_EQ(Tracked::alive, 0);
  EXPECT_EQ(pool.raw().live(), 0u);
}

TEST(ObjectPool, ThrowingConstructorReturnsBlock) {
  ObjectPool<Tracked, true> pool;
  EXPECT_THROW(pool.create("bad", -1), std::runtime_error);
  EXPECT_EQ(pool.raw().live(), 0u);
  EXPECT_EQ(Tracked::alive, 0);
}

TEST(ObjectPool, OverAlignedType) {
  struct alignas(256) Big {
    char c[300];
  };
  ObjectPool<Big, true> pool;
  std::vector<Big*> v;
  for (int i = 0; i < 50; ++i) v.push_back(pool.create());
  for (Big* b : v) EXPECT_EQ(addr(b) % 256, 0u);
  for (Big* b : v) pool.destroy(b);
}

// Misuse: checked pools abort with a message naming the mistake.
using PoolDeathTest = ::testing::Test;

TEST(PoolDeathTest, DoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(64);
  void* p = pool.allocate();
  void* q = pool.allocate();
  pool.deallocate(p);
  EXPECT_DEATH(pool.deallocate(p), "FixedPool: deallocate: double free");
  pool.deallocate(q);
}

TEST(PoolDeathTest, ForeignPointer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(64);
  void* mine = pool.allocate();
  CheckedFixedPool other(64);
  void* theirs = other.allocate();
  alignas(64) char local[64];
  EXPECT_DEATH(pool.deallocate(theirs), "foreign pointer, not allocated by this pool");
  EXPECT_DEATH(pool.deallocate(local), "foreign pointer");
  EXPECT_DEATH(pool.deallocate(static_cast<char*>(mine) + 8), "middle of a block");
  EXPECT_DEATH(pool.deallocate(static_cast<char*>(mine) + 64), "never allocated");
  // Through a volatile: with a literal null, GCC inlines the unchecked tail
  // of deallocate() for address 0 and warns (-Warray-bounds) about a path
  // the checker's abort never lets run.
  void* volatile null_ptr = nullptr;
  EXPECT_DEATH(pool.deallocate(null_ptr), "null pointer");
  pool.deallocate(mine);
  other.deallocate(theirs);
}

// A double free is caught wherever the first free left the block: in the
// current word or, as here, in its page's bitmap.
TEST(PoolDeathTest, DoubleFreeInPageBitmap) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(32);
  // More than the cache holds, freed last to first: the cache is full when
  // v[0] (first page, first group, not the current one) is freed.
  std::vector<void*> v(CheckedFixedPool::kCache + 500);
  for (auto& p : v) p = pool.allocate();
  for (std::size_t i = v.size(); i-- > 0;) pool.deallocate(v[i]);
  EXPECT_DEATH(pool.deallocate(v[0]), "FixedPool: deallocate: double free");
  // The page header (bitmap) is not a block.
  void* header = reinterpret_cast<void*>(addr(v[0]) & ~(pool.page_bytes() - 1));
  EXPECT_DEATH(pool.deallocate(header), "middle of a block \\(or the pool's own header\\)");
}

// The records at the start of a chunk's second piece are not blocks either.
TEST(PoolDeathTest, RecordsOfALaterPieceAreNotBlocks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(64, 64);
  pool.reserve(100000);  // one chunk, two 4 MiB pieces
  void* first = pool.allocate();
  const std::uintptr_t piece = std::uintptr_t{4} << 20;
  void* second = reinterpret_cast<void*>((addr(first) & ~(piece - 1)) + piece);
  EXPECT_DEATH(pool.deallocate(second), "middle of a block \\(or the pool's own header\\)");
  pool.deallocate(first);
}

TEST(PoolDeathTest, ListPoolDoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedListPool pool(64);
  void* p = pool.allocate();
  pool.deallocate(p);
  EXPECT_DEATH(pool.deallocate(p), "ListPool: deallocate: double free");
}

#if CACHETICK_ASAN
// Under ASan a freed block held in a batch is poisoned: a use after free is
// reported at the faulty write.
TEST(PoolDeathTest, UseAfterFreeSeenByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(64);
  void* a = pool.allocate();
  void* b = pool.allocate();
  pool.deallocate(a);  // free blocks are poisoned: a waits in hot_,
  pool.deallocate(b);  // b in the array
  EXPECT_DEATH(std::memset(b, 0, 8), "use-after-poison");
  EXPECT_DEATH(std::memset(a, 0, 8), "use-after-poison");
}

// Every freed block is poisoned whatever the pool keeps in it (ListPool's
// list nodes live in free blocks: the head node too, issue 20's audit found
// it unpoisoned), and every block handed out again is unpoisoned.
template <class Pool>
void expect_freed_poisoned(Pool& pool, std::size_t size, std::size_t n) {
  std::vector<void*> ptrs(n);
  for (auto& p : ptrs) p = pool.allocate();
  std::shuffle(ptrs.begin(), ptrs.end(), std::mt19937_64(5));
  for (void* p : ptrs) pool.deallocate(p);
  std::size_t poisoned = 0;
  for (void* p : ptrs) poisoned += __asan_address_is_poisoned(p) ? 1 : 0;
  EXPECT_EQ(poisoned, n) << "block " << size << " B";
  for (auto& p : ptrs) {
    p = pool.allocate();
    ASSERT_EQ(__asan_region_is_poisoned(p, size), nullptr) << "allocated block still poisoned";
    stamp(p, size, 1);
  }
  for (void* p : ptrs) pool.deallocate(p);
}

TEST(PoolAsan, EveryFreedBlockIsPoisoned) {
  for (std::size_t size : {16u, 64u, 256u}) {
    for (std::size_t batch : {0u, 1u, 63u}) {
      CheckedListPool pool(size, 16, small_list_chunks(batch));
      expect_freed_poisoned(pool, size, 100);
    }
    CheckedFixedPool fixed(size);
    expect_freed_poisoned(fixed, size, 100);
  }
}

// The textbook list (batch 0): the block freed last heads the list and holds
// its `next` pointer; a write through the freed pointer is still reported.
TEST(PoolDeathTest, ListPoolHeadNodeUseAfterFreeSeenByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedListPool pool(64, 16, small_list_chunks(0));
  void* a = pool.allocate();
  void* b = pool.allocate();
  pool.deallocate(a);
  pool.deallocate(b);  // b is the head node now
  EXPECT_DEATH(std::memset(b, 0, 8), "use-after-poison");
}
#endif

TEST(NaivePool, BoundsFixedAndGrows) {
  NaivePool pool(40, 4);
  std::vector<void*> v;
  for (std::uint32_t i = 0; i < 3000; ++i) {  // the cookbook overflowed at 1024
    v.push_back(pool.allocate());
    stamp(v.back(), 40, i);
  }
  EXPECT_EQ(pool.owned(), 3000u);
  expect_disjoint(v, 40);
  for (std::uint32_t i = 0; i < v.size(); ++i) ASSERT_TRUE(stamped(v[i], 40, i));
  for (void* p : v) pool.deallocate(p);
  // All reused, no new malloc; LeakSanitizer checks the destructor frees all.
  for (int i = 0; i < 3000; ++i) v[i] = pool.allocate();
  EXPECT_EQ(pool.owned(), 3000u);
}

TEST(NaivePool, Alignment) {
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    NaivePool pool(24, 8, align);
    for (int i = 0; i < 16; ++i) ASSERT_EQ(addr(pool.allocate()) % align, 0u) << align;
  }
  EXPECT_THROW(NaivePool(24, 8, 24), std::invalid_argument);
  EXPECT_THROW(NaivePool(0, 8), std::invalid_argument);
}

}  // namespace
