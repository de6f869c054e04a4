// Family "smallvec": a vector with N = 8 inline elements (IP ranges, 8 B
// each: the seed service's `SmallVec<[IpNet; 8]>`) against std::vector,
// absl::InlinedVector and boost::container::small_vector
// (kernels/smallvec/small_vector.h).
//
// Workloads:
//   build      construct a vector, push_back k elements, destroy it
//              (op = one vector; allocs/op = mallocs per vector)
//   push_back  clear a kept vector and push_back k elements into it, again
//              and again (op = one push_back; no allocation after the first
//              round, for any of them: the fast path alone)
//   iterate    sum the elements of 4096 vectors of k elements each, built
//              once (op = one element): where the elements live
//   records    a million records {asn, vector of IP ranges} with 0-16 ranges
//              each (70% 0-4, 20% 5-8, 10% 9-16: mean 3.9): build them all
//              (records_build: op = record, allocs/record, and the heap +
//              array bytes per record as a counter) and sum every range of
//              every record (records_scan: op = record)
// k is below N (4), at N (8), one past it (9), 2N (16) and far above (64).
#include <malloc.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <absl/container/inlined_vector.h>
#include <boost/container/small_vector.hpp>

#include "harness/registry.h"
#include "kernels/smallvec/small_vector.h"

namespace {

using namespace cachetick;

struct IpRange {
  std::uint32_t lo, hi;
};
constexpr std::size_t kN = 8;

using CtVec = cachetick::smallvec::SmallVec<IpRange, kN>;
using StdVec = std::vector<IpRange>;
using AbslVec = absl::InlinedVector<IpRange, kN>;
using BoostVec = boost::container::small_vector<IpRange, kN>;

// A range from a running counter: cheap, and not constant-foldable.
inline IpRange range_of(std::uint32_t i) { return {i, i | 0xFFu}; }

template <class V>
std::uint64_t sum(const V& v) {
  std::uint64_t s = 0;
  for (const IpRange& r : v) s += r.hi - r.lo;
  return s;
}

// ---- build -------------------------------------------------------------------------

constexpr std::size_t kBuildVectors = 256;  // vectors per iteration

template <class V>
void run_build(benchmark::State& st, Probe& p, std::size_t k) {
  volatile std::uint32_t seed = 1;
  std::uint32_t base = seed;
  p.run(st, [&] {
    for (std::size_t n = 0; n < kBuildVectors; ++n) {
      V v;
      for (std::size_t i = 0; i < k; ++i) v.push_back(range_of(base + static_cast<std::uint32_t>(i)));
      benchmark::DoNotOptimize(v.data());
      benchmark::ClobberMemory();
      base += 3;
    }
  });
}

// ---- push_back ------------------------------------------------------------------------

constexpr std::size_t kPushes = 4096;  // push_backs per iteration

template <class V>
void run_push_back(benchmark::State& st, Probe& p, std::size_t k) {
  V v;
  for (std::size_t i = 0; i < k; ++i) v.push_back(range_of(0));  // capacity for k, kept
  volatile std::uint32_t seed = 1;
  std::uint32_t base = seed;
  p.run(st, [&] {
    for (std::size_t r = 0; r < kPushes / k; ++r) {
      v.clear();
      for (std::size_t i = 0; i < k; ++i) v.push_back(range_of(base + static_cast<std::uint32_t>(i)));
      benchmark::DoNotOptimize(v.data());
      benchmark::ClobberMemory();
      ++base;
    }
  });
}

// ---- iterate --------------------------------------------------------------------------

constexpr std::size_t kIterVectors = 4096;

template <class V>
void run_iterate(benchmark::State& st, Probe& p, std::size_t k) {
  std::vector<V> vs(kIterVectors);
  for (std::size_t n = 0; n < kIterVectors; ++n)
    for (std::size_t i = 0; i < k; ++i) vs[n].push_back(range_of(static_cast<std::uint32_t>(n * k + i)));
  std::uint64_t s = 0;
  p.run(st, [&] {
    for (const V& v : vs) s += sum(v);
    benchmark::DoNotOptimize(s);
  });
}

// ---- records --------------------------------------------------------------------------

template <class V>
struct Asn {
  std::uint32_t asn;
  V ranges;
};

// Ranges per record: 70% 0-4, 20% 5-8, 10% 9-16 (fixed seed).
const std::vector<std::uint8_t>& range_counts(std::size_t n) {
  static std::vector<std::uint8_t> c;
  if (c.size() != n) {
    std::mt19937_64 rng(11 + n);
    std::uniform_int_distribution<int> pct(0, 99), a(0, 4), b(5, 8), d(9, 16);
    c.resize(n);
    for (auto& x : c) {
      const int q = pct(rng);
      x = static_cast<std::uint8_t>(q < 70 ? a(rng) : q < 90 ? b(rng) : d(rng));
    }
  }
  return c;
}

template <class V>
void build_records(std::vector<Asn<V>>& recs, const std::vector<std::uint8_t>& counts) {
  recs.clear();
  recs.reserve(counts.size());
  std::uint32_t ip = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    Asn<V>& a = recs.emplace_back();
    a.asn = static_cast<std::uint32_t>(r);
    for (int i = 0; i < counts[r]; ++i) a.ranges.push_back(range_of(ip += 256));
  }
}

