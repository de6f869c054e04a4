// Reading a memory hierarchy off a latency curve: pure functions, no
// measurement, so they can be tested on synthetic hierarchies.
//
// A pointer-chase latency curve is a staircase: flat while the working set
// fits a cache level, a step up when it spills into the next. Real curves
// are noisy (a preempted sample), have transition points (a set 1.3x the
// cache is partly served by it) and slopes (TLB reach, a shared L3 whose
// share shrinks as neighbours run). So the detector finds plateaus, treats
// isolated points between them as transitions, and the matcher says which
// sysfs level each plateau is - or that a level could not be separated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cachetick {

struct CurvePoint {
  std::uint64_t bytes = 0;  // working set
  double value = 0;         // ns per dependent load (or any positive figure)
};

struct Plateau {
  std::size_t first = 0, last = 0;  // indices into the curve (inclusive)
  std::uint64_t from_bytes = 0;     // smallest working set on the plateau
  std::uint64_t to_bytes = 0;       // largest working set still on it
  std::uint64_t next_bytes = 0;     // first larger size off it; 0 = end of curve
  double value = 0;                 // median of the plateau's points
  double lo = 0, hi = 0;            // smallest and largest raw point on it
  std::size_t points() const { return last - first + 1; }
};

struct PlateauOptions {
  // A point stays on the current plateau while it is at most this much
  // above the plateau's median (0.3 = 30%). Cache levels differ by 2.5-10x;
  // run-to-run noise on a busy VM is 5-15%.
  double tolerance = 0.30;
  // Fewer points than this between two steps are a transition, not a level
  // (with two sizes per octave, 2 points = one octave of flat latency).
  std::size_t min_points = 2;
};

// Plateaus of a curve sorted by size (throws std::invalid_argument on an
// empty, unsorted or non-positive curve). A 3-point running median removes
// single-sample spikes first; each point then joins the current plateau if it
// is within `tolerance` of the plateau's median so far, else starts a
// candidate. Candidates shorter than min_points are dropped (transitions).
std::vector<Plateau> find_plateaus(const std::vector<CurvePoint>& curve,
                                   const PlateauOptions& opt = {});

// One cache level as sysfs reports it, and what the curve says about it.
struct LevelReading {
  std::string name;                // "L1d", "L2", "L3", "DRAM"
  std::uint64_t sysfs_bytes = 0;   // 0 for DRAM or unknown
  bool separated = false;          // a plateau was matched to this level
  std::uint64_t boundary_bytes = 0;  // largest set still on its plateau (0 for DRAM)
  std::uint64_t spill_bytes = 0;     // first measured size off the plateau
  double value = 0;                // plateau median (ns)
  double lo = 0, hi = 0;           // raw spread on the plateau
  std::uint64_t from_bytes = 0, to_bytes = 0;  // the plateau's extent
  std::string note;                // why not separated, or a caveat
};

// Matches plateaus to the cache levels sysfs names (sizes ascending, data or
// unified caches only) plus main memory. The first plateau is the first
// level. A plateau that ends is matched to the not-yet-matched level whose
// sysfs size is nearest its boundary (log scale); levels skipped over are
// "not separated". The last plateau, if it runs to the end of the curve, is
// main memory when the curve goes past 2x the largest cache, else the next
// cache level. `largest_measured` is the curve's largest working set.
// A level whose raw points spread by more than `noisy` (1.3 = 30%) says so.
std::vector<LevelReading> match_levels(const std::vector<Plateau>& plateaus,
                                       const std::vector<std::pair<std::string, std::uint64_t>>& sysfs_levels,
                                       std::uint64_t largest_measured, double noisy = 1.3);

// Value of the curve at `bytes`, interpolated linearly in log(size) between
// the two nearest points and clamped to the curve's ends. Throws on an empty
// curve.
double interpolate_log(const std::vector<CurvePoint>& curve, std::uint64_t bytes);

// Unit conversions, stated once.
//   ns from TSC ticks: ticks / tsc_hz * 1e9
//   estimated core cycles: ns * core_hz / 1e9 (core_hz is itself an estimate)
//   GB/s (decimal, 1e9 bytes): bytes / ns
double ticks_to_ns(double ticks, double tsc_hz);
double ns_to_cycles(double ns, double core_hz);
double gb_per_s(double bytes, double ns);

// Working-set sizes for the curve: powers of two from `lo` to `hi`
// (inclusive) with `per_octave` points per octave (1, 2 or 4: 2^k, then
// 1.5*2^k, then 1.25/1.75*2^k), each rounded to a multiple of 64 bytes.
std::vector<std::uint64_t> size_grid(std::uint64_t lo, std::uint64_t hi, int per_octave);

}  // namespace cachetick
