// How much of its core a batch had: a probe around every batch that tells a
// slow row caused by a neighbour from a slow kernel.
//
// Why: a cloud vCPU is often one hardware thread of a core whose other
// thread (SMT sibling) runs someone else's VM. While the sibling is busy the
// two threads share the core's issue slots, and code that needs many uops per
// cycle runs up to 2x slower - at the same clock. On our reference VM this
// came and went in spells of milliseconds to minutes: a 5-uop/op compare loop
// took 1.06 core cycles/op in 78% of 20,000 samples and 1.8-2.1 in the rest
// (in another minute, 1.85 in most), while a dependent chain timed in
// alternation kept its speed. A clock
// probe cannot see it; the cv% only says that something moved.
//
// The probe: 24 independent uops per trip (adds and L1 loads: as many as the
// core can rename per cycle, ~4 cycles per trip on a 6-wide core) timed
// against 24 dependent adds (24 cycles whatever the width: one uop per
// cycle), back to back, three times, fastest of each. The ratio is the wide
// loop's cost in core cycles, independent of the clock rate. A batch's core
// share = the machine's best (uncontended) cost / the worse of the probes
// before and after it: 1.0 = the core to itself, ~0.5 = a busy sibling. On
// the reference VM the probe flagged 88% of the samples in which the compare
// loop above ran slow, and 0.6% of those in which it did not. It runs
// outside the TSC window and every counter, ~10 us each time.
#pragma once

#include <functional>
#include <memory>

#include "harness/probe.h"

namespace cachetick {

// Core cycles one iteration of the wide loop took (the ratio above); NaN
// where the probe cannot run (no TSC / not x86) or the sample is physically
// impossible (under 3 cycles: the reference chain was slowed, see .cpp).
double issue_probe_cycles();

// Fastest of `samples` probes: the machine's uncontended cost when at least
// one sample ran without a neighbour (calibration takes many, spread out).
double issue_probe_best(int samples);

// Core share below which a row is marked as having run on a shared core.
inline constexpr double kSharedCoreBelow = 0.8;

// Records "core_share" on every batch. `baseline` is the uncontended probe
// cost (calibration, or a burst at start); a faster probe seen later lowers
// it. `probe` is injectable for tests.
class CoreShareCollector : public Collector {
 public:
  explicit CoreShareCollector(double baseline, std::function<double()> probe = issue_probe_cycles);
  void start() override;
  void stop() override;
  void report(benchmark::State& state, double ops) override;
  double baseline() const { return baseline_; }

 private:
  void sample(double& into);
  std::function<double()> probe_;
  double baseline_;
  double before_ = 0, after_ = 0;
};

}  // namespace cachetick
