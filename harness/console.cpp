#include "harness/console.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "harness/core_share.h"
#include "harness/counter_setup.h"
#include "harness/text.h"

namespace cachetick {

Columns columns_for(const std::vector<const Entry*>& selected) {
  Columns w;
  for (const Entry* e : selected) {
    w.family = std::max<int>(w.family, e->spec.family.size());
    w.variant = std::max<int>(w.variant, e->spec.variant.size());
    w.workload = std::max<int>(w.workload, e->spec.workload.size());
    w.size = std::max<int>(w.size, e->spec.size_label.size());
  }
  return w;
}

namespace {

void print_names(const Columns& w, const Spec& s) {
  std::printf("%-*s %-*s %-*s %*s", w.family, s.family.c_str(), w.variant, s.variant.c_str(), w.workload,
              s.workload.c_str(), w.size, s.size_label.c_str());
}

void print_name_heads(const Columns& w) {
  std::printf("\n%-*s %-*s %-*s %*s", w.family, "family", w.variant, "variant", w.workload, "workload", w.size,
              "size");
}

void print_machine(const Machine& m, const Build& b) {
  const std::string caches = caches_text(m.caches.levels);
  std::printf("cachetick %s on %s (%u logical CPUs)\n", b.cachetick_version.c_str(), m.cpu_model.c_str(),
              m.logical_cpus);
  std::printf("  caches (%s): %s | TSC %.3f GHz (%s)\n", m.caches.source.c_str(),
              caches.empty() ? "not known: no sysfs cache directories, and CPUID describes none" : caches.c_str(),
              m.tsc.hz / 1e9, m.tsc.source.c_str());
  std::printf("  timer: batch start lfence; rdtsc; lfence, end %s (%s)\n", m.tsc.end_read.instructions.c_str(),
              m.tsc.end_read.why.c_str());
  std::printf("  PMU: %s\n", m.pmu.available ? "available" : ("not available: " + m.pmu.reason).c_str());
  std::printf("  build: %s %s, flags '%s'; Google Benchmark %s\n", b.build_type.c_str(), b.compiler.c_str(),
              b.cxx_flags.c_str(), b.google_benchmark_version.c_str());
}

void print_column_notes(const RunContext& ctx, double budget_ns) {
  std::printf("  ns/op = wall time per operation (median of repetitions); ticks/op = TSC ticks,\n"
              "  a constant-rate clock, not core cycles; budget %.3g ns/op unless a row says otherwise.\n",
              budget_ns);
  std::printf("  ~cyc/op = ns/op x the calibrated core clock (an ESTIMATE, no PMU needed); vs limit =\n"
              "  ns/op in calibrated L1 latencies (xL1, latency-bound rows) or %% of the calibrated read\n"
              "  bandwidth limit at the row's working set (%%BW, streaming rows: the faster of one and\n"
              "  2-8 concurrent streams; above 100%% is marked !, a miscount or a noisy calibration).\n");
  if (const nlohmann::json* cs = ctx.find("core_share"); cs && cs->value("available", false))
    std::printf("  core = share of the core's issue slots the row had (median of repetitions; a probe\n"
                "  before and after each batch, harness/core_share.h): below %.0f%% another hardware\n"
                "  thread (SMT sibling, e.g. a VM neighbour) competed and wide code ran slower.\n",
                kSharedCoreBelow * 100);
}

// The row against the calibration: xL1 for latency-bound rows, %BW for
// streaming ones ("!" above the limit).
std::string vs_limit(const Row& r) {
  const RowLimits& l = r.time->limits;
  if (l.l1_latencies >= 0) return sig3(l.l1_latencies) + "xL1";
  if (l.pct_read_bw >= 0) return fmt("%.0f", l.pct_read_bw) + "%BW" + (r.above_read_limit ? "!" : "");
  return "-";
}

std::string counters_text(const Row& r) {
  std::string s;
  for (const auto& [name, v] : r.counters) s += (s.empty() ? "" : " ") + name + "=" + sig3(v);
  if (!r.allocs.empty()) s += (s.empty() ? "" : " ") + r.allocs;
  return s;
}

}  // namespace

void print_error_row(const Columns& w, const Row& row) {
  std::printf("%-*s ERROR: %s: %s\n", w.family, row.spec->family.c_str(), row.spec->name().c_str(),
              row.error.c_str());
  std::fflush(stdout);
}

void print_time_header(const RunContext& ctx, const Limits& limits, double budget_ns) {
  print_machine(ctx.machine, ctx.build);
  if (const nlohmann::json* c = ctx.find("counters")) print_counter_header(*c);
  if (const nlohmann::json* cal = ctx.find("calibration"); cal && limits.valid)
    std::printf("  %s\n", describe_limits(*cal, limits).c_str());
  for (const std::string& n : ctx.notes) std::printf("  note: %s\n", n.c_str());
  print_column_notes(ctx, budget_ns);
  std::fflush(stdout);
}

void print_time_table_head(const Columns& w) {
  print_name_heads(w);
  std::printf(" %10s %6s %5s %10s %8s %8s %8s  %-8s %s\n", "ns/op", "cv%", "core", "ticks/op", "GB/s", "~cyc/op",
              "vs limit", "budget", "counters/op");
  std::fflush(stdout);
}

void print_time_row(const Columns& w, const Row& r, double default_budget_ns) {
  if (!r.error.empty()) return print_error_row(w, r);
  const TimeFigures& f = *r.time;
  const std::string cv = r.cv < 0 ? "-" : fmt("%.1f", r.cv * 100) + (r.unstable ? "!" : "");
  const std::string core = r.core_share < 0 ? "-" : fmt("%.0f%%", r.core_share * 100) + (r.shared_core ? "!" : "");
  std::string verdict = f.within_budget ? "ok" : "OVER";
  if (f.budget_ns != default_budget_ns) verdict += "(" + sig3(f.budget_ns) + ")";
  print_names(w, *r.spec);
  std::printf(" %10s %6s %5s %10s %8s %8s %8s  %-8s %s\n", sig3(f.ns_per_op).c_str(), cv.c_str(), core.c_str(),
              f.ticks_per_op < 0 ? "-" : sig3(f.ticks_per_op).c_str(), f.gb_per_s < 0 ? "-" : sig3(f.gb_per_s).c_str(),
              f.limits.est_cycles_per_op < 0 ? "-" : sig3(f.limits.est_cycles_per_op).c_str(), vs_limit(r).c_str(),
              verdict.c_str(), counters_text(r).c_str());
  std::fflush(stdout);
}

std::string rerun_regex(const std::vector<std::string>& names, std::size_t show) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  std::string out;
  for (std::size_t i = 0; i < std::min(show, names.size()); ++i)
    out += (i ? "|" : "") + std::regex_replace(names[i], special, R"(\$&)");
  return out;
}

