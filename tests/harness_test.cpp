// The harness's own logic: selection, units, files, probe and collectors.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "harness/atomic_file.h"
#include "harness/context.h"
#include "harness/gb_runs.h"
#include "harness/core_share.h"
#include "harness/pretend.h"
#include "harness/probe.h"
#include "harness/registry.h"
#include "harness/console.h"
#include "harness/reporter.h"
#include "harness/result.h"
#include "harness/run.h"
#include "harness/stats.h"
#include "harness/text.h"
#include "harness/tsc.h"
#include "tests/temp_dir.h"

using namespace cachetick;
namespace fs = std::filesystem;
using cachetick_test::TempDir;

namespace {

void noop(benchmark::State&, Probe&) {}

Spec spec(const char* fam, const char* var, const char* wl, const char* size, std::uint64_t ws) {
  Spec s;
  s.family = fam;
  s.variant = var;
  s.workload = wl;
  s.size_label = size;
  s.working_set_bytes = ws;
  s.op = "op";
  s.ops_per_iter = 100;
  return s;
}

// A small registry of fake benchmarks, registered once for this binary.
struct FakeFamilies {
  FakeFamilies() {
    add_family("tfa", "test family a");
    add_family("tfb", "test family b");
    add(spec("tfa", "x", "hit", "4KiB", 4 << 10), noop);
    add(spec("tfa", "y", "miss", "64MiB", 64 << 20), noop);
    add(spec("tfb", "x", "hit", "4KiB", 4 << 10), noop);
  }
};
const FakeFamilies fakes;

}  // namespace

TEST(Select, ByFamilyAndRegex) {
  RunOptions o;
  o.families = {"tfa"};
  o.large = true;
  EXPECT_EQ(select(o).size(), 2u);
  o.filter = "/hit/";
  auto v = select(o);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]->spec.name(), "tfa/x/hit/4KiB");
}

TEST(Select, DefaultSkipsDramScaleGroupsLargeKeepsThem) {
  RunOptions o;
  o.families = {"tfa"};
  auto v = select(o);  // tfa/y/miss/64MiB is above the default 16 MiB cut
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]->spec.variant, "x");
  o.filter = "miss";  // only the large one: the error says how to get it
  try {
    select(o);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--large"), std::string::npos);
  }
  o.large = true;
  EXPECT_EQ(select(o).size(), 1u);
  o.backend = "sim";  // the sim backend runs what it is asked
  o.large = false;
  EXPECT_EQ(select(o).size(), 1u);
}

TEST(Select, QuickSkipsLargeWorkingSets) {
  RunOptions o;
  o.families = {"tfa"};
  o.quick = true;
  auto v = select(o);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]->spec.variant, "x");
  o.filter = "miss";  // only a large one: quick must say why nothing is left
  try {
    select(o);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--quick"), std::string::npos);
  }
}

TEST(Select, ErrorsAreClear) {
  RunOptions o;
  o.families = {"nope"};
  try {
    select(o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown family 'nope'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("tfa"), std::string::npos);  // lists the known ones
  }
  o.families.clear();
  o.filter = "([";
  EXPECT_THROW(select(o), std::invalid_argument);
  o.filter = "matches-nothing-at-all";
  EXPECT_THROW(select(o), std::invalid_argument);
}

TEST(Registry, DuplicateNameAborts) {
  EXPECT_DEATH(add(spec("tfa", "x", "hit", "4KiB", 1), noop), "registered twice");
}

TEST(Registry, IncompleteSpecAborts) {
  Spec s = spec("tfa", "z", "w", "1", 1);
  s.ops_per_iter = 0;
  EXPECT_DEATH(add(s, noop), "incomplete");
}

TEST(Units, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0B");
  EXPECT_EQ(format_bytes(16 << 10), "16KiB");
  EXPECT_EQ(format_bytes(256ull << 20), "256MiB");
  EXPECT_EQ(format_bytes(1536), "1.5KiB");
  EXPECT_EQ(format_bytes(3ull << 30), "3GiB");
  EXPECT_EQ(format_bytes(1372), "1.34KiB");
  EXPECT_EQ(format_bytes(1000 * 1024 + 512), "1000KiB");  // not %.3g's "1e+03KiB"
}

