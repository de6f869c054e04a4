// Data layout family: AoS vs SoA vs hot/cold split (kernels/layout/layout.h).
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "harness/context.h"
#include "harness/registry.h"
#include "kernels/layout/layout.h"

namespace {

using namespace cachetick;
using namespace cachetick::layout;

template <class Layout>
void fill(Layout& a, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (std::size_t i = 0; i < a.size(); ++i) a.set(i, {u(rng), u(rng), u(rng), u(rng), u(rng), u(rng)});
}

std::vector<std::uint32_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  std::shuffle(idx.begin(), idx.end(), std::mt19937_64(seed));
  return idx;
}

template <template <class> class L, class Cold>
void run_layout(benchmark::State& st, Probe& p, std::size_t n, bool random) {
  L<Cold> a(n);  // value-initialised: every page is touched before timing
  fill(a, 42);
  std::vector<std::uint32_t> idx = random ? permutation(n, 7) : std::vector<std::uint32_t>{};
  // A volatile load keeps dt a runtime value. Not benchmark::DoNotOptimize:
  // with GCC 12 and Google Benchmark 1.7.1 its "+m,r" constraint on a float
  // lvalue hands back garbage (seen here: dt read as 0, then as ~1e30).
  volatile float dt_source = 1e-3f;
  const float dt = dt_source;
  if (random)
    p.run(st, [&] {
      a.update_idx(idx, dt);
      benchmark::ClobberMemory();
    });
  else
    p.run(st, [&] {
      a.update_seq(dt);
      benchmark::ClobberMemory();
    });
}

template <class Cold>
void register_record(const char* rec) {
  // Footprints of the records (the AoS array): L1, L2, L3, beyond L3 on the
  // reference machines (48 KiB / 2 MiB / 32-105 MiB caches).
  const std::uint64_t footprints[] = {16ull << 10, 256ull << 10, 4ull << 20, 64ull << 20,
                                      256ull << 20};
  // What each layout's update touches per entity: AoS runs through whole
  // records; SoA and hot/cold only through the 24 hot bytes (six float
  // arrays, or one array of Hot) - the cold payload is allocated but never
  // read. The working set (what the %BW limit is read at) is that, not the
  // records' footprint the size label names: SoA's 312 B rows at "64MiB"
  // stream 4.9 MiB, from a faster level than 64 MiB would.
  struct V {
    const char* name;
    Role role;
    void (*fn)(benchmark::State&, Probe&, std::size_t, bool);
    std::size_t touched_per_entity;
  };
  const V variants[] = {{"aos", Role::naive, &run_layout<AoS, Cold>, sizeof(Record<Cold>)},
                        {"soa", Role::optimised, &run_layout<SoA, Cold>, sizeof(Hot)},
                        {"hotcold", Role::reference, &run_layout<HotCold, Cold>, sizeof(Hot)}};
  for (bool random : {false, true})
    for (std::uint64_t fp : footprints)
      for (const V& v : variants) {
        const std::size_t n = fp / sizeof(Record<Cold>);
        Spec s;
        s.family = "layout";
        s.variant = v.name;
        s.role = v.role;
        s.workload = std::string(random ? "rand_" : "seq_") + rec;
        s.size = n;
        s.size_label = format_bytes(fp);
        s.working_set_bytes = n * v.touched_per_entity + (random ? n * 4 : 0);
        s.op = "element";
        s.ops_per_iter = static_cast<double>(n);
        s.bytes_per_op = sizeof(Hot);
        s.note = std::string(random ? "random-index" : "sequential") + " update of " +
                 std::to_string(n) + " " + rec + " records (24 hot bytes each)";
        add(s, [fn = v.fn, n, random](benchmark::State& st, Probe& p) { fn(st, p, n, random); });
      }
}

}  // namespace

CACHETICK_FAMILY(layout, "Data layout: AoS vs SoA vs hot/cold split, 64 B and 312 B records") {
  register_record<Cold64>("64B");
  register_record<Cold312>("312B");
}
