// cachetick's SmallVec against std::vector: randomised operation sequences
// (growth past N, copies, moves, erase, clear, resize), element lifetimes
// (no leak, no double destruction), and a copy constructor that throws,
// which must leave every vector valid (and unchanged where the header says
// the guarantee is strong).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/smallvec/small_vector.h"

using cachetick::smallvec::SmallVec;

namespace {

template <class T, std::size_t N>
void expect_same(const SmallVec<T, N>& v, const std::vector<T>& ref) {
  ASSERT_EQ(v.size(), ref.size());
  ASSERT_GE(v.capacity(), v.size());
  EXPECT_EQ(v.is_inline(), v.capacity() == N);
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(v[i], ref[i]) << "element " << i;
  EXPECT_EQ(v.end() - v.begin(), static_cast<std::ptrdiff_t>(ref.size()));
}

template <class T, std::size_t N>
std::vector<T> values_of(const SmallVec<T, N>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// A random walk of operations, applied to both containers.
template <class T, std::size_t N, class Make>
void random_walk(std::uint64_t seed, int steps, Make make) {
  std::mt19937_64 rng(seed);
  SmallVec<T, N> v;
  std::vector<T> ref;
  for (int s = 0; s < steps; ++s) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      T x = make(rng());
      v.push_back(x);
      ref.push_back(x);
    } else if (op < 55) {
      T x = make(rng());
      ref.push_back(x);
      v.emplace_back(std::move(x));
    } else if (op < 65 && !ref.empty()) {
      v.pop_back();
      ref.pop_back();
    } else if (op < 75 && !ref.empty()) {
      const std::size_t i = rng() % ref.size();
      const std::size_t j = i + rng() % (ref.size() - i + 1);
      v.erase(v.begin() + i, v.begin() + j);
      ref.erase(ref.begin() + i, ref.begin() + j);
    } else if (op < 80) {
      SmallVec<T, N> c(v);  // copy, then copy-assign back over a different vector
      SmallVec<T, N> d;
      d.push_back(make(1));
      d = c;
      v = std::move(d);
    } else if (op < 85) {
      SmallVec<T, N> m(std::move(v));
      EXPECT_TRUE(v.empty());
      EXPECT_TRUE(v.is_inline());
      v = std::move(m);
    } else if (op < 88) {
      v.clear();
      ref.clear();
    } else if (op < 92) {
      const std::size_t n = rng() % (3 * N);
      v.resize(n);
      ref.resize(n);
    } else if (op < 95) {
      const std::size_t n = rng() % (4 * N);
      v.reserve(n);
    } else if (!ref.empty()) {
      const std::size_t i = rng() % ref.size();
      v.erase(v.begin() + i);
      ref.erase(ref.begin() + i);
    }
    ASSERT_NO_FATAL_FAILURE(expect_same(v, ref)) << "after step " << s << " (op " << op << ")";
  }
}

TEST(SmallvecRandom, IntegersAgainstStdVector) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    random_walk<std::uint32_t, 8>(seed, 2000, [](std::uint64_t r) { return static_cast<std::uint32_t>(r); });
}

TEST(SmallvecRandom, StringsAgainstStdVector) {
  // Non-trivial elements: moves, destruction and heap storage per element.
  for (std::uint64_t seed = 1; seed <= 10; ++seed)
    random_walk<std::string, 4>(seed, 1500, [](std::uint64_t r) {
      return std::string(r % 40, static_cast<char>('a' + r % 26));
    });
}

TEST(SmallvecRandom, OneInlineElement) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed)
    random_walk<std::uint64_t, 1>(seed, 1000, [](std::uint64_t r) { return r; });
}

// The benchmark's element: two uint32_t, small and trivially copyable, so
// push_back takes the by-value path and grows through grow_with().
struct Range {
  std::uint32_t lo, hi;
  bool operator==(const Range&) const = default;
};

TEST(SmallvecRandom, RangesAgainstStdVector) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    random_walk<Range, 8>(seed, 2000, [](std::uint64_t r) {
      return Range{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(r >> 32)};
    });
}

TEST(SmallvecRandom, TwoBytesInline) {
  // An inline buffer smaller than any pointer in the header.
  for (std::uint64_t seed = 1; seed <= 10; ++seed)
    random_walk<std::uint8_t, 2>(seed, 1500, [](std::uint64_t r) { return static_cast<std::uint8_t>(r); });
}

TEST(Smallvec, ByValueGrowthKeepsEveryElement) {
  // Each doubling (8 -> 16 -> 32 ... 1024) copies the elements, then the new one.
  SmallVec<Range, 8> v;
  std::vector<Range> ref;
  std::size_t cap = 8;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    v.push_back(Range{i, ~i});
    ref.push_back(Range{i, ~i});
    if (i == 8) cap = 16;
    else if (i >= 16 && (i & (i - 1)) == 0) cap *= 2;
    ASSERT_EQ(v.capacity(), cap) << "after element " << i;
    ASSERT_EQ(v.is_inline(), i < 8);
  }
  ASSERT_NO_FATAL_FAILURE(expect_same(v, ref));
  EXPECT_EQ(&v.back(), v.data() + 999);
}

