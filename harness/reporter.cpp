#include "harness/reporter.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "harness/atomic_file.h"
#include "harness/context.h"
#include "harness/core_share.h"
#include "harness/counter_setup.h"
#include "harness/text.h"

namespace cachetick {

namespace {

using Run = benchmark::BenchmarkReporter::Run;

double to_ns(double t, benchmark::TimeUnit u) {
  return t * 1e9 / benchmark::GetTimeUnitMultiplier(u);
}

const Spec* spec_of(const Run& r) {
  const Entry* e = find(r.run_name.function_name);
  return e ? &e->spec : nullptr;
}

bool is_time_aggregate(const Run& r) {
  return r.run_type == Run::RT_Aggregate && r.aggregate_unit == benchmark::kTime;
}

// Google Benchmark's own JSON for these runs, parsed: exactly its format, so
// its tools (compare.py) read our files unchanged.
nlohmann::json gb_json_runs(const std::vector<Run>& runs) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportRuns(runs);
  // GB writes NaN / Infinity (not JSON) where a statistic is undefined, e.g.
  // the cv of a counter that is 0 in every repetition: store null instead.
  static const std::regex non_finite(R"(": -?(NaN|Infinity)\b)");
  return nlohmann::json::parse("[" + std::regex_replace(os.str(), non_finite, "\": null") + "]");
}

// The first `show` names as one alternation for --filter (regex
// metacharacters in names escaped).
std::string rerun_regex(const std::vector<std::string>& names, std::size_t show) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  std::string out;
  for (std::size_t i = 0; i < std::min(show, names.size()); ++i)
    out += (i ? "|" : "") + std::regex_replace(names[i], special, R"(\$&)");
  return out;
}

}  // namespace

OpFigures op_figures(const Run& run, const Spec& spec, double default_budget_ns) {
  OpFigures f;
  f.ns_per_op = to_ns(run.GetAdjustedRealTime(), run.time_unit) / spec.ops_per_iter;
  auto it = run.counters.find("ticks_per_op");
  if (it != run.counters.end()) f.ticks_per_op = it->second.value;
  if (spec.bytes_per_op > 0 && f.ns_per_op > 0) f.gb_per_s = spec.bytes_per_op / f.ns_per_op;
  f.budget_ns = spec.budget_ns > 0 ? spec.budget_ns : default_budget_ns;
  f.within_budget = f.ns_per_op <= f.budget_ns;
  return f;
}

Reporter::Reporter(ReportOptions opts) : opts_(std::move(opts)) {
  if (opts_.run_context.contains("calibration")) limits_ = limits_from(opts_.run_context["calibration"]);
  for (const Entry* e : opts_.selected) {
    w_family_ = std::max<int>(w_family_, e->spec.family.size());
    w_variant_ = std::max<int>(w_variant_, e->spec.variant.size());
    w_workload_ = std::max<int>(w_workload_, e->spec.workload.size());
    w_size_ = std::max<int>(w_size_, e->spec.size_label.size());
  }
}

bool Reporter::ReportContext(const Context& context) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportContext(context);
  os << "\n  ]\n}\n";
  doc_ = nlohmann::json::parse(os.str());
  doc_["cachetick"] = opts_.run_context;
  print_header();
  if (!opts_.out_path.empty()) write_snapshot(false);
  return true;
}

