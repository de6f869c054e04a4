// Counters: the request parser, the event planner (with a fake availability
// table standing in for a real PMU), and the plumbing proved with the
// events that exist on a PMU-less VM: page faults through PAPI, and
// allocations through the hooks and Google Benchmark's memory pass.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "harness/alloc_tracker.h"
#include "harness/counter_setup.h"
#include "harness/counters.h"
#include "harness/papi_collector.h"
#include "harness/probe.h"

using namespace cachetick;

namespace {

// ---------------------------------------------------------------------------
// A PAPI stand-in: which events exist, and how many hardware counters the
// "CPU" has. Software events never take a hardware counter.
class FakeBackend : public EventBackend {
 public:
  std::map<std::string, EventStatus> events;  // missing: unknown_name
  std::size_t hw_counters = 8;
  bool can_multiplex = true;
  std::string down;  // unavailable_reason
  int probes = 0;

  std::string unavailable_reason() const override { return down; }
  std::string description() const override { return "fake PAPI"; }
  EventProbe probe(const std::string& e) override {
    ++probes;
    auto it = events.find(e);
    if (it == events.end()) return {EventStatus::unknown_name, "Not supported"};
    return {it->second, it->second == EventStatus::ok ? "" : "fake says no"};
  }
  EventProbe probe_set(const std::vector<std::string>& set, bool multiplex) override {
    std::size_t hw = 0;
    for (const auto& e : set) {
      EventProbe p = probe(e);
      if (p.status != EventStatus::ok) return p;
      hw += is_software_event(e) ? 0 : 1;
    }
    if (multiplex) return can_multiplex ? EventProbe{} : EventProbe{EventStatus::failed, "no mpx"};
    return hw <= hw_counters ? EventProbe{} : EventProbe{EventStatus::conflict, "Event exists, but cannot be counted"};
  }
};

// A real machine: every preset and software event exists.
FakeBackend real_machine() {
  FakeBackend b;
  for (const char* e : {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM", "PAPI_L2_DCM", "PAPI_L2_TCM",
                        "PAPI_L3_TCM", "PAPI_BR_MSP", "PAPI_TLB_DM", "perf::CYCLES",
                        "perf::INSTRUCTIONS", "perf::PAGE-FAULTS", "perf::CONTEXT-SWITCHES",
                        "perf::LLC-LOAD-MISSES"})
    b.events[e] = EventStatus::ok;
  return b;
}

// Our VMs: hardware events are known names that cannot be counted.
FakeBackend pmu_less_vm() {
  FakeBackend b = real_machine();
  for (auto& [name, st] : b.events)
    if (!is_software_event(name)) st = EventStatus::no_such_event;
  return b;
}

CounterEnvironment env_with_pmu(bool pmu) {
  CounterEnvironment env;
  env.pmu.available = pmu;
  env.pmu.reason = pmu ? "perf_event_open(cycles) succeeded"
                       : "no hardware PMU exposed to this system (virtualised without PMU passthrough?)";
  env.perf_event_paranoid = "2";
  return env;
}

std::string event_of(const CounterPlan& p, const std::string& name) {
  const CounterChoice* c = p.find(name);
  return c && c->available ? c->event : "";
}

}  // namespace

// ---------------------------------------------------------------------------
TEST(CounterRequest, ParsesFriendlyRawAutoAndNone) {
  auto r = parse_counter_request("cycles, l1d-misses,PAPI_L2_TCM,perf::PAGE-FAULTS");
  EXPECT_FALSE(r.automatic);
  EXPECT_EQ(r.names, (std::vector<std::string>{"cycles", "l1d-misses", "PAPI_L2_TCM", "perf::PAGE-FAULTS"}));
  EXPECT_TRUE(parse_counter_request("auto").automatic);
  EXPECT_TRUE(parse_counter_request("none").none);
  auto both = parse_counter_request("auto,PAPI_L2_TCM");
  EXPECT_TRUE(both.automatic);
  EXPECT_EQ(both.names, std::vector<std::string>{"PAPI_L2_TCM"});
  EXPECT_EQ(parse_counter_request("cycles,cycles").names.size(), 1u);
}

