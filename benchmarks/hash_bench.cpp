// The hash family: cachetick's L1Table, the fixed cookbook table, and the
// maps a user would otherwise pick, on the same keys and query streams.
//
// Workloads (one iteration = 1024 operations unless said otherwise):
//   hit, miss, mixed   independent lookups (throughput): the next query does
//                      not wait for this one, so the core overlaps several.
//                      mixed = each query a hit or a miss by a coin flip.
//   chain              dependent lookups (latency): each key's value is the
//                      next key of one random cycle through all n keys.
//                      Every variant uses the same lookup as in hit/miss/
//                      mixed (ct: get_or; ct_scalar: get_or_scalar): one
//                      function serves both uses, no chain-only path.
//   insert             build a table of n keys from empty (ops_per_iter = n);
//                      the allocation and initialisation of the table are
//                      included: that is what building one costs.
//   churn              erase the oldest key, insert a fresh one (FIFO), at a
//                      constant n keys; one op = one erase + one insert.
//   hit_strided, miss_strided  keys i*256: a weak (identity) hash piles them
//                      into a few slots.
// Every lookup answers "value or a default" (get_or / find + compare with
// end), so all variants do the same work.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <boost/unordered_map.hpp>
#include <tsl/robin_map.h>

#include "harness/registry.h"
#include "kernels/hash/l1_table.h"
#include "kernels/hash/naive_table.h"

namespace cachetick {
namespace {

using hash::InsertResult;
using hash::L1Table;
using hash::NaiveTable;

// ---- keys and query streams -------------------------------------------------

// murmur3's finaliser: a bijection on u32, so g(0..n) are n distinct
// random-looking keys and g(n..2n) are keys guaranteed absent.
std::uint32_t mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

enum class KeySet { random, strided };
constexpr std::uint32_t kStride = 256;

std::uint32_t key_at(KeySet ks, std::uint64_t i) {
  return ks == KeySet::random ? mix(static_cast<std::uint32_t>(i) + 0x2545F491u)
                              : static_cast<std::uint32_t>(i * kStride);
}

struct Keys {
  std::size_t n = 0;
  KeySet set = KeySet::random;
  std::vector<std::uint32_t> keys;  // keys[i] = key_at(set, i)
  std::vector<std::uint32_t> next;  // value stored for keys[i]: the next key on one random cycle
};

// Built once per (size, key set) and shared by every variant.
const Keys& keys_for(std::size_t n, KeySet ks) {
  static std::unique_ptr<Keys> cached;
  if (cached && cached->n == n && cached->set == ks) return *cached;
  cached.reset();
  auto k = std::make_unique<Keys>();
  k->n = n;
  k->set = ks;
  k->keys.resize(n);
  for (std::size_t i = 0; i < n; ++i) k->keys[i] = key_at(ks, i);
  // Sattolo's shuffle: a single cycle through all n keys, in random order.
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 rng(42);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % i]);
  k->next.resize(n);
  for (std::size_t i = 0; i < n; ++i) k->next[order[i]] = k->keys[order[(i + 1) % n]];
  cached = std::move(k);
  return *cached;
}

constexpr std::size_t kBlock = 1024;  // lookups per benchmark iteration

// Queries: long enough that the branch predictor cannot learn the sequence
// and, for big tables, that one pass touches most of the table. 16 Ki was
// not enough on AMD Zen 5: its predictor learned the repeated 16 Ki stream,
// and the branchy one-slot probe read 0.84-0.91 ns per lookup on "random"
// hits and misses (ct 1.02-1.14) where a 64 Ki stream gives 5.2-6.0 (ct
// 1.07): CPU time, standalone copy of this loop, 4096 keys, Zen 5 guest,
// issue 20. 64 Ki queries (256 KiB) stay in L2 on every CPU of our kind.
std::size_t query_count(std::size_t n) {
  std::size_t q = 65536;
  while (q < n && q < (std::size_t{1} << 22)) q *= 2;
  return q;
}

std::vector<std::uint32_t> queries(const Keys& k, int hit_percent, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> q(query_count(k.n));
  for (auto& x : q) {
    const bool hit = static_cast<int>(rng() % 100) < hit_percent;
    const std::uint64_t i = rng() % k.n;
    x = hit ? k.keys[i] : key_at(k.set, k.n + i);
  }
  return q;
}

