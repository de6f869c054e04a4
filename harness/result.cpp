#include "harness/result.h"

#include <set>

#include "harness/atomic_file.h"

namespace cachetick {

namespace {

nlohmann::json nullable(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

template <class T>
nlohmann::json nullable(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json caches_json(const HostCaches& hc) {
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : hc.levels)
    caches.push_back({{"level", c.level}, {"type", c.type}, {"size_bytes", c.size_bytes},
                      {"size", format_bytes(c.size_bytes)}, {"line_bytes", c.line_bytes},
                      {"ways", c.ways}, {"shared_cpu_list", c.shared_cpu_list}});
  return caches;
}

nlohmann::json tsc_json(const TscInfo& t) {
  return {{"hz", t.hz}, {"ghz", t.hz / 1e9}, {"source", t.source},
          {"measured_hz", t.measured_hz}, {"invariant", t.invariant},
          {"unit", t.unit},
          {"end_read", {{"instructions", t.end_read.instructions}, {"why", t.end_read.why}}},
          {"begin_read", "lfence; rdtsc; lfence"},
          {"note", "TSC ticks count at a constant rate; they are not core cycles"}};
}

}  // namespace

const nlohmann::json* RunContext::find(const std::string& key) const {
  for (const auto& [k, v] : attached)
    if (k == key) return &v;
  return nullptr;
}

nlohmann::json to_json(const Machine& m) {
  return {{"cpu_model", m.cpu_model},
          {"logical_cpus", m.logical_cpus},
          {"caches", caches_json(m.caches)},
          {"caches_source", m.caches.source},
          {"tsc", tsc_json(m.tsc)},
          {"kernel", m.kernel},
          {"arch", m.arch},
          {"host", m.host},
          {"pmu", {{"available", m.pmu.available}, {"reason", m.pmu.reason},
                   {"perf_event_paranoid", nullable(m.perf_event_paranoid)}}},
          {"pretend", m.pretend},
          {"governor", nullable(m.governor)},
          {"turbo", nullable(m.turbo)},
          {"hypervisor", m.hypervisor}};
}

nlohmann::json to_json(const Build& b) {
  nlohmann::json j = {{"cachetick_version", b.cachetick_version},
                      {"compiler", b.compiler},
                      {"build_type", b.build_type},
                      {"cxx_flags", b.cxx_flags},
                      {"google_benchmark_version", b.google_benchmark_version},
                      {"git_commit", nullable(b.git_commit)},
                      {"git_note", "commit of the source tree when the run started"}};
  if (!b.git_commit.empty()) j["git_dirty"] = b.git_dirty;
  return j;
}

nlohmann::json to_json(const RecordedOptions& o) {
  return {{"filter", o.filter},
          {"families", o.families},
          {"quick", o.quick},
          {"repetitions", o.repetitions},
          {"min_time_s", nullable(o.min_time_s)},
          {"budget_ns", nullable(o.budget_ns)},
          {"passthrough", o.passthrough},
          {"sim_cache", nullable(o.sim_cache)},
          {"command_line", o.command_line}};
}

nlohmann::json to_json(const RunContext& c) {
  nlohmann::json j = {{"backend", c.backend},
                      {"machine", to_json(c.machine)},
                      {"build", to_json(c.build)},
                      {"options", to_json(c.options)},
                      {"notes", c.notes},
                      {"units", c.units}};
  for (const auto& [k, v] : c.attached) j[k] = v;
  return j;
}

Summary summarise(const std::vector<Row>& rows) {
  Summary s;
  std::set<std::string> names;
  for (const Row& r : rows) {
    const std::string name = r.spec->name();
    names.insert(name);
    if (!r.error.empty()) {
      ++s.errors;
      continue;
    }
    if (!r.time) continue;  // a sim row: counts, not judged here
    ++s.judged;
    if (r.time->within_budget) ++s.within_budget;
    else s.over_budget_rows.push_back(name);
    if (r.unstable) ++s.unstable;
    if (r.shared_core) s.shared_core_rows.push_back(name);
    if (r.above_read_limit) s.above_read_limit_rows.push_back(name);
  }
  s.benchmarks_done = names.size();
  return s;
}

nlohmann::json to_json(const Summary& s) {
  return {{"judged", s.judged},
          {"within_budget", s.within_budget},
          {"over_budget", s.judged - s.within_budget},
          {"errors", s.errors},
          {"unstable", s.unstable},
          {"shared_core", s.shared_core_rows.size()},
          {"shared_core_rows", s.shared_core_rows},
          {"benchmarks_done", s.benchmarks_done}};
}

nlohmann::json entry_block(const Spec& s, const std::string& backend) {
  nlohmann::json ct = {{"family", s.family},       {"variant", s.variant},
                       {"role", to_string(s.role)}, {"workload", s.workload},
                       {"size", s.size},           {"size_label", s.size_label},
                       {"working_set_bytes", s.working_set_bytes},
                       {"op", s.op},               {"ops_per_iter", s.ops_per_iter},
                       {"backend", backend}};
  if (s.bytes_per_op > 0) ct["bytes_per_op"] = s.bytes_per_op;
  return ct;
}

void add_figures(nlohmann::json& ct, const TimeFigures& f, bool with_verdict) {
  ct["ns_per_op"] = f.ns_per_op;
  if (f.ticks_per_op >= 0) ct["ticks_per_op"] = f.ticks_per_op;
  if (f.gb_per_s >= 0) ct["useful_gb_per_s"] = f.gb_per_s;
  const RowLimits& l = f.limits;
  if (l.est_cycles_per_op >= 0) ct["est_core_cycles_per_op"] = l.est_cycles_per_op;
  if (l.l1_latencies >= 0) ct["l1_latencies_per_op"] = l.l1_latencies;
  if (l.pct_read_bw >= 0) ct["pct_of_read_bandwidth"] = l.pct_read_bw;
  if (with_verdict) {
    ct["budget_ns"] = f.budget_ns;
    ct["verdict"] = f.within_budget ? "within" : "over";
  }
}

ResultDocument::ResultDocument(RunContext context, std::string out_path)
    : context_(std::move(context)), out_(std::move(out_path)), gb_context_(nlohmann::json::object()) {}

void ResultDocument::set_gb_context(nlohmann::json gb_context) {
  if (gb_context_.empty()) gb_context_ = std::move(gb_context);
}

void ResultDocument::add_entry(nlohmann::json entry) { entries_.push_back(std::move(entry)); }

void ResultDocument::add_row(Row row) { rows_.push_back(std::move(row)); }

void ResultDocument::add_group(nlohmann::json group) { groups_.push_back(std::move(group)); }

nlohmann::json ResultDocument::to_json(bool complete) const {
  nlohmann::json ct = cachetick::to_json(context_);
  ct["complete"] = complete;
  ct["summary"] = cachetick::to_json(summary());
  if (context_.backend == "time") ct["groups"] = groups_;
  return {{"context", gb_context_}, {"benchmarks", entries_}, {"cachetick", ct}};
}

void ResultDocument::write(bool complete) const {
  if (!out_.empty()) write_file_atomic(out_, to_json(complete).dump(2) + "\n");
}

}  // namespace cachetick
