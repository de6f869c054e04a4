#include "harness/sim.h"

#include <fcntl.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "harness/atomic_file.h"
#include "harness/build_info.h"
#include "harness/host_view.h"
#include "harness/text.h"
#include "harness/tuning.h"

namespace cachetick::sim {

namespace fs = std::filesystem;
using nlohmann::json;

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

int run_child(const std::string& dir) {
  std::ifstream sel(dir + "/select");
  if (!sel) {
    std::fprintf(stderr, "cachetick sim child: cannot read %s/select\n", dir.c_str());
    return 2;
  }
  std::vector<const Entry*> chosen;
  for (std::string n; std::getline(sel, n);) {
    if (n.empty()) continue;
    const Entry* e = find(n);
    if (!e) {
      std::fprintf(stderr, "cachetick sim child: unknown benchmark '%s'\n", n.c_str());
      return 2;
    }
    chosen.push_back(e);
  }
  std::size_t ll_bytes = 0;
  if (!(std::ifstream(dir + "/ll_bytes") >> ll_bytes) || ll_bytes == 0) {
    std::fprintf(stderr, "cachetick sim child: cannot read %s/ll_bytes\n", dir.c_str());
    return 2;
  }
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
  {
    std::ofstream out(dir + "/child.json");
    benchmark::JSONReporter json_out;
    json_out.SetOutputStream(&out);
    json_out.SetErrorStream(&std::cerr);
    json_out.ReportContext(benchmark::BenchmarkReporter::Context());
    json_out.ReportRuns(progress.runs());
    json_out.Finalize();
    if (!out.flush()) {
      std::fprintf(stderr, "cachetick sim child: cannot write %s/child.json\n", dir.c_str());
      return 2;
    }
  }
  benchmark::Shutdown();
  return progress.errors() ? 1 : 0;
}

// ---- the parent: re-execute under valgrind, then parse ------------------------

namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_interrupted = 0;

void forward_signal(int sig) {
  g_interrupted = 1;
  if (g_child > 0) kill(g_child, sig);
}

std::string find_in_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::istringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(ss, d, ':');) {
    const std::string p = (d.empty() ? "." : d) + "/" + prog;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// The last lines of valgrind's log before callgrind's end-of-run summary
// (event totals, miss rates: all zero outside the regions, and 17 lines
// that would push out the signal and stack that say why a child died).
std::string tail(const std::string& path, int lines) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) {
    if (l.find("== Events    :") != std::string::npos) break;
    v.push_back(l);
  }
  std::string out;
  for (std::size_t i = v.size() > static_cast<std::size_t>(lines) ? v.size() - lines : 0; i < v.size(); ++i)
    out += "    " + v[i] + "\n";
  return out;
}

json cache_json(const Cache& c) {
  return {{"size_bytes", c.size}, {"assoc", c.assoc}, {"line_bytes", c.line}};
}

std::string cache_text(const Cache& c) {
  return format_bytes(c.size) + " " + std::to_string(c.assoc) + "-way";
}