TEST(CounterRequest, UnknownNamesListTheValidOnes) {
  for (const char* bad : {"cycle", "L1-misses", "bogus,cycles"}) {
    try {
      parse_counter_request(bad);
      FAIL() << bad;
    } catch (const std::invalid_argument& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("unknown counter"), std::string::npos) << m;
      for (const char* n : {"cycles", "llc-misses", "page-faults", "auto", "none"})
        EXPECT_NE(m.find(n), std::string::npos) << n;
    }
  }
  EXPECT_THROW(parse_counter_request(""), std::invalid_argument);
  EXPECT_THROW(parse_counter_request("cycles,,ipc"), std::invalid_argument);
  EXPECT_THROW(parse_counter_request("none,cycles"), std::invalid_argument);
}

TEST(CounterRequest, RawAndSoftwareEventNames) {
  EXPECT_TRUE(is_raw_event_name("PAPI_TOT_CYC"));
  EXPECT_TRUE(is_raw_event_name("icl::INST_RETIRED:ANY"));
  EXPECT_FALSE(is_raw_event_name("cycles"));
  EXPECT_TRUE(is_software_event("perf::PAGE-FAULTS"));
  EXPECT_TRUE(is_software_event("perf::CONTEXT-SWITCHES:u=1"));
  EXPECT_TRUE(is_software_event("perf::PERF_COUNT_SW_TASK_CLOCK"));
  EXPECT_FALSE(is_software_event("perf::CYCLES"));
  EXPECT_FALSE(is_software_event("PAPI_L1_DCM"));
}

// ---------------------------------------------------------------------------
TEST(CounterPlan, RealMachineUsesThePresets) {
  FakeBackend b = real_machine();
  CounterPlan p = plan_counters("auto", b, env_with_pmu(true));
  EXPECT_EQ(event_of(p, "cycles"), "PAPI_TOT_CYC");
  EXPECT_EQ(event_of(p, "instructions"), "PAPI_TOT_INS");
  EXPECT_EQ(event_of(p, "l1d-misses"), "PAPI_L1_DCM");
  EXPECT_EQ(event_of(p, "l2-misses"), "PAPI_L2_DCM");
  EXPECT_EQ(event_of(p, "llc-misses"), "PAPI_L3_TCM");
  EXPECT_EQ(event_of(p, "branch-misses"), "PAPI_BR_MSP");
  EXPECT_EQ(event_of(p, "dtlb-misses"), "PAPI_TLB_DM");
  EXPECT_EQ(event_of(p, "page-faults"), "perf::PAGE-FAULTS");
  EXPECT_TRUE(p.find("ipc")->available);
  EXPECT_EQ(p.mode, "direct");
  EXPECT_FALSE(p.multiplexed);
  EXPECT_EQ(p.events.size(), 9u);  // 7 hardware + 2 software, ipc derived
}

TEST(CounterPlan, FallsBackToTheNextCandidate) {
  FakeBackend b = real_machine();
  b.events.erase("PAPI_L3_TCM");
  b.events["PAPI_L2_DCM"] = EventStatus::no_such_event;
  b.events["PAPI_TOT_CYC"] = EventStatus::no_such_event;
  CounterPlan p = plan_counters("cycles,l2-misses,llc-misses", b, env_with_pmu(true));
  EXPECT_EQ(event_of(p, "cycles"), "perf::CYCLES");
  EXPECT_EQ(event_of(p, "l2-misses"), "PAPI_L2_TCM");
  EXPECT_EQ(event_of(p, "llc-misses"), "perf::LLC-LOAD-MISSES");
}

TEST(CounterPlan, PmuLessVmExplainsAndKeepsSoftwareEvents) {
  FakeBackend b = pmu_less_vm();
  CounterPlan p = plan_counters("auto", b, env_with_pmu(false));
  for (const char* hw : {"cycles", "instructions", "l1d-misses", "l2-misses", "llc-misses",
                         "branch-misses", "dtlb-misses"}) {
    const CounterChoice* c = p.find(hw);
    ASSERT_TRUE(c) << hw;
    EXPECT_FALSE(c->available) << hw;
    EXPECT_NE(c->reason.find("no hardware PMU"), std::string::npos) << c->reason;
  }
  EXPECT_FALSE(p.find("ipc")->available);
  EXPECT_TRUE(p.find("page-faults")->available);
  EXPECT_TRUE(p.find("context-switches")->available);
  EXPECT_EQ(p.events, (std::vector<std::string>{"perf::PAGE-FAULTS", "perf::CONTEXT-SWITCHES"}));
  // The console groups counters missing for one reason on one line.
  auto lines = describe_plan(p);
  int pmu_lines = 0;
  for (const auto& l : lines) pmu_lines += l.find("no hardware PMU") != std::string::npos;
  EXPECT_EQ(pmu_lines, 1);
}

