#include "harness/figures.h"

#include <cmath>
#include <stdexcept>

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
    // preempted: a count per batch, used by the paired rounds (preemption.h)
    if (name != "ticks_per_op" && name != "core_share" && name != "preempted") r.counters.emplace_back(name, c.value);
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

namespace {

// JSON has no NaN (nlohmann writes null): read it back as NaN.
double num(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

nlohmann::json time_json(const TimeFigures& f) {
  const RowLimits& l = f.limits;
  return {{"ns_per_op", f.ns_per_op}, {"ticks_per_op", f.ticks_per_op}, {"gb_per_s", f.gb_per_s},
          {"budget_ns", f.budget_ns}, {"within_budget", f.within_budget},
          {"limits", {l.est_cycles_per_op, l.l1_latencies, l.pct_read_bw, l.read_gbps_at_ws}}};
}

TimeFigures time_from(const nlohmann::json& j) {
  TimeFigures f;
  f.ns_per_op = num(j.at("ns_per_op"));
  f.ticks_per_op = num(j.at("ticks_per_op"));
  f.gb_per_s = num(j.at("gb_per_s"));
  f.budget_ns = num(j.at("budget_ns"));
  f.within_budget = j.at("within_budget");
  const auto& l = j.at("limits");
  f.limits = {num(l.at(0)), num(l.at(1)), num(l.at(2)), num(l.at(3))};
  return f;
}

}  // namespace

nlohmann::json row_to_json(const Row& r) {
  nlohmann::json j = {{"name", r.spec->name()}, {"error", r.error}, {"cv", r.cv},
                      {"core_share", r.core_share}, {"counters", r.counters}, {"allocs", r.allocs},
                      {"unstable", r.unstable}, {"shared_core", r.shared_core},
                      {"above_read_limit", r.above_read_limit}};
  j["time"] = r.time ? time_json(*r.time) : nlohmann::json(nullptr);
  j["paired"] = r.paired ? to_json(*r.paired) : nlohmann::json(nullptr);
  return j;
}

Row row_from_json(const nlohmann::json& j) {
  const std::string name = j.at("name");
  const Entry* e = find(name);
  if (!e) throw std::runtime_error("a row for an unknown benchmark '" + name + "'");
  Row r;
  r.spec = &e->spec;
  r.error = j.at("error");
  r.cv = num(j.at("cv"));
  r.core_share = num(j.at("core_share"));
  for (const auto& c : j.at("counters")) r.counters.emplace_back(c.at(0).get<std::string>(), num(c.at(1)));
  r.allocs = j.at("allocs");
  r.unstable = j.at("unstable");
  r.shared_core = j.at("shared_core");
  r.above_read_limit = j.at("above_read_limit");
  if (j.at("time").is_object()) r.time = time_from(j.at("time"));
  if (j.at("paired").is_object()) r.paired = paired_from_json(j.at("paired"));
  return r;
}

}  // namespace cachetick