void Reporter::print_header() {
  const auto& m = opts_.run_context["machine"];
  const auto& b = opts_.run_context["build"];
  std::ostringstream caches;
  for (const auto& c : m["caches"])
    if (c["type"] != "Instruction")
      caches << " L" << c["level"].get<int>() << (c["type"] == "Data" ? "d " : " ")
             << c["size"].get<std::string>();
  const std::string source = m.value("caches_source", std::string("sysfs"));
  std::printf("cachetick %s on %s (%d logical CPUs)\n",
              b["cachetick_version"].get<std::string>().c_str(),
              m["cpu_model"].get<std::string>().c_str(), m["logical_cpus"].get<int>());
  std::printf("  caches (%s):%s | TSC %.3f GHz (%s)\n", source.c_str(),
              caches.str().empty() ? " not known: no sysfs cache directories, and CPUID describes none"
                                   : caches.str().c_str(),
              m["tsc"]["ghz"].get<double>(), m["tsc"]["source"].get<std::string>().c_str());
  std::printf("  timer: batch start lfence; rdtsc; lfence, end %s (%s)\n",
              m["tsc"]["end_read"]["instructions"].get<std::string>().c_str(),
              m["tsc"]["end_read"]["why"].get<std::string>().c_str());
  std::printf("  PMU: %s\n", m["pmu"]["available"].get<bool>()
                                 ? "available"
                                 : ("not available: " + m["pmu"]["reason"].get<std::string>()).c_str());
  std::printf("  build: %s %s, flags '%s'; Google Benchmark %s\n",
              b["build_type"].get<std::string>().c_str(), b["compiler"].get<std::string>().c_str(),
              b["cxx_flags"].get<std::string>().c_str(),
              b["google_benchmark_version"].get<std::string>().c_str());
  print_counter_header(opts_.run_context);
  if (limits_.valid)
    std::printf("  %s\n", describe_limits(opts_.run_context["calibration"], limits_).c_str());
  if (opts_.run_context.contains("notes"))
    for (const auto& n : opts_.run_context["notes"])
      std::printf("  note: %s\n", n.get<std::string>().c_str());
  std::printf("  ns/op = wall time per operation (median of repetitions); ticks/op = TSC ticks,\n"
              "  a constant-rate clock, not core cycles; budget %.3g ns/op unless a row says otherwise.\n",
              opts_.budget_ns);
  std::printf("  ~cyc/op = ns/op x the calibrated core clock (an ESTIMATE, no PMU needed); vs limit =\n"
              "  ns/op in calibrated L1 latencies (xL1, latency-bound rows) or %% of the calibrated read\n"
              "  bandwidth limit at the row's working set (%%BW, streaming rows: the faster of one and\n"
              "  2-8 concurrent streams; above 100%% is marked !, a miscount or a noisy calibration).\n");
  if (opts_.run_context.contains("core_share") && opts_.run_context["core_share"].value("available", false))
    std::printf("  core = share of the core's issue slots the row had (median of repetitions; a probe\n"
                "  before and after each batch, harness/core_share.h): below %.0f%% another hardware\n"
                "  thread (SMT sibling, e.g. a VM neighbour) competed and wide code ran slower.\n",
                kSharedCoreBelow * 100);
  std::printf("\n%-*s %-*s %-*s %*s %10s %6s %5s %10s %8s %8s %8s  %-8s %s\n", w_family_, "family",
              w_variant_, "variant", w_workload_, "workload", w_size_, "size", "ns/op", "cv%", "core",
              "ticks/op", "GB/s", "~cyc/op", "vs limit", "budget", "counters/op");
  std::fflush(stdout);
}

void Reporter::print_row(const Spec& s, const Run& row, double cv, const std::string& extra) {
  const OpFigures f = op_figures(row, s, opts_.budget_ns);
  std::string counters;
  double share = -1;
  for (const auto& [k, c] : row.counters) {
    if (k == "core_share") share = c.value;
    if (k == "ticks_per_op" || k == "core_share") continue;
    counters += (counters.empty() ? "" : " ") + k + "=" + sig3(c.value);
  }
  if (!extra.empty()) counters += (counters.empty() ? "" : " ") + extra;
  const bool unstable = cv > opts_.unstable_cv;
  const std::string cv_s = cv < 0 ? "-" : fmt("%.1f", cv * 100) + (unstable ? "!" : "");
  const bool shared = share >= 0 && share < kSharedCoreBelow;
  const std::string core_s = share < 0 ? "-" : fmt("%.0f%%", share * 100) + (shared ? "!" : "");
  std::string verdict = f.within_budget ? "ok" : "OVER";
  if (f.budget_ns != opts_.budget_ns) verdict += "(" + sig3(f.budget_ns) + ")";
  const RowLimits l = judge_row(limits_, f.ns_per_op, s.working_set_bytes, f.gb_per_s, s.latency_bound);
  std::string vs = "-";
  if (l.l1_latencies >= 0) vs = sig3(l.l1_latencies) + "xL1";
  else if (l.pct_read_bw >= 0) vs = fmt("%.0f", l.pct_read_bw) + "%BW";
  // Above the limit is a bug to explain (calibrate.h, read_limit_gbps).
  if (l.pct_read_bw > 100 && l.l1_latencies < 0) vs += "!", above_limit_.push_back(s.name());
  std::printf("%-*s %-*s %-*s %*s %10s %6s %5s %10s %8s %8s %8s  %-8s %s\n", w_family_, s.family.c_str(),
              w_variant_, s.variant.c_str(), w_workload_, s.workload.c_str(), w_size_,
              s.size_label.c_str(), sig3(f.ns_per_op).c_str(), cv_s.c_str(), core_s.c_str(),
              f.ticks_per_op < 0 ? "-" : sig3(f.ticks_per_op).c_str(),
              f.gb_per_s < 0 ? "-" : sig3(f.gb_per_s).c_str(),
              l.est_cycles_per_op < 0 ? "-" : sig3(l.est_cycles_per_op).c_str(), vs.c_str(),
              verdict.c_str(), counters.c_str());
  std::fflush(stdout);
  ++judged_;
  if (unstable) ++unstable_;
  if (shared) shared_rows_.push_back(s.name());
  if (f.within_budget)
    ++within_;
  else
    over_.push_back(s.name());
}