TEST(CounterPlan, ParanoidIsNamedAsTheReason) {
  FakeBackend b = real_machine();
  b.events["PAPI_TOT_CYC"] = EventStatus::not_permitted;
  b.events["perf::CYCLES"] = EventStatus::not_permitted;
  CounterEnvironment env = env_with_pmu(true);
  env.perf_event_paranoid = "3";
  CounterPlan p = plan_counters("cycles", b, env);
  EXPECT_FALSE(p.find("cycles")->available);
  EXPECT_NE(p.find("cycles")->reason.find("perf_event_paranoid=3"), std::string::npos);
}

TEST(CounterPlan, PapiMissingMakesEveryEventUnavailableButAllocsStay) {
  FakeBackend b = real_machine();
  b.down = "cachetick was built without PAPI";
  CounterPlan p = plan_counters("auto", b, env_with_pmu(true));
  EXPECT_TRUE(p.events.empty());
  for (const auto& c : p.counters) {
    if (c.kind == EventKind::allocation) {
      EXPECT_TRUE(c.available);
    } else {
      EXPECT_FALSE(c.available) << c.name;
      if (c.kind != EventKind::derived) {
        EXPECT_EQ(c.reason, b.down);
      }
    }
  }
  EXPECT_EQ(b.probes, 0);  // nothing was asked of a backend that is down
}

TEST(CounterPlan, TooManyExplicitEventsAreMultiplexed) {
  FakeBackend b = real_machine();
  b.hw_counters = 4;
  CounterPlan p = plan_counters("cycles,instructions,l1d-misses,l2-misses,llc-misses,branch-misses", b,
                                env_with_pmu(true));
  EXPECT_TRUE(p.multiplexed);
  EXPECT_EQ(p.mode, "multiplexed");
  EXPECT_NE(p.mode_note.find("scaled"), std::string::npos);
  EXPECT_EQ(p.available().size(), 6u);
}

TEST(CounterPlan, AutoStaysExactAndSaysWhatItLeftOut) {
  FakeBackend b = real_machine();
  b.hw_counters = 4;
  CounterPlan p = plan_counters("auto", b, env_with_pmu(true));
  EXPECT_FALSE(p.multiplexed);
  // Catalogue order: cycles, instructions, l1d, l2 fit; llc, branch, dtlb do not.
  EXPECT_TRUE(p.find("cycles")->available);
  EXPECT_TRUE(p.find("l2-misses")->available);
  EXPECT_TRUE(p.find("ipc")->available);
  for (const char* left : {"llc-misses", "branch-misses", "dtlb-misses"}) {
    EXPECT_FALSE(p.find(left)->available) << left;
    EXPECT_NE(p.find(left)->reason.find("too many events"), std::string::npos);
  }
  EXPECT_TRUE(p.find("page-faults")->available);  // software: no counter needed
}

TEST(CounterPlan, WithoutMultiplexingExplicitEventsThatDoNotFitAreDropped) {
  FakeBackend b = real_machine();
  b.hw_counters = 2;
  b.can_multiplex = false;
  CounterPlan p = plan_counters("cycles,instructions,l1d-misses", b, env_with_pmu(true));
  EXPECT_FALSE(p.multiplexed);
  EXPECT_TRUE(p.find("cycles")->available);
  EXPECT_TRUE(p.find("instructions")->available);
  EXPECT_FALSE(p.find("l1d-misses")->available);
  EXPECT_NE(p.find("l1d-misses")->reason.find("cannot multiplex"), std::string::npos);
}