TEST(Units, ThreeSignificantDigits) {
  EXPECT_EQ(sig3(3123.4), "3123");
  EXPECT_EQ(sig3(312.34), "312");
  EXPECT_EQ(sig3(31.234), "31.2");
  EXPECT_EQ(sig3(3.1234), "3.12");
  EXPECT_EQ(sig3(0.31234), "0.312");
  EXPECT_EQ(sig3(0.031234), "0.0312");
  EXPECT_EQ(sig3(-3.1234), "-3.12");
  EXPECT_EQ(sig3(0), "0");
  EXPECT_EQ(sig3(std::numeric_limits<double>::quiet_NaN()), "-");  // not measured
  EXPECT_EQ(sig3(std::numeric_limits<double>::infinity()), "-");
}

TEST(Stats, Median) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({7}), 7);
  // Empty: no value, and no read past the end (ASan would say so).
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(Text, ReadLineAndCommandOutput) {
  EXPECT_EQ(read_line("/nonexistent/file"), "");
  const TempDir tmp;
  const fs::path d = tmp.path;
  std::ofstream(d / "f") << "first line  \nsecond\n";
  EXPECT_EQ(read_line((d / "f").string()), "first line");
  int status = -1;
  EXPECT_EQ(command_output("printf 'a b\\n\\n'", &status), "a b");
  EXPECT_EQ(status, 0);
  command_output("exit 3", &status);
  EXPECT_NE(status, 0);
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
}

TEST(Context, ParsesSysfsCacheLayout) {
  const TempDir tmp;
  const fs::path d = tmp.path / "cache";
  auto put = [&](int idx, const char* file, const char* v) {
    fs::create_directories(d / ("index" + std::to_string(idx)));
    std::ofstream(d / ("index" + std::to_string(idx)) / file) << v << "\n";
  };
  put(0, "level", "1"), put(0, "type", "Data"), put(0, "size", "48K");
  put(0, "coherency_line_size", "64"), put(0, "ways_of_associativity", "12");
  put(1, "level", "2"), put(1, "type", "Unified"), put(1, "size", "2048K");
  put(2, "level", "3"), put(2, "type", "Unified"), put(2, "size", "105M");
  auto c = sysfs_caches(d.string());
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].size_bytes, 48u << 10);
  EXPECT_EQ(c[0].ways, 12);
  EXPECT_EQ(c[1].size_bytes, 2u << 20);
  EXPECT_EQ(c[2].size_bytes, 105u << 20);
  EXPECT_TRUE(sysfs_caches((d / "missing").string()).empty());
}

namespace {
// Recorded CPUID answers (leaf, subleaf) -> registers, for the decoder.
struct FakeCpuid {
  std::map<std::pair<unsigned, unsigned>, CpuidRegs> regs;
};
FakeCpuid g_fake_cpuid;
CpuidRegs fake_cpuid(unsigned leaf, unsigned sub) {
  auto it = g_fake_cpuid.regs.find({leaf, sub});
  return it == g_fake_cpuid.regs.end() ? CpuidRegs{} : it->second;
}
CpuidRegs vendor_regs(unsigned max_leaf, const char* v) {  // leaf 0: "GenuineIntel" as ebx, edx, ecx
  CpuidRegs r{max_leaf, 0, 0, 0};
  std::memcpy(&r.ebx, v, 4), std::memcpy(&r.edx, v + 4, 4), std::memcpy(&r.ecx, v + 8, 4);
  return r;
}
// Leaf 4 / 0x8000001D format: type, level, ways, line, sets.
CpuidRegs det_cache(unsigned type, unsigned level, unsigned ways, unsigned line, unsigned sets) {
  return {type | (level << 5), (ways - 1) << 22 | (line - 1), sets - 1, 0};
}
}  // namespace

