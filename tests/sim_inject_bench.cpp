// A test-only benchmark file for the regression gate (tests/sim_gate_test.sh).
//
// It is compiled twice, into siminject_clean and siminject_slow. The slow
// build defines CACHETICK_INJECT_EXTRA_PASS: its AoS update makes an extra
// pass over the records, the kind of slip a real change can introduce. The
// gate must name exactly that benchmark when fed the slow build's counts
// against the clean build's, and pass when the clean build runs again.
// The kernels are the layout family's own (kernels/layout/layout.h).
//
// Two more families, registered in this order around siminject (within one
// file, definition order is registration order): simheap runs before it and
// leaves the heap changed, to show that one family cannot move another's
// counts; simcrash kills its child, to show how a failed family is reported.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "harness/registry.h"
#include "kernels/layout/layout.h"

#ifndef CACHETICK_INJECT_EXTRA_PASS
#define CACHETICK_INJECT_EXTRA_PASS 0
#endif

namespace {

using namespace cachetick;
using namespace cachetick::layout;

template <template <class> class L>
void run(benchmark::State& st, Probe& p, std::size_t n, bool extra_pass) {
  L<Cold64> a(n);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (std::size_t i = 0; i < n; ++i) a.set(i, {u(rng), u(rng), u(rng), u(rng), u(rng), u(rng)});
  volatile float dt_source = 1e-3f;  // not DoNotOptimize: see benchmarks/layout_bench.cpp
  const float dt = dt_source;
  p.run(st, [&] {
    a.update_seq(dt);
    if (extra_pass) a.update_seq(dt);
    benchmark::ClobberMemory();
  });
}

}  // namespace

// What a real family's set-up can leave behind for the rest of the process:
// blocks it keeps, and a large block freed, after which glibc raises its
// mmap threshold, so that later large vectors come from the heap instead of
// fresh mappings. In a child shared with siminject this moved siminject's
// buffers to other lines and sets; in a child of its own it cannot.
CACHETICK_FAMILY(simheap, "Test only: leaves the heap changed for the families after it") {
  Spec s;
  s.family = "simheap";
  s.variant = "keep";
  s.workload = "blocks";
  s.size = 40;
  s.size_label = "40B";
  s.op = "allocation";
  s.ops_per_iter = 64;
  s.sim_iterations = 16;
  s.note = "allocates blocks it keeps to the end of the process (test only)";
  add(s, [](benchmark::State& st, Probe& p) {
    static std::vector<std::unique_ptr<char[]>> kept;
    {
      std::vector<char> big(4 << 20, 1);
      benchmark::DoNotOptimize(big.data());
    }
    p.run(st, [&] {
      for (int i = 0; i < 64; ++i) kept.push_back(std::make_unique<char[]>(40));
      benchmark::DoNotOptimize(kept.back().get());
    });
  });
}

CACHETICK_FAMILY(siminject, "Test only: the layout kernels, one with an injectable extra pass") {
  const std::size_t bytes = 256 << 10;  // beyond the simulated 32 KiB D1
  const std::size_t n = bytes / sizeof(Record<Cold64>);
  struct V {
    const char* name;
    void (*fn)(benchmark::State&, Probe&, std::size_t, bool);
    bool inject;
  };
  const V variants[] = {{"aos", &run<AoS>, CACHETICK_INJECT_EXTRA_PASS != 0},
                        {"soa", &run<SoA>, false},
                        {"hotcold", &run<HotCold>, false}};
  for (const V& v : variants) {
    Spec s;
    s.family = "siminject";
    s.variant = v.name;
    s.workload = "seq_64B";
    s.size = n;
    s.size_label = "256KiB";
    s.working_set_bytes = bytes;
    s.op = "element";
    s.ops_per_iter = static_cast<double>(n);
    s.sim_iterations = 16;
    s.note = "sequential update (test only)";
    add(s, [v, n](benchmark::State& st, Probe& p) { v.fn(st, p, n, v.inject); });
  }
}

// A child that dies: the parent must name the family, show valgrind's log,
// and keep what the families before it produced.
CACHETICK_FAMILY(simcrash, "Test only: aborts its child process") {
  Spec s;
  s.family = "simcrash";
  s.variant = "abort";
  s.workload = "setup";
  s.size = 1;
  s.size_label = "1";
  s.op = "call";
  s.note = "std::abort() in set-up (test only; select it explicitly)";
  add(s, [](benchmark::State&, Probe&) { std::abort(); });
}