TEST(CounterPlan, IpcBringsItsInputsAndRawNamesWork) {
  FakeBackend b = real_machine();
  CounterPlan p = plan_counters("ipc,PAPI_L2_TCM", b, env_with_pmu(true));
  EXPECT_TRUE(p.find("ipc")->available);
  EXPECT_TRUE(p.find("cycles") && p.find("instructions"));
  EXPECT_EQ(event_of(p, "PAPI_L2_TCM"), "PAPI_L2_TCM");
  // A raw name PAPI does not know is a typo: exit 2, not a silent n/a.
  EXPECT_THROW(plan_counters("PAPI_TOT_CYK", b, env_with_pmu(true)), std::invalid_argument);
  // A known raw event this CPU cannot count is merely unavailable.
  b.events["PAPI_L2_TCM"] = EventStatus::no_such_event;
  CounterPlan q = plan_counters("PAPI_L2_TCM", b, env_with_pmu(true));
  EXPECT_FALSE(q.find("PAPI_L2_TCM")->available);
}

TEST(CounterPlan, AllocsFollowTheHooks) {
  FakeBackend b = real_machine();
  CounterEnvironment env = env_with_pmu(true);
  EXPECT_TRUE(plan_counters("allocs", b, env).allocs);
  env.allocs_unavailable = "hooks not linked";
  CounterPlan p = plan_counters("allocs", b, env);
  EXPECT_FALSE(p.allocs);
  EXPECT_EQ(p.find("allocs")->reason, "hooks not linked");
  EXPECT_FALSE(plan_counters("cycles", b, env_with_pmu(true)).allocs);
}

// ---------------------------------------------------------------------------
// Plumbing through Google Benchmark: runs registered benchmarks and keeps
// every run, with the allocation figures the reporter would attach.
namespace {

struct Captured {
  benchmark::BenchmarkReporter::Run run;
  nlohmann::json allocs;
};

class Capture : public benchmark::BenchmarkReporter {
 public:
  std::vector<Captured> runs;
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& in) override {
    std::vector<Run> r = in;
    AllocAnnotations a = annotate_allocations(r);
    for (std::size_t i = 0; i < r.size(); ++i) runs.push_back({r[i], a.per_run[i]});
  }
};

std::vector<Captured> run_all() {
  Capture c;
  benchmark::RunSpecifiedBenchmarks(&c);
  benchmark::ClearRegisteredBenchmarks();
  return c.runs;
}

// Counts what the probe asks of a collector, and reports the ops it saw.
struct SpyCollector : Collector {
  std::vector<double> reported_ops;
  void start() override {}
  void stop() override {}
  void report(benchmark::State& st, double ops) override {
    reported_ops.push_back(ops);
    st.counters["spy_ops"] = ops;
  }
};

template <class Body>
void run_probe(benchmark::State& st, double ops_per_iter, Body body) {
  Probe p("test");
  p.run(st, body);
  p.report(st, ops_per_iter);
}

constexpr std::size_t kPage = 4096;

void touch_fresh_pages(std::size_t pages) {
  void* m = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  madvise(m, pages * kPage, MADV_NOHUGEPAGE);
  auto* b = static_cast<volatile char*>(m);
  for (std::size_t i = 0; i < pages; ++i) b[i * kPage] = 1;
  munmap(m, pages * kPage);
}

}  // namespace

TEST(PapiCollector, FreshPagesReadAboutOnePageFaultEach) {
  CounterPlan plan = plan_counters("page-faults", papi_backend(), counter_environment());
  if (!plan.find("page-faults")->available)
    GTEST_SKIP() << "page-faults not countable here: " << plan.find("page-faults")->reason;
  auto papi = std::make_shared<PapiCollector>(plan);
  ASSERT_TRUE(papi->ok()) << papi->error();
  install_collector(papi);
  constexpr std::size_t kPages = 256;
  benchmark::RegisterBenchmark("fresh_pages", [](benchmark::State& st) {
    run_probe(st, kPages, [] { touch_fresh_pages(kPages); });
  })->Iterations(20);
  auto runs = run_all();
  clear_collectors();
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0].run;
  ASSERT_FALSE(r.error_occurred) << r.error_message;
  ASSERT_TRUE(r.counters.count("page-faults"));
  // 20 x 256 first touches; the probe's own entry/exit may add a stray fault.
  EXPECT_NEAR(r.counters.at("page-faults").value, 1.0, 0.05);
  EXPECT_FALSE(r.counters.count("cycles"));  // never a fake zero
}

