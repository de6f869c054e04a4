// Reading a memory hierarchy off a latency curve: pure functions, no
// measurement, so they can be tested on synthetic hierarchies.
//
// A pointer-chase latency curve is a staircase: flat while the working set
// fits a cache level, a step up when it spills into the next. Real curves
// are noisy (a preempted sample), have transition points (a set 1.3x the
// cache is partly served by it) and slopes (TLB reach, a shared L3 whose
// share shrinks as neighbours run). So the detector finds plateaus, treats
// isolated points between them as transitions, and the matcher says which
// known level each plateau is - or that a level could not be separated.
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

// One cache level as the CPU reports it, and what the curve says about it.
struct LevelReading {
  std::string name;                // "L1d", "L2", "L3", "DRAM"
  std::uint64_t known_bytes = 0;   // the known size (sysfs or CPUID); 0 for DRAM or unknown
  bool separated = false;          // a plateau was matched to this level
  std::uint64_t boundary_bytes = 0;  // largest set still on its plateau (0 for DRAM)
  std::uint64_t spill_bytes = 0;     // first measured size off the plateau
  double value = 0;                // plateau median (ns)
  double lo = 0, hi = 0;           // raw spread on the plateau
  std::uint64_t from_bytes = 0, to_bytes = 0;  // the plateau's extent
  std::string note;                // why not separated, or a caveat
};

// Matches plateaus to known cache levels (sizes ascending, data or unified
// caches only) plus main memory, by size alone; calibration uses it for the
// bandwidth curve's second opinion (read_hierarchy below reads the latency
// curve). Empty when no level is known. The first plateau is the first
// level. A plateau that ends is matched to the not-yet-matched level whose
// known size is nearest its boundary (log scale); levels skipped over are
// "not separated". The last plateau, if it runs to the end of the curve, is
// main memory when the curve goes past 2x the largest cache, else the next
// cache level. `largest_measured` is the curve's largest working set.
// A level whose raw points spread by more than `noisy` (1.3 = 30%) says so;
// notes name the sizes' `source`.
std::vector<LevelReading> match_levels(const std::vector<Plateau>& plateaus,
                                       const std::vector<std::pair<std::string, std::uint64_t>>& sysfs_levels,
                                       std::uint64_t largest_measured, double noisy = 1.3,
                                       const std::string& source = "sysfs");

// ---------------------------------------------------------------------------
// The hierarchy: which steps of a latency curve are the CPU's cache levels,
// which is main memory, and what the other steps likely are.
//
// Why not "every plateau is a level": beyond the caches a curve keeps
// stepping - TLB reach, page walks whose page-table entries no longer fit
// the caches, a VM's changing share of a shared L3 - and a Zen 5 guest showed
// six plateaus on a CPU with three cache levels. So a curve is read against
// the levels the CPU is known to have (sysfs, CPUID): never more cache levels
// than those, plus memory; every other step gets a likely cause; and with no
// known levels, no plateau is called a cache level at all.

// Cache levels as the CPU describes them: names ("L1d", "L2", "L3") and sizes,
// ascending, data or unified caches only. Empty: unknown.
using KnownLevels = std::vector<std::pair<std::string, std::uint64_t>>;

// How the measured buffer was backed: a TLB's reach is entries x page size,
// so a step is named by the pages in force.
struct PageBacking {
  std::uint64_t buffer_bytes = 0;
  std::uint64_t huge_bytes = 0;  // of it on 2 MiB pages (AnonHugePages)
};

// A rise in the curve that is not a cache level's edge.
struct StepReading {
  std::string kind;  // "tlb_reach", "page_walks", "not_separable", "unnamed"
  std::string name;  // "TLB reach (4 KiB pages x 96 entries)", "page walks", "step 2" ...
  std::uint64_t edge_bytes = 0;   // largest set before the rise
  std::uint64_t spill_bytes = 0;  // first measured set after it
  double below = 0, above = 0;    // latency before and after the rise
  bool at_end = false;            // `above` is the curve's last points, no plateau
  std::string note;               // why this name
};

