// Calibration: this machine's own limits, measured, so that every kernel can
// be judged against them ("3 L1 latencies per lookup", "70% of the read
// bandwidth at 4 MiB", "~12 core cycles per op").
//
// What is measured (harness/calibrate.cpp says how):
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
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/curve.h"

namespace cachetick {

// Bump when the measurement or the document changes: older cached
// calibrations are then measured again.
// 3: levels read against the known hierarchy (`hierarchy`, `steps`,
// levels[].known_bytes), multi-stream read bandwidth (read_multi_gb_per_s).
inline constexpr int kCalibrationFormat = 3;

// A random cyclic permutation of 0..n-1 (Sattolo's algorithm): next[i] is
// the slot visited after i, and following it from any slot visits every slot
// exactly once before returning. Deterministic for a seed. n >= 1.
std::vector<std::uint32_t> sattolo_cycle(std::size_t n, std::uint64_t seed);

// Length of the cycle through slot 0 (== next.size() for a single cycle);
// 0 if `next` is not a permutation of 0..n-1 or leaves slot 0 on a path that
// never returns.
std::size_t cycle_length(const std::vector<std::uint32_t>& next);

// Read bandwidth with several concurrent streams (see calibrate.cpp): the
// best sample for one stream count, in GB/s.
struct StreamFigure {
  int streams = 0;
  double gbps = 0;
};
// The fastest of the figures, the fewest streams on a tie; {0, 0} if empty.
StreamFigure fastest_streams(const std::vector<StreamFigure>& by_streams);

// The read-bandwidth limit at one working set: the higher of the one-stream
// and the multi-stream figure. Rows are judged against this (%BW), so a row
// above 100% streams faster than the fastest way calibration found to read
// memory - a bug in its byte count or working set, or a calibration taken in
// a busy spell - never "the machine beat its limit".
double read_limit_gbps(double one_stream, double streams);

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

// results/calibration/<host>.json (relative to the working directory, like
// results/runs/).
std::string calibration_cache_path();

// The cached calibration at `path` if it was measured on this machine (same
// host, CPU model, kernel, CPU count, format); else null, with the reason.
nlohmann::json load_calibration(const std::string& path, std::string* why_not);

// What a benchmark row is judged against, taken from a calibration document.
struct Limits {
  bool valid = false;
  double core_hz = 0;   // estimate
  double l1_ns = 0;     // L1 load-to-use latency
  // The read-bandwidth limit by working set: read_limit_gbps() of the one-
  // and multi-stream figures at each measured size.
  std::vector<CurvePoint> read_gbps;
};
Limits limits_from(const nlohmann::json& cal);  // invalid if cal is null/partial

struct RowLimits {
  double est_cycles_per_op = -1;  // ns/op * estimated core clock; < 0 = n/a
  double l1_latencies = -1;       // ns/op / L1 latency (latency-bound rows)
  double pct_read_bw = -1;        // 100 x useful GB/s / the read limit at the working set
  double read_gbps_at_ws = -1;    // that limit, interpolated in log(size)
};
// Pure: the figures a row gains. working_set_bytes 0 takes the smallest size
// for the bandwidth; useful_gbps < 0 means not a streaming row. The contract
// of pct_read_bw: 100 means the row streams its useful bytes as fast as the
// fastest read calibration measured at that working set (one stream or
// several); above 100 is a bug to explain (see read_limit_gbps).
RowLimits judge_row(const Limits& lim, double ns_per_op, std::uint64_t working_set_bytes,
                    double useful_gbps, bool latency_bound);

// `cachetick calibrate`: use the cached calibration when valid unless
// `force`, else measure and save it (to `out`, default the cache path;
// nothing saved when no_out). Prints the report. Returns the exit code.
int calibrate_command(const CalibrateOptions& opt, bool force, const std::string& out, bool no_out,
                      bool brief = false);

}  // namespace cachetick
