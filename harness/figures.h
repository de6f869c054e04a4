// Row figures: what one benchmark's measurement means, computed once, as
// typed values. The result file (harness/result.h) and the console table
// (harness/console.h) are both fed from these; neither computes a figure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "harness/limits.h"
#include "harness/paired.h"
#include "harness/registry.h"

namespace cachetick {

// Per-op figures of one Google Benchmark run of the time backend (one
// repetition, or a time aggregate such as the median).
struct TimeFigures {
  double ns_per_op = 0;
  double ticks_per_op = -1;  // < 0: not measured
  double gb_per_s = -1;      // useful bytes; < 0: n/a
  double budget_ns = 0;      // the row's own budget, else the run's
  bool within_budget = false;
  RowLimits limits;          // against the calibration; all < 0 without one
};
TimeFigures time_figures(const benchmark::BenchmarkReporter::Run& run, const Spec& spec,
                         double default_budget_ns, const Limits& limits);

// Per-op counts of one benchmark under the sim backend (harness/sim.h).
// Estimated cycles follow iai-callgrind: L1 hits + 5 x LL hits + 35 x RAM
// hits. A model, not this machine's cycles.
struct SimFigures {
  double instructions = 0;  // Ir
  double d1_misses = 0;     // D1mr + D1mw
  double ll_misses = 0;     // ILmr + DLmr + DLmw (instruction and data)
  double est_cycles = 0;
  double iterations = 0;    // the fixed iteration count it ran
};

// What a time row is flagged for, beyond its budget.
struct RowThresholds {
  double unstable_cv = 0.05;  // run-to-run CV above this: unstable
  double shared_below = 0;    // core share below this: a shared core (core_share.h)
};

// One benchmark's line of a run: its representative figures (the median of
// the repetitions, or its one run), or why it failed.
struct Row {
  const Spec* spec = nullptr;
  std::string error;  // "" = it ran

  std::optional<TimeFigures> time;
  double cv = -1;          // run-to-run coefficient of variation; < 0: one repetition
  double core_share = -1;  // < 0: no probe
  std::vector<std::pair<std::string, double>> counters;  // other per-op counters, by name
  std::string allocs;      // "allocs=0 bytes=0 peak=4MiB", or ""
  bool unstable = false, shared_core = false, above_read_limit = false;

  std::optional<SimFigures> sim;
  // The row against its group's reference, from interleaved rounds
  // (harness/paired.h); none for the reference itself and unpaired groups.
  std::optional<PairedFigures> paired;
};

// A time row from its representative run and that run's figures.
Row time_row(const Spec& spec, const benchmark::BenchmarkReporter::Run& run, const TimeFigures& f,
             double cv, std::string allocs, const RowThresholds& t);
Row error_row(const Spec& spec, std::string why);

// A time row whole, as a group's child process hands it to the parent
// (harness/child.h). Not the document's format: the document has its own.
nlohmann::json row_to_json(const Row& r);
// Throws std::runtime_error for a row naming no registered benchmark.
Row row_from_json(const nlohmann::json& j);

}  // namespace cachetick
