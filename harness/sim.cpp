#include "harness/sim.h"

#include <valgrind/callgrind.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "harness/text.h"
#include "harness/tuning.h"

namespace cachetick::sim {


// ---- geometry ----------------------------------------------------------------

std::string Cache::arg() const {
  return std::to_string(size) + "," + std::to_string(assoc) + "," + std::to_string(line);
}

Geometry reference_geometry() {
  Geometry g;
  g.i1 = {32768, 8, 64};
  g.d1 = {32768, 8, 64};
  g.ll = {33554432, 16, 64};
  g.source = "reference";
  return g;
}

namespace {

bool pow2(std::uint64_t v) { return v && !(v & (v - 1)); }

// Valgrind indexes sets with a mask, so the set count must be a power of
// two. As valgrind does for the caches it detects itself: round the set
// count down to a power of two and widen each set as far as the size allows.
Cache adapt(const CacheLevel& c, const char* label, std::string& note) {
  Cache out{c.size_bytes, c.ways, c.line_bytes};
  if (!out.size || out.assoc <= 0 || out.line <= 0)
    throw std::runtime_error(std::string("sysfs does not describe the ") + label + " cache fully");
  const std::uint64_t sets = out.size / (static_cast<std::uint64_t>(out.assoc) * out.line);
  if (pow2(sets) && sets * out.assoc * out.line == out.size) return out;
  std::uint64_t p = 1;
  while (p * 2 <= sets) p *= 2;
  out.assoc = static_cast<int>(out.size / (p * out.line));
  out.size = p * out.assoc * out.line;
  note += std::string(note.empty() ? "" : "; ") + label + " " + format_bytes(c.size_bytes) + " " +
          std::to_string(c.ways) + "-way has " + std::to_string(sets) +
          " sets (not a power of two): simulated as " + format_bytes(out.size) + " " +
          std::to_string(out.assoc) + "-way";
  return out;
}

}  // namespace

Geometry host_geometry(const HostCaches& caches) {
  const CacheLevel *i1 = nullptr, *d1 = nullptr, *ll = nullptr;
  for (const CacheLevel& c : caches.levels) {
    if (c.level == 1 && c.type == "Instruction") i1 = &c;
    if (c.level == 1 && c.type == "Data") d1 = &c;
    if (c.level >= 2 && c.type == "Unified" && (!ll || c.level > ll->level)) ll = &c;
  }
  if (!i1 || !d1 || !ll)
    throw std::runtime_error("this host's caches (" + caches.source +
                             ") do not include an L1i, an L1d and a unified last level; "
                             "use the reference geometry");
  Geometry g;
  g.i1 = adapt(*i1, "L1i", g.note);
  g.d1 = adapt(*d1, "L1d", g.note);
  CacheLevel last = *ll;
  const std::string name = "L" + std::to_string(ll->level);
  if (last.ways <= 0) {
    last.ways = 16;
    g.note += (g.note.empty() ? "" : "; ") + name + " ways not given by " + caches.source +
              ": assumed 16";
  }
  g.ll = adapt(last, name.c_str(), g.note);
  g.source = "host (" + caches.source + "): L1i, L1d, " + name + " as LL";
  return g;
}

// ---- callgrind.out --------------------------------------------------------------

Region parse_callgrind_out(std::istream& in, const std::string& what) {
  Region r;
  std::vector<std::string> names;
  bool have_totals = false;
  const std::string trigger = "desc: Trigger: Client Request: ";
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(trigger, 0) == 0) {
      r.name = line.substr(trigger.size());
    } else if (line.rfind("events:", 0) == 0) {
      std::istringstream ss(line.substr(7));
      names.clear();
      for (std::string n; ss >> n;) names.push_back(n);
    } else if (line.rfind("totals:", 0) == 0) {
      if (names.empty()) throw std::runtime_error(what + ": 'totals:' before 'events:'");
      std::istringstream ss(line.substr(7));
      for (const std::string& n : names) {
        // Callgrind omits trailing zero counts.
        std::uint64_t v = 0;
        if (!(ss >> v)) {
          if (!ss.eof()) throw std::runtime_error(what + ": malformed 'totals:' line");
          v = 0;
        }
        r.events[n] = v;
      }
      if (std::string extra; ss.clear(), ss >> extra)
        throw std::runtime_error(what + ": more totals than events");
      have_totals = true;
    }
  }
  if (r.name.empty()) throw std::runtime_error(what + ": no client-request trigger (not a region dump)");
  if (!have_totals) throw std::runtime_error(what + ": no 'totals:' line (truncated?)");
  return r;
}