// ---- one adapter per variant ------------------------------------------------
// make(n): an empty table ready for n keys, reserved so no variant rehashes
// while measured. bytes(n): what the table occupies (peers: from their
// documented layout).

struct CtAdapter {
  using Map = L1Table;
  static constexpr const char* name = "ct";
  static constexpr Role role = Role::optimised;
  static std::unique_ptr<Map> make(std::size_t n) { return std::make_unique<Map>(n); }
  static void put(Map& m, std::uint32_t k, std::uint32_t v) { m.insert(k, v); }
  static std::uint32_t get_or(const Map& m, std::uint32_t k, std::uint32_t d) { return m.get_or(k, d); }
  static void erase(Map& m, std::uint32_t k) { m.erase(k); }
  static std::size_t bytes(std::size_t n) { return L1Table::slots_for(n) * 8; }
  static constexpr const char* note =
      "cachetick L1Table: 8 B {hash,value} slots, sorted runs, load 1/2, get_or = 2-slot probe + cmov";
};

struct CtScalarAdapter : CtAdapter {
  static constexpr const char* name = "ct_scalar";
  static constexpr Role role = Role::reference;  // the ablation: one optimised variant per group
  static std::uint32_t get_or(const Map& m, std::uint32_t k, std::uint32_t d) { return m.get_or_scalar(k, d); }
  static constexpr const char* note = "the same L1Table, get_or_scalar: one slot at a time, a branch per slot";
};

struct NaiveAdapter {
  using Map = NaiveTable;
  static constexpr const char* name = "naive";
  static constexpr Role role = Role::naive;
  // Same slot count (and bytes) as ct: the difference is the design.
  static std::unique_ptr<Map> make(std::size_t n) { return std::make_unique<Map>(L1Table::slots_for(n)); }
  static void put(Map& m, std::uint32_t k, std::uint32_t v) { m.insert(k, v); }
  static std::uint32_t get_or(const Map& m, std::uint32_t k, std::uint32_t d) { return m.get_or(k, d); }
  static void erase(Map& m, std::uint32_t k) { m.erase(k); }
  static std::size_t bytes(std::size_t n) { return L1Table::slots_for(n) * 8; }
  static constexpr const char* note = "cookbook table, bugs fixed: identity hash, keys[]+values[]";
};

template <class M>
struct StdLikeAdapter {
  using Map = M;
  static std::unique_ptr<Map> make(std::size_t n) {
    auto m = std::make_unique<Map>();
    m->reserve(n);
    return m;
  }
  static void put(Map& m, std::uint32_t k, std::uint32_t v) { m.insert_or_assign(k, v); }
  static std::uint32_t get_or(const Map& m, std::uint32_t k, std::uint32_t d) {
    auto it = m.find(k);
    return it == m.end() ? d : it->second;
  }
  static void erase(Map& m, std::uint32_t k) { m.erase(k); }
};

struct StdAdapter : StdLikeAdapter<std::unordered_map<std::uint32_t, std::uint32_t>> {
  static constexpr const char* name = "std_unordered_map";
  static constexpr Role role = Role::peer;
  // libstdc++: a 16 B node {next, key, value} in a 32 B malloc chunk, plus
  // an 8 B bucket pointer per bucket (about one bucket per key).
  static std::size_t bytes(std::size_t n) { return n * (32 + 8); }
  static constexpr const char* note = "std::unordered_map (libstdc++): chained nodes";
};

struct BoostAdapter : StdLikeAdapter<boost::unordered_map<std::uint32_t, std::uint32_t>> {
  static constexpr const char* name = "boost_unordered_map";
  static constexpr Role role = Role::peer;
  // Boost 1.74 (Debian's; boost::unordered_flat_map needs 1.81): chained
  // nodes {next, bucket info, key, value} = 24 B in a 32 B malloc chunk,
  // plus an 8 B bucket pointer per bucket (max load 1).
  static std::size_t bytes(std::size_t n) { return n * (32 + 8); }
  static constexpr const char* note = "boost::unordered_map 1.74 (chained nodes; no flat map before 1.81)";
};

