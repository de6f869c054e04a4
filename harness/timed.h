// The time backend: `cachetick run` (--backend time, the default). Google
// Benchmark runs each selected benchmark in this process; the probe reads
// the TSC and the counters around each batch (harness/probe.h).
#pragma once

#include <string>
#include <vector>

#include "harness/run.h"

namespace cachetick {

// Returns the process exit code: 0 ok, 1 benchmark error (or over budget
// with fail_over_budget), 2 bad input.
int run_timed(const RunOptions& o, const std::vector<std::string>& command_line);

}  // namespace cachetick
