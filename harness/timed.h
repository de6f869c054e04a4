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
// Re-executes this program once with address randomisation off (no-op
// when it already is, when the kernel refuses, or on the second try).
// Where the heap and the mappings land changes cache-set and 4K-aliasing
// conflicts from run to run, which pairing within a run cannot cancel:
// pool/random_4k/16B read boost_pool / ct_pool = 0.86 [0.84, 0.87] in one
// run and 1.12 [1.06, 2.06] in the next. Returns only when it did not exec.
void exec_without_aslr(char** argv);
// "off", or "on (why)": for the run's context.
std::string address_randomisation();

int run_timed(const RunOptions& o, const std::vector<std::string>& command_line);

}  // namespace cachetick
