#include "harness/probe.h"

#include "harness/tsc.h"

namespace cachetick {

namespace {
std::vector<std::shared_ptr<Collector>>& collectors() {
  static std::vector<std::shared_ptr<Collector>> v;
  return v;
}
}  // namespace

void install_collector(std::shared_ptr<Collector> c) {
  collectors().push_back(std::move(c));
}
void clear_collectors() { collectors().clear(); }

// Collectors start before the TSC read and stop after it, so their cost
// (a syscall per PAPI read) stays outside the ticks we report. Google
// Benchmark's own timer starts inside the loop, later still.
__attribute__((noinline)) void Probe::begin() {
  ++runs_;
  for (auto& c : collectors()) c->start();
  t0_ = tsc_begin();
}

__attribute__((noinline)) void Probe::end() {
  t1_ = tsc_end();
  auto& cs = collectors();
  for (auto it = cs.rbegin(); it != cs.rend(); ++it) (*it)->stop();
}

void Probe::report(benchmark::State& state, double ops_per_iter) {
  const double ops = static_cast<double>(state.iterations()) * ops_per_iter;
  if (ops <= 0) return;
  state.counters["ticks_per_op"] = static_cast<double>(ticks()) / ops;
  for (auto& c : collectors()) c->report(state, ops);
}

}  // namespace cachetick
