// Whether a batch was taken off its CPU: the scheduler's involuntary
// context switches of this process (getrusage, all its threads), read
// before and after every batch.
//
// Why: with more runnable tasks than CPUs (a CI runner, a laptop building
// something, our 2-core VM beside two busy loops) the kernel time-slices,
// and a batch that lost its CPU for a slice (~3-4 ms under CFS) reads that
// slice as kernel time. In a paired round one batch may lose a slice and
// its neighbour not: the ratio of that round is the scheduler's, not the
// kernels'. Seen here with load ~5 on 2 CPUs: the same 1.1 ms batch of
// hash/ct/hit/4096 read 1.12 or 2.06 ms from round to round while its
// task-clock stayed 1.10-1.20 ns/op. Rounds in which a batch was preempted
// are left out of a ratio (rounds.h), when enough clean ones remain.
//
// Cost: two getrusage calls per batch (~0.3 us each), outside the TSC window.
#pragma once

#include <functional>

#include "harness/probe.h"

namespace cachetick {

// Involuntary context switches so far (getrusage RUSAGE_SELF ru_nivcsw).
long involuntary_switches();

// Records "preempted" on every batch: the involuntary switches during it
// (a count per batch, not per op). `read` is injectable for tests.
class PreemptionCollector : public Collector {
 public:
  explicit PreemptionCollector(std::function<long()> read = involuntary_switches) : read_(std::move(read)) {}
  void start() override { before_ = read_(); }
  void stop() override { after_ = read_(); }
  void report(benchmark::State& state, double ops) override;

 private:
  std::function<long()> read_;
  long before_ = 0, after_ = 0;
};

}  // namespace cachetick