namespace {

void print_flagged(const Summary& s, double unstable_cv) {
  if (s.unstable)
    std::printf("Unstable: %d rows varied by more than %.0f%% between repetitions (cv%% marked !):\n"
                "  the machine was busy or the kernel is sensitive to placement; compare\n"
                "  ratios within one run, or rerun with more --repetitions on a quiet machine.\n",
                s.unstable, unstable_cv * 100);
  const auto& shared = s.shared_core_rows;
  if (!shared.empty())
    std::printf("Shared core: %zu rows ran with less than %.0f%% of the core's issue slots (core marked !):\n"
                "  another hardware thread competed (an SMT sibling; on a VM, often a neighbour), which\n"
                "  slows wide, throughput-bound code up to 2x at the same clock. Rerun them, e.g.\n"
                "  --filter '^(%s)$'%s\n",
                shared.size(), kSharedCoreBelow * 100, rerun_regex(shared, 8).c_str(),
                shared.size() > 8 ? " (the first 8; the JSON summary lists all)" : "");
  if (!s.above_read_limit_rows.empty())
    std::printf("Above the bandwidth limit: %zu rows streamed faster than calibration's fastest read\n"
                "  at their working set (%%BW marked !): a bytes_per_op or working_set_bytes that\n"
                "  overstates the work, or a calibration measured in a busy spell (rerun\n"
                "  `cachetick calibrate --force`). First: %s\n",
                s.above_read_limit_rows.size(), s.above_read_limit_rows.front().c_str());
}

}  // namespace

