#include "harness/counter_setup.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "harness/alloc_tracker.h"
#include "harness/papi_collector.h"
#include "harness/perf_events.h"
#include "harness/pretend.h"
#include "harness/stats.h"
#include "harness/text.h"

namespace cachetick {

CounterEnvironment counter_environment() {
  CounterEnvironment env;
  env.pmu = pmu_status();
  env.perf_event_paranoid = read_line("/proc/sys/kernel/perf_event_paranoid");
  env.allocs_unavailable = alloc_hooks_unavailable();
  return env;
}

namespace {

nlohmann::json allocations_context(const CounterPlan& plan) {
  if (!plan.allocs)
    return {{"available", false},
            {"reason", plan.allocs_reason.empty() ? std::string("not requested") : plan.allocs_reason}};
  return {
      {"available", true},
      {"hooks", alloc_hooks_description()},
      {"allocs_per_op", "heap allocations inside the timed loop during Google Benchmark's "
                        "memory pass (min(16, iterations) iterations, run after the first "
                        "repetition; later repetitions skip it), divided by that pass's "
                        "iterations x ops_per_iter; set-up excluded"},
      {"alloc_bytes_per_op", "bytes requested inside that loop / the same ops"},
      {"peak_heap_bytes", "highest heap in use during the whole memory pass (set-up included) "
                          "above its level when the pass began, in usable allocation sizes"},
      {"google_benchmark_fields", "allocs_per_iter, max_bytes_used, total_allocated_bytes and "
                                  "net_heap_growth keep Google Benchmark's meaning: the whole "
                                  "memory pass, set-up and its own bookkeeping included"},
      {"timed_runs", "never counted: the hooks only count during the memory pass"}};
}

constexpr const char* kDomain =
    "the benchmark's own thread (threads a kernel starts are not counted). PAPI: user space "
    "(PAPI_DOM_USER). perf_event: user space (exclude_kernel, exclude_hv) for PMU events and "
    "page faults; context switches and task clock are counted in the kernel, where they happen "
    "(with exclude_kernel the kernel never counts a switch)";
constexpr const char* kRead =
    "once per batch: PAPI_start, and perf_event RESET + ENABLE per group, before the timed loop; "
    "PAPI_stop and perf_event DISABLE + one read per group after it; all outside the TSC window "
    "and Google Benchmark's timer. The counts include the loop's fixed entry/exit code, spread "
    "over the batch's operations. A perf_event batch whose PMU group was not counted all the "
    "time (multiplexed) is scaled by time enabled / time running, and its row carries "
    "mpx_running, the share of the batch the group was counted";

}  // namespace

CounterSession::CounterSession(const std::string& spec) {
  // Parse first: a typo must fail fast, before PAPI spends time initialising.
  const CounterRequest req = parse_counter_request(spec);
  if (req.none) {
    plan_.requested = spec;
    plan_.mode = "none";
    plan_.mode_note = "counters switched off (--counters none)";
    plan_.papi.name = "papi";
    plan_.kernel.name = "perf_event";
    plan_.papi.description = plan_.kernel.description = "not used";
  } else {
    plan_ = plan_counters(spec, papi_backend(), perf_event_backend(), counter_environment());
  }
  const std::map<std::string, double> cost = install_event_collectors();
  nlohmann::json ctx = to_json(plan_);
  ctx["domain"] = kDomain;
  ctx["read"] = kRead;
  double total = 0;
  for (const auto& [backend, us] : cost) {
    ctx["backends"][backend]["start_stop_cost_us"] = us;
    total += us;
  }
  if (!cost.empty()) ctx["start_stop_cost_us"] = total;  // per batch, both backends
  ctx["allocations"] = allocations_context(plan_);
  if (plan_.allocs) {
    // Installed last: innermost around the loop (see AllocTracker::start).
    install_collector(alloc_tracker());
    benchmark::RegisterMemoryManager(alloc_tracker().get());
    installed_ = memory_manager_ = true;
  }
  std::vector<std::string> summary = describe_plan(plan_);
  if (plan_.allocs)
    summary.push_back("allocs, bytes = heap allocations and bytes per op in the timed loop (Google "
                      "Benchmark's memory pass); peak = heap high-water per benchmark");
  ctx["summary"] = summary;
  context_ = ctx;
}

namespace {

// The backend's collector, installed with its start/stop cost in `cost`;
// one that cannot open its events loses its counters, with the reason.
template <class C>
bool install_backend(CounterPlan& plan, BackendPlan& bp, std::map<std::string, double>& cost) {
  if (bp.events.empty()) return false;
  auto c = std::make_shared<C>(plan);
  if (!c->ok()) {
    drop_backend(plan, bp, c->error());
    return false;
  }
  cost[bp.name] = c->start_stop_cost_us();
  install_collector(c);
  return true;
}

}  // namespace

// One collector per backend with events, PAPI's first.
std::map<std::string, double> CounterSession::install_event_collectors() {
  std::map<std::string, double> cost;
  installed_ |= install_backend<PapiCollector>(plan_, plan_.papi, cost);
  installed_ |= install_backend<PerfEventCollector>(plan_, plan_.kernel, cost);
  return cost;
}

CounterSession::~CounterSession() {
  if (memory_manager_) benchmark::RegisterMemoryManager(nullptr);
  if (installed_) clear_collectors();
}

void print_counter_header(const nlohmann::json& c) {
  if (!c.contains("summary")) return;
  for (const auto& line : c["summary"]) std::printf("  %s\n", line.get<std::string>().c_str());
}

AllocAnnotations annotate_allocations(std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  AllocAnnotations a;
  a.per_run.resize(runs.size());
  if (runs.empty()) return a;
  std::vector<double> allocs, bytes, peak;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto& r = runs[i];
    if (!r.memory_result) continue;
    const AllocRecord* rec = alloc_tracker()->take(r.memory_result, r.run_name.function_name);
    if (!rec) {
      // Not ours (or lost): do not let Google Benchmark read a dangling pointer.
      r.memory_result = nullptr;
      continue;
    }
    // A skipped pass has nothing to say: GB then prints no memory fields.
    r.memory_result = rec->skipped ? nullptr : &rec->result;
    if (!rec->figures.measured) continue;
    const AllocFigures& f = rec->figures;
    a.per_run[i] = {{"allocs_per_op", f.allocs_per_op},
                    {"alloc_bytes_per_op", f.bytes_per_op},
                    {"peak_heap_bytes", f.peak_bytes},
                    {"alloc_pass_iterations", f.pass_iterations}};
    allocs.push_back(f.allocs_per_op);
    bytes.push_back(f.bytes_per_op);
    peak.push_back(static_cast<double>(f.peak_bytes));
  }
  // Google Benchmark reports a benchmark's repetitions and its aggregates in
  // two calls: the medians computed from the first serve the second.
  struct Medians {
    double allocs, bytes, peak;
  };
  static std::map<std::string, Medians> medians;
  const std::string name = runs.front().run_name.function_name;
  if (!allocs.empty()) medians[name] = {median(allocs), median(bytes), median(peak)};
  auto it = medians.find(name);
  if (it == medians.end() || (allocs.empty() && runs.front().run_type !=
                                                    benchmark::BenchmarkReporter::Run::RT_Aggregate))
    return a;
  const Medians m = it->second;
  a.console = "allocs=" + sig3(m.allocs) + " bytes=" + sig3(m.bytes) +
              " peak=" + format_bytes(static_cast<std::uint64_t>(std::llround(m.peak)));
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (runs[i].run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate &&
        runs[i].aggregate_name == "median")
      a.per_run[i] = {{"allocs_per_op", m.allocs},
                      {"alloc_bytes_per_op", m.bytes},
                      {"peak_heap_bytes", m.peak}};
  return a;
}

