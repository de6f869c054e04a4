// Wiring the counters into a run: resolve `--counters`, install the PAPI
// and perf_event collectors and the allocation tracker, describe it all for the result
// file and the console; and the `cachetick counters` command.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "harness/counters.h"

namespace cachetick {

CounterEnvironment counter_environment();

// Installed for the lifetime of the object (one `cachetick run`).
class CounterSession {
 public:
  // Throws std::invalid_argument on unknown counter names (exit 2).
  explicit CounterSession(const std::string& spec);
  ~CounterSession();
  CounterSession(const CounterSession&) = delete;
  CounterSession& operator=(const CounterSession&) = delete;

  const CounterPlan& plan() const { return plan_; }
  // The "counters" block of the run's context (cachetick block).
  const nlohmann::json& context() const { return context_; }

 private:
  std::map<std::string, double> install_event_collectors();  // backend -> start/stop cost (us)
  CounterPlan plan_;
  nlohmann::json context_;
  bool installed_ = false, memory_manager_ = false;
};

// Header lines for the console, from the context block above.
void print_counter_header(const nlohmann::json& counters_context);

// For the reporter: replaces each run's memory_result by the tracker's
// stable copy (see AllocTracker::take) and returns, per run, the JSON to add
// to its "cachetick" block ({} when none) and the median console text.
struct AllocAnnotations {
  std::vector<nlohmann::json> per_run;
  std::string console;  // "allocs=0 bytes=0 peak=4MiB", or ""
};
AllocAnnotations annotate_allocations(std::vector<benchmark::BenchmarkReporter::Run>& runs);

// `cachetick counters [--counters LIST]`: what this host can count, and why not.
int counters_command(const std::string& spec);

}  // namespace cachetick