TEST(Smallvec, MovedInlineVectorsKeepTheirOwnBuffers) {
  // A move re-points end and limit to the target's own buffer, and the
  // source's back to its own: each then fills its N slots without a spill.
  SmallVec<int, 4> a{1, 2, 3};
  SmallVec<int, 4> b(std::move(a));
  b.push_back(4);
  for (int i = 0; i < 4; ++i) a.push_back(10 + i);
  EXPECT_TRUE(a.is_inline());
  EXPECT_TRUE(b.is_inline());
  EXPECT_EQ(values_of(a), (std::vector<int>{10, 11, 12, 13}));
  EXPECT_EQ(values_of(b), (std::vector<int>{1, 2, 3, 4}));
  const auto inside = [](const SmallVec<int, 4>& v) {
    const auto* o = reinterpret_cast<const unsigned char*>(&v);
    const auto* d = reinterpret_cast<const unsigned char*>(v.data());
    return d >= o && d + 4 * sizeof(int) <= o + sizeof v;
  };
  EXPECT_TRUE(inside(a));
  EXPECT_TRUE(inside(b));
  a = std::move(b);  // inline into inline, by assignment
  a.push_back(5);    // the fifth element spills a's own buffer
  EXPECT_FALSE(a.is_inline());
  EXPECT_EQ(values_of(a), (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(inside(b));
}

TEST(Smallvec, GrowthPastN) {
  SmallVec<int, 4> v;
  EXPECT_EQ(sizeof(v), 3 * sizeof(int*) + 16u);  // data, end, limit; 4 ints
  EXPECT_TRUE(v.is_inline());
  EXPECT_EQ(v.capacity(), 4u);
  for (int i = 0; i < 4; ++i) v.push_back(i);
  EXPECT_TRUE(v.is_inline());
  v.push_back(4);  // the first spill: 2N
  EXPECT_FALSE(v.is_inline());
  EXPECT_EQ(v.capacity(), 8u);
  for (int i = 5; i < 9; ++i) v.push_back(i);
  EXPECT_EQ(v.capacity(), 16u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(v[i], i);
}

TEST(Smallvec, PushBackOfOwnElementAcrossGrowth) {
  SmallVec<std::string, 2> v{std::string(30, 'x'), "y"};
  v.push_back(v[0]);  // grows: the argument must be read before the move
  v.push_back(std::move(v[1]));
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[2], std::string(30, 'x'));
  EXPECT_EQ(v[3], "y");
}

TEST(Smallvec, CopiesAreIndependentInlineAndHeap) {
  for (int n : {3, 20}) {
    SmallVec<std::string, 4> a;
    for (int i = 0; i < n; ++i) a.push_back(std::to_string(i));
    SmallVec<std::string, 4> b(a);
    EXPECT_EQ(b.is_inline(), n <= 4);
    EXPECT_NE(b.data(), a.data());
    b[0] = "changed";
    EXPECT_EQ(a[0], "0");
    a = b;
    EXPECT_EQ(a[0], "changed");
    a = a;  // self-assignment
    EXPECT_EQ(a.size(), static_cast<std::size_t>(n));
  }
}

TEST(Smallvec, MovesStealHeapAndMoveInline) {
  SmallVec<std::string, 4> heap;
  for (int i = 0; i < 10; ++i) heap.push_back(std::string(20, 'a' + i));
  const std::string* block = heap.data();
  SmallVec<std::string, 4> stolen(std::move(heap));
  EXPECT_EQ(stolen.data(), block);  // the block changed hands, no copy
  EXPECT_TRUE(heap.empty());
  EXPECT_TRUE(heap.is_inline());
  heap.push_back("reused");  // the moved-from vector works
  EXPECT_EQ(heap[0], "reused");

  SmallVec<std::string, 4> in{"p", "q"};
  SmallVec<std::string, 4> moved(std::move(in));
  EXPECT_TRUE(moved.is_inline());
  EXPECT_EQ(moved[1], "q");
  EXPECT_TRUE(in.empty());
  moved = std::move(stolen);  // heap into inline
  EXPECT_EQ(moved.size(), 10u);
  EXPECT_EQ(moved.data(), block);
}

TEST(Smallvec, EraseKeepsOrder) {
  SmallVec<int, 8> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto it = v.erase(v.begin() + 2);
  EXPECT_EQ(*it, 3);
  it = v.erase(v.begin() + 1, v.begin() + 4);
  EXPECT_EQ(*it, 5);
  EXPECT_EQ(v, (SmallVec<int, 8>{0, 5, 6, 7, 8, 9}));
  v.erase(v.begin(), v.end());
  EXPECT_TRUE(v.empty());
  v.erase(v.begin(), v.begin());  // empty range
  EXPECT_TRUE(v.empty());
}

// ---- element lifetimes and exceptions --------------------------------------------------

struct Tracked {
  static inline int live = 0;
  static inline int copies_until_throw = -1;  // < 0: never throw
  int value;
  explicit Tracked(int v = 0) : value(v) { ++live; }
  Tracked(const Tracked& o) : value(o.value) {
    if (copies_until_throw == 0) throw std::runtime_error("copy failed");
    if (copies_until_throw > 0) --copies_until_throw;
    ++live;
  }
  // A move that may throw (not noexcept): growth must copy instead.
  Tracked(Tracked&& o) : Tracked(static_cast<const Tracked&>(o)) {}
  Tracked& operator=(const Tracked& o) = default;
  ~Tracked() { --live; }
  bool operator==(const Tracked& o) const { return value == o.value; }
};

class SmallvecThrow : public ::testing::Test {
 protected:
  void SetUp() override { Tracked::live = 0, Tracked::copies_until_throw = -1; }
  void TearDown() override {
    Tracked::copies_until_throw = -1;
    EXPECT_EQ(Tracked::live, 0) << "an element leaked or was destroyed twice";
  }
  static std::vector<int> values(const SmallVec<Tracked, 4>& v) {
    std::vector<int> out;
    for (const Tracked& t : v) out.push_back(t.value);
    return out;
  }
};

TEST_F(SmallvecThrow, ThrowingGrowthLeavesTheVectorAsItWas) {
  SmallVec<Tracked, 4> v;
  for (int i = 0; i < 4; ++i) v.emplace_back(i);
  const Tracked* before = v.data();
  for (int k = 0; k <= 4; ++k) {  // fail on each copy the growth makes
    Tracked extra(99);
    Tracked::copies_until_throw = k;
    EXPECT_THROW(v.push_back(extra), std::runtime_error) << k;
    Tracked::copies_until_throw = -1;
    EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3})) << k;
    EXPECT_EQ(v.data(), before);
    EXPECT_TRUE(v.is_inline());
    EXPECT_EQ(Tracked::live, 5);  // four in v, `extra`
  }
  v.push_back(Tracked(4));  // and it still grows
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(SmallvecThrow, ThrowingGrowthOnTheHeapToo) {
  SmallVec<Tracked, 4> v;
  for (int i = 0; i < 8; ++i) v.emplace_back(i);  // heap, full at 8
  const Tracked* before = v.data();
  Tracked::copies_until_throw = 5;
  EXPECT_THROW(v.emplace_back(8), std::runtime_error);
  Tracked::copies_until_throw = -1;
  EXPECT_EQ(v.size(), 8u);
  EXPECT_EQ(v.data(), before);
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(SmallvecThrow, ThrowingReserveIsStrong) {
  SmallVec<Tracked, 4> v;
  for (int i = 0; i < 3; ++i) v.emplace_back(i);
  Tracked::copies_until_throw = 1;
  EXPECT_THROW(v.reserve(100), std::runtime_error);
  Tracked::copies_until_throw = -1;
  EXPECT_TRUE(v.is_inline());
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2}));
}

