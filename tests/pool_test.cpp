// Pools: alignment, no overlap between live blocks, reuse, growth, the typed
// interface, and misuse detection. Run under ASan+UBSan as well: a free list
// that hands one block out twice shows up there as overlapping stamps here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/alloc/fixed_pool.h"
#include "kernels/alloc/naive_pool.h"

namespace {

using cachetick::alloc::BasicFixedPool;
using cachetick::alloc::CheckedFixedPool;
using cachetick::alloc::FixedPool;
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

PoolOptions small_chunks(std::size_t batch) {
  PoolOptions o;
  o.first_chunk_bytes = 4096;  // force growth after a few dozen blocks
  o.max_chunk_bytes = 16384;
  o.batch = batch;
  return o;
}

// Batch sizes: 0 = textbook list, 1 = minimum, 3 = odd, 63 = default.
class PoolBatch : public ::testing::TestWithParam<std::size_t> {};

TEST_P(PoolBatch, AlignmentEveryPowerOfTwo) {
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    for (std::size_t size : {1u, 8u, 24u, 64u, 100u}) {
      CheckedFixedPool pool(size, align, small_chunks(GetParam()));
      EXPECT_EQ(pool.block_size() % align, 0u);
      EXPECT_GE(pool.block_size(), size);
      std::vector<void*> v;
      for (int i = 0; i < 40; ++i) {
        void* p = pool.allocate();
        ASSERT_EQ(addr(p) % align, 0u) << "align " << align << " size " << size;
        stamp(p, size, static_cast<std::uint32_t>(i));
        v.push_back(p);
      }
      expect_disjoint(v, size);
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_TRUE(stamped(v[i], size, static_cast<std::uint32_t>(i)));
      for (void* p : v) pool.deallocate(p);
      EXPECT_EQ(pool.live(), 0u);
    }
  }
}

TEST_P(PoolBatch, ReuseAfterFree) {
  CheckedFixedPool pool(64, 16, small_chunks(GetParam()));
  void* a = pool.allocate();
  void* b = pool.allocate();
  ASSERT_NE(a, b);
  pool.deallocate(b);
  EXPECT_EQ(pool.allocate(), b);  // LIFO: the warmest block comes back first
  pool.deallocate(a);
  pool.deallocate(b);
  std::set<void*> again{pool.allocate(), pool.allocate()};
  EXPECT_EQ(again, (std::set<void*>{a, b}));
  EXPECT_EQ(pool.chunk_count(), 1u);  // nothing new was carved
}

TEST_P(PoolBatch, GrowthPastFirstChunk) {
  CheckedFixedPool pool(48, 16, small_chunks(GetParam()));
  std::vector<void*> v;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    v.push_back(pool.allocate());
    stamp(v.back(), 48, i);
  }
  EXPECT_GT(pool.chunk_count(), 3u);
  expect_disjoint(v, 48);
  for (std::uint32_t i = 0; i < v.size(); ++i) ASSERT_TRUE(stamped(v[i], 48, i));
}

// Random allocate/free against a std::set reference: every allocation must
// be a block that is not live, and every live block must keep its stamp.
TEST_P(PoolBatch, RandomisedAgainstReference) {
  for (std::size_t size : {8u, 16u, 64u, 256u}) {
    CheckedFixedPool pool(size, 8, small_chunks(GetParam()));
    std::mt19937_64 rng(42 + size);
    std::vector<std::pair<void*, std::uint32_t>> live;
    std::set<void*> live_set;
    std::uint32_t next_id = 0;
    for (int step = 0; step < 20000; ++step) {
      bool alloc = live.empty() || (rng() % 100) < (step < 10000 ? 60u : 40u);
      if (alloc) {
        void* p = pool.allocate();
        ASSERT_TRUE(live_set.insert(p).second) << "block handed out twice";
        stamp(p, size, next_id);
        live.emplace_back(p, next_id++);
      } else {
        std::size_t k = rng() % live.size();
        ASSERT_TRUE(stamped(live[k].first, size, live[k].second)) << "live block overwritten";
        pool.deallocate(live[k].first);
        live_set.erase(live[k].first);
        live[k] = live.back();
        live.pop_back();
      }
    }
    ASSERT_EQ(pool.live(), live.size());
    for (auto& [p, id] : live) ASSERT_TRUE(stamped(p, size, id));
  }
}

INSTANTIATE_TEST_SUITE_P(Batches, PoolBatch, ::testing::Values(0u, 1u, 3u, 63u));

TEST(FixedPool, BatchClippedToBlock) {
  EXPECT_EQ(CheckedFixedPool(16, 8).batch(), 1u);   // next + 1 address
  EXPECT_EQ(CheckedFixedPool(8, 8).batch(), 0u);    // only room for next
  EXPECT_EQ(CheckedFixedPool(256, 8).batch(), 31u);
  EXPECT_EQ(CheckedFixedPool(4096, 8).batch(), 63u);  // option's default cap
}

TEST(FixedPool, ReserveMakesOneContiguousChunk) {
  CheckedFixedPool pool(64, 64, small_chunks(63));
  pool.reserve(1000);
  std::size_t chunks = pool.chunk_count();
  std::vector<void*> v;
  for (int i = 0; i < 1000; ++i) v.push_back(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), chunks);
  for (std::size_t i = 1; i < v.size(); ++i) EXPECT_EQ(addr(v[i]), addr(v[i - 1]) + 64);
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
  EXPECT_DEATH(pool.deallocate(nullptr), "null pointer");
  pool.deallocate(mine);
  other.deallocate(theirs);
}

#if CACHETICK_ASAN
// Under ASan a freed block held in a batch is poisoned: a use after free is
// reported at the faulty write.
TEST(PoolDeathTest, UseAfterFreeSeenByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  CheckedFixedPool pool(64);
  void* a = pool.allocate();
  void* b = pool.allocate();
  pool.deallocate(a);  // becomes the head node (our metadata)
  pool.deallocate(b);  // stored in a's batch: poisoned
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