void print_time_summary(const Summary& s, double budget_ns, double unstable_cv, const std::string& out) {
  std::printf("\nBudget: %d of %d benchmarks within budget (%.3g ns/op default)", s.within_budget, s.judged,
              budget_ns);
  if (s.errors) std::printf("; %d failed with an error", s.errors);
  std::printf(".\n");
  if (const auto& over = s.over_budget_rows; !over.empty()) {
    std::printf("Over budget:");
    const std::size_t show = std::min<std::size_t>(over.size(), 12);
    for (std::size_t i = 0; i < show; ++i) std::printf(" %s", over[i].c_str());
    if (over.size() > show) std::printf(" ... and %zu more (see the JSON)", over.size() - show);
    std::printf("\n");
  }
  print_flagged(s, unstable_cv);
  if (!out.empty()) std::printf("Results: %s\n", out.c_str());
  std::fflush(stdout);
}

void print_findings(const std::string& family, const std::vector<Row>& rows, double margin) {
  if (std::none_of(rows.begin(), rows.end(), [](const Row& r) { return r.paired.has_value(); })) return;
  std::printf("\nFindings: %s (ratio = variant's time / the reference's, median of paired rounds, 95%% "
              "sign-test interval covering each process's own median; a verdict needs the whole interval beyond +-%.0f%%)\n",
              family.c_str(), margin * 100);
  std::string last;
  for (const Row& r : rows) {
    if (!r.paired) continue;
    const PairedFigures& p = *r.paired;
    const std::string where = r.spec->workload + "/" + r.spec->size_label + " vs " + p.reference;
    std::printf("  %-28s %-26s %7.3f  [%6.3f, %6.3f]  %-19s %s  (%zu rounds", where == last ? "" : where.c_str(),
                r.spec->variant.c_str(), p.ratio.ratio, p.ratio.lo, p.ratio.hi, to_string(p.judgement.verdict),
                p.judgement.detail.c_str(), p.ratio.rounds);
    if (p.dropped_disturbed) std::printf(" of %zu: disturbed ones left out", p.rounds);
    if (p.processes > 1) std::printf("; %zu processes", p.processes);
    if (p.widened) {
      const auto [lo, hi] = std::minmax_element(p.process_ratios.begin(), p.process_ratios.end());
      std::printf(", widened to their own medians %.3f-%.3f", *lo, *hi);
    }
    if (p.disturbed_changes_verdict())
      std::printf("; with every round: %s", to_string(p.every_round_judgement.verdict));
    std::printf(")\n");
    last = where;
  }
}

void print_sim_table(const Columns& w, const std::vector<Row>& rows) {
  print_name_heads(w);
  std::printf(" %10s %10s %10s %10s %10s\n", "iters", "instr/op", "D1miss/op", "LLmiss/op", "estcyc/op");
  for (const Row& r : rows) {
    if (!r.error.empty() || !r.sim) {
      print_error_row(w, r);
      continue;
    }
    const SimFigures& p = *r.sim;
    print_names(w, *r.spec);
    std::printf(" %10.0f %10s %10s %10s %10s\n", p.iterations, sig3(p.instructions).c_str(),
                sig3(p.d1_misses).c_str(), sig3(p.ll_misses).c_str(), sig3(p.est_cycles).c_str());
  }
  std::printf("\nPer op: instructions executed (Ir), D1 misses (reads + writes), LL misses\n"
              "(instruction + data), estimated cycles = L1 hits + 5 x LL hits + 35 x RAM hits\n"
              "(iai-callgrind's model of the simulated caches, not this machine's cycles).\n"
              "Counts repeat exactly for the same build and the same selection within a family\n"
              "(one child per family; caches reset to one state before each benchmark).\n");
}

}  // namespace cachetick
