// `cachetick run`: select benchmarks, hand them to Google Benchmark, report.
#pragma once

#include <string>
#include <vector>

#include "harness/registry.h"

namespace cachetick {

struct RunOptions {
  std::string filter;                 // ECMAScript regex on family/variant/workload/size
  std::vector<std::string> families;  // empty: all
  int repetitions = 3;
  bool quick = false;                 // smoke run: small sizes, short runs, 1 repetition
  double min_time = 0.1;              // seconds per repetition (Google Benchmark's min time)
  std::string out;                    // result file; "" = default under results/runs/
  bool no_out = false;
  double budget_ns = 10;
  bool fail_over_budget = false;
  std::vector<std::string> passthrough;  // Google Benchmark's own flags
  std::string counters = "auto";      // --counters: friendly/raw names, auto, none (counters.h)
  std::string backend = "time";          // "time", or "sim": callgrind counts (harness/sim.h)
  std::string sim_cache = "reference";   // sim: "reference" geometry or the "host"'s
};

// Largest working set a quick run keeps (bigger ones take seconds to set up).
inline constexpr std::uint64_t kQuickMaxWorkingSet = 8ull << 20;

// Benchmarks the options select, in registration order. Throws
// std::invalid_argument with a user-facing message on a bad family or regex,
// or when nothing matches.
std::vector<const Entry*> select(const RunOptions& o);

// Default result path: results/runs/<UTC date-time>-<host>.json
std::string default_out_path();

// Returns the process exit code: 0 ok, 1 benchmark error (or over budget
// with fail_over_budget), 2 bad input.
int run(const RunOptions& o, const std::vector<std::string>& argv_for_record);

}  // namespace cachetick
