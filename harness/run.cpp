#include "harness/run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <limits>
#include <ctime>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "harness/alloc_tracker.h"
#include "harness/atomic_file.h"
#include "harness/build_info.h"
#include "harness/limits.h"
#include "harness/context.h"
#include "harness/core_share.h"
#include "harness/counter_setup.h"
#include "harness/pretend.h"
#include "harness/probe.h"
#include "harness/reporter.h"
#include "harness/sim.h"
#include "harness/tsc.h"
#include "harness/tuning.h"

namespace cachetick {

namespace {

// For the SIGINT handler: fixed buffers, async-signal-safe calls only.
char g_out_path[4096];
volatile sig_atomic_t g_have_out = 0;

void on_interrupt(int) {
  abandon_pending_write_signal_safe();
  const char a[] = "\ncachetick: interrupted; every finished benchmark is kept in ";
  const char b[] = " (marked incomplete)\n";
  const char c[] = "\ncachetick: interrupted (no result file)\n";
  if (g_have_out) {
    (void)!write(2, a, sizeof a - 1);
    (void)!write(2, g_out_path, strlen(g_out_path));
    (void)!write(2, b, sizeof b - 1);
  } else {
    (void)!write(2, c, sizeof c - 1);
  }
  _exit(130);
}

// Fixed cost of one probe around an empty batch, in TSC ticks: the part of
// every batch that is not the kernel (divided by the batch's op count).
double probe_overhead_ticks() {
  std::uint64_t best = ~0ull;
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t a = tsc_begin();
    std::uint64_t b = tsc_end();
    best = std::min(best, b - a);
  }
  return static_cast<double>(best);
}

// Baseline: the fastest of the calibration's probes and a burst taken now
// (a neighbour busy during one of them cannot make the baseline look worse
// than the other). Returns the context block describing it.
nlohmann::json install_core_share(const nlohmann::json& ctx) {
  double cal = std::numeric_limits<double>::quiet_NaN();
  if (ctx.contains("calibration") && ctx["calibration"].contains("core_share_probe"))
    cal = ctx["calibration"]["core_share_probe"].value("best_cycles", cal);
  const double now = issue_probe_best(100);
  const double base = std::fmin(cal, now);  // fmin ignores a NaN side
  if (!std::isfinite(base) || base <= 0)
    return {{"available", false}, {"reason", "the probe needs an x86-64 TSC"}};
  install_collector(std::make_shared<CoreShareCollector>(base));
  return {{"available", true},
          {"baseline_cycles", base},
          {"calibration_best_cycles", std::isfinite(cal) ? nlohmann::json(cal) : nlohmann::json()},
          {"start_burst_best_cycles", now},
          {"shared_below", kSharedCoreBelow},
          {"what", "core_share = baseline / the worse of two probes (before and after each batch) "
                   "of 24 independent uops timed against 24 dependent adds, in core cycles: "
                   "1 = the core's issue slots to itself, ~0.5 = another hardware thread (an SMT "
                   "sibling, e.g. a VM neighbour) competing; the baseline drops to any faster probe "
                   "seen later"}};
}

}  // namespace

std::vector<const Entry*> select(const RunOptions& o) {
  for (const std::string& f : o.families) {
    const auto& fams = families();
    if (std::none_of(fams.begin(), fams.end(), [&](const Family& x) { return x.name == f; })) {
      std::string known;
      for (const auto& x : fams) known += (known.empty() ? "" : ", ") + x.name;
      throw std::invalid_argument("unknown family '" + f + "' (known: " + known + ")");
    }
  }
  std::regex re;
  try {
    re = std::regex(o.filter.empty() ? ".*" : o.filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("invalid --filter regex '" + o.filter + "': " + e.what());
  }
  std::vector<const Entry*> out;
  std::size_t matched_before_quick = 0;
  for (const Entry& e : entries()) {
    if (!o.families.empty() &&
        std::find(o.families.begin(), o.families.end(), e.spec.family) == o.families.end())
      continue;
    if (!std::regex_search(e.spec.name(), re)) continue;
    ++matched_before_quick;
    if (o.quick && e.spec.working_set_bytes > kQuickMaxWorkingSet) continue;
    out.push_back(&e);
  }
  if (out.empty()) {
    if (matched_before_quick)
      throw std::invalid_argument("the selection only has working sets above " +
                                  format_bytes(kQuickMaxWorkingSet) +
                                  ", which --quick skips; drop --quick");
    throw std::invalid_argument("no benchmark matches" +
                                (o.filter.empty() ? std::string() : " --filter '" + o.filter + "'") +
                                (o.families.empty() ? std::string() : " in the chosen families") +
                                " (see `cachetick list`)");
  }
  return out;
}

std::string default_out_path() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&t));
  return "results/runs/" + std::string(buf) + "-" + host_name() + ".json";
}