PerOp per_op(const Events& e, double ops) {
  auto get = [&](const char* k) {
    auto it = e.find(k);
    if (it == e.end())
      throw std::runtime_error(std::string("callgrind wrote no '") + k +
                               "' event (was --cache-sim=yes given?)");
    return static_cast<double>(it->second);
  };
  const double ir = get("Ir"), dr = get("Dr"), dw = get("Dw");
  const double l1m = get("I1mr") + get("D1mr") + get("D1mw");
  const double llm = get("ILmr") + get("DLmr") + get("DLmw");
  PerOp p;
  p.instructions = ir / ops;
  p.d1_misses = (get("D1mr") + get("D1mw")) / ops;
  p.ll_misses = llm / ops;
  p.est_cycles = ((ir + dr + dw - l1m) + 5 * (l1m - llm) + 35 * llm) / ops;
  return p;
}

std::int64_t iterations_for(const Spec& s) {
  if (s.sim_iterations > 0) return s.sim_iterations;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(kTargetOps / s.ops_per_iter)));
}

// ---- the child: client requests around the measured loop ---------------------

namespace {

std::string g_current;  // the benchmark now running (the child is single-threaded)

// Zero, then collect only between start() and stop(): set-up, Google
// Benchmark's bookkeeping and other benchmarks never reach the counts. The
// simulated caches stay warm from set-up (instrumentation is on from the
// start), as the real caches are.
class CallgrindCollector : public Collector {
 public:
  void start() override {
    CALLGRIND_ZERO_STATS;
    CALLGRIND_TOGGLE_COLLECT;
  }
  void stop() override { CALLGRIND_TOGGLE_COLLECT; }
  // The counts live in valgrind, not here: dump them to a file named after
  // the benchmark; the parent divides by the op count.
  void report(benchmark::State&, double) override { CALLGRIND_DUMP_STATS_AT(g_current.c_str()); }
};

// The child's console: one progress line per benchmark (its counts are
// known only to the parent, after the dumps).
class Progress : public benchmark::BenchmarkReporter {
 public:
  explicit Progress(std::size_t total) : total_(total) {}
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      ++done_;
      if (r.error_occurred) ++errors_;
      runs_.push_back(r);
      std::printf("  [%zu/%zu] %s%s%s\n", done_, total_, r.run_name.function_name.c_str(),
                  r.error_occurred ? ": ERROR: " : "", r.error_occurred ? r.error_message.c_str() : "");
      std::fflush(stdout);
    }
  }
  int errors() const { return errors_; }
  const std::vector<Run>& runs() const { return runs_; }

 private:
  std::size_t total_, done_ = 0;
  int errors_ = 0;
  std::vector<Run> runs_;  // serialised after the last benchmark, see run_child
};

}  // namespace

std::shared_ptr<Collector> make_collector() { return std::make_shared<CallgrindCollector>(); }

namespace {

// Every benchmark starts from the same simulated cache state, whatever ran
// before it. Without this a benchmark's miss counts moved by a few lines
// between identical runs: code before it is timed, not counted (a static
// initialiser that loops until enough wall time has passed, as libhwy's did
// before vqsort was dlopen'ed; Google Benchmark's start-up), and what that
// code left in the simulated caches decided which of the benchmark's own
// lines hit.
// Reading a buffer the size of the LL, line by line, puts `assoc` of its
// lines into every set in the same LRU order every time, which evicts
// everything else from the LL and, being far larger, from D1; a block of
// straight-line code does the same for I1. Set-up then
// warms the caches as it would natively, and a benchmark's counts no longer
// depend on which other benchmarks were selected. Cost: one pass over the
// LL per benchmark, outside the counted region.
class CacheScrub {
 public:
  // Only the bytes the scrub reads are written. Zeroing the whole buffer
  // (std::vector's value-initialisation) is a `rep stosb` that valgrind runs
  // as one simulated store per byte: 34 M of a child's ~49 M instructions,
  // paid once per child, so once per family.
  explicit CacheScrub(std::size_t ll_bytes)
      : size_(ll_bytes + 4096), buf_(std::make_unique_for_overwrite<unsigned char[]>(size_)) {
    for (std::size_t i = 0; i < size_; i += 64) buf_[i] = static_cast<unsigned char>(i >> 6);
  }
  __attribute__((noinline)) void operator()() const {
    unsigned sum = 0;
    for (std::size_t i = 0; i < size_; i += 64) sum += buf_[i];
    asm volatile("" : : "r"(sum) : "memory");
    // The same for the simulated I1, which data never reaches: 128 KiB of
    // straight-line code (8-byte NOPs, 4x the largest usual L1i) run once
    // fills every I1 set with its own lines.
    asm volatile(".rept 16384\n\t.byte 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00\n\t.endr" ::: "memory");
  }

 private:
  std::size_t size_;
  std::unique_ptr<unsigned char[]> buf_;  // allocated once: the heap stays as it was
};

}  // namespace

