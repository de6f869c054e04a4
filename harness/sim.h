// The simulated backend: `cachetick run --backend sim`.
//
// Why: CI runners are shared VMs without a PMU, where timings move by 10%
// from run to run. Valgrind's callgrind executes the program on a simulated
// CPU with a simulated two-level cache (L1 + last level), so instruction and
// miss counts are identical from run to run: a gate on them can be strict.
//
// How: the parent (`run_parent`) re-executes this binary under
//   valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no
//            --I1=.. --D1=.. --LL=..   (a fixed reference geometry by default)
// with address randomisation off, a fixed environment and fixed-length paths
// (addresses decide cache sets, so everything that moves them is pinned).
// One child per family, each given only that family's selected benchmarks:
// a family's counts then depend on its own code and selection alone, not
// on what other families left on the heap. The child (`run_child`) runs
// each benchmark for a fixed iteration count; the collector turns
// collection on only around the measured loop and dumps one callgrind.out
// file per benchmark, named after it. The parent parses each child's dumps into per-op counts
// and writes the usual result file, after every family (marked incomplete
// until the last), so an interrupted run keeps the families that finished.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/context.h"
#include "harness/figures.h"
#include "harness/probe.h"
#include "harness/registry.h"
#include "harness/run.h"

namespace cachetick::sim {

// One simulated cache: valgrind's --I1/--D1/--LL=size,assoc,line_size.
struct Cache {
  std::uint64_t size = 0;
  int assoc = 0;
  int line = 0;
  std::string arg() const;  // "32768,8,64"
};

struct Geometry {
  Cache i1, d1, ll;
  std::string source;  // "reference" or "host (sysfs)"
  std::string note;    // how a host cache was adapted, if it was
};

// The default: 32 KiB 8-way L1s and a 32 MiB 16-way last level, 64 B lines
// (the reference Zen 4 machine's L1d and L3), the same on every machine so
// that counts compare across machines.
Geometry reference_geometry();

// The host's caches (harness/context.h host_caches(): sysfs, else CPUID):
// L1i, L1d and the last level. Valgrind needs a power-of-two set count; a
// cache without one (e.g. 105 MiB 15-way) keeps its size where it can by
// raising the associativity, as valgrind itself does, and the note says so.
// A last level whose ways the source does not give (AMD's legacy CPUID leaf)
// is simulated 16-way, and the note says it was assumed. Throws
// std::runtime_error when a level is missing.
Geometry host_geometry(const HostCaches& caches);

// Callgrind's event totals for one dumped region ("Ir" -> count ...).
using Events = std::map<std::string, std::uint64_t>;

struct Region {
  std::string name;  // the client request's name: the benchmark
  Events events;
};

// Reads one callgrind.out file: its "desc: Trigger: Client Request: NAME"
// line and its "totals:" line (in the order of its "events:" line).
// Throws std::runtime_error naming `what` when the file is malformed.
Region parse_callgrind_out(std::istream& in, const std::string& what);

// Per-op figures of one region (harness/figures.h: estimated cycles follow
// iai-callgrind, L1 hits + 5 x LL hits + 35 x RAM hits, where every
// instruction fetch and data access is one L1 access, an L1 miss that hits
// LL an LL hit, an LL miss a RAM hit). A model, not this machine's cycles.
using PerOp = SimFigures;
// Throws std::runtime_error when an event callgrind always writes with
// --cache-sim=yes is missing.
PerOp per_op(const Events& e, double ops);

// Ops a benchmark does under the simulator when its spec names no
// iteration count: enough to average over, few enough to stay quick.
inline constexpr double kTargetOps = 1 << 16;
std::int64_t iterations_for(const Spec& s);

// The in-process side: callgrind client requests around the measured loop.
std::shared_ptr<Collector> make_collector();

// `cachetick run --backend sim` (harness/sim_parent.cpp): exit codes as
// run_timed() (1 also when a family's child fails: the family is named,
// with valgrind's log).
int run_parent(const RunOptions& o, const std::vector<std::string>& argv_for_record);

// The re-executed child (`cachetick run --sim-child DIR`), under valgrind:
// runs the benchmarks DIR/select names (one family's) and writes
// DIR/child.json after the last.
int run_child(const std::string& dir);

}  // namespace cachetick::sim