int run(const RunOptions& o, const std::vector<std::string>& argv_for_record) {
  if (o.backend == "sim") return sim::run_parent(o, argv_for_record);
  std::vector<const Entry*> chosen;
  try {
    chosen = select(o);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }

  std::string out = o.no_out ? "" : (o.out.empty() ? default_out_path() : o.out);
  if (!out.empty()) {
    if (o.out.empty()) std::filesystem::create_directories("results/runs");
    if (std::string why = check_writable(out); !why.empty()) {
      std::fprintf(stderr, "cachetick run: cannot write results to '%s': %s\n", out.c_str(),
                   why.c_str());
      return 2;
    }
    std::snprintf(g_out_path, sizeof g_out_path, "%s", out.c_str());
    g_have_out = 1;
  }

  nlohmann::json ctx;
  nlohmann::json notes = nlohmann::json::array();
  // This machine's measured limits (`cachetick calibrate`, cached per host).
  {
    std::string why;
    nlohmann::json cal = load_calibration(calibration_cache_path(), &why);
    if (cal.is_null()) {
      notes.push_back("no calibration for this machine (" + why +
                      "): run `cachetick calibrate` for cycles/op and the per-row limits");
    } else {
      cal["path"] = calibration_cache_path();
      ctx["calibration"] = cal;
    }
  }

  // The core-share probe (harness/core_share.h), installed first: outermost,
  // so that no counter and no TSC window includes it.
  ctx["core_share"] = install_core_share(ctx);

  // Counters: resolved before Google Benchmark starts, installed for the run.
  std::unique_ptr<CounterSession> counters;
  try {
    counters = std::make_unique<CounterSession>(o.counters);
  } catch (const std::invalid_argument& e) {
    clear_collectors();  // the core-share probe above
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }

  // Google Benchmark's flags: ours first, the user's pass-through after, so
  // that theirs win. Per-benchmark setters would append "/repeats:3" etc. to
  // every name and break comparisons across runs with other settings.
  const int reps = o.quick ? 1 : o.repetitions;
  const double min_time = o.quick ? std::min(o.min_time, 0.01) : o.min_time;
  std::vector<std::string> args = {"cachetick",
                                   "--benchmark_min_time=" + std::to_string(min_time),
                                   "--benchmark_repetitions=" + std::to_string(reps)};
  args.insert(args.end(), o.passthrough.begin(), o.passthrough.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) return 2;
  benchmark::SetDefaultTimeUnit(benchmark::kNanosecond);

  for (const Entry* e : chosen) {
    benchmark::RegisterBenchmark(e->spec.name().c_str(), [e](benchmark::State& st) {
      if (alloc_tracker()->skip_pass(e->spec.name())) {  // see alloc_tracker.h
        st.SkipWithError("allocation pass of a later repetition: not needed");
        return;
      }
      run_measured(*e, st);
    });
  }

  ctx["machine"] = machine_context();
  ctx["tuning"] = {{"l1d_bytes", tuning().l1d}, {"l2_bytes", tuning().l2}, {"l3_bytes", tuning().l3},
                   {"source", tuning().source},
                   {"what", "cache sizes handed to kernels that size blocks by the cache (the chunked sort)"}};
  ctx["build"] = build_context();
  ctx["options"] = {{"filter", o.filter},        {"families", o.families},
                    {"repetitions", reps},        {"min_time_s", min_time},
                    {"quick", o.quick},           {"budget_ns", o.budget_ns},
                    {"passthrough", o.passthrough}, {"command_line", argv_for_record}};
  ctx["overhead"] = {
      {"probe_ticks_per_batch", probe_overhead_ticks()},
      {"note", "fixed TSC cost of one probe around a batch, spread over the batch's ops; "
               "the harness/empty row shows the per-iteration cost of the timing loop"}};
  ctx["units"] = {{"ns_per_op", "wall-clock nanoseconds per operation"},
                  {"ticks_per_op", "TSC ticks per operation (constant rate; not core cycles)"},
                  {"useful_gb_per_s", "bytes the computation needs per op / ns per op"},
                  {"est_core_cycles_per_op", "ns/op x the calibration's core clock ESTIMATE"},
                  {"l1_latencies_per_op", "ns/op / the calibrated L1 load-to-use latency (latency-bound rows)"},
                  {"pct_of_read_bandwidth", "useful GB/s / calibrated sequential read GB/s at the row's working set"}};
  if (o.quick)
    notes.push_back("quick mode: 1 repetition, short runs, working sets above " +
                    format_bytes(kQuickMaxWorkingSet) + " skipped; a smoke test, not a measurement");
  if (!pretended().empty()) {
    std::string list;
    for (const std::string& c : pretended()) list += (list.empty() ? "" : ",") + c;
    notes.push_back("CACHETICK_PRETEND=" + list + ": host conditions injected for a test; the "
                    "figures describe a pretended host, not this one");
  }
  if (std::string(CACHETICK_BUILD_TYPE) != "Release")
    notes.push_back(std::string("not a Release build (") + CACHETICK_BUILD_TYPE +
                    "): numbers are not representative");
  ctx["notes"] = notes;
  ctx["counters"] = counters->context();

  ReportOptions ro;
  ro.budget_ns = o.budget_ns;
  ro.out_path = out;
  ro.run_context = ctx;
  ro.selected = chosen;
  Reporter rep(ro);

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::size_t ran = 0;
  try {
    ran = benchmark::RunSpecifiedBenchmarks(&rep);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }
  benchmark::Shutdown();
  if (ran == 0) {
    std::fprintf(stderr, "cachetick run: no benchmark ran (a pass-through "
                         "--benchmark_filter matching nothing?)\n");
    return 2;
  }
  if (rep.errors()) return 1;
  if (o.fail_over_budget && rep.within() < rep.judged()) return 1;
  return 0;
}

}  // namespace cachetick