struct AbslAdapter : StdLikeAdapter<absl::flat_hash_map<std::uint32_t, std::uint32_t>> {
  static constexpr const char* name = "absl_flat_hash_map";
  static constexpr Role role = Role::peer;
  // Capacity 2^k - 1 >= n * 8/7; 8 B slot + 1 control byte each.
  static std::size_t bytes(std::size_t n) {
    std::size_t cap = 1;
    while (cap - cap / 8 < n) cap = cap * 2 + 1;
    return cap * 9;
  }
  static constexpr const char* note = "absl::flat_hash_map (Swiss table, SSE2 groups)";
};

struct RobinAdapter : StdLikeAdapter<tsl::robin_map<std::uint32_t, std::uint32_t>> {
  static constexpr const char* name = "tsl_robin_map";
  static constexpr Role role = Role::peer;
  // Power-of-two buckets at max load 1/2; 12 B bucket {dist, flag, key, value}.
  static std::size_t bytes(std::size_t n) { return std::bit_ceil(2 * n) * 12; }
  static constexpr const char* note = "tsl::robin_map (Robin Hood, std::hash = identity)";
};

// ---- tables shared between workloads -----------------------------------------
// Building a 12M-key table takes seconds, so each variant keeps its last
// (size, key set) table and the workloads of one size reuse it. Churn keeps
// its FIFO state here; lookup workloads run on an unchurned table only. One
// table per variant lives at a time (about 1.4 GB for all five at 12M keys).

template <class A>
struct Built {
  std::size_t n = 0;
  KeySet set = KeySet::random;
  bool churned = false;
  std::unique_ptr<typename A::Map> map;
  std::vector<std::uint32_t> fifo;  // churn: live keys, oldest at `head`
  std::size_t head = 0;
  std::uint64_t fresh = 0;  // churn: next unused key index
};

template <class A>
Built<A>& table_for(std::size_t n, KeySet ks, bool for_churn) {
  static std::unique_ptr<Built<A>> cached;
  if (cached && cached->n == n && cached->set == ks && (for_churn || !cached->churned)) return *cached;
  cached.reset();  // free the old table before building the next
  const Keys& k = keys_for(n, ks);
  auto b = std::make_unique<Built<A>>();
  b->n = n;
  b->set = ks;
  b->map = A::make(n);
  for (std::size_t i = 0; i < n; ++i) A::put(*b->map, k.keys[i], k.next[i]);
  b->fifo = k.keys;
  b->fresh = 2 * std::uint64_t{n};  // past the miss keys
  cached = std::move(b);
  return *cached;
}

// ---- the workloads --------------------------------------------------------------

template <class A>
void lookups(benchmark::State& st, Probe& p, std::size_t n, KeySet ks, int hit_percent) {
  const auto& map = *table_for<A>(n, ks, false).map;
  const std::vector<std::uint32_t> q = queries(keys_for(n, ks), hit_percent, 7 + hit_percent);
  const std::uint32_t* qp = q.data();
  const std::size_t qmask = q.size() - 1;
  std::size_t at = 0;
  std::uint32_t sum = 0;
  p.run(st, [&] {
    const std::uint32_t* b = qp + at;
    for (std::size_t i = 0; i < kBlock; ++i) sum += A::get_or(map, b[i], 1);
    at = (at + kBlock) & qmask;
    benchmark::DoNotOptimize(sum);
  });
}

template <class A>
void chain(benchmark::State& st, Probe& p, std::size_t n) {
  const auto& map = *table_for<A>(n, KeySet::random, false).map;
  std::uint32_t key = keys_for(n, KeySet::random).keys[0];
  p.run(st, [&] {
    // The next address depends on this lookup's value: pure latency.
    for (std::size_t i = 0; i < kBlock; ++i) key = A::get_or(map, key, key);
    benchmark::DoNotOptimize(key);
  });
}

template <class A>
void insert(benchmark::State& st, Probe& p, std::size_t n) {
  const Keys& k = keys_for(n, KeySet::random);
  const std::uint32_t* keys = k.keys.data();
  p.run(st, [&] {
    auto m = A::make(n);
    for (std::size_t i = 0; i < n; ++i) A::put(*m, keys[i], static_cast<std::uint32_t>(i));
    benchmark::DoNotOptimize(m.get());
  });
}

