// cachetick: the command line.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "harness/build_info.h"
#include "harness/calibrate.h"
#include "harness/context.h"
#include "harness/counter_setup.h"
#include "harness/pretend.h"
#include "harness/registry.h"
#include "harness/run.h"
#include "harness/sim.h"
#include "harness/timed.h"
#include "harness/tsc.h"
#include "kernels/records/layouts.h"

namespace {

int list_command(const cachetick::RunOptions& sel, bool families_only) {
  using namespace cachetick;
  if (families_only) {
    for (const auto& f : families()) std::printf("%-10s %s\n", f.name.c_str(), f.description.c_str());
    return 0;
  }
  std::vector<const Entry*> chosen;
  try {
    chosen = select(sel);
  } catch (const std::invalid_argument& e) {  // as `run` says it, naming this command
    std::fprintf(stderr, "cachetick list: %s\n", e.what());
    return 2;
  }
  std::size_t w = 4;
  for (const Entry* e : chosen) w = std::max(w, e->spec.name().size());
  std::printf("%-*s  %-9s  %-10s %10s  %10s  %s\n", static_cast<int>(w), "name", "role", "op",
              "ops/iter", "working set", "note");
  for (const Entry* e : chosen) {
    const Spec& s = e->spec;
    std::printf("%-*s  %-9s  %-10s %10.10g  %10s  %s\n", static_cast<int>(w), s.name().c_str(),
                to_string(s.role), s.op.c_str(), s.ops_per_iter,
                s.working_set_bytes ? format_bytes(s.working_set_bytes).c_str() : "-",
                s.note.c_str());
  }
  return 0;
}

// Why an option given is one only the other backend reads (the time backend
// simulates no cache; the sim backend counts each benchmark once, without
// rounds), or "" when none is.
std::string option_of_other_backend(const CLI::App& run, const std::string& backend) {
  static const struct {
    const char* option;
    const char* backend;
  } kOnly[] = {{"--sim-cache", "sim"},      {"--sim-heap-layout", "sim"}, {"--processes", "time"},
               {"--rounds-target", "time"}, {"--group-cap", "time"},      {"--max-rounds", "time"},
               {"--margin", "time"}};
  for (const auto& k : kOnly)
    if (backend != k.backend && run.count(k.option))
      return std::string(k.option) + (std::string(k.backend) == "sim"
                                          ? ": the --sim-* options apply to --backend sim only"
                                          : " applies to the time backend's paired rounds, not to --backend sim");
  return "";
}

void add_selection(CLI::App* c, cachetick::RunOptions& ro) {
  c->add_option("-f,--filter", ro.filter, "ECMAScript regex matched against family/variant/workload/size");
  c->add_option("--family", ro.families, "Only these families (repeat or comma-separate)")->delimiter(',');
  c->add_flag("-q,--quick", ro.quick, "Smoke run: 1 ms batches, 0.15 s per group, working sets above 2MiB skipped");
}

CLI::App* add_run_command(CLI::App& app, cachetick::RunOptions& ro, std::string& sim_child) {
  CLI::App* run = app.add_subcommand("run", "Run the benchmarks and judge them against the budget");
  add_selection(run, ro);
  run->add_option("-r,--rounds,--repetitions", ro.repetitions,
                  "Rounds per comparison group, at least (a paired group runs at least 6: what a 95% "
                  "interval needs); each round times every variant of the group once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--max-rounds", ro.max_rounds, "Rounds per group, at most")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run->add_option("--rounds-target", ro.rounds_target,
                  "Stop a group's rounds when every ratio's 95% interval is within +-this (a fraction)")
      ->check(CLI::Range(1e-4, 1.0))
      ->capture_default_str();
  run->add_option("--group-cap", ro.group_cap_s,
                  "Seconds per group after which its rounds stop anyway (default 4, 0.15 with --quick)")
      ->check(CLI::Range(0.001, 3600.0));
  run->add_option("--processes", ro.processes,
                  "Processes per paired group, one after another, whose rounds are paired together "
                  "(default 3, 2 with --quick): what is fixed for a process, such as its physical pages, "
                  "then counts in the interval")
      ->check(CLI::Range(1, 64));
  run->add_option("--margin", ro.margin,
                  "Ratios whose interval lies within 1 +- this are 'no difference shown' (a fraction)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  run->add_flag("--large", ro.large,
                "Also run the DRAM-scale groups (a variant's working set above 16MiB: hash at 512K and 8M keys, sort "
                "at 16M, layout at 64MiB, io's 256MiB and 1GiB files...), which a default run skips");
  run->add_flag("--unpaired", ro.unpaired,
                "Allow a selection whose groups cannot be paired (one variant, or no reference): "
                "their rows are measured in rounds alone, without ratios");
  run->add_option("--min-time", ro.min_time, "Seconds per batch: one variant's timed loop in one round")
      ->check(CLI::Range(0.0001, 60.0))
      ->capture_default_str();
  run->add_option("-o,--out", ro.out, "Result JSON file (default results/runs/<date>-<host>.json)");
  run->add_flag("--no-out", ro.no_out, "Console only: write no result file");
  run->add_option("--budget-ns", ro.budget_ns, "Per-operation budget in ns")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_flag("--fail-over-budget", ro.fail_over_budget, "Exit 1 when any benchmark is over its budget");
  run->add_option("--counters", ro.counters,
                  "Counters per op: auto (what this host supports), none, or a list of "
                  "cycles, instructions, ipc, l1d-misses, l2-misses, llc-misses, branch-misses, "
                  "dtlb-misses, cache-references, cache-misses, page-faults, context-switches, "
                  "task-clock, allocs (counted by PAPI, else by the kernel's perf_event), or "
                  "PAPI_* presets and pmu::event natives (see `cachetick counters`)")
      ->capture_default_str();
  run->add_option("--backend", ro.backend,
                  "time: wall clock and TSC; sim: deterministic counts under valgrind callgrind")
      ->check(CLI::IsMember({"time", "sim"}))
      ->capture_default_str();
  run->add_option("--sim-cache", ro.sim_cache,
                  "sim: simulated caches, the fixed 'reference' geometry or the 'host''s (sysfs)")
      ->check(CLI::IsMember({"reference", "host"}))
      ->capture_default_str();
  run->add_option("--sim-heap-layout", ro.sim_heap_layout,
                  "sim: heap layout N (0: as is; others take and free a mix of blocks drawn from N before "
                  "the benchmarks, as a change to earlier code would); counts that change with N depend on "
                  "addresses (scripts/baseline.sh measures them so)")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  run->add_option("--sim-child", sim_child)->group("");  // internal: the re-executed child of --backend sim
  run->add_option("gbench", ro.passthrough,
                  "Google Benchmark flags after --, e.g. -- --benchmark_enable_random_interleaving=true");
  run->positionals_at_end();
  return run;
}

struct CalibrateFlags {
  cachetick::CalibrateOptions options;
  bool force = false, no_out = false, small_pages = false, brief = false;
  std::string out;
};

CLI::App* add_calibrate_command(CLI::App& app, CalibrateFlags& f) {
  CLI::App* cal = app.add_subcommand(
      "calibrate", "Measure this machine's limits (latency curve, bandwidth, timer costs, clocks); "
                   "cached per host in results/calibration/, attached to every run");
  cal->add_flag("--full", f.options.full, "Fuller mode: 4 sizes per octave up to 1GiB, more repetitions (~1 min)");
  cal->add_flag("--force", f.force, "Measure again even if a valid calibration is cached");
  cal->add_flag("--no-hugepages", f.small_pages, "Use 4KiB pages (MADV_NOHUGEPAGE): shows TLB misses in the curve");
  cal->add_option("-o,--out", f.out, "Calibration file (default results/calibration/<host>.json)");
  cal->add_flag("--no-out", f.no_out, "Measure and print; write no file");
  cal->add_flag("--brief", f.brief, "Print the clocks and cache levels only (no timers, no curves)");
  return cal;
}

// An unknown command named as such (CLI11 would call it an extra argument).
// The names are joined as they are checked, whatever argv[1] is: the sim
// child passes here too, and what it allocates before its benchmarks
// decides where their data lands (so their simulated cache misses).
bool known_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return true;
  bool known = false;
  std::string names;
  for (const CLI::App* c : app.get_subcommands({})) {
    known = known || c->get_name() == argv[1];
    names += (names.empty() ? "" : ", ") + c->get_name();
  }
  if (!known)
    std::fprintf(stderr, "cachetick: unknown command '%s' (commands: %s; see --help)\n", argv[1], names.c_str());
  return known;
}

