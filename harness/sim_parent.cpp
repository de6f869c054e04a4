// The sim backend's parent (harness/sim.h, run_parent): re-executes this
// binary under valgrind, one child per family, and merges what the children
// counted into the result document (harness/result.h).
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "harness/build_info.h"
#include "harness/console.h"
#include "harness/host_view.h"
#include "harness/result.h"
#include "harness/sim.h"
#include "harness/text.h"
#include "harness/tuning.h"

namespace cachetick::sim {

namespace fs = std::filesystem;
using nlohmann::json;

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

// Copies what the child writes to fd (its progress lines) to stdout as it
// comes, until the child closes it.
void relay(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
      std::fflush(stdout);
    } else if (n == 0 || errno != EINTR) {
      return;
    }
  }
}

// The child's wait status, or -1 when it cannot be waited for.
int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
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
  relay(out[0]);
  close(out[0]);
  const int status = wait_for(pid);
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

// What a child left in its scratch directory: one callgrind dump per
// benchmark, named by its client request, and Google Benchmark's results.
// Returns "" or why they cannot be read.
std::string read_child_output(const std::string& dir, const std::string& log, ChildOutput& out) {
  // The dumps: one file per benchmark, named by its client request.
  try {
    for (const auto& de : fs::directory_iterator(dir)) {
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
    std::ifstream f(dir + "/child.json");
    const json child = json::parse(f);
    out.context = child.value("context", json::object());
    out.runs = child.value("benchmarks", json::array());
  } catch (const std::exception& e) {
    return std::string("the child wrote no readable result (") + e.what() + "); valgrind's log ends:\n" + log;
  }
  return "";
}

// Runs one family's benchmarks in a fresh valgrind child and reads what it
// left. Returns "" or why it failed (with valgrind's log tail); the caller
// checks g_interrupted before the reason. Every child gets the same argv,
// environment and a scratch path of the same length; only `select`
// differs, and it names this family's benchmarks alone (the user's --filter
// and --family were applied here, so the child needs neither).
std::string run_family(const std::vector<const Entry*>& group, const Geometry& geo, std::uint32_t heap_layout,
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
    std::ofstream(scratch.path + "/heap_layout") << heap_layout << "\n";
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

  return read_child_output(scratch.path, log, out);
}

// One child's Google Benchmark entry as a result row: the time backend's
// name and cachetick block, per-op counts as the benchmark's counters.
// One child's Google Benchmark entry as a document entry (the time
// backend's name and cachetick block, per-op counts as the benchmark's
// counters) and as a row: its counts, or why it failed.
void add_child_run(ResultDocument& doc, json b, const Spec& s, const std::map<std::string, Events>& regions) {
  const std::string name = s.name();
  b["name"] = name;
  b["run_name"] = name;
  if (b.contains("ticks_per_op")) b.erase("ticks_per_op");  // rdtsc under a simulator
  json ct = entry_block(s, "sim");
  const auto it = regions.find(name);
  if (b.value("error_occurred", false) || it == regions.end()) {
    const std::string why = b.value("error_occurred", false) ? b.value("error_message", std::string("error"))
                                                             : std::string("no callgrind dump for it");
    b["error_occurred"] = true;
    b["error_message"] = why;
    b["cachetick"] = ct;
    doc.add_entry(b);
    doc.add_row(error_row(s, why));
    return;
  }
  const double iters = b.value("iterations", 0.0);
  const double ops = iters * s.ops_per_iter;
  PerOp p = per_op(it->second, ops);
  p.iterations = iters;
  b["instructions_per_op"] = p.instructions;
  b["d1_misses_per_op"] = p.d1_misses;
  b["ll_misses_per_op"] = p.ll_misses;
  b["est_cycles_per_op"] = p.est_cycles;
  ct["sim"] = {{"iterations", iters}, {"ops", ops}, {"totals", it->second}};
  b["cachetick"] = ct;
  doc.add_entry(b);
  Row row;
  row.spec = &s;
  row.sim = p;
  doc.add_row(row);
}

void add_child_runs(ResultDocument& doc, const ChildOutput& child) {
  // Google Benchmark appends "/iterations:N" to the child's names.
  static const std::regex iter_suffix("/iterations:[0-9]+$");
  doc.set_gb_context(child.context);
  for (const json& b : child.runs)
    if (const Entry* e = find(std::regex_replace(b.value("run_name", std::string()), iter_suffix, "")))
      add_child_run(doc, b, e->spec, child.regions);
}

// The document as it stands: after every family but the last with
// `complete` false, so that an interrupted or failed run keeps every family
// that finished, as the time backend keeps every benchmark.
bool write_result(const ResultDocument& doc, bool complete) {
  try {
    doc.write(complete);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return false;
  }
  return true;
}

// What only the sim backend checks: no Google Benchmark flags (one run of a
// fixed iteration count), a geometry, and valgrind. Returns 0 or 2.
int check_sim_input(const RunOptions& o, Geometry& geo, std::string& valgrind) {
  if (!o.passthrough.empty()) {
    std::fprintf(stderr, "cachetick run: Google Benchmark flags (after --) do not apply to "
                         "--backend sim: it runs each benchmark once, a fixed iteration count\n");
    return 2;
  }
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
    std::fprintf(stderr, "cachetick run: --sim-cache must be 'reference' or 'host', not '%s'\n", o.sim_cache.c_str());
    return 2;
  }
  valgrind = find_in_path("valgrind");
  if (valgrind.empty()) {
    std::fprintf(stderr, "cachetick run: --backend sim needs valgrind, which is not on PATH "
                         "(Debian: apt-get install valgrind)\n");
    return 2;
  }
  return 0;
}

