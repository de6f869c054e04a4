// Calibration: this machine's own limits, measured, so that every kernel can
// be judged against them ("3 L1 latencies per lookup", "70% of the read
// bandwidth at 4 MiB", "~12 core cycles per op").
//
// What is measured (harness/measure.h says how):
//   - load-to-use latency for working sets of 4 KiB .. 512 MiB: dependent
//     loads through one random cycle over 64-byte nodes (Sattolo), so neither
//     the prefetchers nor memory-level parallelism can help;
//   - sequential read and write bandwidth over the same sizes;
//   - the cost of the timers (rdtsc, rdtscp, fenced rdtsc, steady_clock,
//     a PAPI read);
//   - the TSC rate and an ESTIMATE of the core clock from a chain of
//     dependent adds (1 core cycle each), for a cycles-per-op estimate where
//     no PMU exposes a cycle counter.
// Cache levels are read off the latency curve against the caches the CPU
// reports (harness/curve.h, read_hierarchy; sizes from host_caches(): sysfs,
// else CPUID) and shown beside those sizes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/curve.h"
#include "harness/limits.h"   // the cached calibration and what rows are judged against
#include "harness/measure.h"  // the measurement loops

namespace cachetick {

struct CalibrateOptions {
  bool full = false;       // 4 sizes per octave, more repetitions, up to 1 GiB
  bool hugepages = true;   // MADV_HUGEPAGE on the buffer (else MADV_NOHUGEPAGE)
  std::uint64_t min_bytes = 4 << 10;
  std::uint64_t max_bytes = 0;  // 0: 512 MiB quick, 1 GiB full
  bool progress = true;    // dots on stderr while measuring
};

// Measures everything (quick: ~10-20 s; full: about a minute) and returns
// the calibration document (see README "Calibration" for its fields).
nlohmann::json calibrate(const CalibrateOptions& opt);

// The console report: clocks, timer costs, levels beside the known sizes,
// the other steps, and the latency and bandwidth curves with the known cache
// sizes marked.
// brief: clocks and levels only, no timer table or curves.
void print_calibration(const nlohmann::json& cal, std::FILE* out, bool brief = false);

// `cachetick calibrate`: use the cached calibration when valid unless
// `force`, else measure and save it (to `out`, default the cache path;
// nothing saved when no_out). Prints the report. Returns the exit code.
int calibrate_command(const CalibrateOptions& opt, bool force, const std::string& out, bool no_out,
                      bool brief = false);

}  // namespace cachetick
