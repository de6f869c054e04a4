#include "harness/preemption.h"

#include <sys/resource.h>

namespace cachetick {

long involuntary_switches() {
  struct rusage u {};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return u.ru_nivcsw;
}

void PreemptionCollector::report(benchmark::State& state, double) {
  state.counters["preempted"] = static_cast<double>(after_ - before_);
}

}  // namespace cachetick