struct HierarchyOptions {
  PlateauOptions plateaus;
  // A cache level costs several times the level before it (2.9-9x on the
  // Intel, Zen 4 and Zen 5 guests we measured); a TLB miss that hits the
  // STLB, or a page walk whose entries are cached, adds well under 2x. A rise
  // smaller than this is never a cache level's edge.
  double cache_step = 2.0;
  // Memory costs 20-40x the L2 and 8-12x the L3 on every guest we measured
  // (Zen 5: 123-159 / 3.8-4.2 / 12-19 ns; Sapphire Rapids: 136 / 5.7 ns); an
  // L3 3-7x the L2. A tier this many times the one before is memory-like
  // (rule 1); and when the curve stops short of 2x the largest cache (CPUID
  // on the Zen 5 guest reports the host's whole 508 MiB L3) and only that
  // cache is unmatched, a last tier this costly is memory, not that cache.
  double memory_step = 10.0;
  double noisy = 1.3;  // a level whose raw points spread more says so
};

struct HierarchyReading {
  std::string source;                // where the known levels came from ("sysfs", "unknown")
  bool known = false;                // the CPU named its cache levels
  std::vector<Plateau> plateaus;     // find_plateaus(curve)
  std::vector<LevelReading> levels;  // the known levels + "DRAM"; empty when unknown
  std::vector<StepReading> steps;    // every other rise, in size order
};

// Reads `curve` against `known` (see the header comment above). The rules:
//  1. Plateaus are grouped into tiers: a new tier starts at a plateau that
//     costs cache_step x the current tier's first plateau (a spill from L2
//     to L3 may climb in several smaller steps); smaller rises stay inside
//     the tier. A tier costing memory_step x the one before is memory-like
//     and takes every later plateau (past the caches, page walks only add).
//  2. Each tier but the last (which runs to the end of the curve) may be one
//     known level, in order, if its edge is at most 2x the level's size and
//     it starts below 2x that size (a cache cannot hold much more than
//     itself). Of all such assignments the one matching most levels wins,
//     then the one using the earliest tiers: a shared L3 is where its latency
//     first shows; plateaus after it, before memory, are its shrinking share.
//     A level's latency is its tier's first plateau (later ones add TLB costs).
//  3. If every known level was matched, or the curve went past 2x the
//     largest cache, or only the largest cache is unmatched and the last tier
//     costs memory_step x the level below, what follows the last cache level
//     is memory ("DRAM"), read off the widest of its plateaus that start
//     within the reach of the smallest TLB for the pages in use (64 MiB with
//     2 MiB pages, 16 MiB with 4 KiB): narrower ones before it are a shared
//     cache's remnants, those past the reach memory plus page walks.
//     Otherwise, when the last tier directly follows the last match, it is
//     the next cache level, still open-ended, and memory was not reached.
//  4. Every other rise is a step: from memory's plateau on, "page walks";
//     below it "TLB reach (<page> pages x N entries)" when edge / page size is
//     a plausible TLB for the pages that backed the buffer (32-8192
//     entries: the smallest L1 DTLBs of current x86 cores hold 32 2 MiB
//     pages, STLBs 1536-4096 entries, and an edge may read an octave high),
//     else "not separable". With no known levels every rise is "step k" and
//     no level is named.
// Known limit: a shared cache's remnant that spans more sizes below the TLB's
// reach than memory does is read as memory (measured remnants here: 20-80 ns
// over 2-14 MiB, memory 120-160 ns from 8-24 MiB).
// Throws std::invalid_argument as find_plateaus does.
HierarchyReading read_hierarchy(const std::vector<CurvePoint>& curve, const KnownLevels& known,
                                const std::string& source, const PageBacking& pages,
                                const HierarchyOptions& opt = {});

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
