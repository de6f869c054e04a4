// What a benchmark row is judged against: this machine's measured limits,
// from the calibration cached by `cachetick calibrate`. The reporter uses
// this module without knowing how calibration measures (calibrate.h,
// measure.h) or what else its document holds.
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

// results/calibration/<host>.json (relative to the working directory, like
// results/runs/).
std::string calibration_cache_path();

// What must match for a cached calibration to describe this machine: host,
// CPU model, kernel, CPU count, where the cache sizes came from and the
// injected conditions (a calibration taken under CACHETICK_PRETEND describes
// another host).
nlohmann::json calibration_identity();

// The cached calibration at `path` if it was measured on this machine (same
// identity, same format) and has what limits_from needs; else null, with
// the reason.
nlohmann::json load_calibration(const std::string& path, std::string* why_not);

// The read-bandwidth limit at one working set: the higher of the one-stream
// and the multi-stream figure. Rows are judged against this (%BW), so a row
// above 100% streams faster than the fastest way calibration found to read
// memory - a bug in its byte count or working set, or a calibration taken in
// a busy spell - never "the machine beat its limit".
double read_limit_gbps(double one_stream, double streams);

struct Limits {
  bool valid = false;
  double core_hz = 0;   // estimate
  double l1_ns = 0;     // L1 load-to-use latency
  // The read-bandwidth limit by working set: read_limit_gbps() of the one-
  // and multi-stream figures at each measured size.
  std::vector<CurvePoint> read_gbps;
};
Limits limits_from(const nlohmann::json& cal);  // invalid if cal is null/partial

// One line for a run's header: where the calibration is, when it was taken,
// the latency of each separated level and the core clock estimate.
std::string describe_limits(const nlohmann::json& cal, const Limits& lim);

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

}  // namespace cachetick