// Removes the scratch directory however the run ends.
struct ScratchDir {
  std::string path;
  ~ScratchDir() {
    if (path.empty() || std::getenv("CACHETICK_SIM_KEEP")) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The child's whole environment. Fixed: the client's stack holds it, and
// where the stack sits decides cache sets. LD_BIND_NOW: every PLT symbol is
// resolved at start-up, so the dynamic linker's lazy lookups never land
// inside a measured region. GLIBC_TUNABLES: glibc sizes memcpy/memset
// strategies from the CPU's caches; inside valgrind the CPU is valgrind's
// own canned model, picked by the host's ISA level (on every AVX2 host an
// Intel Haswell: L1d 32 KiB, L2 256 KiB, L3 8 MiB), and these are the
// thresholds glibc derives from it, pinned so that they stay put should a
// valgrind pass more of the host through. What remains host-dependent is
// recorded (guest_environment) and checked by the gate.
std::vector<std::string> child_environment() {
  std::vector<std::string> env = {
      "PATH=/usr/bin:/bin", "LC_ALL=C", "LD_BIND_NOW=1",
      "GLIBC_TUNABLES=glibc.cpu.x86_data_cache_size=0x8000:glibc.cpu.x86_shared_cache_size=0x800000:"
      "glibc.cpu.x86_non_temporal_threshold=0x200000:glibc.cpu.x86_rep_movsb_threshold=0x2000:"
      "glibc.cpu.x86_rep_stosb_threshold=0x800"};
  if (const char* lib = std::getenv("VALGRIND_LIB")) env.push_back(std::string("VALGRIND_LIB=") + lib);
  return env;
}

// What the child's C library sees of the CPU under valgrind (ld.so's
// --list-diagnostics, run the way the child is): the ISA level, family and
// model, the string-function preferences and the thresholds glibc's ifuncs
// choose by. Equal on two hosts, glibc runs the same code on both; the gate
// compares it with the baseline's. Empty when it cannot be read.
json guest_environment(const std::string& valgrind) {
  std::string cmd = "env -i";
  for (const std::string& e : child_environment()) cmd += " '" + e + "'";
  cmd += " '" + valgrind + "' -q /lib64/ld-linux-x86-64.so.2 --list-diagnostics 2>/dev/null";
  std::istringstream in(command_output(cmd));
  json cpu = json::object();
  static const std::regex keep(R"(^x86\.cpu_features\.(basic\.(family|model)|isa_1|preferred\.\w+|)"
                               R"(\w+_threshold|\w*cache_size|xsave_state_size)=(\S+)$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, keep)) cpu[line.substr(17, line.find('=') - 17)] = m[m.size() - 1].str();
  }
  return {{"glibc", gnu_get_libc_version()}, {"cpu_features", cpu}};
}

// Runs the child under valgrind; returns its wait status, or -1 (and says
// why) when it could not be started.
int spawn_child(const std::string& dir, const std::vector<std::string>& vg_args, bool canonical) {
  // A fixed argv and environment (child_environment): the client's stack
  // holds both, and where the stack sits decides cache sets.
  std::vector<std::string> env = child_environment();
  std::vector<char*> argv, envp;
  for (const auto& a : vg_args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  // The child's stdout is always a pipe and its stdin /dev/null, whatever
  // this process was started with: stdio sizes its buffers (heap blocks)
  // from the kind of file, and the heap's shape decides addresses.
  int out[2];
  if (pipe(out) != 0) {
    std::fprintf(stderr, "cachetick run: pipe failed: %s\n", std::strerror(errno));
    return -1;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "cachetick run: fork failed: %s\n", std::strerror(errno));
    close(out[0]);
    close(out[1]);
    return -1;
  }
  if (pid == 0) {
    // Address randomisation off: the heap, stack and libraries land at the
    // same addresses every run, so the same lines map to the same sets.
    personality(ADDR_NO_RANDOMIZE);
    if (canonical && !enter_canonical_host(dir)) _exit(126);  // the parent probed it: unexpected
    if (chdir(dir.c_str()) != 0) _exit(127);
    // Valgrind's own messages go to the log; the child's progress to the pipe.
    const int log = open("valgrind.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) dup2(log, 2);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  g_child = pid;
  close(out[1]);
  // Relay the child's progress lines as they come.
  char buf[4096];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n > 0) {
      std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
      std::fflush(stdout);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      status = -1;
      break;
    }
  }
  g_child = 0;
  return status;
}

// The benchmarks of each family, in the registry's order (registration
// keeps a family's benchmarks together, so this is also the result's order).
std::vector<std::vector<const Entry*>> by_family(const std::vector<const Entry*>& chosen) {
  std::vector<std::vector<const Entry*>> out;
  for (const Entry* e : chosen) {
    if (out.empty() || out.back().front()->spec.family != e->spec.family) out.emplace_back();
    out.back().push_back(e);
  }
  return out;
}

// What one family's child left in its scratch directory.
struct ChildOutput {
  json context;                           // Google Benchmark's context block
  json runs = json::array();              // its "benchmarks" entries
  std::map<std::string, Events> regions;  // the dumps, by benchmark name
  bool benchmark_failed = false;          // the child exited 1: a row says why
};

// Runs one family's benchmarks in a fresh valgrind child and reads what it
// left. Returns "" or why it failed (with valgrind's log tail); the caller
// checks g_interrupted before the reason. Every child gets the same argv,
// environment and a scratch path of the same length; only `select`
// differs, and it names this family's benchmarks alone (the user's --filter
// and --family were applied here, so the child needs neither).
std::string run_family(const std::vector<const Entry*>& group, const Geometry& geo,
                       const std::vector<std::string>& cmd, bool canonical, ChildOutput& out) {
  char tmpl[] = "/tmp/cachetick-sim.XXXXXX";
  ScratchDir scratch;
  if (!mkdtemp(tmpl)) return std::string("cannot create a scratch directory in /tmp: ") + std::strerror(errno);
  scratch.path = tmpl;
  // The binary reached through a symlink in the scratch directory: the
  // child's argv and cwd are then byte-identical whatever the build
  // directory, the output path or the filter.
  std::error_code ec;
  fs::create_symlink(fs::read_symlink("/proc/self/exe", ec), scratch.path + "/cachetick", ec);
  if (ec) return "cannot link the binary into " + scratch.path + ": " + ec.message();
  {
    std::ofstream sel(scratch.path + "/select");
    for (const Entry* e : group) sel << e->spec.name() << "\n";
    std::ofstream(scratch.path + "/ll_bytes") << geo.ll.size << "\n";
  }

  if (g_interrupted) return "interrupted";  // between two children: start no other
  const int status = spawn_child(scratch.path, cmd, canonical);
  if (g_interrupted) return "interrupted";
  if (status < 0) return "the child could not be started";
  const std::string log = tail(scratch.path + "/valgrind.log", 15);
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc != 0 && rc != 1)
    return std::string(WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : ("exit " + std::to_string(rc)).c_str()) +
           "; valgrind's log ends:\n" + log;
  out.benchmark_failed = rc == 1;

  // The dumps: one file per benchmark, named by its client request.
  try {
    for (const auto& de : fs::directory_iterator(scratch.path)) {
      const std::string fn = de.path().filename().string();
      if (fn.rfind("cg.out.", 0) != 0) continue;  // cg.out itself: the end-of-program dump
      std::ifstream f(de.path());
      Region r = parse_callgrind_out(f, fn);
      if (!out.regions.emplace(r.name, r.events).second)
        throw std::runtime_error("two dumps for '" + r.name + "'");
    }
  } catch (const std::exception& e) {
    return std::string("reading callgrind's output: ") + e.what();
  }
  try {
    std::ifstream f(scratch.path + "/child.json");
    const json child = json::parse(f);
    out.context = child.value("context", json::object());
    out.runs = child.value("benchmarks", json::array());
  } catch (const std::exception& e) {
    return std::string("the child wrote no readable result (") + e.what() + "); valgrind's log ends:\n" + log;
  }
  return "";
}

// One child's Google Benchmark entry as a result row: the time backend's
// name and cachetick block, per-op counts as the benchmark's counters.
// Returns false when the benchmark failed (the row then says why).
bool result_row(json& b, const Spec& s, const std::map<std::string, Events>& regions) {
  const std::string name = s.name();
  b["name"] = name;
  b["run_name"] = name;
  if (b.contains("ticks_per_op")) b.erase("ticks_per_op");  // rdtsc under a simulator
  json ct = {{"family", s.family},         {"variant", s.variant},   {"role", to_string(s.role)},
             {"workload", s.workload},     {"size", s.size},         {"size_label", s.size_label},
             {"working_set_bytes", s.working_set_bytes},            {"op", s.op},
             {"ops_per_iter", s.ops_per_iter}, {"backend", "sim"}};
  if (s.bytes_per_op > 0) ct["bytes_per_op"] = s.bytes_per_op;
  const auto it = regions.find(name);
  const bool ok = !b.value("error_occurred", false) && it != regions.end();
  if (!ok) {
    const std::string why = b.value("error_occurred", false)
                                ? b.value("error_message", std::string("error"))
                                : std::string("no callgrind dump for it");
    b["error_occurred"] = true;
    b["error_message"] = why;
  } else {
    const double iters = b.value("iterations", 0.0);
    const double ops = iters * s.ops_per_iter;
    const PerOp p = per_op(it->second, ops);
    b["instructions_per_op"] = p.instructions;
    b["d1_misses_per_op"] = p.d1_misses;
    b["ll_misses_per_op"] = p.ll_misses;
    b["est_cycles_per_op"] = p.est_cycles;
    ct["sim"] = {{"iterations", iters}, {"ops", ops}, {"totals", it->second}};
  }
  b["cachetick"] = ct;
  return ok;
}

// The console table, from the result rows.
void print_table(const json& rows, const std::vector<const Entry*>& chosen) {
  std::size_t wf = 6, wv = 7, ww = 8, ws = 4;
  for (const Entry* e : chosen) {
    wf = std::max(wf, e->spec.family.size());
    wv = std::max(wv, e->spec.variant.size());
    ww = std::max(ww, e->spec.workload.size());
    ws = std::max(ws, e->spec.size_label.size());
  }
  std::printf("\n%-*s %-*s %-*s %*s %10s %10s %10s %10s %10s\n", int(wf), "family", int(wv),
              "variant", int(ww), "workload", int(ws), "size", "iters", "instr/op", "D1miss/op",
              "LLmiss/op", "estcyc/op");
  for (const json& b : rows) {
    const json& ct = b["cachetick"];
    const auto str = [&](const char* k) { return ct.value(k, std::string()); };
    if (b.value("error_occurred", false)) {
      std::printf("%-*s ERROR: %s: %s\n", int(wf), str("family").c_str(),
                  b.value("name", std::string()).c_str(), b.value("error_message", std::string()).c_str());
      continue;
    }
    std::printf("%-*s %-*s %-*s %*s %10.0f %10s %10s %10s %10s\n", int(wf), str("family").c_str(),
                int(wv), str("variant").c_str(), int(ww), str("workload").c_str(), int(ws),
                str("size_label").c_str(), b.value("iterations", 0.0),
                sig3(b.value("instructions_per_op", 0.0)).c_str(),
                sig3(b.value("d1_misses_per_op", 0.0)).c_str(),
                sig3(b.value("ll_misses_per_op", 0.0)).c_str(),
                sig3(b.value("est_cycles_per_op", 0.0)).c_str());
  }
}

// The result file as it stands, written whole (temp file + rename): after
// every family but the last with `complete` false, so that an interrupted or
// failed run keeps every family that finished, as the time backend keeps
// every benchmark.
bool write_result(const std::string& out, json& doc, bool complete, int errors) {
  doc["cachetick"]["complete"] = complete;
  doc["cachetick"]["summary"] = {{"benchmarks_done", doc["benchmarks"].size()}, {"errors", errors}};
  if (out.empty()) return true;
  try {
    write_file_atomic(out, doc.dump(2) + "\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return false;
  }
  return true;
}

}  // namespace

int run_parent(const RunOptions& o, const std::vector<std::string>& argv_for_record) {
  std::vector<const Entry*> chosen;
  try {
    chosen = select(o);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }
  if (!o.passthrough.empty()) {
    std::fprintf(stderr, "cachetick run: Google Benchmark flags (after --) do not apply to "
                         "--backend sim: it runs each benchmark once, a fixed iteration count\n");
    return 2;
  }
  Geometry geo;
  if (o.sim_cache == "reference") {
    geo = reference_geometry();
  } else if (o.sim_cache == "host") {
    try {
      geo = host_geometry(host_caches());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cachetick run: --sim-cache host: %s\n", e.what());
      return 2;
    }
  } else {
    std::fprintf(stderr, "cachetick run: --sim-cache must be 'reference' or 'host', not '%s'\n",
                 o.sim_cache.c_str());
    return 2;
  }
  const std::string valgrind = find_in_path("valgrind");
  if (valgrind.empty()) {
    std::fprintf(stderr, "cachetick run: --backend sim needs valgrind, which is not on PATH "
                         "(Debian: apt-get install valgrind)\n");
    return 2;
  }

  std::string out = o.no_out ? "" : o.out;
  if (!o.no_out && out.empty()) {
    out = default_out_path();
    out.insert(out.size() - 5, "-sim");
    std::filesystem::create_directories("results/runs");
  }
  if (!out.empty())
    if (std::string why = check_writable(out); !why.empty()) {
      std::fprintf(stderr, "cachetick run: cannot write results to '%s': %s\n", out.c_str(), why.c_str());
      return 2;
    }

  const std::vector<std::string> vg_opts = {
      "--tool=callgrind", "--cache-sim=yes", "--collect-atstart=no",
      "--I1=" + geo.i1.arg(), "--D1=" + geo.d1.arg(), "--LL=" + geo.ll.arg(),
      "--callgrind-out-file=cg.out"};
  std::vector<std::string> cmd = {valgrind};
  cmd.insert(cmd.end(), vg_opts.begin(), vg_opts.end());
  for (const char* a : {"./cachetick", "run", "--sim-child", "."}) cmd.push_back(a);

  // The children see one canonical host where the kernel allows it
  // (harness/host_view.h); else this one, and the result says so.
  std::string host_view_why;
  {
    char tmpl[] = "/tmp/cachetick-sim.XXXXXX";
    ScratchDir probe;
    if (mkdtemp(tmpl)) probe.path = tmpl;
    host_view_why = probe.path.empty() ? "no scratch directory to probe namespaces in"
                                       : canonical_host_unavailable(probe.path);
  }
  if (!host_view_why.empty()) std::printf("  note: host view: %s\n", host_view_why.c_str());

  // One child per family: a family's counts then depend on its own code and
  // selection only. In one shared child, what earlier families left on the
  // heap decided where a later family's buffers landed, so which cache sets
  // they used: a refactor in the alloc family moved sort's D1 misses by 18%.
  const std::vector<std::vector<const Entry*>> groups = by_family(chosen);
  const std::string vg_version = command_output("'" + valgrind + "' --version");
  std::printf("cachetick %s, sim backend: %zu benchmarks of %zu families under %s callgrind, one "
              "child process per family (a simulated CPU, ~50-100x slower than native)\n",
              CACHETICK_VERSION, chosen.size(), groups.size(), vg_version.c_str());
  std::printf("  simulated caches (%s): I1 %s, D1 %s, LL %s, %d B lines\n", geo.source.c_str(),
              cache_text(geo.i1).c_str(), cache_text(geo.d1).c_str(), cache_text(geo.ll).c_str(),
              geo.d1.line);
  if (!geo.note.empty()) std::printf("  note: %s\n", geo.note.c_str());
  std::fflush(stdout);

  json ctx;
  ctx["backend"] = "sim";
  ctx["machine"] = machine_context();
  ctx["build"] = build_context();
  ctx["options"] = {{"filter", o.filter},   {"families", o.families},
                    {"quick", o.quick},     {"sim_cache", o.sim_cache},
                    {"command_line", argv_for_record}};
  ctx["sim"] = {
      {"tool", vg_version + " callgrind"},
      {"environment", {{"valgrind", vg_version}, {"guest", guest_environment(valgrind)},
                       {"child_env", child_environment()},
                       {"host_view", host_view_why.empty() ? std::string(kCanonicalHostView)
                                                           : "this host's: " + host_view_why}}},
      {"geometry", {{"I1", cache_json(geo.i1)}, {"D1", cache_json(geo.d1)},
                    {"LL", cache_json(geo.ll)}, {"source", geo.source}, {"note", geo.note}}},
      {"valgrind_options", vg_opts},
      {"address_randomisation", "off (personality ADDR_NO_RANDOMIZE), fixed environment and argv"},
      {"processes", "one valgrind child per family, given only that family's selected benchmarks"},
      {"collection", "only inside the measured loop (callgrind client requests); caches warm from set-up"},
      {"iterations", "Spec::sim_iterations, else ceil(" + std::to_string(int(kTargetOps)) +
                         " / ops_per_iter); one repetition"},
      {"est_cycles_model", "L1 hits + 5 x LL hits + 35 x RAM hits (iai-callgrind)"},
      {"kernel_tuning", reference_tuning().source}};
  ctx["units"] = {
      {"instructions_per_op", "instructions executed per operation (callgrind Ir)"},
      {"d1_misses_per_op", "simulated L1 data-cache misses per operation, reads + writes"},
      {"ll_misses_per_op", "simulated last-level misses per operation, instruction + data"},
      {"est_cycles_per_op", "estimated cycles per operation: L1 hits + 5 x LL hits + 35 x RAM hits"},
      {"real_time", "wall time under valgrind: not a measurement of the kernel"}};
  ctx["notes"] = json::array({"sim backend: counts come from valgrind's simulated CPU and caches "
                              "(two levels: L1 and LL); wall times in this file are valgrind's, "
                              "not the kernel's"});
  // The result: Google Benchmark's format, the same cachetick blocks as the
  // time backend, per-op counts as the benchmark's counters.
  json doc;
  doc["context"] = json::object();
  doc["benchmarks"] = json::array();
  doc["cachetick"] = ctx;

  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  struct RestoreSignals {
    struct sigaction *i, *t;
    ~RestoreSignals() {
      sigaction(SIGINT, i, nullptr);
      sigaction(SIGTERM, t, nullptr);
    }
  } restore{&old_int, &old_term};

  // Google Benchmark appends "/iterations:N" to the child's names.
  static const std::regex iter_suffix("/iterations:[0-9]+$");
  int errors = 0;
  bool benchmark_failed = false;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string& family = groups[g].front()->spec.family;
    std::printf("%s (family %zu of %zu, its own child):\n", family.c_str(), g + 1, groups.size());
    std::fflush(stdout);
    ChildOutput child;
    const std::string why = run_family(groups[g], geo, cmd, host_view_why.empty(), child);
    const std::string kept = out.empty() ? ""
                             : g > 0     ? "; every family before it is kept in " + out + " (marked incomplete)"
                                         : "; no family had finished: no result written";
    if (g_interrupted) {
      std::fprintf(stderr, "\ncachetick: interrupted in family '%s'%s\n", family.c_str(), kept.c_str());
      return 130;
    }
    if (!why.empty()) {
      std::fprintf(stderr, "cachetick run: the simulated run of family '%s' failed%s: %s%s", family.c_str(),
                   kept.c_str(), why.c_str(), why.back() == '\n' ? "" : "\n");
      return 1;
    }
    benchmark_failed |= child.benchmark_failed;
    if (g == 0) doc["context"] = child.context;
    for (json b : child.runs) {
      const Entry* e = find(std::regex_replace(b.value("run_name", std::string()), iter_suffix, ""));
      if (!e) continue;
      if (!result_row(b, e->spec, child.regions)) ++errors;
      doc["benchmarks"].push_back(b);
    }
    if (g + 1 < groups.size() && !write_result(out, doc, false, errors)) return 1;
  }

  print_table(doc["benchmarks"], chosen);
  std::printf("\nPer op: instructions executed (Ir), D1 misses (reads + writes), LL misses\n"
              "(instruction + data), estimated cycles = L1 hits + 5 x LL hits + 35 x RAM hits\n"
              "(iai-callgrind's model of the simulated caches, not this machine's cycles).\n"
              "Counts repeat exactly for the same build and the same selection within a family\n"
              "(one child per family; caches reset to one state before each benchmark).\n");
  if (errors) std::printf("%d benchmark(s) failed.\n", errors);
  if (!write_result(out, doc, true, errors)) return 1;
  if (!out.empty()) std::printf("Results: %s\n", out.c_str());
  return errors || benchmark_failed ? 1 : 0;
}

}  // namespace cachetick::sim