TEST(Context, CpuidLeaf4DescribesIntelCaches) {
  // Sapphire Rapids as its sysfs reads: L1d 48K 12-way, L1i 32K 8-way, L2 2M 16-way, L3 105M 15-way.
  g_fake_cpuid.regs = {{{0, 0}, vendor_regs(0x1f, "GenuineIntel")},
                       {{4, 0}, det_cache(1, 1, 12, 64, 64)},
                       {{4, 1}, det_cache(2, 1, 8, 64, 64)},
                       {{4, 2}, det_cache(3, 2, 16, 64, 2048)},
                       {{4, 3}, det_cache(3, 3, 15, 64, 114688)}};
  std::string src;
  const auto c = cpuid_caches(fake_cpuid, &src);
  EXPECT_EQ(src, "CPUID leaf 4");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].type, "Data");
  EXPECT_EQ(c[0].size_bytes, 48u << 10);
  EXPECT_EQ(c[0].ways, 12);
  EXPECT_EQ(c[1].type, "Instruction");
  EXPECT_EQ(c[2].size_bytes, 2u << 20);
  EXPECT_EQ(c[3].size_bytes, 105ull << 20);
  EXPECT_EQ(c[3].ways, 15);
  EXPECT_EQ(caches_text(c), "L1d 48KiB L2 2MiB L3 105MiB");
}

TEST(Context, CpuidLegacyAmdLeavesDescribeZen5Guest) {
  // Registers read on the Zen 5 guest (no TOPOEXT, so no 0x8000001D).
  g_fake_cpuid.regs = {{{0, 0}, vendor_regs(0xd, "AuthenticAMD")},
                       {{0x80000000, 0}, {0x80000021, 0, 0, 0}},
                       {{0x80000001, 0}, {0x00b00f21, 0x40000000, 0x440001f1, 0x25d3fbff}},
                       {{0x80000005, 0}, {0xff60ff40, 0xff60ff40, 0x300c0140, 0x20080140}},
                       {{0x80000006, 0}, {0x40802040, 0x60804040, 0x04006140, 0x0fe09140}}};
  std::string src;
  const auto c = cpuid_caches(fake_cpuid, &src);
  EXPECT_EQ(src, "CPUID leaves 0x80000005/6");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].size_bytes, 48u << 10);
  EXPECT_EQ(c[0].ways, 12);
  EXPECT_EQ(c[1].size_bytes, 32u << 10);
  EXPECT_EQ(c[1].type, "Instruction");
  EXPECT_EQ(c[2].size_bytes, 1u << 20);
  EXPECT_EQ(c[2].ways, 8);
  EXPECT_EQ(c[3].size_bytes, 508ull << 20);
  EXPECT_EQ(c[3].ways, 0);  // code 9: "see 0x8000001D", which this CPU lacks: unknown, not invented
  EXPECT_EQ(c[3].line_bytes, 64);
}

TEST(Context, CpuidTopoextLeafWinsOverLegacyOnAmd) {
  g_fake_cpuid.regs = {{{0, 0}, vendor_regs(0x10, "AuthenticAMD")},
                       {{0x80000000, 0}, {0x80000021, 0, 0, 0}},
                       {{0x80000001, 0}, {0, 0, 1u << 22, 0}},
                       {{0x8000001D, 0}, det_cache(1, 1, 8, 64, 64)},
                       {{0x8000001D, 1}, det_cache(3, 3, 16, 64, 32768)},
                       {{0x80000005, 0}, {0, 0, 0x300c0140, 0x20080140}}};
  std::string src;
  const auto c = cpuid_caches(fake_cpuid, &src);
  EXPECT_EQ(src, "CPUID leaf 0x8000001D");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].size_bytes, 32ull << 20);
  EXPECT_EQ(c[1].ways, 16);
}

