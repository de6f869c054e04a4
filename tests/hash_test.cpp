// The hash family's tables against std::unordered_map: every operation on
// randomised sequences, plus the edge cases the cookbook table got wrong
// (key 0, a full table) and the ones an open-addressing table can get wrong
// (erase in the middle of a run, wrap-around, re-insert after erase).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/hash/l1_table.h"
#include "kernels/hash/naive_table.h"

namespace cachetick::hash {
namespace {

constexpr std::uint32_t kMaxKey = std::numeric_limits<std::uint32_t>::max();
using Model = std::unordered_map<std::uint32_t, std::uint32_t>;

// How to build a table for n keys, and when it must answer `full`.
struct L1Traits {
  using Table = L1Table;
  static Table make(std::size_t n) { return Table(n); }
  static bool must_be_full(const Table& t, const Model& m, std::uint32_t key) {
    return !m.count(key) && m.size() == t.max_entries();
  }
};
struct NaiveTraits {
  using Table = NaiveTable;
  static Table make(std::size_t n) { return Table(std::bit_ceil(n + 1)); }
  static bool must_be_full(const Table& t, const Model& m, std::uint32_t key) {
    const std::size_t nonzero = m.size() - m.count(0);
    return key != 0 && !m.count(key) && nonzero == t.slot_count() - 1;
  }
};

template <class Traits>
class HashTableTest : public ::testing::Test {};
using Tables = ::testing::Types<L1Traits, NaiveTraits>;
TYPED_TEST_SUITE(HashTableTest, Tables);

template <class Table>
void expect_same_contents(const Table& t, const Model& m) {
  ASSERT_EQ(t.size(), m.size());
  std::size_t seen = 0;
  t.for_each([&](std::uint32_t k, std::uint32_t v) {
    auto it = m.find(k);
    ASSERT_NE(it, m.end()) << "table holds key " << k << " the model does not";
    EXPECT_EQ(it->second, v) << "key " << k;
    ++seen;
  });
  EXPECT_EQ(seen, m.size());
}

// One operation, checked against the model.
template <class Traits>
void step(typename Traits::Table& t, Model& m, int op, std::uint32_t key, std::uint32_t value) {
  if (op == 0) {
    const bool full = Traits::must_be_full(t, m, key);
    const InsertResult r = t.insert(key, value);
    if (full) {
      ASSERT_EQ(r, InsertResult::full) << "key " << key;
    } else if (m.count(key)) {
      ASSERT_EQ(r, InsertResult::assigned) << "key " << key;
      m[key] = value;
    } else {
      ASSERT_EQ(r, InsertResult::inserted) << "key " << key;
      m[key] = value;
    }
  } else if (op == 1) {
    ASSERT_EQ(t.erase(key), m.erase(key) == 1) << "key " << key;
  } else {
    auto it = m.find(key);
    const std::uint32_t* p = t.find(key);
    const std::uint32_t absent = ~value;  // any value the table may not invent
    if (it == m.end()) {
      ASSERT_EQ(p, nullptr) << "key " << key;
      ASSERT_EQ(t.get_or(key, absent), absent);
      if constexpr (requires { t.get_or_scalar(key, absent); }) {
        ASSERT_EQ(t.get_or_scalar(key, absent), absent);
      }
      ASSERT_FALSE(t.contains(key));
    } else {
      ASSERT_NE(p, nullptr) << "key " << key;
      ASSERT_EQ(*p, it->second);
      ASSERT_EQ(t.get_or(key, absent), it->second);
      if constexpr (requires { t.get_or_scalar(key, absent); }) {
        ASSERT_EQ(t.get_or_scalar(key, absent), it->second);
      }
    }
  }
  if constexpr (requires { t.mirror_consistent(); }) {
    ASSERT_TRUE(t.mirror_consistent()) << "after op " << op << " key " << key;
  }
}

// Random inserts, erases and lookups. Keys come from a universe of about
// 2n keys that always holds 0 and UINT32_MAX, so hits, misses, re-inserts
// and full-table refusals all happen often.
template <class Traits>
void random_ops(std::size_t n, std::uint32_t seed, int ops, bool strided) {
  std::mt19937 rng(seed);
  std::vector<std::uint32_t> universe = {0, kMaxKey, 1, kMaxKey - 1};
  while (universe.size() < 2 * n + 4)
    universe.push_back(strided ? static_cast<std::uint32_t>(universe.size() * 256) : rng());
  auto t = Traits::make(n);
  Model m;
  std::uniform_int_distribution<std::size_t> pick(0, universe.size() - 1);
  std::discrete_distribution<int> kind({45, 20, 35});  // insert, erase, find
  for (int i = 0; i < ops; ++i) {
    step<Traits>(t, m, kind(rng), universe[pick(rng)], rng());
    if (::testing::Test::HasFatalFailure()) return;
    if (i % 97 == 0) expect_same_contents(t, m);
  }
  expect_same_contents(t, m);
}

TYPED_TEST(HashTableTest, RandomOpsMatchUnorderedMap) {
  for (std::size_t n : {1u, 2u, 3u, 12u, 13u, 100u, 1000u, 3072u})
    for (std::uint32_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " seed=" << seed);
      random_ops<TypeParam>(n, seed, 20000, false);
      if (this->HasFatalFailure()) return;
    }
}

TYPED_TEST(HashTableTest, RandomOpsStridedKeys) {
  for (std::size_t n : {12u, 1000u, 4096u}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    random_ops<TypeParam>(n, 7, 20000, true);
    if (this->HasFatalFailure()) return;
  }
}

TYPED_TEST(HashTableTest, StoresKeyZeroAndMaxKey) {
  auto t = TypeParam::make(8);
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.find(kMaxKey), nullptr);
  EXPECT_EQ(t.insert(0, 11), InsertResult::inserted);
  EXPECT_EQ(t.insert(kMaxKey, 22), InsertResult::inserted);
  ASSERT_NE(t.find(0), nullptr);
  EXPECT_EQ(*t.find(0), 11u);
  EXPECT_EQ(t.get_or(kMaxKey, 0), 22u);
  EXPECT_EQ(t.insert(0, 33), InsertResult::assigned);
  EXPECT_EQ(t.get_or(0, 0), 33u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.erase(0));
  EXPECT_FALSE(t.erase(0));
  EXPECT_FALSE(t.contains(0));
  EXPECT_TRUE(t.contains(kMaxKey));
  EXPECT_EQ(t.insert(0, 44), InsertResult::inserted);
  EXPECT_EQ(t.get_or(0, 0), 44u);
  EXPECT_EQ(t.size(), 2u);
}

