// Arenas: alignment, no overlap, growth, oversized requests, reset, std::pmr
// containers on the arena, bad input. Run under ASan+UBSan as well (the
// arena poisons what it has not handed out, so a use after reset is caught).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory_resource>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/alloc/arena.h"
#include "kernels/alloc/naive_arena.h"

namespace {

using cachetick::alloc::Arena;
using cachetick::alloc::ArenaOptions;
using cachetick::alloc::ArenaResource;
using cachetick::alloc::NaiveArena;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

struct Block {
  void* p;
  std::size_t n;
  std::uint32_t id;
};

void fill(const Block& b) {
  auto* c = static_cast<unsigned char*>(b.p);
  for (std::size_t i = 0; i < b.n; ++i) c[i] = static_cast<unsigned char>(b.id * 37 + i);
}
bool intact(const Block& b) {
  auto* c = static_cast<const unsigned char*>(b.p);
  for (std::size_t i = 0; i < b.n; ++i)
    if (c[i] != static_cast<unsigned char>(b.id * 37 + i)) return false;
  return true;
}
void expect_disjoint(std::vector<Block> v) {
  std::sort(v.begin(), v.end(), [](const Block& a, const Block& b) { return addr(a.p) < addr(b.p); });
  for (std::size_t i = 1; i < v.size(); ++i)
    ASSERT_LE(addr(v[i - 1].p) + v[i - 1].n, addr(v[i].p));
}

ArenaOptions small(std::size_t first = 4096) {
  ArenaOptions o;
  o.first_chunk_bytes = first;
  o.max_chunk_bytes = 1 << 20;
  return o;
}

TEST(Arena, AlignmentEveryPowerOfTwo) {
  Arena arena(small());
  std::vector<Block> v;
  std::uint32_t id = 0;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t align = 1; align <= 4096; align *= 2) {
      // An odd size first, so the cursor is misaligned for the next request.
      for (std::size_t n : {std::size_t{3}, std::size_t{1}, align, align + 5}) {
        void* p = arena.allocate(n, align);
        ASSERT_EQ(addr(p) % align, 0u) << "align " << align;
        v.push_back({p, n, id++});
        fill(v.back());
      }
    }
  }
  expect_disjoint(v);
  for (const Block& b : v) ASSERT_TRUE(intact(b));
  EXPECT_GT(arena.chunk_count(), 1u);
}

TEST(Arena, RandomisedNoOverlapAcrossGrowth) {
  Arena arena(small());
  std::mt19937 rng(7);
  std::vector<Block> v;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    std::size_t n = 1 + rng() % 200;
    std::size_t align = std::size_t{1} << (rng() % 7);
    void* p = arena.allocate(n, align);
    ASSERT_EQ(addr(p) % align, 0u);
    v.push_back({p, n, i});
    fill(v.back());
  }
  EXPECT_GT(arena.chunk_count(), 3u);
  expect_disjoint(v);
  for (const Block& b : v) ASSERT_TRUE(intact(b));
}

TEST(Arena, SmallAllocationsAreContiguous) {
  Arena arena(small());
  char* a = static_cast<char*>(arena.allocate(16, 16));
  char* b = static_cast<char*>(arena.allocate(16, 16));
  char* c = static_cast<char*>(arena.allocate(8, 8));
  EXPECT_EQ(b, a + 16);
  EXPECT_EQ(c, b + 16);
}

TEST(Arena, OversizedRequestKeepsCurrentChunk) {
  Arena arena(small(64 * 1024));
  char* a = static_cast<char*>(arena.allocate(64, 64));
  void* big = arena.allocate(200 * 1024, 64);  // larger than any chunk so far
  std::memset(big, 1, 200 * 1024);
  char* b = static_cast<char*>(arena.allocate(64, 64));
  EXPECT_EQ(b, a + 64);  // still bumping the first chunk
  EXPECT_EQ(arena.chunk_count(), 2u);
  arena.reset();
  EXPECT_EQ(arena.chunk_count(), 1u);
}

TEST(Arena, ResetKeepsFirstChunkAndReleasesOthers) {
  Arena arena(small(8192));
  void* first = arena.allocate(32);
  for (int i = 0; i < 1000; ++i) arena.allocate(100);
  EXPECT_GT(arena.chunk_count(), 1u);
  arena.reset();
  EXPECT_EQ(arena.chunk_count(), 1u);
  EXPECT_EQ(arena.first_chunk_bytes(), 8192u);
  EXPECT_EQ(arena.allocate(32), first);  // same memory, reused
  // And the arena works normally after a reset.
  std::vector<Block> v;
  for (std::uint32_t i = 0; i < 500; ++i) {
    v.push_back({arena.allocate(50, 8), 50, i});
    fill(v.back());
  }
  expect_disjoint(v);
  for (const Block& b : v) ASSERT_TRUE(intact(b));
}

