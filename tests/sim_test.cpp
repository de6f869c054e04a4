// The sim backend's pieces that need no valgrind: the callgrind.out parser,
// the per-op arithmetic (estimated cycles), the host geometry adapted to
// valgrind's rules, the iteration policy. The end-to-end run under valgrind
// (determinism, the gate catching an injected slowdown) is
// tests/sim_gate_test.sh.
#include "harness/sim.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

namespace cachetick::sim {
namespace {

// Shaped like a real dump (tests/sim_gate_test.sh runs real ones).
const char* kDump = R"(# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 22946
cmd:  ./cachetick run --sim-child .
part: 1

desc: I1 cache: 32768 B, 64 B, 8-way associative
desc: D1 cache: 32768 B, 64 B, 8-way associative
desc: LL cache: 33554432 B, 64 B, 16-way associative

desc: Timerange: Basic block 0 - 908747
desc: Trigger: Client Request: layout/aos/seq_64B/16KiB

positions: line
events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
summary: 527574 1004 480 58 55 2 37 5

ob=(8) /usr/lib/x86_64-linux-gnu/libbenchmark.so.1.7.1
fn=(3686) 0x0000000000016410
0 527574 1004 480 58 55 2 37 5

totals: 527565 1004 474 57 55 2 36 5 1
)";

Region parse(const std::string& text) {
  std::istringstream in(text);
  return parse_callgrind_out(in, "cg.out.1");
}

TEST(SimParse, ReadsTheTriggerNameAndTheTotalsLine) {
  Region r = parse(kDump);
  EXPECT_EQ(r.name, "layout/aos/seq_64B/16KiB");
  EXPECT_EQ(r.events.at("Ir"), 527565u);  // totals:, not summary:
  EXPECT_EQ(r.events.at("Dw"), 474u);
  EXPECT_EQ(r.events.at("DLmw"), 1u);
  EXPECT_EQ(r.events.size(), 9u);
}

TEST(SimParse, TrailingZeroCountsMayBeOmitted) {
  std::string s = kDump;
  s.replace(s.find("totals:"), std::string::npos, "totals: 100 20 10\n");
  Region r = parse(s);
  EXPECT_EQ(r.events.at("Ir"), 100u);
  EXPECT_EQ(r.events.at("D1mr"), 0u);
  EXPECT_EQ(r.events.at("DLmw"), 0u);
}

TEST(SimParse, RejectsFilesThatAreNotRegionDumps) {
  std::string s = kDump;
  // The end-of-program dump has no client-request trigger.
  std::string no_trigger = s;
  no_trigger.replace(no_trigger.find("desc: Trigger"), 14, "desc: Other: x");
  EXPECT_THROW(parse(no_trigger), std::runtime_error);
  // Truncated before the totals.
  EXPECT_THROW(parse(s.substr(0, s.find("totals:"))), std::runtime_error);
  // Totals before the events line, garbage and extra fields.
  EXPECT_THROW(parse("desc: Trigger: Client Request: x\ntotals: 1 2\nevents: Ir\n"), std::runtime_error);
  EXPECT_THROW(parse("desc: Trigger: Client Request: x\nevents: Ir Dr\ntotals: 1 abc\n"), std::runtime_error);
  EXPECT_THROW(parse("desc: Trigger: Client Request: x\nevents: Ir\ntotals: 1 2\n"), std::runtime_error);
  EXPECT_THROW(parse(""), std::runtime_error);
}

TEST(SimPerOp, EstimatedCyclesAreL1PlusFiveLlPlusThirtyFiveRam) {
  // 1000 instruction fetches + 300 reads + 100 writes = 1400 L1 accesses;
  // 40 miss L1 (10 I, 20 Dr, 10 Dw), of which 8 miss LL too.
  Events e = {{"Ir", 1000}, {"Dr", 300}, {"Dw", 100}, {"I1mr", 10}, {"D1mr", 20},
              {"D1mw", 10}, {"ILmr", 2}, {"DLmr", 4}, {"DLmw", 2}};
  PerOp p = per_op(e, 100);
  EXPECT_DOUBLE_EQ(p.instructions, 10.0);
  EXPECT_DOUBLE_EQ(p.d1_misses, 0.30);
  EXPECT_DOUBLE_EQ(p.ll_misses, 0.08);
  // L1 hits 1360, LL hits 32, RAM 8: 1360 + 160 + 280 = 1800 over 100 ops.
  EXPECT_DOUBLE_EQ(p.est_cycles, 18.0);
}

TEST(SimPerOp, MissingCacheEventsAreAnError) {
  Events e = {{"Ir", 1000}};  // callgrind without --cache-sim=yes
  EXPECT_THROW(per_op(e, 1), std::runtime_error);
}

TEST(SimGeometry, ReferenceIsFixed) {
  Geometry g = reference_geometry();
  EXPECT_EQ(g.d1.arg(), "32768,8,64");
  EXPECT_EQ(g.i1.arg(), "32768,8,64");
  EXPECT_EQ(g.ll.arg(), "33554432,16,64");
}

TEST(SimGeometry, HostKeepsPowerOfTwoCachesAndAdaptsOthers) {
  // This VM's sysfs: L1d 48K 12-way (64 sets), L1i 32K 8-way, L2 2M,
  // L3 105M 15-way (114688 sets: not a power of two).
  std::vector<CacheLevel> c = {{1, "Data", 48 << 10, 64, 12, ""},
                               {1, "Instruction", 32 << 10, 64, 8, ""},
                               {2, "Unified", 2 << 20, 64, 16, ""},
                               {3, "Unified", 107520ull << 10, 64, 15, ""}};
  Geometry g = host_geometry({c, "sysfs"});
  EXPECT_EQ(g.d1.arg(), "49152,12,64");
  EXPECT_EQ(g.i1.arg(), "32768,8,64");
  // 65536 sets, as wide as the size allows: 26-way, 104 MiB (what valgrind
  // itself picks for this cache).
  EXPECT_EQ(g.ll.arg(), "109051904,26,64");
  EXPECT_NE(g.note.find("L3"), std::string::npos);
  EXPECT_NE(g.source.find("L3"), std::string::npos);
  EXPECT_NE(g.source.find("sysfs"), std::string::npos);
}

TEST(SimGeometry, LastLevelWaysUnknownAreAssumedAndSaidSo) {
  // The Zen 5 guest's legacy CPUID: L3 508 MiB, ways deferred to a leaf it lacks.
  std::vector<CacheLevel> c = {{1, "Data", 48 << 10, 64, 12, ""},
                               {1, "Instruction", 32 << 10, 64, 8, ""},
                               {2, "Unified", 1 << 20, 64, 8, ""},
                               {3, "Unified", 508ull << 20, 64, 0, ""}};
  Geometry g = host_geometry({c, "CPUID leaves 0x80000005/6"});
  EXPECT_EQ(g.d1.arg(), "49152,12,64");
  EXPECT_NE(g.note.find("L3 ways not given by CPUID leaves 0x80000005/6: assumed 16"), std::string::npos)
      << g.note;
  EXPECT_NE(g.source.find("CPUID"), std::string::npos);
}

TEST(SimGeometry, HostWithoutLevelsIsAnError) {
  EXPECT_THROW(host_geometry({{}, "unknown"}), std::runtime_error);
  std::vector<CacheLevel> no_ll = {{1, "Data", 32768, 64, 8, ""}, {1, "Instruction", 32768, 64, 8, ""}};
  EXPECT_THROW(host_geometry({no_ll, "sysfs"}), std::runtime_error);
  std::vector<CacheLevel> zero_ways = {{1, "Data", 32768, 64, 0, ""},
                                       {1, "Instruction", 32768, 64, 8, ""},
                                       {2, "Unified", 1 << 20, 64, 16, ""}};
  EXPECT_THROW(host_geometry({zero_ways, "sysfs"}), std::runtime_error);
}

TEST(SimIterations, FixedCountsFromTheSpecOrFromOpsPerIteration) {
  Spec s;
  s.ops_per_iter = 1024;
  EXPECT_EQ(iterations_for(s), static_cast<std::int64_t>(kTargetOps / 1024));
  s.ops_per_iter = 3000;  // rounds up: at least kTargetOps ops
  EXPECT_EQ(iterations_for(s), 22);  // 65536 / 3000 = 21.8
  s.ops_per_iter = 1e9;  // a huge batch still runs once
  EXPECT_EQ(iterations_for(s), 1);
  s.sim_iterations = 7;
  EXPECT_EQ(iterations_for(s), 7);
}

TEST(SimCollector, ClientRequestsAreHarmlessOutsideValgrind) {
  // Outside valgrind the client requests are no-op instruction sequences:
  // the collector must not crash or change anything.
  auto c = make_collector();
  c->start();
  c->stop();
  SUCCEED();
}

}  // namespace
}  // namespace cachetick::sim
