// `cachetick run`, the part every backend shares: the options, the
// selection, where the result goes (checked before any work) and the run
// context every result records. The backends are harness/timed.h (wall
// clock and TSC) and harness/sim.h (callgrind counts); main() picks one.
#pragma once

#include <string>
#include <vector>

#include "harness/registry.h"
#include "harness/result.h"

namespace cachetick {

struct RunOptions {
  std::string filter;                 // ECMAScript regex on family/variant/workload/size
  std::vector<std::string> families;  // empty: all
  int repetitions = 6;                // time: rounds per group, at least (paired groups: >= 6)
  int max_rounds = 60;                // time: rounds per group, at most
  double rounds_target = 0.03;        // time: stop when every interval is within +-this
  double group_cap_s = 0;             // time: seconds per group before stopping anyway; 0 = default
  double margin = 0.03;               // time: a ratio within +-margin is "no difference"
  int processes = 0;                  // time: processes per paired group; 0 = default (3, 2 with --quick)
  bool unpaired = false;              // time: allow groups that cannot be paired
  bool large = false;                 // time: keep working sets above kDefaultMaxWorkingSet
  bool quick = false;                 // smoke run: small sizes, short runs, 1 repetition
  double min_time = 0.002;            // time: seconds per batch (one variant, one round)
  std::string out;                    // result file; "" = default under results/runs/
  bool no_out = false;
  double budget_ns = 10;
  bool fail_over_budget = false;
  std::vector<std::string> passthrough;  // Google Benchmark's own flags
  std::string counters = "auto";      // --counters: friendly/raw names, auto, none (counters.h)
  std::string backend = "time";          // "time", or "sim": callgrind counts (harness/sim.h)
  std::string sim_cache = "reference";   // sim: "reference" geometry or the "host"'s
  std::uint32_t sim_heap_layout = 0;      // sim: 0, or a heap layout to perturb the child's heap with
};

// Largest working set a quick run keeps, and a default time run, judged
// per comparison group (its largest variant). Bigger ones take seconds to
// set up, and a paired group sets up every variant once per round: hash at
// 8M keys took 7-21 s a group, layout at 64-256 MiB 8-107 s, io's 256 MiB
// and 1 GiB files 330 s in all, arena's 1M-node lists (32 MiB) 59 s, pool's
// random_1m (24 MiB, 11 allocators) 89 s.
// --large keeps everything; the sim backend runs what it is asked.
inline constexpr std::uint64_t kQuickMaxWorkingSet = 2ull << 20;
inline constexpr std::uint64_t kDefaultMaxWorkingSet = 16ull << 20;
std::uint64_t max_working_set(const RunOptions& o);

// Benchmarks the options select, in registration order. Throws
// std::invalid_argument with a user-facing message on a bad family or regex,
// or when nothing matches.
std::vector<const Entry*> select(const RunOptions& o);

// Default result path: results/runs/<UTC date-time>-<host><suffix>.json
std::string default_out_path(const std::string& suffix = "");

// select(), its error said as `cachetick run: ...`. Returns 0, or 2 (bad input).
int select_for_run(const RunOptions& o, std::vector<const Entry*>& chosen);

// Where the result goes: o.out, else the default path with `suffix` (its
// directory created), "" with --no-out. Checked before any work: returns 0,
// or 2 having said why it cannot be written.
int prepare_output(const RunOptions& o, const std::string& suffix, std::string& out);

// The context every backend records: machine, build, the options as run,
// and the notes that hold for any run (quick mode, injected conditions, a
// build that is not Release).
RunContext base_context(const std::string& backend, const RunOptions& o,
                        const std::vector<std::string>& command_line);

}  // namespace cachetick