// --sim-heap-layout N (N > 0): before the benchmarks, take 64 blocks of
// pseudo-random sizes (16-1024 B, drawn from N) and give every other one
// back. Later blocks then fill those holes and follow the kept ones, in
// another order and at other offsets: what a change to the code that runs
// before a family's benchmarks (registration, option parsing, the harness)
// does to its heap. A plain offset would not do: it moves every block
// alike, and an address hash or a set index mod a power of two keeps most
// of its collisions. volatile: no allocation is elided, the kept ones live
// to the end.
namespace {
void* volatile g_heap_blocks[64];

void perturb_heap(std::uint32_t layout) {
  std::uint64_t x = layout * 0x9E3779B97F4A7C15ull;
  for (auto& b : g_heap_blocks) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = std::malloc(16 + (x >> 33) % 1009);
  }
  for (std::size_t i = 1; i < 64; i += 2) std::free(g_heap_blocks[i]);
}
}  // namespace

namespace {

// The benchmarks the parent chose (dir/select, a name a line); false, said
// on stderr, when the file is missing or names an unknown benchmark. The
// caller opens and keeps the stream: what the child allocates before the
// benchmarks, and frees, decides where their data lands, so the simulated
// counts (the gate's baseline has them).
bool read_selection(std::ifstream& sel, const std::string& dir, std::vector<const Entry*>& chosen) {
  if (!sel) {
    std::fprintf(stderr, "cachetick sim child: cannot read %s/select\n", dir.c_str());
    return false;
  }
  for (std::string n; std::getline(sel, n);) {
    if (n.empty()) continue;
    const Entry* e = find(n);
    if (!e) {
      std::fprintf(stderr, "cachetick sim child: unknown benchmark '%s'\n", n.c_str());
      return false;
    }
    chosen.push_back(e);
  }
  return true;
}

// The runs as Google Benchmark's JSON, for the parent to parse; false, said
// on stderr, when the file cannot be written.
bool write_runs(const std::string& dir, const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  std::ofstream out(dir + "/child.json");
  benchmark::JSONReporter json_out;
  json_out.SetOutputStream(&out);
  json_out.SetErrorStream(&std::cerr);
  json_out.ReportContext(benchmark::BenchmarkReporter::Context());
  json_out.ReportRuns(runs);
  json_out.Finalize();
  if (!out.flush()) {
    std::fprintf(stderr, "cachetick sim child: cannot write %s/child.json\n", dir.c_str());
    return false;
  }
  return true;
}

}  // namespace

int run_child(const std::string& dir) {
  std::ifstream sel(dir + "/select");
  std::vector<const Entry*> chosen;
  if (!read_selection(sel, dir, chosen)) return 2;
  std::size_t ll_bytes = 0;
  if (!(std::ifstream(dir + "/ll_bytes") >> ll_bytes) || ll_bytes == 0) {
    std::fprintf(stderr, "cachetick sim child: cannot read %s/ll_bytes\n", dir.c_str());
    return 2;
  }
  std::uint32_t heap_layout = 0;  // --sim-heap-layout
  std::ifstream(dir + "/heap_layout") >> heap_layout;
  if (heap_layout) perturb_heap(heap_layout);
  use_reference_tuning();  // kernels tuned for one fixed hierarchy on every host
  static const CacheScrub scrub(ll_bytes);
  clear_collectors();
  install_collector(make_collector());

  // One repetition: the counts are the same every time. No --benchmark_out:
  // Google Benchmark's file reporter would format each result (timings, load
  // averages: text whose length varies run to run) between benchmarks, and
  // those differently sized heap blocks move where the next benchmark's data
  // lands, so which simulated cache sets it uses, so its miss counts. The
  // results are kept in memory and written once, after the last benchmark.
  std::vector<std::string> args = {"cachetick", "--benchmark_repetitions=1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  benchmark::Initialize(&argc, argv.data());
  benchmark::SetDefaultTimeUnit(benchmark::kNanosecond);
  for (const Entry* e : chosen) {
    // A fixed iteration count per benchmark (Google Benchmark appends
    // "/iterations:N" to the name; the parent strips it again).
    benchmark::RegisterBenchmark(e->spec.name().c_str(), [e](benchmark::State& st) {
      g_current = e->spec.name();
      scrub();
      run_measured(*e, st);
    })->Iterations(iterations_for(e->spec));
  }
  Progress progress(chosen.size());
  benchmark::RunSpecifiedBenchmarks(&progress);
  if (!write_runs(dir, progress.runs())) return 2;
  benchmark::Shutdown();
  return progress.errors() ? 1 : 0;
}

// ---- the parent: re-execute under valgrind, then parse ------------------------

}  // namespace cachetick::sim
