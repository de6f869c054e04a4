#include "harness/reporter.h"

#include "harness/counter_setup.h"

namespace cachetick {

namespace {

const Spec* spec_of(const GbRun& r) {
  const Entry* e = find(r.run_name.function_name);
  return e ? &e->spec : nullptr;
}

bool is_time_aggregate(const GbRun& r) {
  return r.run_type == GbRun::RT_Aggregate && r.aggregate_unit == benchmark::kTime;
}

// The runs a budget judges: each repetition, the mean and the median (not
// the stddev or the cv, which are not times per op).
bool judged(const GbRun& r) {
  return r.run_type == GbRun::RT_Iteration || r.aggregate_name == "mean" || r.aggregate_name == "median";
}

// The run a benchmark's line shows: the median of its repetitions, or its
// only repetition.
bool representative(const GbRun& r) {
  return (r.run_type == GbRun::RT_Aggregate && r.aggregate_name == "median") ||
         (r.run_type == GbRun::RT_Iteration && r.repetitions <= 1);
}

}  // namespace

Reporter::Reporter(ResultDocument& doc, ReportOptions opts) : doc_(doc), opts_(std::move(opts)) {}

void Reporter::on_runs(const std::vector<GbRun>& in) {
  std::vector<GbRun> runs = in;  // allocation figures repoint memory_result
  const AllocAnnotations allocs = annotate_allocations(runs);
  nlohmann::json entries = gb_entries_json(runs);
  const GbRun* shown = nullptr;
  TimeFigures shown_figures;
  double cv = -1;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const GbRun& r = runs[i];
    const Spec* s = spec_of(r);
    if (!s) continue;
    nlohmann::json ct = entry_block(*s, "time");
    if (!allocs.per_run[i].empty()) ct.update(allocs.per_run[i]);
    TimeFigures f;
    if (!r.error_occurred && (r.run_type == GbRun::RT_Iteration || is_time_aggregate(r))) {
      f = time_figures(r, *s, opts_.budget_ns, opts_.limits);
      add_figures(ct, f, judged(r));
    }
    entries[i]["cachetick"] = ct;
    doc_.add_entry(entries[i]);
    if (r.error_occurred) {  // the report's other runs are not shown
      shown = nullptr;
      doc_.add_row(error_row(*s, r.error_message));
      break;
    }
    if (representative(r)) shown = &r, shown_figures = f;
    // A percentage aggregate keeps the raw ratio in real_accumulated_time
    // (GetAdjustedRealTime would scale it as if it were a time).
    if (r.run_type == GbRun::RT_Aggregate && r.aggregate_name == "cv") cv = r.real_accumulated_time;
  }
  if (shown) {
    doc_.add_row(time_row(*spec_of(*shown), *shown, shown_figures, cv, allocs.console, opts_.thresholds));
  }
}

}  // namespace cachetick