TEST(Arena, ZeroSizeAndBadInput) {
  Arena arena(small());
  EXPECT_NE(arena.allocate(0), nullptr);
  EXPECT_THROW(arena.allocate(8, 3), std::invalid_argument);
  EXPECT_THROW(arena.allocate(8, 0), std::invalid_argument);
  EXPECT_THROW(arena.allocate(8, 8192), std::invalid_argument);
  EXPECT_THROW(arena.allocate(SIZE_MAX), std::bad_alloc);
  EXPECT_THROW(arena.allocate(SIZE_MAX - 4096, 4096), std::bad_alloc);
  EXPECT_THROW(arena.allocate_array<std::uint64_t>(SIZE_MAX / 4), std::bad_alloc);
  // Still usable after the errors.
  void* p = arena.allocate(24, 8);
  EXPECT_EQ(addr(p) % 8, 0u);
}

TEST(Arena, CreateAndArrays) {
  struct Point {
    double x, y;
  };
  Arena arena(small());
  Point* p = arena.create<Point>(1.5, 2.5);
  EXPECT_EQ(p->x, 1.5);
  EXPECT_EQ(p->y, 2.5);
  auto* a = arena.allocate_array<std::uint32_t>(1000);
  for (std::uint32_t i = 0; i < 1000; ++i) a[i] = i;
  EXPECT_EQ(a[999], 999u);
  EXPECT_EQ(addr(a) % alignof(std::uint32_t), 0u);
}

TEST(Arena, PrefaultedArenaWorks) {
  ArenaOptions o = small(1 << 20);
  o.prefault = true;
  Arena arena(o);
  auto* a = arena.allocate_array<std::uint64_t>(1000);
  a[0] = 1;
  a[999] = 2;
  EXPECT_EQ(a[0] + a[999], 3u);
}

// std::pmr containers on the arena behave like their std:: counterparts.
TEST(ArenaResource, PmrContainersMatchReference) {
  Arena arena(small());
  ArenaResource res(arena);
  std::mt19937 rng(99);
  std::pmr::vector<int> v(&res);
  std::vector<int> v_ref;
  std::pmr::map<int, std::pmr::string> m(&res);
  std::map<int, std::string> m_ref;
  std::pmr::unordered_map<int, int> u(&res);
  std::unordered_map<int, int> u_ref;
  for (int i = 0; i < 20000; ++i) {
    int k = static_cast<int>(rng() % 5000);
    v.push_back(k);
    v_ref.push_back(k);
    std::string s = "value-" + std::to_string(k) + std::string(k % 40, 'x');  // some > SSO
    m[k] = std::pmr::string(s, &res);
    m_ref[k] = s;
    u[k] += i;
    u_ref[k] += i;
    if (i % 7 == 0) {
      m.erase(k / 2);
      m_ref.erase(k / 2);
    }
  }
  EXPECT_TRUE(std::equal(v.begin(), v.end(), v_ref.begin(), v_ref.end()));
  ASSERT_EQ(m.size(), m_ref.size());
  for (auto& [k, s] : m_ref) EXPECT_EQ(std::string(m.at(k)), s);
  ASSERT_EQ(u.size(), u_ref.size());
  for (auto& [k, x] : u_ref) EXPECT_EQ(u.at(k), x);
  EXPECT_GT(arena.used_bytes(), 20000 * sizeof(int));  // the memory came from the arena
  EXPECT_EQ(m.get_allocator().resource(), &res);
}

TEST(ArenaResource, AlignmentThroughPmr) {
  Arena arena(small());
  ArenaResource res(arena);
  std::pmr::memory_resource* r = &res;
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    void* p = r->allocate(3 * align + 1, align);
    EXPECT_EQ(addr(p) % align, 0u);
    r->deallocate(p, 3 * align + 1, align);  // a no-op, must not crash
  }
}

TEST(ArenaResource, EqualityFollowsArena) {
  Arena a1(small()), a2(small());
  ArenaResource r1(a1), r1b(a1), r2(a2);
  EXPECT_TRUE(r1.is_equal(r1b));
  EXPECT_FALSE(r1.is_equal(r2));
  EXPECT_FALSE(r1.is_equal(*std::pmr::new_delete_resource()));
}

#if CACHETICK_ASAN
TEST(ArenaDeathTest, UseAfterResetSeenByAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Arena arena(small());
  auto* p = static_cast<char*>(arena.allocate(64));
  p[0] = 1;
  arena.reset();
  EXPECT_DEATH(p[10] = 2, "use-after-poison");
}
#endif

TEST(NaiveArena, AlignmentFixed) {
  NaiveArena arena(64 * 1024);
  std::vector<Block> v;
  std::uint32_t id = 0;
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    for (std::size_t n : {std::size_t{3}, align + 1}) {
      void* p = arena.allocate(n, align);
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(addr(p) % align, 0u) << align;  // the cookbook version failed here
      v.push_back({p, n, id++});
      fill(v.back());
    }
  }
  expect_disjoint(v);
  for (const Block& b : v) ASSERT_TRUE(intact(b));
}

TEST(NaiveArena, FullAndOverflow) {
  NaiveArena arena(1000);
  EXPECT_NE(arena.allocate(600), nullptr);
  EXPECT_EQ(arena.allocate(600), nullptr);  // full: reported, not overrun
  EXPECT_EQ(arena.allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(arena.allocate(SIZE_MAX - 8, 16), nullptr);  // used + size would wrap
  EXPECT_THROW(arena.allocate(8, 12), std::invalid_argument);
  arena.reset();
  EXPECT_EQ(arena.used(), 0u);
  EXPECT_NE(arena.allocate(600), nullptr);
}

}  // namespace
