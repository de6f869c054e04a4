// Google Benchmark's side of a run: starting it with our flags, its own JSON
// for what it reports, and a reporter that only collects. What the runs
// mean is harness/reporter.h's business; this module never computes a figure.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

namespace cachetick {

using GbRun = benchmark::BenchmarkReporter::Run;

// Initialises Google Benchmark with `args` (args[0] the program name; ours
// first, the user's pass-through flags after, so that theirs win). Returns
// false, Google Benchmark having said which, when it does not recognise one.
bool init_google_benchmark(std::vector<std::string> args);

// Google Benchmark's own JSON, parsed: exactly its format, so its tools
// (compare.py) read our files unchanged. NaN and Infinity, which it writes
// where a statistic is undefined (the cv of a counter that is 0 in every
// repetition) and which are not JSON, become null.
nlohmann::json gb_context_json(const benchmark::BenchmarkReporter::Context& context);
nlohmann::json gb_entries_json(const std::vector<GbRun>& runs);

// Google Benchmark's aggregates (mean, median, stddev, cv: its default
// statistics) of one benchmark's repetitions, computed by Google Benchmark's
// own code, for repetitions it did not run as one benchmark (the rounds of
// a paired group, each a separate invocation). Marks the runs as
// repetitions 0..n-1 of n. Empty for fewer than two runs.
std::vector<GbRun> aggregates_of(std::vector<GbRun>& repetitions);

// One iteration run as JSON and back, for a run measured in another
// process (a group's rounds come from several: harness/rounds.h): its
// name, times, iterations, counters (value and flags) and error. Not its
// allocation pass (memory_result: the process's own records), nor a
// complexity or aggregate's fields. run_from_json throws
// nlohmann::json::exception on a malformed run.
nlohmann::json run_to_json(const GbRun& r);
GbRun run_from_json(const nlohmann::json& j);

// Hands on what RunSpecifiedBenchmarks reports, as it comes: each call of
// ReportRuns is one benchmark's repetitions, or its aggregates. One collector
// may serve several RunSpecifiedBenchmarks calls (ReportContext comes once
// per call).
class RunCollector : public benchmark::BenchmarkReporter {
 public:
  using OnContext = std::function<void(const Context&)>;
  using OnRuns = std::function<void(const std::vector<Run>&)>;
  RunCollector(OnContext on_context, OnRuns on_runs)
      : on_context_(std::move(on_context)), on_runs_(std::move(on_runs)) {}

  bool ReportContext(const Context& context) override {
    on_context_(context);
    return true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    if (!runs.empty()) on_runs_(runs);
  }

 private:
  OnContext on_context_;
  OnRuns on_runs_;
};

}  // namespace cachetick