TEST(Context, CachesComeFromSysfsElseCpuidElseUnknown) {
  g_fake_cpuid.regs = {{{0, 0}, vendor_regs(0x1f, "GenuineIntel")}, {{4, 0}, det_cache(1, 1, 8, 64, 64)}};
  const std::vector<CacheLevel> sysfs = {{1, "Data", 48 << 10, 64, 12, "0"}};
  EXPECT_EQ(choose_caches(sysfs, fake_cpuid).source, "sysfs");
  EXPECT_EQ(choose_caches(sysfs, fake_cpuid).levels[0].size_bytes, 48u << 10);
  const HostCaches by_cpuid = choose_caches({}, fake_cpuid);
  EXPECT_EQ(by_cpuid.source, "CPUID leaf 4");
  EXPECT_EQ(by_cpuid.levels[0].size_bytes, 32u << 10);
  g_fake_cpuid.regs = {{{0, 0}, vendor_regs(0x1f, "SomeNewVendor")}};  // leaf 4 answers zeros
  EXPECT_EQ(choose_caches({}, fake_cpuid).source, "unknown");
  EXPECT_TRUE(choose_caches({}, fake_cpuid).levels.empty());
  EXPECT_EQ(choose_caches({}, nullptr).source, "unknown");  // no CPUID at all (or injected away)
}

