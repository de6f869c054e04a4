#include "harness/timed.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#include "harness/alloc_tracker.h"
#include "harness/atomic_file.h"
#include "harness/core_share.h"
#include "harness/counter_setup.h"
#include "harness/gb_runs.h"
#include "harness/limits.h"
#include "harness/probe.h"
#include "harness/reporter.h"
#include "harness/result.h"
#include "harness/tsc.h"
#include "harness/tuning.h"

namespace cachetick {

namespace {

// For the SIGINT handler: fixed buffers, async-signal-safe calls only. The
// benchmarks run in this process, so the handler itself ends it: the last
// snapshot (written after every benchmark) is what the run keeps.
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

void handle_interrupts(const std::string& out) {
  if (!out.empty()) {
    std::snprintf(g_out_path, sizeof g_out_path, "%s", out.c_str());
    g_have_out = 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
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

// This machine's measured limits (`cachetick calibrate`, cached per host),
// attached whole; without one, a note says how to get one.
nlohmann::json attach_calibration(RunContext& ctx) {
  std::string why;
  nlohmann::json cal = load_calibration(calibration_cache_path(), &why);
  if (cal.is_null()) {
    ctx.notes.insert(ctx.notes.begin(), "no calibration for this machine (" + why +
                                            "): run `cachetick calibrate` for cycles/op and the per-row limits");
    return cal;
  }
  cal["path"] = calibration_cache_path();
  ctx.attach("calibration", cal);
  return cal;
}

// The core-share probe (harness/core_share.h). Baseline: the fastest of the
// calibration's probes and a burst taken now (a neighbour busy during one
// of them cannot make the baseline look worse than the other). Returns the
// context block describing it.
nlohmann::json install_core_share(const nlohmann::json& cal) {
  double from_cal = std::numeric_limits<double>::quiet_NaN();
  if (cal.is_object() && cal.contains("core_share_probe"))
    from_cal = cal["core_share_probe"].value("best_cycles", from_cal);
  const double now = issue_probe_best(100);
  const double base = std::fmin(from_cal, now);  // fmin ignores a NaN side
  if (!std::isfinite(base) || base <= 0)
    return {{"available", false}, {"reason", "the probe needs an x86-64 TSC"}};
  install_collector(std::make_shared<CoreShareCollector>(base));
  return {{"available", true},
          {"baseline_cycles", base},
          {"calibration_best_cycles", std::isfinite(from_cal) ? nlohmann::json(from_cal) : nlohmann::json()},
          {"start_burst_best_cycles", now},
          {"shared_below", kSharedCoreBelow},
          {"what", "core_share = baseline / the worse of two probes (before and after each batch) "
                   "of 24 independent uops timed against 24 dependent adds, in core cycles: "
                   "1 = the core's issue slots to itself, ~0.5 = another hardware thread (an SMT "
                   "sibling, e.g. a VM neighbour) competing; the baseline drops to any faster probe "
                   "seen later"}};
}

// The blocks only the time backend has: what the kernels were tuned for,
// the probe's own cost, and what each figure means.
void attach_time_blocks(RunContext& ctx) {
  const Tuning& t = tuning();
  ctx.attach("tuning", {{"l1d_bytes", t.l1d}, {"l2_bytes", t.l2}, {"l3_bytes", t.l3}, {"source", t.source},
                        {"what", "cache sizes handed to kernels that size blocks by the cache (the chunked sort)"}});
  ctx.attach("overhead",
             {{"probe_ticks_per_batch", probe_overhead_ticks()},
              {"note", "fixed TSC cost of one probe around a batch, spread over the batch's ops; "
                       "the harness/empty row shows the per-iteration cost of the timing loop"}});
  ctx.units = {{"ns_per_op", "wall-clock nanoseconds per operation"},
               {"ticks_per_op", "TSC ticks per operation (constant rate; not core cycles)"},
               {"useful_gb_per_s", "bytes the computation needs per op / ns per op"},
               {"est_core_cycles_per_op", "ns/op x the calibration's core clock ESTIMATE"},
               {"l1_latencies_per_op", "ns/op / the calibrated L1 load-to-use latency (latency-bound rows)"},
               {"pct_of_read_bandwidth", "useful GB/s / calibrated sequential read GB/s at the row's working set"}};
}

// Google Benchmark's flags (ours first, the user's pass-through after, so
// that theirs win) and one registration per selected benchmark.
// Per-benchmark setters would append "/repeats:3" etc. to every name and
// break comparisons across runs with other settings.
bool start_google_benchmark(const RunOptions& o, int reps, double min_time,
                            const std::vector<const Entry*>& chosen) {
  std::vector<std::string> args = {"cachetick", "--benchmark_min_time=" + std::to_string(min_time),
                                   "--benchmark_repetitions=" + std::to_string(reps)};
  args.insert(args.end(), o.passthrough.begin(), o.passthrough.end());
  if (!init_google_benchmark(std::move(args))) return false;
  for (const Entry* e : chosen)
    benchmark::RegisterBenchmark(e->spec.name().c_str(), [e](benchmark::State& st) {
      if (alloc_tracker()->skip_pass(e->spec.name())) {  // see alloc_tracker.h
        st.SkipWithError("allocation pass of a later repetition: not needed");
        return;
      }
      run_measured(*e, st);
    });
  return true;
}

// Runs what was registered into `doc`; returns the exit code.
int measure(ResultDocument& doc, const RunOptions& o, ReportOptions ro) {
  Reporter rep(doc, std::move(ro));
  RunCollector collector = rep.collector();
  handle_interrupts(doc.out_path());
  std::size_t ran = 0;
  try {
    ran = benchmark::RunSpecifiedBenchmarks(&collector);
    if (ran) rep.finish();
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
  const Summary s = doc.summary();
  if (s.errors) return 1;
  if (o.fail_over_budget && s.within_budget < s.judged) return 1;
  return 0;
}

}  // namespace

int run_timed(const RunOptions& o, const std::vector<std::string>& command_line) {
  std::vector<const Entry*> chosen;
  std::string out;
  if (int rc = select_for_run(o, chosen)) return rc;
  if (int rc = prepare_output(o, "", out)) return rc;
  RunContext ctx = base_context("time", o, command_line);
  const nlohmann::json cal = attach_calibration(ctx);
  // The core-share probe first: outermost, so that no counter and no TSC
  // window includes it. Then the counters, resolved before Google Benchmark
  // starts and installed for the run.
  ctx.attach("core_share", install_core_share(cal));
  std::unique_ptr<CounterSession> counters;
  try {
    counters = std::make_unique<CounterSession>(o.counters);
  } catch (const std::invalid_argument& e) {
    clear_collectors();  // the core-share probe above
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }
  const int reps = o.quick ? 1 : o.repetitions;
  const double min_time = o.quick ? std::min(o.min_time, 0.01) : o.min_time;
  if (!start_google_benchmark(o, reps, min_time, chosen)) return 2;
  ctx.options.repetitions = reps;
  ctx.options.min_time_s = min_time;
  ctx.options.budget_ns = o.budget_ns;
  ctx.options.passthrough = o.passthrough;
  attach_time_blocks(ctx);
  ctx.attach("counters", counters->context());
  ResultDocument doc(std::move(ctx), out);
  ReportOptions ro;
  ro.budget_ns = o.budget_ns;
  ro.limits = limits_from(cal);
  ro.selected = chosen;
  ro.thresholds.shared_below = kSharedCoreBelow;
  return measure(doc, o, std::move(ro));
}

}  // namespace cachetick