// -1 when parsed; else the exit code (0 for --help and --version).
int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    std::fprintf(stderr, "Run 'cachetick --help' or 'cachetick <command> --help'.\n");
    return 2;
  }
  return -1;
}

bool passthrough_ok(const std::vector<std::string>& passthrough) {
  for (const std::string& a : passthrough)
    if (a.rfind("--benchmark_", 0) != 0) {
      std::fprintf(stderr, "cachetick run: '%s' is not a Google Benchmark flag "
                           "(pass-through flags go after -- and start with --benchmark_)\n",
                   a.c_str());
      return false;
    }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Injected host conditions (tests): a typo must not pass for a real host.
  if (const std::string why = cachetick::check_pretend_env(); !why.empty()) {
    std::fprintf(stderr, "cachetick: %s\n", why.c_str());
    return 2;
  }
  cachetick::select_end_read();  // every batch of the process ends the same way
  CLI::App app{"cachetick: what memory and cache optimisations really buy, measured on this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cachetick ") + CACHETICK_VERSION);

  cachetick::RunOptions ro;
  std::string sim_child;
  CLI::App* run = add_run_command(app, ro, sim_child);
  bool families_only = false;
  CLI::App* list = app.add_subcommand("list", "List families, or every benchmark: name, role, op, working set");
  add_selection(list, ro);
  list->add_flag("--families", families_only, "Only the families");
  std::string counters_spec = "auto";
  CLI::App* counters = app.add_subcommand(
      "counters", "What this host can count (PAPI or perf_event events, allocations), by which "
                  "backend, and why not");
  counters->add_option("--counters", counters_spec, "The counters to check (as for run)")->capture_default_str();
  CLI::App* layout_report = app.add_subcommand(
      "layout-report", "Size, alignment and padding of the records and layout families' structs, "
                       "and the field order that needs the least (kernels/records/layouts.h)");
  CalibrateFlags cf;
  CLI::App* cal = add_calibrate_command(app, cf);

  const std::vector<std::string> record(argv, argv + argc);
  if (!known_command(app, argc, argv)) return 2;
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (!passthrough_ok(ro.passthrough)) return 2;

  if (*run && !sim_child.empty()) return cachetick::sim::run_child(sim_child);
  if (*run)
    if (const std::string why = option_of_other_backend(*run, ro.backend); !why.empty()) {
      std::fprintf(stderr, "cachetick run: %s\n", why.c_str());
      return 2;
    }
  if (*run && ro.backend == "time") cachetick::exec_without_aslr(argv);
  // The one place the backend is chosen.
  if (*run) return ro.backend == "sim" ? cachetick::sim::run_parent(ro, record) : cachetick::run_timed(ro, record);
  if (*list) {
    ro.large = true;  // list everything (--quick: what a quick run keeps)
    return list_command(ro, families_only);
  }
  if (*counters) return cachetick::counters_command(counters_spec);
  if (*layout_report) return std::fputs(cachetick::records::padding_report().c_str(), stdout) < 0;
  if (*cal) {
    cf.options.hugepages = !cf.small_pages;
    return cachetick::calibrate_command(cf.options, cf.force, cf.out, cf.no_out, cf.brief);
  }
  return 2;
}