void Reporter::ReportRuns(const std::vector<Run>& in) {
  if (in.empty()) return;
  std::vector<Run> runs = in;  // allocation figures repoint memory_result
  const AllocAnnotations allocs = annotate_allocations(runs);
  nlohmann::json entries = gb_json_runs(runs);
  const Run* row = nullptr;
  double cv = -1;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    const Spec* s = spec_of(r);
    if (!s) continue;
    nlohmann::json ct = {{"family", s->family},       {"variant", s->variant},
                         {"role", to_string(s->role)}, {"workload", s->workload},
                         {"size", s->size},           {"size_label", s->size_label},
                         {"working_set_bytes", s->working_set_bytes},
                         {"op", s->op},               {"ops_per_iter", s->ops_per_iter}};
    if (s->bytes_per_op > 0) ct["bytes_per_op"] = s->bytes_per_op;
    if (!allocs.per_run[i].empty()) ct.update(allocs.per_run[i]);
    if (!r.error_occurred && (r.run_type == Run::RT_Iteration || is_time_aggregate(r))) {
      const OpFigures f = op_figures(r, *s, opts_.budget_ns);
      ct["ns_per_op"] = f.ns_per_op;
      if (f.ticks_per_op >= 0) ct["ticks_per_op"] = f.ticks_per_op;
      if (f.gb_per_s >= 0) ct["useful_gb_per_s"] = f.gb_per_s;
      const RowLimits l = judge_row(limits_, f.ns_per_op, s->working_set_bytes, f.gb_per_s, s->latency_bound);
      if (l.est_cycles_per_op >= 0) ct["est_core_cycles_per_op"] = l.est_cycles_per_op;
      if (l.l1_latencies >= 0) ct["l1_latencies_per_op"] = l.l1_latencies;
      if (l.pct_read_bw >= 0) ct["pct_of_read_bandwidth"] = l.pct_read_bw;
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "mean" ||
          r.aggregate_name == "median") {
        ct["budget_ns"] = f.budget_ns;
        ct["verdict"] = f.within_budget ? "within" : "over";
      }
    }
    entries[i]["cachetick"] = ct;
    doc_["benchmarks"].push_back(entries[i]);

    if (r.error_occurred) {
      std::printf("%-*s ERROR: %s\n", w_family_, s->family.c_str(),
                  (s->name() + ": " + r.error_message).c_str());
      ++errors_;
      row = nullptr;
      break;
    }
    if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") row = &r;
    // A percentage aggregate keeps the raw ratio in real_accumulated_time
    // (GetAdjustedRealTime would scale it as if it were a time).
    if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "cv") cv = r.real_accumulated_time;
    if (r.run_type == Run::RT_Iteration && r.repetitions <= 1) row = &r;
  }
  if (row) print_row(*spec_of(*row), *row, cv, allocs.console);
  ++done_;
  if (!opts_.out_path.empty()) write_snapshot(false);
}

void Reporter::Finalize() {
  if (!opts_.out_path.empty()) write_snapshot(true);
  std::printf("\nBudget: %d of %d benchmarks within budget (%.3g ns/op default)", within_,
              judged_, opts_.budget_ns);
  if (errors_) std::printf("; %d failed with an error", errors_);
  std::printf(".\n");
  if (!over_.empty()) {
    std::printf("Over budget:");
    const std::size_t show = std::min<std::size_t>(over_.size(), 12);
    for (std::size_t i = 0; i < show; ++i) std::printf(" %s", over_[i].c_str());
    if (over_.size() > show) std::printf(" ... and %zu more (see the JSON)", over_.size() - show);
    std::printf("\n");
  }
  if (unstable_)
    std::printf("Unstable: %d rows varied by more than %.0f%% between repetitions (cv%% marked !):\n"
                "  the machine was busy or the kernel is sensitive to placement; compare\n"
                "  ratios within one run, or rerun with more --repetitions on a quiet machine.\n",
                unstable_, opts_.unstable_cv * 100);
  if (!shared_rows_.empty()) {
    std::printf("Shared core: %zu rows ran with less than %.0f%% of the core's issue slots (core marked !):\n"
                "  another hardware thread competed (an SMT sibling; on a VM, often a neighbour), which\n"
                "  slows wide, throughput-bound code up to 2x at the same clock. Rerun them, e.g.\n"
                "  --filter '^(%s)$'%s\n",
                shared_rows_.size(), kSharedCoreBelow * 100, rerun_regex(shared_rows_, 8).c_str(),
                shared_rows_.size() > 8 ? " (the first 8; the JSON summary lists all)" : "");
  }
  if (!above_limit_.empty())
    std::printf("Above the bandwidth limit: %zu rows streamed faster than calibration's fastest read\n"
                "  at their working set (%%BW marked !): a bytes_per_op or working_set_bytes that\n"
                "  overstates the work, or a calibration measured in a busy spell (rerun\n"
                "  `cachetick calibrate --force`). First: %s\n",
                above_limit_.size(), above_limit_.front().c_str());
  if (!opts_.out_path.empty()) std::printf("Results: %s\n", opts_.out_path.c_str());
  std::fflush(stdout);
}

void Reporter::write_snapshot(bool complete) {
  doc_["cachetick"]["complete"] = complete;
  doc_["cachetick"]["summary"] = {{"judged", judged_}, {"within_budget", within_},
                                  {"over_budget", judged_ - within_}, {"errors", errors_},
                                  {"unstable", unstable_}, {"shared_core", shared_rows_.size()},
                                  {"shared_core_rows", shared_rows_},
                                  {"benchmarks_done", done_}};
  write_file_atomic(opts_.out_path, doc_.dump(2) + "\n");
}

}  // namespace cachetick