TEST(PapiCollector, PausedBatchesReportNothing) {
  CounterPlan plan = plan_counters("page-faults", papi_backend(), counter_environment());
  if (!plan.find("page-faults")->available) GTEST_SKIP() << plan.find("page-faults")->reason;
  auto papi = std::make_shared<PapiCollector>(plan);
  install_collector(papi);
  benchmark::RegisterBenchmark("paused", [](benchmark::State& st) {
    Probe p("paused");
    {
      PauseCollectors off;
      p.run(st, [] { touch_fresh_pages(4); });
    }
    p.report(st, 4);  // the pause is over by now, as in a real benchmark
  })->Iterations(3);
  auto runs = run_all();
  clear_collectors();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].run.error_occurred) << runs[0].run.error_message;
  EXPECT_FALSE(runs[0].run.counters.count("page-faults"));
}

// ---------------------------------------------------------------------------
namespace {

// Installs the allocation tracker as Google Benchmark's memory manager and
// as a collector, as `cachetick run` does.
struct AllocScope {
  explicit AllocScope(std::shared_ptr<Collector> extra = nullptr) {
    if (extra) install_collector(extra);
    install_collector(alloc_tracker());
    benchmark::RegisterMemoryManager(alloc_tracker().get());
  }
  ~AllocScope() {
    benchmark::RegisterMemoryManager(nullptr);
    clear_collectors();
  }
};

struct Obj {
  std::uint64_t v[6];  // 48 bytes
};

}  // namespace

TEST(AllocTracker, HooksAreLinkedIntoTheTests) {
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_NE(alloc_hooks_unavailable().find("sanitizer"), std::string::npos);
#else
  EXPECT_EQ(alloc_hooks_unavailable(), "");
#endif
}