TYPED_TEST(HashTableTest, FullTableRefusesAndStaysUsable) {
  auto t = TypeParam::make(100);
  Model m;
  std::mt19937 rng(5);
  std::uint32_t last = 0;
  // Fill until the table refuses: it must do so at its stated capacity,
  // and a refused insert must change nothing.
  for (;;) {
    const std::uint32_t k = rng() | 1;  // nonzero: the naive table keeps 0 aside
    if (m.count(k)) continue;
    const InsertResult r = t.insert(k, k ^ 0x5a5a);
    if (r == InsertResult::full) break;
    ASSERT_EQ(r, InsertResult::inserted);
    m[k] = k ^ 0x5a5a;
    last = k;
    ASSERT_LE(m.size(), 256u) << "never reported full";
  }
  EXPECT_GE(m.size(), 100u);
  expect_same_contents(t, m);
  // Lookups of absent keys still terminate on a full table.
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t k = rng() | 1;
    EXPECT_EQ(t.contains(k), m.count(k) == 1);
  }
  EXPECT_EQ(t.insert(last, 7), InsertResult::assigned);  // assign still works
  m[last] = 7;
  ASSERT_TRUE(t.erase(last));
  m.erase(last);
  EXPECT_EQ(t.insert(12345677, 1), InsertResult::inserted);
  m[12345677] = 1;
  expect_same_contents(t, m);
}

TYPED_TEST(HashTableTest, SizeOne) {
  auto t = TypeParam::make(1);
  EXPECT_EQ(t.insert(kMaxKey, 1), InsertResult::inserted);
  EXPECT_EQ(t.insert(kMaxKey, 2), InsertResult::assigned);
  EXPECT_EQ(t.get_or(kMaxKey, 0), 2u);
  EXPECT_EQ(t.insert(77, 3), InsertResult::full);
  EXPECT_FALSE(t.contains(77));
  EXPECT_TRUE(t.erase(kMaxKey));
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.insert(77, 3), InsertResult::inserted);
  EXPECT_EQ(t.get_or(77, 0), 3u);
  EXPECT_EQ(t.get_or(kMaxKey, 9), 9u);
}

