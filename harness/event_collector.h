// What the two event-counting collectors (PAPI, harness/papi_collector.h;
// the kernel's perf_event, harness/perf_events.h) share: why they cannot
// count, the outputs they report, their batch state, and what one start +
// stop costs.
#pragma once

#include <string>
#include <vector>

#include "harness/counters.h"
#include "harness/probe.h"

namespace cachetick {

class EventCollector : public Collector {
 public:
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Cost of one start+stop pair here, in microseconds (for the result
  // file): the fastest of 20. 0 without events.
  double start_stop_cost_us();

 protected:
  virtual bool counting() const = 0;  // events are open

  std::vector<CounterOutput> outs_;
  bool running_ = false, have_values_ = false, paused_ = false;
  std::string error_;
};

}  // namespace cachetick