TEST(Context, MachineContextHasTheFieldsReadersNeed) {
  auto j = to_json(machine_info());  // as every result file writes it (harness/result.h)
  for (const char* k : {"cpu_model", "logical_cpus", "caches", "caches_source", "pretend", "tsc", "kernel", "pmu", "governor", "turbo"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_FALSE(j["pmu"]["reason"].get<std::string>().empty());
  auto b = to_json(build_info());
  for (const char* k : {"compiler", "build_type", "cxx_flags", "google_benchmark_version", "git_commit"})
    EXPECT_TRUE(b.contains(k)) << k;
}

TEST(Tsc, FrequencyIsPlausibleAndMonotonic) {
  const TscInfo& t = tsc_info();
  EXPECT_GT(t.hz, 1e8);
  EXPECT_LT(t.hz, 1e10);
  EXPECT_NEAR(t.hz, t.measured_hz, 0.02 * t.hz);
  std::uint64_t a = tsc_begin(), b = tsc_end();
  EXPECT_LE(a, b);
}

TEST(Tsc, EndReadUsesRdtscpOnlyWhereItCanRun) {
  EXPECT_TRUE(choose_end_read(true, false, false).rdtscp);
  EXPECT_EQ(choose_end_read(true, false, false).instructions, "rdtscp; lfence");
  // CPUID lacks it; valgrind (its CPUID view may claim rdtscp, its decoder
  // refuses it where the host lacks it); a test injecting the condition.
  for (const EndRead& r : {choose_end_read(false, false, false), choose_end_read(true, true, false),
                           choose_end_read(true, false, true)}) {
    EXPECT_FALSE(r.rdtscp);
    EXPECT_EQ(r.instructions, "lfence; rdtsc; lfence");
    EXPECT_FALSE(r.why.empty());
  }
  EXPECT_NE(choose_end_read(false, false, false).why.find("CPUID does not advertise"), std::string::npos);
  EXPECT_NE(choose_end_read(true, true, false).why.find("valgrind"), std::string::npos);
  EXPECT_NE(choose_end_read(true, false, true).why.find("injected"), std::string::npos);
}

// The injected condition reaches the timer actually installed, on any host.
TEST(Tsc, InjectedNoRdtscpEndsBatchesWithFencedRdtsc) {
  set_pretend_for_test("no-rdtscp");
  const EndRead r = select_end_read();
  EXPECT_FALSE(r.rdtscp);
  EXPECT_FALSE(detail::g_end_rdtscp);
  std::uint64_t a = tsc_begin(), b = tsc_end();
  EXPECT_LE(a, b);
  restore_pretend_from_env();
  select_end_read();
}

TEST(Pretend, ParsesKnownConditionsAndRefusesUnknownOnes) {
  set_pretend_for_test("no-rdtscp,no-sysfs-caches");
  EXPECT_TRUE(pretending(Pretend::no_rdtscp));
  EXPECT_TRUE(pretending(Pretend::no_sysfs_caches));
  EXPECT_FALSE(pretending(Pretend::papi_disabled));
  EXPECT_EQ(pretended(), (std::vector<std::string>{"no-rdtscp", "no-sysfs-caches"}));
  EXPECT_THROW(set_pretend_for_test("no-rdtscp,no-such-thing"), std::invalid_argument);
  set_pretend_for_test("");
  EXPECT_TRUE(pretended().empty());
  restore_pretend_from_env();
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemp) {
  const TempDir tmp;
  const fs::path d = tmp.path;
  const fs::path f = d / "out.json";
  write_file_atomic(f.string(), "first");
  write_file_atomic(f.string(), "second");
  std::ifstream in(f);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s, "second");
  for (auto& e : fs::directory_iterator(d)) EXPECT_EQ(e.path(), f) << "stray " << e.path();
}

TEST(AtomicFile, UnwritableTargetsAreRefusedUpFront) {
  EXPECT_NE(check_writable("/nonexistent-dir/x.json"), "");
  EXPECT_NE(check_writable(fs::temp_directory_path().string()), "");  // a directory
  EXPECT_EQ(check_writable((fs::temp_directory_path() / "ok.json").string()), "");
  EXPECT_THROW(write_file_atomic("/nonexistent-dir/x.json", "x"), std::runtime_error);
}

namespace {
struct CountingCollector : Collector {
  int starts = 0, stops = 0;
  double reported_ops = 0;
  void start() override { ++starts; }
  void stop() override { ++stops; }
  void report(benchmark::State& st, double ops) override {
    reported_ops = ops;
    st.counters["fake_per_op"] = 1000 / ops;
  }
};

// A State can only be made by Google Benchmark: runs `body` as one
// benchmark of `iterations`, its output discarded, then unregisters it.
void run_in_benchmark(const char* name, benchmark::IterationCount iterations,
                      const std::function<void(benchmark::State&)>& body) {
  benchmark::RegisterBenchmark(name, [&](benchmark::State& st) { body(st); })->Iterations(iterations);
  std::ostringstream sink;
  benchmark::JSONReporter quiet;
  quiet.SetOutputStream(&sink);
  quiet.SetErrorStream(&sink);
  benchmark::RunSpecifiedBenchmarks(&quiet);
  benchmark::ClearRegisteredBenchmarks();
}
}  // namespace

TEST(Probe, DrivesCollectorsOncePerBatchAndReportsPerOp) {
  auto c = std::make_shared<CountingCollector>();
  install_collector(c);
  int body_calls = 0;
  run_in_benchmark("probe_test", 500, [&](benchmark::State& st) {
    Probe p("probe_test");
    p.run(st, [&] { ++body_calls; });
    EXPECT_TRUE(p.ran());
    p.report(st, 10);
    EXPECT_GT(st.counters["ticks_per_op"].value, 0.0);
    EXPECT_DOUBLE_EQ(c->reported_ops, static_cast<double>(st.iterations()) * 10);
  });
  clear_collectors();
  EXPECT_EQ(body_calls, 500);
  EXPECT_EQ(c->starts, 1);
  EXPECT_EQ(c->stops, 1);
}

TEST(Figures, DivideByOpsAndJudgeTheBudget) {
  benchmark::BenchmarkReporter::Run r;
  r.iterations = 1000;
  r.real_accumulated_time = 1e-3;  // seconds: 1 us per iteration
  r.time_unit = benchmark::kNanosecond;
  r.counters["ticks_per_op"] = 26.0;
  Spec s = spec("tfa", "x", "hit", "4KiB", 4096);
  s.ops_per_iter = 100;
  s.bytes_per_op = 24;
  TimeFigures f = time_figures(r, s, 10, Limits{});
  EXPECT_DOUBLE_EQ(f.ns_per_op, 10.0);
  EXPECT_TRUE(f.within_budget);  // exactly at the budget is within
  EXPECT_DOUBLE_EQ(f.ticks_per_op, 26.0);
  EXPECT_DOUBLE_EQ(f.gb_per_s, 2.4);
  EXPECT_LT(f.limits.est_cycles_per_op, 0);  // no calibration: no estimate
  s.budget_ns = 5;
  EXPECT_FALSE(time_figures(r, s, 10, Limits{}).within_budget);
}

// ---- core share (harness/core_share.h) --------------------------------------

TEST(CoreShare, ProbeMeasuresAPlausibleCycleCount) {
#if CACHETICK_HAVE_TSC && defined(__x86_64__)
  // 24 independent uops per trip: no core renames more than ~8 per cycle,
  // and even a heavily shared one finishes a trip in well under 100 cycles.
  const double c = issue_probe_best(20);
  EXPECT_GT(c, 24.0 / 8);
  EXPECT_LT(c, 100.0);
#else
  EXPECT_TRUE(std::isnan(issue_probe_cycles()));
#endif
}

namespace {
// Drives a collector through one batch and returns the batch's counters.
benchmark::UserCounters run_collector(std::shared_ptr<Collector> c) {
  benchmark::UserCounters out;
  install_collector(c);
  run_in_benchmark("core_share_test", 10, [&](benchmark::State& st) {
    Probe p("core_share_test");
    p.run(st, [] {});
    p.report(st, 1);
    out = st.counters;
  });
  clear_collectors();
  return out;
}
}  // namespace

TEST(CoreShare, ShareIsBaselineOverTheWorseProbe) {
  std::vector<double> probes = {4.0, 8.0};  // before, after: the after probe saw a sibling
  std::size_t i = 0;
  auto c = std::make_shared<CoreShareCollector>(4.0, [&] { return probes[i++ % probes.size()]; });
  auto counters = run_collector(c);
  ASSERT_TRUE(counters.count("core_share"));
  EXPECT_DOUBLE_EQ(counters["core_share"].value, 0.5);
}

TEST(CoreShare, AFasterProbeLowersTheBaselineAndShareNeverExceedsOne) {
  // The baseline was taken on a shared core (6 cycles); the batch's probes
  // run at 4: the core was the thread's alone, and the baseline learns it.
  auto c = std::make_shared<CoreShareCollector>(6.0, [] { return 4.0; });
  auto counters = run_collector(c);
  EXPECT_DOUBLE_EQ(counters["core_share"].value, 1.0);
  EXPECT_DOUBLE_EQ(c->baseline(), 4.0);
}

TEST(CoreShare, NoProbeNoCounter) {
  // Never a made-up 1.0 where the probe could not run.
  auto c = std::make_shared<CoreShareCollector>(
      4.0, [] { return std::numeric_limits<double>::quiet_NaN(); });
  EXPECT_FALSE(run_collector(c).count("core_share"));
  auto d = std::make_shared<CoreShareCollector>(std::numeric_limits<double>::quiet_NaN(),
                                                [] { return 5.0; });
  // No baseline at start: the first probe becomes it.
  EXPECT_DOUBLE_EQ(run_collector(d)["core_share"].value, 1.0);
}

namespace {
benchmark::BenchmarkReporter::Run gb_run(const char* name, double share) {
  benchmark::BenchmarkReporter::Run r;
  r.run_name.function_name = name;
  r.repetitions = 1;  // Google Benchmark's Run leaves it uninitialised
  r.iterations = 1000;
  r.real_accumulated_time = 1e-4;
  r.time_unit = benchmark::kNanosecond;
  r.counters["core_share"] = share;
  return r;
}

RunContext test_context(const std::string& backend) {
  RunContext c;
  c.backend = backend;
  c.attach("core_share", {{"available", true}});
  return c;
}
}  // namespace

TEST(Reporter, MarksRowsThatRanOnASharedCore) {
  const TempDir tmp;
  const fs::path out = tmp.path / "shared.json";
  ResultDocument doc(test_context("time"), out.string());
  ReportOptions ro;
  ro.thresholds.shared_below = kSharedCoreBelow;
  Reporter rep(doc, ro);
  testing::internal::CaptureStdout();
  rep.on_runs({gb_run("tfa/x/hit/4KiB", 0.5)});
  rep.on_runs({gb_run("tfb/x/hit/4KiB", 0.97)});
  // What the time backend's parent does with the rows (harness/timed.cpp).
  const Columns cols = columns_for({find("tfa/x/hit/4KiB"), find("tfb/x/hit/4KiB")});
  for (const Row& r : doc.rows()) print_time_row(cols, r, ro.budget_ns);
  doc.write(true);
  print_time_summary(doc.summary(), ro.budget_ns, ro.thresholds.unstable_cv, doc.out_path());
  const std::string text = testing::internal::GetCapturedStdout();
  EXPECT_NE(text.find(" 50%! "), std::string::npos) << text;
  EXPECT_NE(text.find(" 97% "), std::string::npos) << text;
  EXPECT_NE(text.find("Shared core: 1 rows"), std::string::npos) << text;
  EXPECT_NE(text.find("--filter '^(tfa/x/hit/4KiB)$'"), std::string::npos) << text;
  EXPECT_EQ(text.find("core_share="), std::string::npos) << "shown as a column, not a counter";
  std::ifstream in(out);
  const auto d = nlohmann::json::parse(in);
  EXPECT_EQ(d["cachetick"]["summary"]["shared_core"], 1);
  EXPECT_EQ(d["cachetick"]["summary"]["shared_core_rows"][0], "tfa/x/hit/4KiB");
  EXPECT_EQ(d["cachetick"]["summary"]["benchmarks_done"], 2);
  EXPECT_EQ(d["cachetick"]["complete"], true);
}

// ---- the result document (harness/result.h) ---------------------------------

TEST(Result, SummaryHasTheSameKeysForEveryBackend) {
  const Entry* a = find("tfa/x/hit/4KiB");
  const Entry* b = find("tfb/x/hit/4KiB");
  ASSERT_TRUE(a && b);
  // A time document: one row within budget, one over, one failed.
  ResultDocument t(test_context("time"), "");
  const auto r = gb_run("tfa/x/hit/4KiB", 1.0);
  t.add_row(time_row(a->spec, r, time_figures(r, a->spec, 1000, Limits{}), 0.2, "", RowThresholds{}));
  t.add_row(time_row(b->spec, r, time_figures(r, b->spec, 0.001, Limits{}), -1, "", RowThresholds{}));
  t.add_row(error_row(a->spec, "boom"));  // the same benchmark: counted once as done
  const Summary ts = t.summary();
  EXPECT_EQ(ts.judged, 2);
  EXPECT_EQ(ts.within_budget, 1);
  EXPECT_EQ(ts.over_budget_rows, std::vector<std::string>{"tfb/x/hit/4KiB"});
  EXPECT_EQ(ts.errors, 1);
  EXPECT_EQ(ts.unstable, 1);  // cv 20% > 5%
  EXPECT_EQ(ts.benchmarks_done, 2u);
  // A sim document: counts, nothing judged; the same keys, zeros where
  // a field does not apply.
  ResultDocument s(test_context("sim"), "");
  Row row;
  row.spec = &a->spec;
  row.sim = SimFigures{};
  s.add_row(row);
  const auto tj = t.to_json(false), sj = s.to_json(true);
  std::set<std::string> tk, sk;
  for (const auto& [k, v] : tj["cachetick"]["summary"].items()) tk.insert(k);
  for (const auto& [k, v] : sj["cachetick"]["summary"].items()) sk.insert(k);
  EXPECT_EQ(tk, sk);
  EXPECT_EQ(sj["cachetick"]["summary"]["judged"], 0);
  EXPECT_EQ(sj["cachetick"]["summary"]["benchmarks_done"], 1);
  for (const char* k : {"backend", "machine", "build", "options", "notes", "units", "complete", "summary"}) {
    EXPECT_TRUE(tj["cachetick"].contains(k)) << k;
    EXPECT_TRUE(sj["cachetick"].contains(k)) << k;
  }
  for (const char* k : {"min_time_s", "budget_ns", "sim_cache", "repetitions"})
    EXPECT_TRUE(sj["cachetick"]["options"].contains(k)) << k;  // null where it does not apply
}

TEST(Result, RowsAppendAcrossInvocationsAndEntriesKeepTheSpec) {
  const Entry* a = find("tfa/x/hit/4KiB");
  ASSERT_TRUE(a);
  ResultDocument doc(test_context("time"), "");
  doc.set_gb_context({{"host_name", "first"}});
  doc.set_gb_context({{"host_name", "second"}});  // a later invocation: the first is kept
  for (int round = 0; round < 2; ++round) {
    nlohmann::json e = {{"name", a->spec.name()}};
    e["cachetick"] = entry_block(a->spec, "time");
    doc.add_entry(e);
  }
  const auto j = doc.to_json(true);
  EXPECT_EQ(j["context"]["host_name"], "first");
  ASSERT_EQ(j["benchmarks"].size(), 2u);
  const auto& ct = j["benchmarks"][0]["cachetick"];
  EXPECT_EQ(ct["family"], "tfa");
  EXPECT_EQ(ct["size_label"], "4KiB");
  EXPECT_EQ(ct["working_set_bytes"], 4096);
  EXPECT_EQ(ct["backend"], "time");
  EXPECT_FALSE(ct.contains("bytes_per_op"));  // 0 = not a streaming row
}

// A round measured in another process of the group comes back as JSON
// (harness/gb_runs.h): what the rows and the pairing read must survive.
TEST(RunJson, RoundTripsWhatTheRowsRead) {
  GbRun r;
  r.run_name.function_name = "hash/ct/miss/4096";
  r.family_index = 7;
  r.per_family_instance_index = 2;
  r.report_label = "label";
  r.iterations = 123456;
  r.threads = 1;
  r.time_unit = benchmark::kNanosecond;
  r.real_accumulated_time = 0.0021;
  r.cpu_accumulated_time = 0.0020;
  r.counters["core_share"] = benchmark::Counter(0.93);
  r.counters["task-clock"] = benchmark::Counter(5.5, benchmark::Counter::kAvgIterations, benchmark::Counter::kIs1024);
  const GbRun back = run_from_json(nlohmann::json::parse(run_to_json(r).dump()));
  EXPECT_EQ(back.run_name.function_name, r.run_name.function_name);
  EXPECT_EQ(back.family_index, 7);
  EXPECT_EQ(back.per_family_instance_index, 2);
  EXPECT_EQ(back.report_label, "label");
  EXPECT_EQ(back.iterations, 123456);
  EXPECT_DOUBLE_EQ(back.real_accumulated_time, 0.0021);
  EXPECT_DOUBLE_EQ(back.cpu_accumulated_time, 0.0020);
  EXPECT_EQ(back.time_unit, benchmark::kNanosecond);
  EXPECT_FALSE(back.error_occurred);
  ASSERT_EQ(back.counters.size(), 2u);
  EXPECT_DOUBLE_EQ(back.counters.at("core_share").value, 0.93);
  EXPECT_EQ(back.counters.at("task-clock").flags, benchmark::Counter::kAvgIterations);
  EXPECT_EQ(back.counters.at("task-clock").oneK, benchmark::Counter::kIs1024);
  EXPECT_EQ(back.memory_result, nullptr);  // the allocation pass stays with its process
  r.error_occurred = true;
  r.error_message = "set-up failed";
  const GbRun err = run_from_json(run_to_json(r));
  EXPECT_TRUE(err.error_occurred);
  EXPECT_EQ(err.error_message, "set-up failed");
  EXPECT_THROW(run_from_json(nlohmann::json{{"name", "x"}}), nlohmann::json::exception);
}