// Erase and re-insert every key many times: backward-shift deletion must
// leave the same contents (and no stale copies) as the model.
TYPED_TEST(HashTableTest, ChurnEraseReinsert) {
  const std::size_t n = 3072;
  auto t = TypeParam::make(n);
  Model m;
  std::mt19937 rng(9);
  std::vector<std::uint32_t> live;
  while (live.size() < n) {
    const std::uint32_t k = rng() | 1;
    if (m.count(k)) continue;
    ASSERT_EQ(t.insert(k, k), InsertResult::inserted);
    m[k] = k;
    live.push_back(k);
  }
  for (int round = 0; round < 20000; ++round) {
    const std::size_t i = rng() % live.size();
    ASSERT_TRUE(t.erase(live[i]));
    m.erase(live[i]);
    ASSERT_FALSE(t.contains(live[i]));
    std::uint32_t k;
    do k = rng() | 1; while (m.count(k));
    ASSERT_EQ(t.insert(k, ~k), InsertResult::inserted);
    m[k] = ~k;
    live[i] = k;
  }
  expect_same_contents(t, m);
  for (std::uint32_t k : live) ASSERT_EQ(t.get_or(k, 0), m[k]);
}

TYPED_TEST(HashTableTest, ClearEmptiesTheTable) {
  auto t = TypeParam::make(50);
  for (std::uint32_t k = 0; k < 40; ++k) ASSERT_EQ(t.insert(k, k + 1), InsertResult::inserted);
  t.clear();
  EXPECT_TRUE(t.empty());
  for (std::uint32_t k = 0; k < 40; ++k) EXPECT_FALSE(t.contains(k));
  EXPECT_EQ(t.insert(3, 4), InsertResult::inserted);
  EXPECT_EQ(t.size(), 1u);
}

// --- L1Table only -----------------------------------------------------------

TEST(L1Table, HashIsABijection) {
  std::mt19937 rng(3);
  for (std::uint32_t k : {0u, 1u, kMaxKey, 0x80000000u}) EXPECT_EQ(L1Table::unhash(L1Table::hash(k)), k);
  for (int i = 0; i < 100000; ++i) {
    const std::uint32_t k = rng();
    ASSERT_EQ(L1Table::unhash(L1Table::hash(k)), k);
  }
}

TEST(L1Table, DefaultLoadIsOneHalf) {
  L1Table t(2048);  // the L1 point: 32 KiB
  EXPECT_EQ(t.slot_count(), 4096u);
  EXPECT_EQ(t.bytes(), 32u * 1024);
  EXPECT_EQ(L1Table::slots_for(2049), 8192u);
  EXPECT_EQ(L1Table::slots_for(3072), 8192u);
  EXPECT_EQ(L1Table::slots_for(4096), 8192u);
  EXPECT_EQ(L1Table::slots_for(std::size_t{1} << 30), std::size_t{1} << 31);
  EXPECT_THROW(L1Table::slots_for((std::size_t{1} << 30) + 1), std::invalid_argument);
}

// get_or (2-slot probe + cmov, the loop beyond) and get_or_scalar (one slot
// at a time) against the model, hits and misses, at the default 1/2 load
// and at 3/4 (explicit geometry), where a third of lookups take get_or's
// loop. The universe holds 0, UINT32_MAX and keys homed in the last slot,
// whose second slot is the mirror of slot 0.
TEST(L1Table, BothLookupPathsMatchUnorderedMap) {
  for (const auto& [slots, keys] : {std::pair<std::size_t, std::size_t>{4096, 2048}, {4096, 3072},
                                    {8192, 4096}, {16, 12}, {64, 48}, {256, 128}}) {
    SCOPED_TRACE(::testing::Message() << "slots=" << slots << " keys=" << keys);
    std::mt19937 rng(static_cast<std::uint32_t>(slots + keys));
    const unsigned shift = 32 - static_cast<unsigned>(std::countr_zero(slots));
    std::vector<std::uint32_t> universe = {0, kMaxKey, 1, kMaxKey - 1};
    for (std::uint32_t low = 0; low < 4; ++low) {  // home = last slot, and slot 0 behind it
      universe.push_back(L1Table::unhash(((static_cast<std::uint32_t>(slots) - 1) << shift) | low));
      universe.push_back(L1Table::unhash(low));
    }
    while (universe.size() < 2 * keys) universe.push_back(rng());
    std::shuffle(universe.begin(), universe.end(), rng);
    L1Table t(slots, keys);
    Model m;
    for (std::uint32_t k : universe) {
      if (m.size() == keys) break;
      const InsertResult r = t.insert(k, k ^ 0x9e3779b9u);
      if (r == InsertResult::full) continue;  // a small table near 3/4: the displacement bound
      ASSERT_EQ(r, m.count(k) ? InsertResult::assigned : InsertResult::inserted);
      m[k] = k ^ 0x9e3779b9u;
    }
    ASSERT_GE(m.size(), keys * 9 / 10);
    ASSERT_TRUE(t.mirror_consistent());
    std::size_t hits = 0;
    for (std::uint32_t k : universe) {
      const std::uint32_t absent = ~(k ^ 0x9e3779b9u);
      auto it = m.find(k);
      const std::uint32_t want = it == m.end() ? absent : it->second;
      hits += it != m.end();
      ASSERT_EQ(t.get_or(k, absent), want) << "key " << k;
      ASSERT_EQ(t.get_or_scalar(k, absent), want) << "key " << k;
    }
    EXPECT_GT(hits, 0u);
    EXPECT_LT(hits, universe.size());
    for (std::uint32_t i = 0; i < 20000; ++i) {  // random misses (and the odd hit)
      const std::uint32_t k = rng();
      const std::uint32_t want = m.count(k) ? m[k] : 7u;
      ASSERT_EQ(t.get_or(k, 7), want) << "key " << k;
      ASSERT_EQ(t.get_or_scalar(k, 7), want) << "key " << k;
    }
  }
}

