// The harness measuring itself: what one iteration of the timing loop costs
// when the kernel does nothing. Every other row pays this once per iteration,
// divided by its ops per iteration.
#include "harness/registry.h"

using namespace cachetick;

CACHETICK_FAMILY(harness, "The harness's own overhead (an empty kernel)") {
  Spec s;
  s.family = "harness";
  s.variant = "empty";
  s.role = Role::reference;
  s.workload = "loop";
  s.size = 1;
  s.size_label = "1";
  s.op = "iteration";
  s.ops_per_iter = 1;
  s.note = "empty body (a compiler barrier only): the timing loop's own cost per iteration";
  add(s, [](benchmark::State& st, Probe& p) {
    // ClobberMemory keeps the loop from being deleted; it emits no instruction.
    p.run(st, [] { benchmark::ClobberMemory(); });
  });
}
