// A test-only family with known answers, for the paired method
// (tests/paired_method_test.sh): chains of dependent adds, one add per core
// cycle whatever the CPU, so their cost ratio is the ratio of their lengths.
//
//   pairtest/ref/chain/8K    8192 dependent adds (the reference)
//   pairtest/same/chain/8K   the same 8192 adds: the null pair, ratio 1
//   pairtest/more/chain/8K   10240 adds: ratio 1.25
//
// The adds are inline asm (the compiler cannot fold a chain into one
// multiply-add) in blocks of 8 per loop trip; the loop's own counter and
// branch run beside the chain on other ports, so the chain sets the time.
#include <cstdint>

#include "harness/registry.h"

namespace {

using namespace cachetick;

template <int Blocks>
std::uint64_t chain(std::uint64_t x, std::uint64_t y) {
  for (int i = 0; i < Blocks; ++i) {
#if defined(__x86_64__)
    asm volatile(
        "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
        "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
        : "+r"(x)
        : "r"(y));
#else
    for (int k = 0; k < 8; ++k) asm volatile("" : "+r"(x) : "r"(y)), x += y;
#endif
  }
  return x;
}

template <int Blocks>
void add_chain(const char* variant, Role role) {
  Spec s;
  s.family = "pairtest";
  s.variant = variant;
  s.role = role;
  s.workload = "chain";
  s.size_label = "8K";
  s.size = 8192;
  s.op = "chain";
  s.ops_per_iter = 1;
  s.note = "dependent adds with a known length (tests/paired_method_bench.cpp)";
  add(s, [](benchmark::State& st, Probe& p) {
    std::uint64_t x = 1;
    p.run(st, [&] { x = chain<Blocks>(x, 3); });
    benchmark::DoNotOptimize(x);
  });
}

}  // namespace

CACHETICK_FAMILY(pairtest, "Test only: dependent add chains with known cost ratios") {
  add_chain<1024>("ref", Role::optimised);
  add_chain<1024>("same", Role::peer);
  add_chain<1280>("more", Role::peer);
}