// A dependent chain, as the benchmark runs it: each value is the next key.
TEST(L1Table, DependentChainFollowsTheCycle) {
  const std::size_t n = 4096;
  std::mt19937 rng(11);
  std::vector<std::uint32_t> keys = {0, kMaxKey};
  Model m;
  m[0] = 0;
  m[kMaxKey] = 0;
  while (keys.size() < n) {
    const std::uint32_t k = rng();
    if (m.emplace(k, 0).second) keys.push_back(k);
  }
  std::shuffle(keys.begin(), keys.end(), rng);
  L1Table t(n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(t.insert(keys[i], keys[(i + 1) % n]), InsertResult::inserted);
  std::uint32_t k = keys[0];
  for (std::size_t step = 1; step <= 3 * n; ++step) {
    k = t.get_or(k, k);
    ASSERT_EQ(k, keys[step % n]) << "step " << step;
  }
  for (std::size_t step = 1; step <= n; ++step) k = t.get_or_scalar(k, k);
  EXPECT_EQ(k, keys[0]);
}

TEST(L1Table, RejectsBadGeometry) {
  EXPECT_THROW(L1Table(0), std::invalid_argument);
  EXPECT_THROW(L1Table(100, 10), std::invalid_argument);  // not a power of two
  EXPECT_THROW(L1Table(8, 4), std::invalid_argument);     // below the minimum
  EXPECT_THROW(L1Table(64, 49), std::invalid_argument);   // above 3/4 load
  EXPECT_THROW(L1Table(std::size_t{1} << 32, 10), std::invalid_argument);
  EXPECT_THROW(L1Table(64, 0), std::invalid_argument);
  EXPECT_NO_THROW(L1Table(64, 48));
}

// Keys crafted to share one home slot: the table must refuse at its
// displacement bound (not probe forever, not corrupt), and stay correct.
TEST(L1Table, CraftedCollisionsHitTheDisplacementBound) {
  L1Table t(256, 192);
  const unsigned shift = 32 - 8;
  Model m;
  std::uint32_t low = 0;
  for (;;) {
    const std::uint32_t x = (std::uint32_t{17} << shift) | low++;  // all home to slot 17
    const std::uint32_t k = L1Table::unhash(x);
    const InsertResult r = t.insert(k, low);
    if (r == InsertResult::full) break;
    ASSERT_EQ(r, InsertResult::inserted);
    m[k] = low;
  }
  EXPECT_EQ(m.size(), t.max_displacement() + 1);
  expect_same_contents(t, m);
  // Keys homed elsewhere still go in (around the long run), and erase works.
  std::mt19937 rng(1);
  int added = 0;
  while (added < 20) {
    const std::uint32_t k = rng();
    if (m.count(k)) continue;
    const InsertResult r = t.insert(k, 5);
    if (r == InsertResult::full) continue;  // homed inside the full run
    ASSERT_EQ(r, InsertResult::inserted);
    m[k] = 5;
    ++added;
  }
  for (auto it = m.begin(); it != m.end();) {
    ASSERT_TRUE(t.erase(it->first));
    it = m.erase(it);
    if (m.size() % 7 == 0) expect_same_contents(t, m);
  }
  EXPECT_TRUE(t.empty());
}

// The displacement bound with an explicit geometry: random keys CAN reach it
// before max_entries in a small table loaded past 1/2 (issue 20's audit:
// L1Table(16, 12) in 23% of random fills). This fill answers `full` at 6 of 8
// keys, and the refusal changes nothing.
TEST(L1Table, ExplicitGeometryMayRefuseBeforeMaxEntries) {
  L1Table t(16, 8);
  Model m;
  for (std::uint32_t k : {1177774495u, 3684099009u, 3879157124u, 554442107u, 3897627697u, 3895612981u}) {
    ASSERT_EQ(t.insert(k, k ^ 1), InsertResult::inserted);
    m[k] = k ^ 1;
  }
  EXPECT_EQ(t.insert(3946691751u, 7), InsertResult::full);
  EXPECT_EQ(t.size(), 6u);
  expect_same_contents(t, m);
}

// Tables sized by slots_for() keep the promise: random fills always reach
// max_entries (below 256 slots the bound is unreachable by construction; from
// 256 slots at 1/2 load it needs a run of slots/2 - 2 keys).
TEST(L1Table, SizedTablesFillToMaxEntries) {
  std::mt19937 rng(20);
  for (std::size_t n : {1u, 2u, 5u, 8u, 12u, 60u, 100u, 128u, 200u, 1000u}) {
    for (int fill = 0; fill < 300; ++fill) {
      L1Table t(n);
      Model m;
      while (m.size() < n) {
        const std::uint32_t k = rng();
        if (m.count(k)) continue;
        ASSERT_EQ(t.insert(k, 1), InsertResult::inserted) << n << " keys, fill " << fill << ", at " << m.size();
        m[k] = 1;
      }
      std::uint32_t k = rng();
      while (m.count(k)) k = rng();
      ASSERT_EQ(t.insert(k, 1), InsertResult::full);
    }
  }
}

// Wrap-around: keys homed in the last slots spill into slot 0 onward.
TEST(L1Table, RunsWrapAroundTheEnd) {
  L1Table t(16, 12);
  Model m;
  for (std::uint32_t low = 0; low < 3; ++low)
    for (std::uint32_t home : {15u, 14u}) {
      const std::uint32_t k = L1Table::unhash((home << 28) | low);
      ASSERT_EQ(t.insert(k, home * 10 + low), InsertResult::inserted);
      m[k] = home * 10 + low;
    }
  const std::uint32_t k0 = L1Table::unhash(0);  // home 0: sits behind the wrapped run
  ASSERT_EQ(t.insert(k0, 99), InsertResult::inserted);
  m[k0] = 99;
  expect_same_contents(t, m);
  for (auto& [k, v] : m) EXPECT_EQ(t.get_or(k, 0), v);
  ASSERT_TRUE(t.erase(L1Table::unhash(14u << 28)));
  m.erase(L1Table::unhash(14u << 28));
  expect_same_contents(t, m);
  for (auto& [k, v] : m) EXPECT_EQ(t.get_or(k, 0), v);
}

// --- NaiveTable only --------------------------------------------------------

TEST(NaiveTable, RejectsBadGeometry) {
  EXPECT_THROW(NaiveTable(0), std::invalid_argument);
  EXPECT_THROW(NaiveTable(1), std::invalid_argument);
  EXPECT_THROW(NaiveTable(4095), std::invalid_argument);
  EXPECT_NO_THROW(NaiveTable(4096));
}

TEST(NaiveTable, HoldsSlotsMinusOnePlusKeyZero) {
  NaiveTable t(4);
  EXPECT_EQ(t.insert(0, 1), InsertResult::inserted);
  EXPECT_EQ(t.insert(4, 1), InsertResult::inserted);  // identity hash: 4, 8, 12 share slot 0
  EXPECT_EQ(t.insert(8, 1), InsertResult::inserted);
  EXPECT_EQ(t.insert(12, 1), InsertResult::inserted);
  EXPECT_EQ(t.insert(16, 1), InsertResult::full);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(t.contains(16));
  EXPECT_TRUE(t.erase(8));
  EXPECT_TRUE(t.contains(12));
  EXPECT_EQ(t.insert(16, 1), InsertResult::inserted);
}

}  // namespace
}  // namespace cachetick::hash
