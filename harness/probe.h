// The probe brackets one measured batch: the whole `for (auto _ : state)`
// loop of one Google Benchmark run, never a single operation.
//
// Why per batch: a fenced TSC read costs ~10-25 ns and a PAPI read ~0.8 us
// (a syscall) on our reference VM, so reading per op would measure the
// timer, not the kernel. Read once around N >= 1000 ops, the cost divided by
// N vanishes; the harness's own empty kernel shows what remains.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace cachetick {

// Something read once before and once after the timed loop: hardware or
// software counters, a simulator's client requests. Collectors are installed
// by the harness for a whole run; the probe drives them.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  // Adds this batch's values, divided by `ops`, to the benchmark's counters.
  virtual void report(benchmark::State& state, double ops) = 0;
};

// Installed collectors (the run owns them; probes only borrow).
void install_collector(std::shared_ptr<Collector> c);
void clear_collectors();

class Probe {
 public:
  explicit Probe(std::string name) : name_(std::move(name)) {}

  // Times `body` once per benchmark iteration. Call exactly once.
  template <class Body>
  void run(benchmark::State& state, Body&& body) {
    begin();
    for (auto _ : state) body();
    end();
  }

  const std::string& name() const { return name_; }
  bool ran() const { return runs_ == 1; }
  int runs() const { return runs_; }
  std::uint64_t ticks() const { return t1_ - t0_; }

  // Called by the harness after the benchmark function returns: converts the
  // batch's TSC ticks and collector values into per-op counters.
  void report(benchmark::State& state, double ops_per_iter);

 private:
  void begin();  // out of line: keeps the timed loop free of probe code
  void end();

  std::string name_;
  int runs_ = 0;
  std::uint64_t t0_ = 0, t1_ = 0;
};

}  // namespace cachetick