namespace {

// The event column: the event that counts it, else every candidate tried.
std::string event_column(const CounterChoice& c) {
  if (!c.event.empty()) return c.event;
  std::string s;
  for (const Candidate& t : c.tried)
    s += (s.empty() ? "" : " | ") + (t.backend == "papi" ? t.event : t.backend + ":" + t.event);
  return s.empty() ? std::string("-") : s;
}

void print_counter_table(const CounterPlan& plan) {
  std::size_t wn = 7, we = 5;
  for (const auto& c : plan.counters) {
    wn = std::max(wn, c.name.size());
    we = std::max(we, event_column(c).size());
  }
  std::printf("%-*s  %-10s  %-11s  %-*s  %-9s  %s\n", static_cast<int>(wn), "counter", "kind",
              "backend", static_cast<int>(we), "event", "available", "why / what");
  for (const auto& c : plan.counters) {
    const CounterDef* d = find_counter(c.name);
    const std::string why = c.available ? (d ? d->what : std::string("raw PAPI event")) : c.reason;
    std::printf("%-*s  %-10s  %-11s  %-*s  %-9s  %s\n", static_cast<int>(wn), c.name.c_str(),
                to_string(c.kind), c.backend.empty() ? "-" : c.backend.c_str(),
                static_cast<int>(we), event_column(c).c_str(), c.available ? "yes" : "no",
                why.c_str());
  }
}

}  // namespace

int counters_command(const std::string& spec) {
  CounterPlan plan;
  const CounterEnvironment env = counter_environment();
  try {
    plan = plan_counters(spec, papi_backend(), perf_event_backend(), env);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cachetick counters: %s\n", e.what());
    return 2;
  }
  std::printf("PAPI: %s\n", plan.papi.description.c_str());
  std::printf("perf_event: %s\n", plan.kernel.description.c_str());
  std::printf("PMU: %s\n", env.pmu.available ? "available" : ("not available: " + env.pmu.reason).c_str());
  std::printf("perf_event_paranoid: %s\n",
              env.perf_event_paranoid.empty() ? "unreadable" : env.perf_event_paranoid.c_str());
  if (!pretended().empty()) {
    std::string list;
    for (const std::string& c : pretended()) list += (list.empty() ? "" : ",") + c;
    std::printf("pretend: CACHETICK_PRETEND=%s (injected host conditions)\n", list.c_str());
  }
  std::printf("event set: %s (%s)\n\n", plan.mode.c_str(), plan.mode_note.c_str());
  print_counter_table(plan);
  return 0;
}

}  // namespace cachetick
