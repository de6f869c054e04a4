// A comparison group (harness/groups.h) measured in interleaved rounds:
// the time backend's measurement. It runs inside the group's own child
// process (harness/child.h); harness/paired.h says why rounds, why the
// order rotates, and which interval.
//
// The method, per group:
//   1. Warm-up: every variant once under Google Benchmark's own iteration
//      search (up to the batch time, --min-time), with the allocation pass.
//      It fixes each variant's iteration count for its batches and is not
//      used for any figure but allocations.
//   2. Rounds: each round times every variant once, one batch each (its
//      set-up, untimed, then a fixed number of iterations), in the order of
//      round_order(): a spell on the host falls on all variants alike.
//   3. After each round from min_rounds on: every variant's ratio to the
//      reference, with its sign-test interval; stop when every half width
//      is within the target, else at the group's time cap, else at
//      max_rounds.
//   4. Processes: steps 1-3 run in `processes` processes one after another
//      (each with its share of the cap and of max_rounds), and the rounds
//      of all are paired together; paired.h says why (what is fixed for a
//      process - its physical pages - differs between processes) and how
//      the interval covers it. The group's own process forks the others
//      before it measures anything, so each starts from the same state.
// Each round is one Google Benchmark invocation, so every row keeps Google
// Benchmark's shape: one iteration entry per round, then its aggregates.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/groups.h"
#include "harness/reporter.h"

namespace cachetick {

struct RoundsOptions {
  std::size_t min_rounds = 6;   // paired groups run at least min_rounds() (6 at 95%)
  std::size_t max_rounds = 60;
  double target = 0.03;         // stop when every interval is within +-target...
  double cap_s = 4;             // ...or when the group has run this long
  double margin = 0.03;         // judge_ratio's equivalence margin
  double confidence = 0.95;
  double batch_s = 0.01;        // the warm-up's time per batch (Google Benchmark's min time)
  double shared_below = 0.8;    // core share below this: a shared round
  std::size_t processes = 3;    // a paired group's rounds come from this many processes
};

// One process's share of `g` (warm-up and rounds), as JSON for the
// group's own process: {"rounds", "stop", "half_width", "seconds",
// "variants": [{"name", "error_run" (null unless it failed), "rounds":
// [gb_runs.h run_to_json]}]}. `first`: the first process's answer (null in
// the first process), whose batch iterations every later process keeps.
nlohmann::json measure_share(const Group& g, const RoundsOptions& o, const nlohmann::json& first = nullptr);

// Measures this process's share of `g`, adds the `others` (measure_share's
// answers from the processes that ran before) and builds the rows with
// `ro` (not printed). The answer: {"entries": [Google Benchmark entries
// with cachetick blocks], "rows": [row_to_json], "group": the document's
// group block or null, "gb_context": Google Benchmark's context}.
nlohmann::json measure_group(const Group& g, const RoundsOptions& o, const ReportOptions& ro,
                             const std::vector<nlohmann::json>& others = {});

// The options as the document records them (its "paired" block).
nlohmann::json to_json(const RoundsOptions& o);

}  // namespace cachetick
