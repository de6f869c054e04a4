// PAPI as the counter backend: availability probing and the collector that
// reads the counters once per measured batch.
//
// Built without PAPI (CACHETICK_HAVE_PAPI=0), the backend exists and says
// so: every event is unavailable "because cachetick was built without PAPI".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/counters.h"
#include "harness/probe.h"

namespace cachetick {

// The process-wide PAPI library (initialised once, on first use).
class PapiBackend : public EventBackend {
 public:
  PapiBackend();
  std::string unavailable_reason() const override { return reason_; }
  std::string description() const override { return description_; }
  EventProbe probe(const std::string& event) override;
  EventProbe probe_set(const std::vector<std::string>& events, bool multiplex) override;

 private:
  std::string reason_;
  std::string description_;
};
PapiBackend& papi_backend();

// Counts plan.events in one event set (multiplexed if the plan says so):
// PAPI_start in start(), PAPI_stop (one read of every counter) in stop().
// The probe calls both outside its TSC window and outside Google
// Benchmark's timer, so their syscalls never enter ns/op or ticks/op.
class PapiCollector : public Collector {
 public:
  explicit PapiCollector(const CounterPlan& plan);
  ~PapiCollector() override;
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  void start() override;
  void stop() override;
  void report(benchmark::State& state, double ops) override;

  // Cost of one start+stop pair here, in microseconds (for the result file).
  double start_stop_cost_us();

 private:
  struct Out {
    std::string name;
    int index = -1;        // into values_
    bool ipc = false;      // instructions / cycles, not divided by ops
    int cyc = -1, ins = -1;
  };
  int set_ = -1;
  std::vector<Out> outs_;
  std::vector<long long> values_;
  bool running_ = false, have_values_ = false, paused_ = false;
  std::string error_;
};

}  // namespace cachetick