template <class A>
void churn(benchmark::State& st, Probe& p, std::size_t n) {
  Built<A>& b = table_for<A>(n, KeySet::random, true);
  b.churned = true;
  auto& map = *b.map;
  std::uint32_t* fifo = b.fifo.data();
  p.run(st, [&] {
    std::size_t h = b.head;
    std::uint64_t f = b.fresh;
    for (std::size_t i = 0; i < kBlock; ++i) {
      A::erase(map, fifo[h]);
      const std::uint32_t k = key_at(KeySet::random, f++);
      A::put(map, k, k);
      fifo[h] = k;
      h = h + 1 == n ? 0 : h + 1;
    }
    b.head = h;
    b.fresh = f;
    benchmark::DoNotOptimize(fifo);
  });
}

// ---- registration -------------------------------------------------------------

// Entries: 2048 = a half-full 4096-slot, 32 KiB L1Table (the L1 point);
// 3072 and 4096 (the cookbook's count) take 8192 slots, 64 KiB: L1 + L2;
// then half-full L1Tables of 512 KiB (L2), 8 MiB (L3) and 128 MiB (beyond L3).
constexpr std::size_t kSizes[] = {2048, 3072, 4096, 32768, 524288, 8388608};
constexpr std::size_t kStridedSizes[] = {2048, 32768, 524288};

using Bench = void (*)(benchmark::State&, Probe&, std::size_t);

template <class A>
void add_one(const char* workload, std::size_t n, const char* op, double ops, Bench fn,
             bool latency_bound = false) {
  Spec s;
  s.family = "hash";
  s.variant = A::name;
  s.role = A::role;
  s.workload = workload;
  s.size = n;
  s.size_label = std::to_string(n);
  s.working_set_bytes = A::bytes(n);
  s.op = op;
  s.ops_per_iter = ops;
  s.latency_bound = latency_bound;  // the chain: the report gives ns/op in L1 load latencies
  s.note = A::note;
  add(s, [n, fn](benchmark::State& st, Probe& p) { fn(st, p, n); });
}

template <class A>
struct Workloads {
  static void hit(benchmark::State& st, Probe& p, std::size_t n) { lookups<A>(st, p, n, KeySet::random, 100); }
  static void miss(benchmark::State& st, Probe& p, std::size_t n) { lookups<A>(st, p, n, KeySet::random, 0); }
  static void mixed(benchmark::State& st, Probe& p, std::size_t n) { lookups<A>(st, p, n, KeySet::random, 50); }
  static void hit_strided(benchmark::State& st, Probe& p, std::size_t n) { lookups<A>(st, p, n, KeySet::strided, 100); }
  static void miss_strided(benchmark::State& st, Probe& p, std::size_t n) { lookups<A>(st, p, n, KeySet::strided, 0); }
};

template <class... A>
void register_all() {
  const double block = static_cast<double>(kBlock);
  for (std::size_t n : kSizes) {
    (add_one<A>("hit", n, "lookup", block, &Workloads<A>::hit), ...);
    (add_one<A>("miss", n, "lookup", block, &Workloads<A>::miss), ...);
    (add_one<A>("mixed", n, "lookup", block, &Workloads<A>::mixed), ...);
    (add_one<A>("chain", n, "lookup", block, &chain<A>, true), ...);
    (add_one<A>("churn", n, "erase+insert", block, &churn<A>), ...);
    (add_one<A>("insert", n, "insert", static_cast<double>(n), &insert<A>), ...);
    if (std::find(std::begin(kStridedSizes), std::end(kStridedSizes), n) != std::end(kStridedSizes)) {
      (add_one<A>("hit_strided", n, "lookup", block, &Workloads<A>::hit_strided), ...);
      (add_one<A>("miss_strided", n, "lookup", block, &Workloads<A>::miss_strided), ...);
    }
  }
}

}  // namespace

CACHETICK_FAMILY(hash, "L1-sized hash tables against the hash maps people use") {
  register_all<CtAdapter, CtScalarAdapter, NaiveAdapter, StdAdapter, BoostAdapter, AbslAdapter, RobinAdapter>();
}

}  // namespace cachetick
