// Allocation accounting: how many heap allocations, and how many bytes, one
// operation costs, and how much heap a benchmark holds at its peak.
//
// Counting: harness/alloc_hooks.cpp replaces malloc/calloc/realloc/free
// (and the aligned variants) in the executable; libstdc++'s operator new
// calls malloc, so `new` is counted too. Sanitizer builds leave them out
// (ASan owns malloc and new) and say accounting is unavailable. The
// hooks forward to the next allocator in the link order (glibc, or
// jemalloc/tcmalloc if one is linked in) and count only while switched on:
// in the timed runs malloc and free cost one indirect jump each, what the
// PLT stub they replace costs (calloc & co. add a predicted branch).
//
// When: Google Benchmark 1.7.1 runs, after each repetition, a separate
// "memory pass" of min(16, iterations) iterations with its MemoryManager
// started (set-up and teardown included). Counting is on only during that
// pass; the timed runs are never counted, so counting cannot slow them.
//
// Cost: the pass runs the benchmark's set-up again. Only the first
// repetition's pass runs; later ones are skipped (skip_pass), so the figures
// are the first repetition's.
//
// What "per op" means: allocations made INSIDE the timed loop of the memory
// pass (the probe's begin/end bracket it, as it does for every collector),
// divided by that pass's iterations x ops_per_iter. Set-up allocations are
// excluded, so allocs/op = 0 means the kernel itself never allocates.
// Peak bytes: the highest heap in use during the whole pass (set-up
// included), above the level when the pass started: the benchmark's heap
// footprint, in the allocator's usable sizes (>= the sizes asked for).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include <benchmark/benchmark.h>

#include "harness/probe.h"

namespace cachetick {

namespace alloc_detail {
// Shared with the hooks. Constant-initialised: valid before main().
struct Counts {
  std::atomic<std::int64_t> allocs{0}, frees{0}, bytes{0}, live{0}, peak{0};
};
extern Counts g_counts;
extern std::atomic<bool> g_counting;
// Bit 1: malloc family hooked; bit 2: operator new/delete hooked.
extern std::atomic<int> g_hooks;
// Set by the hooks when they are linked: switches malloc and free between
// forwarding and counting (see alloc_hooks.cpp for why not a flag test).
extern void (*g_set_counting)(bool on);
// Called by the hooks only while g_counting is set.
void note_alloc(void* p, std::size_t requested);
void note_free(void* p);
}  // namespace alloc_detail

// "" when the hooks are linked into this executable; otherwise why not.
std::string alloc_hooks_unavailable();
// What the hooks count here ("malloc/calloc/realloc/free, aligned variants
// and (via malloc) operator new/delete").
std::string alloc_hooks_description();

// Per-op figures of one memory pass.
struct AllocFigures {
  bool measured = false;       // the probe bracketed a loop in the pass
  double allocs_per_op = 0;    // allocations in the timed loop / ops
  double bytes_per_op = 0;     // bytes requested in the timed loop / ops
  std::int64_t peak_bytes = 0; // highest heap growth over the whole pass
  std::int64_t pass_iterations = 0;
};

struct AllocRecord {
  // Always built from GB's Result: its default constructor reads
  // MemoryManager::TombstoneValue, which Debian's libbenchmark 1.7.1 does
  // not export (an unoptimised build fails to link).
  AllocRecord(const benchmark::MemoryManager::Result* k, const benchmark::MemoryManager::Result& r)
      : key(k), result(r) {}
  const benchmark::MemoryManager::Result* key;  // what GB got from Stop()
  benchmark::MemoryManager::Result result;      // a stable copy of it
  AllocFigures figures;
  bool taken = false;
  bool skipped = false;  // a later repetition's pass, not run (see skip_pass)
  std::string name;      // the benchmark, when the caller told skip_pass
};

// Google Benchmark's MemoryManager (the pass as a whole) and a probe
// collector (the timed loop inside it), in one object.
class AllocTracker : public benchmark::MemoryManager, public Collector {
 public:
  void Start() override;
  void Stop(Result* result) override;

  void start() override;
  void stop() override;
  void report(benchmark::State& state, double ops) override;

  // The record of the memory pass whose Result Google Benchmark handed to
  // the reporter as `key` (each record is taken once). nullptr if none.
  //
  // Why not read *run.memory_result: GB 1.7.1 keeps the Results in a
  // std::vector and stores pointers into it; the vector grows with every
  // repetition, so earlier repetitions' pointers dangle by report time.
  // The pointer VALUE still identifies the pass; we never dereference it.
  // With random interleaving, two benchmarks' passes can get the same
  // address: records also carry the benchmark's name (from skip_pass).
  const AllocRecord* take(const benchmark::MemoryManager::Result* key, const std::string& name);

  // Called as each benchmark invocation begins. True in a memory pass of a
  // benchmark that already has its figures (a later repetition): the pass
  // would only repeat the set-up, so the caller skips it (Google Benchmark
  // discards the pass's state, errors included).
  bool skip_pass(const std::string& benchmark_name);

 private:
  struct Snap {
    std::int64_t allocs = 0, bytes = 0;
  };
  static Snap snap();
  bool pass_ = false, looped_ = false, skipped_ = false;
  std::string current_;
  std::set<std::string> measured_;
  Snap loop0_, loop1_;
  double loop_ops_ = 0;
  std::int64_t loop_iters_ = 0;
  std::deque<AllocRecord> records_;  // deque: stable addresses for the reporter
};

std::shared_ptr<AllocTracker> alloc_tracker();

}  // namespace cachetick