TEST_F(SmallvecThrow, ThrowingCopyConstructionLeaksNothing) {
  for (int n : {3, 9}) {
    SmallVec<Tracked, 4> v;
    for (int i = 0; i < n; ++i) v.emplace_back(i);
    Tracked::copies_until_throw = 2;
    using V = SmallVec<Tracked, 4>;
    EXPECT_THROW(V c(v), std::runtime_error);
    Tracked::copies_until_throw = -1;
    EXPECT_EQ(Tracked::live, n);
  }
}

TEST_F(SmallvecThrow, ThrowingCopyAssignmentLeavesTheTargetAlone) {
  SmallVec<Tracked, 4> src, dst;
  for (int i = 0; i < 6; ++i) src.emplace_back(i);
  dst.emplace_back(42);
  Tracked::copies_until_throw = 3;  // the copy into the temporary fails
  EXPECT_THROW(dst = src, std::runtime_error);
  Tracked::copies_until_throw = -1;
  EXPECT_EQ(values(dst), (std::vector<int>{42}));
  EXPECT_EQ(values(src), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  dst = src;
  EXPECT_EQ(values(dst), values(src));
}

TEST_F(SmallvecThrow, ThrowingConstructionInTheFastPathChangesNothing) {
  SmallVec<Tracked, 4> v;
  v.emplace_back(1);
  Tracked t(2);
  Tracked::copies_until_throw = 0;
  EXPECT_THROW(v.push_back(t), std::runtime_error);
  Tracked::copies_until_throw = -1;
  EXPECT_EQ(values(v), (std::vector<int>{1}));
}

TEST(Smallvec, TooManyElementsThrowsLengthError) {
  SmallVec<char, 4> v;
  EXPECT_THROW(v.reserve(v.max_size() + 1), std::length_error);
  EXPECT_TRUE(v.is_inline());
}

}  // namespace
