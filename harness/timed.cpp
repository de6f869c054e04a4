#include "harness/timed.h"

#include <signal.h>
#include <sys/personality.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#include "harness/alloc_tracker.h"
#include "harness/child.h"
#include "harness/console.h"
#include "harness/groups.h"
#include "harness/rounds.h"
#include "harness/atomic_file.h"
#include "harness/core_share.h"
#include "harness/counter_setup.h"
#include "harness/gb_runs.h"
#include "harness/limits.h"
#include "harness/preemption.h"
#include "harness/probe.h"
#include "harness/reporter.h"
#include "harness/result.h"
#include "harness/tsc.h"
#include "harness/tuning.h"

namespace cachetick {

namespace {

// Interrupts. The benchmarks run in the groups' children, which a Ctrl-C
// ends too (same process group); the parent only notes it, and after the
// group in flight has ended writes what finished (marked incomplete) and
// exits 130. A second signal ends the parent at once: the last snapshot
// (harness/atomic_file.h: never a torn file) is what the run keeps.
volatile sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  if (g_interrupted) {
    abandon_pending_write_signal_safe();
    const char m[] = "\ncachetick: interrupted again; the last snapshot is kept\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(130);
  }
  g_interrupted = 1;
}

void handle_interrupts() {
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

// Google Benchmark's flags: ours first, the user's pass-through after, so
// that theirs win. The min time is the warm-up's batch time (rounds.h);
// each round is one invocation of one repetition.
bool start_google_benchmark(const RunOptions& o, double batch_s) {
  std::vector<std::string> args = {"cachetick", "--benchmark_min_time=" + std::to_string(batch_s),
                                   "--benchmark_repetitions=1"};
  args.insert(args.end(), o.passthrough.begin(), o.passthrough.end());
  return init_google_benchmark(std::move(args));
}

// The counters are resolved in a child that exits at once: the parent never
// opens an event (a counter opened here would count this process, not the
// groups' children). Returns 0 with the context block, or the exit code.
int resolve_counters(const std::string& spec, nlohmann::json& context) {
  const ChildAnswer a = run_in_child([&](int& code) -> nlohmann::json {
    try {
      CounterSession s(spec);
      return s.context();
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "cachetick run: %s\n", e.what());
      code = 2;
      return nullptr;
    }
  });
  if (a.ok) {
    context = a.answer;
    return 0;
  }
  if (a.exit_code == 2) return 2;
  std::fprintf(stderr, "cachetick run: resolving the counters failed (%s)\n", a.why.c_str());
  return 2;
}

RoundsOptions rounds_options(const RunOptions& o) {
  RoundsOptions r;
  r.min_rounds = static_cast<std::size_t>(o.repetitions);
  r.max_rounds = std::max(static_cast<std::size_t>(o.max_rounds), r.min_rounds);
  r.target = o.rounds_target;
  r.cap_s = o.group_cap_s > 0 ? o.group_cap_s : (o.quick ? 0.15 : 4.0);
  r.margin = o.margin;
  r.batch_s = o.quick ? std::min(o.min_time, 0.001) : o.min_time;
  r.shared_below = kSharedCoreBelow;
  r.processes = static_cast<std::size_t>(o.processes > 0 ? o.processes : (o.quick ? 2 : 3));
  return r;
}

// Quick mode cuts working sets, which can leave a group without its
// reference or with one variant: such a group has nothing to compare, so
// it goes too (from `chosen` as well: the column widths). Returns how many.
std::size_t drop_unpairable(std::vector<Group>& groups, std::vector<const Entry*>& chosen) {
  std::vector<Group> kept;
  std::size_t cut = 0;
  for (Group& g : groups) {
    if (g.paired() || !check_pairable({g}).size()) {
      kept.push_back(std::move(g));
      continue;
    }
    ++cut;
    for (const Entry* e : g.variants) chosen.erase(std::find(chosen.begin(), chosen.end(), e));
  }
  groups = std::move(kept);
  return cut;
}

// A group whose process failed: an error row (and entry) per variant.
void add_failed_group(ResultDocument& doc, const Group& g, const std::string& why, std::vector<Row>& rows) {
  for (const Entry* e : g.variants) {
    nlohmann::json entry = {{"name", e->spec.name()}, {"run_name", e->spec.name()}, {"run_type", "iteration"},
                            {"error_occurred", true}, {"error_message", why}};
    entry["cachetick"] = entry_block(e->spec, "time");
    doc.add_entry(entry);
    doc.add_row(error_row(e->spec, why));
    rows.push_back(doc.rows().back());
  }
}

void print_progress(const Group& g, const nlohmann::json& block, double seconds) {
  if (block.is_object())
    std::fprintf(stderr, "  %-40s %2zu variants %3d rounds  widest +-%.1f%%  (%s)  %.1f s\n", g.name().c_str(),
                 g.variants.size(), block.value("rounds", 0), 100 * block.value("half_width", 0.0),
                 block.value("stop", "").c_str(), seconds);
  else
    std::fprintf(stderr, "  %-40s %2zu variant(s), not paired (%s)  %.1f s\n", g.name().c_str(), g.variants.size(),
                 g.unpaired_why.c_str(), seconds);
}

// A paired group's other processes (rounds.h step 4), forked from the
// group's process before it opens a counter or measures anything: each
// starts from the state the group's own process starts from.
std::vector<nlohmann::json> measure_other_shares(const Group& g, const std::string& counters,
                                                 const RoundsOptions& ropt) {
  std::vector<nlohmann::json> others;
  for (std::size_t p = 1; g.paired() && p < ropt.processes; ++p) {
    const ChildAnswer a = run_in_child([&](int&) {
      CounterSession session(counters);
      return measure_share(g, ropt, others.empty() ? nlohmann::json() : others.front());
    });
    if (!a.ok) throw std::runtime_error("process " + std::to_string(p) + " of the group: " + a.why);
    others.push_back(a.answer);
  }
  return others;
}

// One group in its own process (child.h says why); its rows join the
// document and `rows` (the family's, printed when the family is done).
void measure_in_child(ResultDocument& doc, const Group& g, const std::string& counters, const RoundsOptions& ropt,
                      const ReportOptions& ro, std::vector<Row>& rows) {
  const auto t0 = std::chrono::steady_clock::now();
  const ChildAnswer a = run_in_child([&](int&) {
    const std::vector<nlohmann::json> others = measure_other_shares(g, counters, ropt);
    CounterSession session(counters);
    return measure_group(g, ropt, ro, others);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.ok && g_interrupted) return;  // the signal ended it: not a failure of the group
  if (!a.ok) {
    add_failed_group(doc, g, "the group's process failed: " + a.why, rows);
    std::fprintf(stderr, "  %-40s FAILED: %s\n", g.name().c_str(), a.why.c_str());
    return;
  }
  doc.set_gb_context(a.answer.at("gb_context"));
  for (const auto& e : a.answer.at("entries")) doc.add_entry(e);
  for (const auto& r : a.answer.at("rows")) {
    doc.add_row(row_from_json(r));
    rows.push_back(doc.rows().back());
  }
  if (a.answer.at("group").is_object()) doc.add_group(a.answer.at("group"));
  print_progress(g, a.answer.at("group"), seconds);
}

// Interrupted: the groups that finished are kept (the one in flight died
// with the signal and was left out), marked incomplete.
int stop_interrupted(const ResultDocument& doc) {
  doc.write(false);
  std::fprintf(stderr, "\ncachetick: interrupted; every finished group is kept in %s (marked incomplete)\n",
               doc.out_path().empty() ? "(no result file)" : doc.out_path().c_str());
  return 130;
}

// Measures every group, family by family: each family's findings, then its
// rows. Returns the exit code.
int measure(ResultDocument& doc, const RunOptions& o, const std::vector<Group>& groups, const RoundsOptions& ropt,
            const ReportOptions& ro) {
  handle_interrupts();
  print_time_header(doc.context(), ro.limits, ro.budget_ns);
  doc.write(false);
  const Columns cols = columns_for(ro.selected);
  // Snapshots: after a family, and after a group when the last one is 30 s
  // old (the document grows by an entry per round: writing it after every
  // group made a quick run's writes quadratic, 90 of its 158 s).
  auto last_write = std::chrono::steady_clock::now();
  try {
    for (std::size_t i = 0; i < groups.size();) {
      const std::string family = groups[i].family;
      std::vector<Row> rows;
      std::fprintf(stderr, "%s:\n", family.c_str());
      for (; i < groups.size() && groups[i].family == family; ++i) {
        measure_in_child(doc, groups[i], o.counters, ropt, ro, rows);
        if (g_interrupted) return stop_interrupted(doc);
        if (std::chrono::steady_clock::now() - last_write > std::chrono::seconds(30)) {
          doc.write(false);
          last_write = std::chrono::steady_clock::now();
        }
      }
      doc.write(false);
      last_write = std::chrono::steady_clock::now();
      print_findings(family, rows, ropt.margin);
      print_time_table_head(cols);
      for (const Row& r : rows) r.error.empty() ? print_time_row(cols, r, ro.budget_ns) : print_error_row(cols, r);
    }
    doc.write(true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }
  const Summary s = doc.summary();
  print_time_summary(s, ro.budget_ns, ro.thresholds.unstable_cv, doc.out_path());
  if (s.errors) return 1;
  if (o.fail_over_budget && s.within_budget < s.judged) return 1;
  return 0;
}

}  // namespace

void exec_without_aslr(char** argv) {
  const int cur = personality(0xffffffff);
  if (cur == -1 || (cur & ADDR_NO_RANDOMIZE) || std::getenv("CACHETICK_ASLR_TRIED")) return;
  setenv("CACHETICK_ASLR_TRIED", "1", 1);
  if (personality(static_cast<unsigned long>(cur) | ADDR_NO_RANDOMIZE) == -1) return;
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);
  personality(static_cast<unsigned long>(cur));  // exec failed: go on as we are
}

std::string address_randomisation() {
  const int cur = personality(0xffffffff);
  if (cur != -1 && (cur & ADDR_NO_RANDOMIZE)) return "off";
  return "on (the kernel refused ADDR_NO_RANDOMIZE, or exec failed): layouts differ between runs";
}

int run_timed(const RunOptions& o, const std::vector<std::string>& command_line) {
  std::vector<const Entry*> chosen;
  std::string out;
  if (int rc = select_for_run(o, chosen)) return rc;
  std::vector<Group> groups = comparison_groups(chosen);
  const std::size_t cut = o.quick && !o.unpaired ? drop_unpairable(groups, chosen) : 0;
  if (std::string why = check_pairable(groups); !why.empty() && !o.unpaired) {
    std::fprintf(stderr, "cachetick run: %s\n", why.c_str());
    return 2;
  }
  if (int rc = prepare_output(o, "", out)) return rc;
  RunContext ctx = base_context("time", o, command_line);
  if (cut)
    ctx.notes.push_back("quick mode: " + std::to_string(cut) +
                        " group(s) skipped whose other variants' working sets exceed the quick limit (nothing to pair with)");
  const nlohmann::json cal = attach_calibration(ctx);
  // The core-share probe first: outermost, so that no counter and no TSC
  // window includes it. The counters are opened by each group's process.
  install_collector(std::make_shared<PreemptionCollector>());
  ctx.attach("core_share", install_core_share(cal));
  nlohmann::json counters;
  if (int rc = resolve_counters(o.counters, counters)) {
    clear_collectors();
    return rc;
  }
  const RoundsOptions ropt = rounds_options(o);
  if (!start_google_benchmark(o, ropt.batch_s)) return 2;
  ctx.options.repetitions = static_cast<int>(ropt.min_rounds);
  ctx.options.min_time_s = ropt.batch_s;
  ctx.options.budget_ns = o.budget_ns;
  ctx.options.passthrough = o.passthrough;
  attach_time_blocks(ctx);
  ctx.attach("counters", counters);
  ctx.attach("paired", to_json(ropt));
  ctx.attach("address_randomisation", address_randomisation());
  ResultDocument doc(std::move(ctx), out);
  ReportOptions ro;
  ro.budget_ns = o.budget_ns;
  ro.limits = limits_from(cal);
  ro.selected = chosen;
  ro.thresholds.shared_below = kSharedCoreBelow;
  return measure(doc, o, groups, ropt, ro);
}

}  // namespace cachetick