TEST(AllocTracker, CountsKAllocationsPerOpAndZeroForNone) {
  if (!alloc_hooks_unavailable().empty()) GTEST_SKIP() << alloc_hooks_unavailable();
  AllocScope scope;
  constexpr int k = 3;
  // One op = one iteration here: k objects made and freed per op.
  benchmark::RegisterBenchmark("k_news", [](benchmark::State& st) {
    run_probe(st, 1, [] {
      for (int i = 0; i < k; ++i) {
        Obj* o = new Obj;
        benchmark::DoNotOptimize(+o);  // a copy: the lvalue form can clobber it
        delete o;
      }
    });
  })->Iterations(100);
  benchmark::RegisterBenchmark("k_mallocs", [](benchmark::State& st) {
    run_probe(st, 1, [] {
      for (int i = 0; i < k; ++i) {
        void* m = std::malloc(100);
        benchmark::DoNotOptimize(+m);  // a copy: the lvalue form can clobber it
        std::free(m);
      }
    });
  })->Iterations(100);
  benchmark::RegisterBenchmark("none", [](benchmark::State& st) {
    std::vector<int> setup(1 << 16, 1);  // set-up allocates 256 KiB: not per op
    run_probe(st, 1, [&] { benchmark::DoNotOptimize(setup.data()); });
  })->Iterations(100);
  auto runs = run_all();
  ASSERT_EQ(runs.size(), 3u);
  std::map<std::string, nlohmann::json> by;
  for (auto& c : runs) by[c.run.run_name.function_name] = c.allocs;
  ASSERT_FALSE(by["k_news"].empty());
  EXPECT_DOUBLE_EQ(by["k_news"]["allocs_per_op"].get<double>(), k);
  EXPECT_DOUBLE_EQ(by["k_news"]["alloc_bytes_per_op"].get<double>(), k * sizeof(Obj));
  EXPECT_EQ(by["k_news"]["alloc_pass_iterations"].get<int>(), 16);
  EXPECT_DOUBLE_EQ(by["k_mallocs"]["allocs_per_op"].get<double>(), k);
  EXPECT_DOUBLE_EQ(by["k_mallocs"]["alloc_bytes_per_op"].get<double>(), k * 100.0);
  EXPECT_DOUBLE_EQ(by["none"]["allocs_per_op"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(by["none"]["alloc_bytes_per_op"].get<double>(), 0.0);
  // The set-up's vector is the benchmark's heap footprint.
  EXPECT_GE(by["none"]["peak_heap_bytes"].get<std::int64_t>(), (1 << 16) * 4);
}

// The memory pass runs the benchmark again (16 iterations) with the same
// collectors: the timed run's counters must be the timed run's own.
TEST(AllocTracker, MemoryPassLeavesTheTimedCountersAlone) {
  if (!alloc_hooks_unavailable().empty()) GTEST_SKIP() << alloc_hooks_unavailable();
  auto spy = std::make_shared<SpyCollector>();
  AllocScope scope(spy);
  benchmark::RegisterBenchmark("spied", [](benchmark::State& st) {
    run_probe(st, 10, [] {
      Obj* o = new Obj;
      benchmark::DoNotOptimize(+o);  // a copy: the lvalue form can clobber it
      delete o;
    });
  })->Iterations(40)->Repetitions(3);
  auto runs = run_all();
  int reps = 0;
  for (auto& c : runs) {
    if (c.run.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) continue;
    ++reps;
    EXPECT_EQ(c.run.iterations, 40);
    EXPECT_DOUBLE_EQ(c.run.counters.at("spy_ops").value, 400.0);  // not the pass's 160
    ASSERT_FALSE(c.allocs.empty()) << "repetition " << c.run.repetition_index;
    EXPECT_DOUBLE_EQ(c.allocs["allocs_per_op"].get<double>(), 0.1);  // 1 per 10-op iteration
    // GB's own fields come from the tracker's stable copy, never a dangling one.
    ASSERT_NE(c.run.memory_result, nullptr);
    EXPECT_GE(c.run.memory_result->num_allocs, 16);
  }
  EXPECT_EQ(reps, 3);
  // Each repetition: one timed batch (400 ops) and one memory pass (160).
  std::multiset<double> seen(spy->reported_ops.begin(), spy->reported_ops.end());
  EXPECT_EQ(seen.count(400.0), 3u);
  EXPECT_EQ(seen.count(160.0), 3u);
}

// `cachetick run` keeps only the first repetition's memory pass.
TEST(AllocTracker, LaterRepetitionsSkipTheMemoryPass) {
  if (!alloc_hooks_unavailable().empty()) GTEST_SKIP() << alloc_hooks_unavailable();
  auto spy = std::make_shared<SpyCollector>();
  AllocScope scope(spy);
  static int setups = 0;
  setups = 0;
  benchmark::RegisterBenchmark("skipping", [](benchmark::State& st) {
    if (alloc_tracker()->skip_pass("skipping")) {  // as run.cpp does
      st.SkipWithError("not needed");
      return;
    }
    ++setups;
    run_probe(st, 1, [] {
      void* m = std::malloc(8);
      benchmark::DoNotOptimize(+m);  // a copy: the lvalue form can clobber it
      std::free(m);
    });
  })->Iterations(20)->Repetitions(3);
  auto runs = run_all();
  int with_allocs = 0, reps = 0;
  for (auto& c : runs) {
    if (c.run.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) {
      if (c.run.aggregate_name == "median") {
        EXPECT_FALSE(c.allocs.empty());
      }
      continue;
    }
    ++reps;
    EXPECT_FALSE(c.run.error_occurred) << c.run.error_message;  // the timed runs are untouched
    if (!c.allocs.empty()) {
      ++with_allocs;
      EXPECT_EQ(c.run.repetition_index, 0);
      EXPECT_DOUBLE_EQ(c.allocs["allocs_per_op"].get<double>(), 1.0);
    } else {
      EXPECT_EQ(c.run.memory_result, nullptr);
    }
  }
  EXPECT_EQ(reps, 3);
  EXPECT_EQ(with_allocs, 1);
  EXPECT_EQ(setups, 3 + 1);  // three timed runs, one memory pass
}

TEST(CounterSession, NoneInstallsNothingAndUnknownThrows) {
  EXPECT_THROW(CounterSession("cycels"), std::invalid_argument);
  CounterSession s("none");
  EXPECT_EQ(s.plan().mode, "none");
  EXPECT_FALSE(s.plan().allocs);
  EXPECT_EQ(s.context()["allocations"]["available"], false);
}
