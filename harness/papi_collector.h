// PAPI as the counter backend: availability probing and the collector that
// reads the counters once per measured batch.
//
// Built without PAPI (CACHETICK_HAVE_PAPI=0), the backend exists and says
// so: every event is unavailable "because cachetick was built without PAPI".
// CACHETICK_PRETEND=no-papi and papi-disabled make a working PAPI answer
// as those hosts' does (harness/pretend.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/counters.h"
#include "harness/event_collector.h"

namespace cachetick {

// The process-wide PAPI library (initialised once, on first use).
class PapiBackend : public EventBackend {
 public:
  std::string name() const override { return "papi"; }
  std::string unavailable_reason() const override;
  std::string description() const override;
  EventProbe probe(const std::string& event) override;
  EventProbe probe_set(const std::vector<std::string>& events, bool multiplex) override;

 private:
  void init() const;  // PAPI_library_init, once; never under no-papi
  mutable bool initialised_ = false;
  mutable std::string reason_;
  mutable std::string description_;
};
PapiBackend& papi_backend();

// Counts plan.papi.events in one event set (multiplexed if the plan says so):
// PAPI_start in start(), PAPI_stop (one read of every counter) in stop().
// The probe calls both outside its TSC window and outside Google
// Benchmark's timer, so their syscalls never enter ns/op or ticks/op.
class PapiCollector : public EventCollector {
 public:
  explicit PapiCollector(const CounterPlan& plan);
  ~PapiCollector() override;

  void start() override;
  void stop() override;
  void report(benchmark::State& state, double ops) override;

 private:
  bool counting() const override { return set_ >= 0; }
  int set_ = -1;
  std::vector<long long> values_;
};

}  // namespace cachetick