std::size_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

template <class V>
void run_records(benchmark::State& st, Probe& p, std::size_t n, bool scan) {
  const auto& counts = range_counts(n);
  std::vector<Asn<V>> recs;
  const std::size_t before = heap_in_use();
  build_records(recs, counts);
  // The array and every heap block it owns, per record (malloc's view,
  // headers and rounding included).
  st.counters["bytes_per_record"] = double(heap_in_use() - before) / double(n);
  st.counters["record_bytes"] = sizeof(Asn<V>);
  if (scan) {
    std::uint64_t s = 0;
    p.run(st, [&] {
      for (const Asn<V>& a : recs) s += a.asn + sum(a.ranges);
      benchmark::DoNotOptimize(s);
    });
  } else {
    p.run(st, [&] {
      build_records(recs, counts);
      benchmark::DoNotOptimize(recs.data());
    });
  }
}

// ---- registration -----------------------------------------------------------------------

struct Variant {
  const char* name;
  Role role;
  std::size_t object_bytes;
  void (*build)(benchmark::State&, Probe&, std::size_t);
  void (*push_back)(benchmark::State&, Probe&, std::size_t);
  void (*iterate)(benchmark::State&, Probe&, std::size_t);
  void (*records)(benchmark::State&, Probe&, std::size_t, bool);
};

template <class V>
Variant variant(const char* name, Role role) {
  return {name, role, sizeof(V), &run_build<V>, &run_push_back<V>, &run_iterate<V>, &run_records<V>};
}

std::vector<Variant> variants() {
  return {variant<StdVec>("std_vector", Role::naive),
          variant<CtVec>("ct_smallvec", Role::optimised),
          variant<AbslVec>("absl_inlined", Role::peer),
          variant<BoostVec>("boost_small", Role::peer)};
}

Spec spec(const Variant& v, const char* workload, std::size_t size, std::string label,
          const char* op, double ops, std::uint64_t ws, std::string note) {
  Spec s;
  s.family = "smallvec";
  s.variant = v.name;
  s.role = v.role;
  s.workload = workload;
  s.size = size;
  s.size_label = std::move(label);
  s.op = op;
  s.ops_per_iter = ops;
  s.working_set_bytes = ws;
  s.note = std::string(v.name) + " (" + std::to_string(v.object_bytes) + " B object, N = 8): " + note;
  return s;
}

std::string k_label(std::size_t k) { return "k" + std::to_string(k); }

void register_variant(const Variant& v) {
  const std::size_t el = sizeof(IpRange);
  for (std::size_t k : {4, 8, 9, 16, 64})
    add(spec(v, "build", k, k_label(k), "vector", kBuildVectors, v.object_bytes + k * el,
             "construct, push_back " + std::to_string(k) + " ranges, destroy"),
        [f = v.build, k](benchmark::State& st, Probe& p) { f(st, p, k); });
  for (std::size_t k : {8, 1024})
    add(spec(v, "push_back", k, k_label(k), "push_back", kPushes, v.object_bytes + k * el,
             "clear, then push_back " + std::to_string(k) + " ranges into kept capacity"),
        [f = v.push_back, k](benchmark::State& st, Probe& p) { f(st, p, k); });
  for (std::size_t k : {4, 8, 16})
    add(spec(v, "iterate", k, k_label(k), "element", double(kIterVectors * k),
             kIterVectors * (v.object_bytes + k * el),
             "sum the ranges of 4096 vectors of " + std::to_string(k)),
        [f = v.iterate, k](benchmark::State& st, Probe& p) { f(st, p, k); });
  for (std::size_t n : {std::size_t{16} << 10, std::size_t{1} << 20}) {
    const std::string label = n >= (1u << 20) ? "1M" : std::to_string(n >> 10) + "K";
    const std::uint64_t ws = n * (v.object_bytes + 8 + 4 * el);
    add(spec(v, "records_build", n, label, "record", double(n), ws,
             "build " + label + " records {asn, 0-16 ranges} (mean 3.9)"),
        [f = v.records, n](benchmark::State& st, Probe& p) { f(st, p, n, false); });
    add(spec(v, "records_scan", n, label, "record", double(n), ws,
             "sum every range of " + label + " records"),
        [f = v.records, n](benchmark::State& st, Probe& p) { f(st, p, n, true); });
  }
}

}  // namespace

CACHETICK_FAMILY(smallvec, "Small vectors (N inline elements) vs std::vector, absl::InlinedVector, boost small_vector") {
  for (const Variant& v : variants()) register_variant(v);
}
