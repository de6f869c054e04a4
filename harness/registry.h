// The kernel registry: what each benchmark measures, stated once.
//
// A family registers its benchmarks from benchmarks/<family>_bench.cpp with
// CACHETICK_FAMILY. Every benchmark names its operation ("element", "lookup",
// "allocation") and how many of them one benchmark iteration performs, so the
// harness can report ns/op and TSC ticks/op and judge the per-op budget
// without each family repeating that arithmetic.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "harness/probe.h"

namespace cachetick {

// Where a row stands in the lesson: the textbook version, cachetick's
// optimised one, a library a user would otherwise pick, or a reference point
// (a floor such as radix sort, or the harness's own empty loop).
enum class Role { naive, optimised, peer, reference };
const char* to_string(Role r);

struct Spec {
  std::string family;       // "layout"
  std::string variant;      // "aos64", "soa", "std_unordered_map"
  Role role = Role::optimised;
  std::string workload;     // "seq", "random", "hit", "miss" ...
  std::string size_label;   // "16KiB", "4096" (as shown to the user)
  std::uint64_t size = 0;   // numeric size (elements, entries) for charts
  std::uint64_t working_set_bytes = 0;  // bytes the kernel touches; 0 = n/a
  std::string op;           // the unit of work: "element", "lookup" ...
  double ops_per_iter = 1;  // operations per benchmark iteration
  double bytes_per_op = 0;  // useful bytes per op (for GB/s); 0 = n/a
  double budget_ns = 0;     // per-op budget; 0 = the run's default
  // The op is a chain of dependent loads (a pointer chase, a lookup whose
  // address depends on the previous one): the report then expresses ns/op
  // in L1 load latencies measured by `cachetick calibrate`.
  bool latency_bound = false;
  // For the deterministic (simulated) backend: a fixed iteration count.
  // 0 = let the harness pick one from ops_per_iter.
  std::int64_t sim_iterations = 0;
  std::string note;         // one line shown by `cachetick list`

  std::string name() const;  // family/variant/workload/size_label
};

// Runs one benchmark. Set up the data, then call probe.run(state, body)
// exactly once: the probe reads the TSC (and counters) around the timed loop.
using BenchFn = std::function<void(benchmark::State&, Probe&)>;

struct Entry {
  Spec spec;
  BenchFn fn;
};

struct Family {
  std::string name;
  std::string description;
};

// Adds a benchmark. Names must be unique; a duplicate aborts at start-up
// (it is a programming error, found by the first run of the tests).
void add(Spec spec, BenchFn fn);
void add_family(std::string name, std::string description);

const std::vector<Entry>& entries();
const std::vector<Family>& families();
const Entry* find(const std::string& name);  // by Spec::name()

// Runs one benchmark under a fresh probe and reports its per-op figures;
// fails the benchmark if it did not call probe.run() exactly once. Both
// backends (time and sim) register this as the body of every benchmark.
void run_measured(const Entry& e, benchmark::State& st);

namespace detail {
struct FamilyRegistrar {
  FamilyRegistrar(const char* name, const char* description, void (*fn)());
};
}  // namespace detail

}  // namespace cachetick

// CACHETICK_FAMILY(layout, "Data layout: AoS vs SoA vs hot/cold") { add(...); }
#define CACHETICK_FAMILY(id, description)                                   \
  static void cachetick_family_##id();                                      \
  static const ::cachetick::detail::FamilyRegistrar                         \
      cachetick_family_registrar_##id(#id, description,                     \
                                      &cachetick_family_##id);              \
  static void cachetick_family_##id()