// How the children run: valgrind's options and the whole command line.
struct ChildCommand {
  std::string valgrind, version;
  std::vector<std::string> options, argv;
  std::string host_view_why;  // "" when the children see the canonical host
};

ChildCommand child_command(const std::string& valgrind, const Geometry& geo) {
  ChildCommand c;
  c.valgrind = valgrind;
  c.version = command_output("'" + valgrind + "' --version");
  c.options = {"--tool=callgrind", "--cache-sim=yes", "--collect-atstart=no", "--I1=" + geo.i1.arg(),
               "--D1=" + geo.d1.arg(), "--LL=" + geo.ll.arg(), "--callgrind-out-file=cg.out"};
  c.argv = {valgrind};
  c.argv.insert(c.argv.end(), c.options.begin(), c.options.end());
  for (const char* a : {"./cachetick", "run", "--sim-child", "."}) c.argv.push_back(a);
  // The children see one canonical host where the kernel allows it
  // (harness/host_view.h); else this one, and the result says so.
  char tmpl[] = "/tmp/cachetick-sim.XXXXXX";
  ScratchDir probe;
  if (mkdtemp(tmpl)) probe.path = tmpl;
  c.host_view_why = probe.path.empty() ? "no scratch directory to probe namespaces in"
                                       : canonical_host_unavailable(probe.path);
  return c;
}

void print_sim_header(const ChildCommand& c, const Geometry& geo, std::size_t benchmarks, std::size_t families) {
  if (!c.host_view_why.empty()) std::printf("  note: host view: %s\n", c.host_view_why.c_str());
  std::printf("cachetick %s, sim backend: %zu benchmarks of %zu families under %s callgrind, one "
              "child process per family (a simulated CPU, ~50-100x slower than native)\n",
              CACHETICK_VERSION, benchmarks, families, c.version.c_str());
  std::printf("  simulated caches (%s): I1 %s, D1 %s, LL %s, %d B lines\n", geo.source.c_str(),
              cache_text(geo.i1).c_str(), cache_text(geo.d1).c_str(), cache_text(geo.ll).c_str(), geo.d1.line);
  if (!geo.note.empty()) std::printf("  note: %s\n", geo.note.c_str());
  std::fflush(stdout);
}

// The sim block: how the counts were made, so that the gate can tell
// whether two files were simulated alike.
json sim_block(const ChildCommand& c, const Geometry& geo, std::uint32_t heap_layout) {
  const std::string host_view =
      c.host_view_why.empty() ? std::string(kCanonicalHostView) : "this host's: " + c.host_view_why;
  return {{"tool", c.version + " callgrind"},
          {"environment", {{"valgrind", c.version}, {"guest", guest_environment(c.valgrind)},
                           {"child_env", child_environment()}, {"host_view", host_view}}},
          {"geometry", {{"I1", cache_json(geo.i1)}, {"D1", cache_json(geo.d1)},
                        {"LL", cache_json(geo.ll)}, {"source", geo.source}, {"note", geo.note}}},
          {"valgrind_options", c.options},
          {"address_randomisation", "off (personality ADDR_NO_RANDOMIZE), fixed environment and argv"},
          {"heap_layout", heap_layout},
          {"processes", "one valgrind child per family, given only that family's selected benchmarks"},
          {"collection", "only inside the measured loop (callgrind client requests); caches warm from set-up"},
          {"iterations", "Spec::sim_iterations, else ceil(" + std::to_string(int(kTargetOps)) +
                             " / ops_per_iter); one repetition"},
          {"est_cycles_model", "L1 hits + 5 x LL hits + 35 x RAM hits (iai-callgrind)"},
          {"kernel_tuning", reference_tuning().source}};
}

