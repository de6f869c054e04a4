#include "harness/figures.h"

namespace cachetick {

namespace {
double to_ns(double t, benchmark::TimeUnit u) { return t * 1e9 / benchmark::GetTimeUnitMultiplier(u); }
}  // namespace

TimeFigures time_figures(const benchmark::BenchmarkReporter::Run& run, const Spec& spec,
                         double default_budget_ns, const Limits& limits) {
  TimeFigures f;
  f.ns_per_op = to_ns(run.GetAdjustedRealTime(), run.time_unit) / spec.ops_per_iter;
  if (auto it = run.counters.find("ticks_per_op"); it != run.counters.end()) f.ticks_per_op = it->second.value;
  if (spec.bytes_per_op > 0 && f.ns_per_op > 0) f.gb_per_s = spec.bytes_per_op / f.ns_per_op;
  f.budget_ns = spec.budget_ns > 0 ? spec.budget_ns : default_budget_ns;
  f.within_budget = f.ns_per_op <= f.budget_ns;
  f.limits = judge_row(limits, f.ns_per_op, spec.working_set_bytes, f.gb_per_s, spec.latency_bound);
  return f;
}

Row time_row(const Spec& spec, const benchmark::BenchmarkReporter::Run& run, const TimeFigures& f,
             double cv, std::string allocs, const RowThresholds& t) {
  Row r;
  r.spec = &spec;
  r.time = f;
  r.cv = cv;
  r.allocs = std::move(allocs);
  for (const auto& [name, c] : run.counters) {
    if (name == "core_share") r.core_share = c.value;
    if (name != "ticks_per_op" && name != "core_share") r.counters.emplace_back(name, c.value);
  }
  r.unstable = cv > t.unstable_cv;
  r.shared_core = r.core_share >= 0 && r.core_share < t.shared_below;
  // Above the limit is a bug to explain (limits.h, read_limit_gbps); a
  // latency-bound row is judged in L1 latencies instead.
  r.above_read_limit = f.limits.pct_read_bw > 100 && f.limits.l1_latencies < 0;
  return r;
}

Row error_row(const Spec& spec, std::string why) {
  Row r;
  r.spec = &spec;
  r.error = std::move(why);
  return r;
}

}  // namespace cachetick