RunContext sim_context(const RunOptions& o, const std::vector<std::string>& command_line, const ChildCommand& c,
                       const Geometry& geo) {
  RunContext ctx = base_context("sim", o, command_line);
  ctx.options.sim_cache = o.sim_cache;
  ctx.attach("sim", sim_block(c, geo, o.sim_heap_layout));
  ctx.units = {
      {"instructions_per_op", "instructions executed per operation (callgrind Ir)"},
      {"d1_misses_per_op", "simulated L1 data-cache misses per operation, reads + writes"},
      {"ll_misses_per_op", "simulated last-level misses per operation, instruction + data"},
      {"est_cycles_per_op", "estimated cycles per operation: L1 hits + 5 x LL hits + 35 x RAM hits"},
      {"real_time", "wall time under valgrind: not a measurement of the kernel"}};
  ctx.notes.push_back("sim backend: counts come from valgrind's simulated CPU and caches "
                      "(two levels: L1 and LL); wall times in this file are valgrind's, "
                      "not the kernel's");
  return ctx;
}

// SIGINT and SIGTERM go to the running child (the loop then stops and says
// what was kept); the old handlers come back when the run ends.
struct ForwardSignals {
  struct sigaction old_int {}, old_term {};
  ForwardSignals() {
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~ForwardSignals() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

// One child per family: a family's counts then depend on its own code and
// selection only. In one shared child, what earlier families left on the
// heap decided where a later family's buffers landed, so which cache sets
// they used: a refactor in the alloc family moved sort's D1 misses by 18%.
// Returns -1 when every family ran (some benchmarks may have failed), else
// the exit code.
int run_families(ResultDocument& doc, const std::vector<std::vector<const Entry*>>& groups, const Geometry& geo,
                 std::uint32_t heap_layout, const ChildCommand& c, bool& benchmark_failed) {
  ForwardSignals forward;
  const std::string& out = doc.out_path();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string& family = groups[g].front()->spec.family;
    std::printf("%s (family %zu of %zu, its own child):\n", family.c_str(), g + 1, groups.size());
    std::fflush(stdout);
    ChildOutput child;
    const std::string why = run_family(groups[g], geo, heap_layout, c.argv, c.host_view_why.empty(), child);
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
    add_child_runs(doc, child);
    if (g + 1 < groups.size() && !write_result(doc, false)) return 1;
  }
  return -1;
}

}  // namespace

int run_parent(const RunOptions& o, const std::vector<std::string>& command_line) {
  std::vector<const Entry*> chosen;
  Geometry geo;
  std::string valgrind, out;
  if (int rc = select_for_run(o, chosen)) return rc;
  if (int rc = check_sim_input(o, geo, valgrind)) return rc;
  if (int rc = prepare_output(o, "-sim", out)) return rc;
  const ChildCommand cmd = child_command(valgrind, geo);
  const std::vector<std::vector<const Entry*>> groups = by_family(chosen);
  print_sim_header(cmd, geo, chosen.size(), groups.size());
  ResultDocument doc(sim_context(o, command_line, cmd, geo), out);
  bool benchmark_failed = false;
  if (int rc = run_families(doc, groups, geo, o.sim_heap_layout, cmd, benchmark_failed); rc >= 0) return rc;
  print_sim_table(columns_for(chosen), doc.rows());
  const Summary s = doc.summary();
  if (s.errors) std::printf("%d benchmark(s) failed.\n", s.errors);
  if (!write_result(doc, true)) return 1;
  if (!out.empty()) std::printf("Results: %s\n", out.c_str());
  return s.errors || benchmark_failed ? 1 : 0;
}

}  // namespace cachetick::sim
