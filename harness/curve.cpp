#include "harness/curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "harness/stats.h"
#include "harness/text.h"

namespace cachetick {

namespace {

void validate(const std::vector<CurvePoint>& c) {
  if (c.empty()) throw std::invalid_argument("empty latency curve");
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!(c[i].value > 0) || !std::isfinite(c[i].value))
      throw std::invalid_argument("curve value at " + format_bytes(c[i].bytes) +
                                  " is not a positive number");
    if (i && c[i].bytes <= c[i - 1].bytes)
      throw std::invalid_argument("curve sizes must be strictly ascending");
  }
}

bool within(double v, double ref, double tol) { return v <= ref * (1 + tol) && v >= ref / (1 + tol); }

Plateau make(const std::vector<CurvePoint>& c, const std::vector<double>& y, std::size_t first,
             std::size_t last) {
  Plateau p;
  p.first = first;
  p.last = last;
  p.from_bytes = c[first].bytes;
  p.to_bytes = c[last].bytes;
  p.next_bytes = last + 1 < c.size() ? c[last + 1].bytes : 0;
  p.value = median(std::vector<double>(y.begin() + first, y.begin() + last + 1));
  p.lo = p.hi = c[first].value;
  for (std::size_t i = first; i <= last; ++i) p.lo = std::min(p.lo, c[i].value), p.hi = std::max(p.hi, c[i].value);
  return p;
}

// The notes of a reading: for a separated level how its edge compares with
// the known size (and whether it is noisy), for the others why there is no
// reading. out = the known levels then DRAM (index ncache).
void explain_levels(std::vector<LevelReading>& out, std::size_t ncache, std::uint64_t largest_cache,
                    std::uint64_t largest_measured, const std::string& source, double noisy) {
  for (std::size_t l = 0; l < out.size(); ++l) {
    LevelReading& r = out[l];
    if (r.separated) {
      if (r.known_bytes && r.boundary_bytes) {
        const double f = static_cast<double>(r.boundary_bytes) / r.known_bytes;
        if (f > 2 || f < 0.5)
          r.note = "detected boundary " + format_bytes(r.boundary_bytes) + " is " +
                   (f < 1 ? std::to_string(static_cast<int>(std::lround(1 / f))) + "x below"
                          : std::to_string(static_cast<int>(std::lround(f))) + "x above") +
                   " the " + format_bytes(r.known_bytes) + " " + source + " reports" +
                   (f < 1 ? " (a shared cache: other cores or tenants hold part of it)" : "");
      } else if (r.known_bytes && !r.boundary_bytes) {
        r.note = "plateau runs to the end of the curve: no larger level seen";
      }
      if (r.hi > noisy * r.lo) {
        char b[96];
        std::snprintf(b, sizeof b, "noisy: %.3g-%.3g across its sizes", r.lo, r.hi);
        r.note += (r.note.empty() ? "" : "; ") + std::string(b);
      }
      continue;
    }
    // Neighbouring separated plateaus, for the message.
    const LevelReading* below = nullptr;
    const LevelReading* above = nullptr;
    for (std::size_t j = l; j-- > 0;)
      if (out[j].separated) { below = &out[j]; break; }
    for (std::size_t j = l + 1; j < out.size(); ++j)
      if (out[j].separated) { above = &out[j]; break; }
    if (l == ncache && largest_measured <= 2 * largest_cache)
      r.note = "not reached: the curve stops at " + format_bytes(largest_measured) +
               ", not past 2x the largest cache";
    else if (!below && !above)
      r.note = "could not be separated: no plateau found";
    else
      r.note = "could not be separated: no plateau of its own" +
               (below ? " after " + below->name + " (ends " + format_bytes(below->to_bytes) + ")"
                      : std::string()) +
               (above ? std::string(below ? "," : "") + " before " + above->name + " (from " +
                            format_bytes(above->from_bytes) + ")"
                      : std::string(", the curve keeps rising (a shared or noisy level)"));
  }
}

}  // namespace

std::vector<Plateau> find_plateaus(const std::vector<CurvePoint>& c, const PlateauOptions& opt) {
  validate(c);
  const std::size_t n = c.size();
  // A 3-point running median: a single preempted sample cannot make a step,
  // while a real step (two or more points at the new level) survives intact.
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = (i == 0 || i + 1 == n) ? c[i].value
                                  : median({c[i - 1].value, c[i].value, c[i + 1].value});

  std::vector<std::pair<std::size_t, std::size_t>> runs;  // [first, last]
  std::size_t first = 0;
  std::vector<double> members = {y[0]};
  for (std::size_t i = 1; i < n; ++i) {
    if (within(y[i], median(members), opt.tolerance)) {
      members.push_back(y[i]);
      continue;
    }
    runs.push_back({first, i - 1});
    first = i;
    members = {y[i]};
  }
  runs.push_back({first, n - 1});

  std::vector<Plateau> out;
  for (auto [a, b] : runs)
    if (b - a + 1 >= opt.min_points) out.push_back(make(c, y, a, b));

  // Clean-up until stable: a plateau higher than the one after it is a
  // bump (a busy stretch), not a level - latency does not fall as sets grow;
  // neighbours at the same level once a bump or transition between them is
  // gone are one plateau.
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t k = 0; k + 1 < out.size(); ++k) {
      if (out[k].value > out[k + 1].value * (1 + opt.tolerance)) {
        out.erase(out.begin() + k);
        changed = true;
        break;
      }
      if (within(out[k + 1].value, out[k].value, opt.tolerance)) {
        out[k] = make(c, y, out[k].first, out[k + 1].last);
        out.erase(out.begin() + k + 1);
        changed = true;
        break;
      }
    }
  }
  return out;
}

namespace {

// Level r is the plateau p; when p ends (a step follows), its end is the
// level's boundary.
void assign(LevelReading& r, const Plateau& p, bool ends) {
  r.separated = true;
  r.value = p.value;
  r.lo = p.lo;
  r.hi = p.hi;
  r.from_bytes = p.from_bytes;
  r.to_bytes = p.to_bytes;
  if (ends) {
    r.boundary_bytes = p.to_bytes;
    r.spill_bytes = p.next_bytes;
  }
}

// The level from `first` on whose size is nearest `bytes` (on a log scale).
std::size_t nearest_level(const std::vector<std::pair<std::string, std::uint64_t>>& levels,
                          std::size_t first, std::uint64_t bytes) {
  std::size_t best = first;
  double best_d = 1e300;
  for (std::size_t l = first; l < levels.size(); ++l) {
    const double d = std::fabs(std::log2(static_cast<double>(bytes)) -
                               std::log2(static_cast<double>(levels[l].second)));
    if (d < best_d) best_d = d, best = l;
  }
  return best;
}

}  // namespace

std::vector<LevelReading> match_levels(
    const std::vector<Plateau>& plateaus,
    const std::vector<std::pair<std::string, std::uint64_t>>& sysfs_levels,
    std::uint64_t largest_measured, double noisy, const std::string& source) {
  // Nothing to match against: no level is invented (read_hierarchy reports
  // such a curve as unnamed steps).
  if (sysfs_levels.empty()) return {};
  std::vector<LevelReading> out;
  for (const auto& [name, bytes] : sysfs_levels) {
    LevelReading r;
    r.name = name;
    r.known_bytes = bytes;
    out.push_back(r);
  }
  LevelReading dram;
  dram.name = "DRAM";
  out.push_back(dram);
  const std::size_t ncache = sysfs_levels.size();

  std::size_t next_level = 0;  // levels below this are decided
  std::vector<std::string> extras;
  for (std::size_t k = 0; k < plateaus.size(); ++k) {
    const Plateau& p = plateaus[k];
    const bool ends = p.next_bytes != 0;
    if (!ends) {
      // Runs to the end of the curve: memory if the curve went well past the
      // largest cache, else the next cache level.
      const std::uint64_t largest_cache = ncache ? sysfs_levels.back().second : 0;
      if (next_level >= ncache || largest_measured > 2 * largest_cache)
        assign(out[ncache], p, false);
      else
        assign(out[next_level++], p, false);
      break;
    }
    if (next_level >= ncache) {
      extras.push_back(format_bytes(p.from_bytes) + "-" + format_bytes(p.to_bytes));
      continue;
    }
    // Nearest level by size, never one below a level already decided: the
    // first plateau lands on L1 unless it plainly ends at a larger level's
    // size (L1 and L2 merged), and then L1 is reported as not separated.
    const std::size_t best = nearest_level(sysfs_levels, next_level, p.to_bytes);
    assign(out[best], p, true);
    next_level = best + 1;
  }

  explain_levels(out, ncache, ncache ? sysfs_levels.back().second : 0, largest_measured, source, noisy);
  if (!extras.empty()) {
    std::string s = "extra steps beyond the known levels at";
    for (const auto& e : extras) s += " " + e;
    s += " (TLB reach or a shared cache)";
    LevelReading& last_cache = out[ncache ? ncache - 1 : 0];
    last_cache.note += (last_cache.note.empty() ? "" : "; ") + s;
  }
  return out;
}

// ---------------------------------------------------------------------------
// read_hierarchy

namespace {

struct Tier {
  std::size_t first = 0, last = 0;  // plateau indices (inclusive)
};

// Rule 1: a new tier at a plateau costing cache_step x the current tier's
// first plateau - against the first, not the previous one, because in full
// mode a spill from L2 to L3 climbs in several steps of under 2x each. A
// tier costing memory_step x the one before is memory-like and takes every
// later plateau: past the caches, page walks only add.
std::vector<Tier> tiers_of(const std::vector<Plateau>& p, double cache_step, double memory_step) {
  std::vector<Tier> t = {{0, 0}};
  bool memory_like = false;
  for (std::size_t k = 1; k < p.size(); ++k) {
    const double base = p[t.back().first].value;
    if (!memory_like && p[k].value >= cache_step * base) {
      memory_like = p[k].value >= memory_step * base;
      t.push_back({k, k});
    } else {
      t.back().last = k;
    }
  }
  return t;
}

// Rule 2: the known level of each closed tier (-1: none). A small dynamic
// programme over (tier, level) in order: most levels matched, then the
// earliest tiers - a shared L3 is where its latency first shows, and the
// plateaus after it, before memory, are its shrinking share.
std::vector<int> assign_levels(const std::vector<Plateau>& p, const std::vector<Tier>& tiers,
                               std::size_t closed, const KnownLevels& known) {
  const std::size_t n = known.size();
  struct Score {
    int matches = 0;
    std::size_t tier_sum = 0;
    bool beats(const Score& o) const {
      return matches != o.matches ? matches > o.matches : tier_sum < o.tier_sum;
    }
  };
  auto fits = [&](std::size_t t, std::size_t j) {
    const std::uint64_t cap = 2 * known[j].second;
    return p[tiers[t].last].to_bytes <= cap && p[tiers[t].first].from_bytes <= cap;
  };
  // f[t][j]: the best for tiers t.. and levels j..; how: 1 skip tier, 2 skip level, 3 match.
  std::vector<std::vector<Score>> f(closed + 1, std::vector<Score>(n + 1));
  std::vector<std::vector<char>> how(closed + 1, std::vector<char>(n + 1, 0));
  for (std::size_t t = closed; t-- > 0;)
    for (std::size_t j = n; j-- > 0;) {
      Score best;
      char h = 0;
      if (fits(t, j)) {
        best = f[t + 1][j + 1];
        best.matches += 1;
        best.tier_sum += t;
        h = 3;
      }
      if (h == 0 || f[t + 1][j].beats(best)) best = f[t + 1][j], h = 1;
      if (f[t][j + 1].beats(best)) best = f[t][j + 1], h = 2;
      f[t][j] = best;
      how[t][j] = h;
    }
  std::vector<int> level(tiers.size(), -1);
  for (std::size_t t = 0, j = 0; t < closed && j < n;) {
    if (how[t][j] == 3) level[t] = static_cast<int>(j++), ++t;
    else if (how[t][j] == 1) ++t;
    else ++j;
  }
  return level;
}

// A tier as the reading of a level: the first plateau's latency (later
// plateaus of the tier add TLB costs, not a level), the whole tier's extent.
void assign_tier(LevelReading& r, const std::vector<Plateau>& p, const Tier& t, bool ends) {
  const Plateau& a = p[t.first];
  const Plateau& b = p[t.last];
  r.separated = true;
  r.value = a.value, r.lo = a.lo, r.hi = a.hi;
  r.from_bytes = a.from_bytes, r.to_bytes = b.to_bytes;
  if (ends) r.boundary_bytes = b.to_bytes, r.spill_bytes = b.next_bytes;
}

std::string entries_name(std::uint64_t edge, std::uint64_t page, const char* page_name) {
  return std::string("TLB reach (") + page_name + " pages x " + std::to_string(edge / page) + " entries)";
}

// Rule 4: the likely cause of a rise that is no cache level's edge.
void name_step(StepReading& s, bool past_memory_start, const PageBacking& pages) {
  const double huge = pages.buffer_bytes ? double(pages.huge_bytes) / pages.buffer_bytes : 0;
  const bool small_pages = huge <= 0.1, big_pages = huge >= 0.9;
  const std::uint64_t page = big_pages ? 2u << 20 : 4u << 10;
  const std::uint64_t entries = s.edge_bytes / page;
  const char* page_name = big_pages ? "2 MiB" : "4 KiB";
  char pct[64];
  std::snprintf(pct, sizeof pct, "%.0f%% of the buffer on 2 MiB pages", 100 * huge);
  if (past_memory_start) {
    s.kind = "page_walks";
    s.name = "page walks";
    s.note = "in memory, past ~" + std::to_string(entries) + " x " + page_name + " pages (" + pct +
             "): loads that miss the TLB walk page tables whose entries no longer sit in the caches "
             "(on a VM, a two-dimensional walk)";
  } else if ((small_pages || big_pages) && entries >= 32 && entries <= 8192) {
    s.kind = "tlb_reach";
    s.name = entries_name(s.edge_bytes, page, page_name);
    s.note = std::string("a TLB covers ") + std::to_string(entries) + " x " + page_name +
             " pages; beyond, loads pay a second-level TLB lookup or a walk (" + pct + ")";
  } else {
    s.kind = "not_separable";
    s.name = "not separable";
    s.note = std::string("no known cache level and no TLB reach of the pages in use (") + pct +
             ") explains it: a partly shared cache, a neighbour's traffic, or a busy spell";
  }
}

// Every rise of the curve: between consecutive plateaus, and from the last
// plateau to the points after it (when they left it upwards).
std::vector<StepReading> rises(const std::vector<CurvePoint>& c, const std::vector<Plateau>& p,
                               double tolerance) {
  std::vector<StepReading> out;
  for (std::size_t k = 0; k < p.size(); ++k) {
    StepReading s;
    s.edge_bytes = p[k].to_bytes;
    s.spill_bytes = p[k].next_bytes;
    s.below = p[k].value;
    if (k + 1 < p.size()) {
      s.above = p[k + 1].value;
    } else {
      if (!p[k].next_bytes) break;
      std::vector<double> tail;
      for (std::size_t i = p[k].last + 1; i < c.size(); ++i) tail.push_back(c[i].value);
      s.above = median(tail);
      s.at_end = true;
      if (s.above < (1 + tolerance) * s.below) break;
    }
    out.push_back(s);
  }
  return out;
}

// Below this working set page walks cannot dominate a load yet: with 2 MiB
// pages the smallest L1 DTLB of current x86 cores (32 entries) covers 64
// MiB; with 4 KiB pages the largest STLB (4096 entries) covers 16 MiB.
std::uint64_t walk_free_bytes(const PageBacking& pages) {
  const bool big = pages.buffer_bytes && pages.huge_bytes >= 0.9 * pages.buffer_bytes;
  return big ? 64ull << 20 : 16ull << 20;
}

// Rules 2-3 applied: the matched tiers as their levels, then after the last
// match memory - or the next cache level, still open-ended. Returns memory's
// plateau, null when memory was not reached.
const Plateau* place_memory(HierarchyReading& h, const std::vector<Tier>& tiers, const std::vector<int>& level,
                            std::uint64_t largest, const KnownLevels& known, const PageBacking& pages,
                            double memory_step) {
  const std::vector<Plateau>& p = h.plateaus;
  const std::size_t n = known.size();
  int last = -1, matched = 0;
  for (std::size_t t = 0; t < tiers.size(); ++t)
    if (level[t] >= 0) assign_tier(h.levels[level[t]], p, tiers[t], true), last = int(t), ++matched;
  const Tier& end = tiers.back();
  const bool beyond = largest > 2 * known.back().second;
  const bool open_next = last + 2 == int(tiers.size());  // the open tier follows the last match
  const std::size_t j = last < 0 ? 0 : static_cast<std::size_t>(level[last]) + 1;
  const bool costs_like_memory = open_next && last >= 0 && j + 1 == n &&
                                 p[end.first].value >= memory_step * p[tiers[last].first].value;
  if (last + 1 < int(tiers.size()) && matched > 0 && (matched == int(n) || beyond || costs_like_memory)) {
    // Main memory: of every plateau after the last cache level, the widest
    // among those that start within the TLB's reach (walk_free_bytes), else
    // the widest of all. Narrower ones before it are a shared cache's
    // remnants; plateaus past the reach are memory plus page walks.
    const std::uint64_t reach = walk_free_bytes(pages);
    const std::size_t first = tiers[last].last + 1;
    std::size_t m = first;
    bool within = p[m].from_bytes < reach;
    for (std::size_t k = first + 1; k <= end.last; ++k) {
      const bool in = p[k].from_bytes < reach;
      if ((in && !within) || (in == within && p[k].points() > p[m].points())) m = k, within = in;
    }
    LevelReading& d = h.levels[n];
    d.separated = true;
    d.value = p[m].value, d.lo = p[m].lo, d.hi = p[m].hi;
    d.from_bytes = p[m].from_bytes, d.to_bytes = p[end.last].to_bytes;
    return &p[m];
  }
  if (open_next && j < n) assign_tier(h.levels[j], p, end, false);
  return nullptr;
}

}  // namespace

HierarchyReading read_hierarchy(const std::vector<CurvePoint>& curve, const KnownLevels& known,
                                const std::string& source, const PageBacking& pages,
                                const HierarchyOptions& opt) {
  HierarchyReading h;
  h.source = source;
  h.known = !known.empty();
  h.plateaus = find_plateaus(curve, opt.plateaus);
  const std::vector<Plateau>& p = h.plateaus;
  std::vector<StepReading> all = rises(curve, p, opt.plateaus.tolerance);
  if (!h.known) {
    for (std::size_t k = 0; k < all.size(); ++k) {
      all[k].kind = "unnamed";
      all[k].name = "step " + std::to_string(k + 1);
      all[k].note = "a rise in latency; the cache levels are unknown, so it is not named one";
    }
    h.steps = all;
    return h;
  }
  const std::size_t n = known.size();
  for (const auto& [name, bytes] : known) {
    LevelReading r;
    r.name = name, r.known_bytes = bytes;
    h.levels.push_back(r);
  }
  h.levels.push_back(LevelReading{});
  h.levels.back().name = "DRAM";
  if (p.empty()) {
    explain_levels(h.levels, n, known.back().second, curve.back().bytes, source, opt.noisy);
    return h;
  }
  const std::vector<Tier> tiers = tiers_of(p, opt.cache_step, opt.memory_step);
  const std::vector<int> level = assign_levels(p, tiers, tiers.size() - 1, known);
  const Plateau* memory = place_memory(h, tiers, level, curve.back().bytes, known, pages, opt.memory_step);
  explain_levels(h.levels, n, known.back().second, curve.back().bytes, source, opt.noisy);
  // Rule 4: every rise that is not a matched level's edge.
  for (StepReading& s : all) {
    bool level_edge = false;
    for (std::size_t t = 0; t < tiers.size(); ++t)
      level_edge = level_edge || (level[t] >= 0 && p[tiers[t].last].to_bytes == s.edge_bytes);
    if (level_edge) continue;
    const bool past = memory && s.edge_bytes >= memory->from_bytes;
    name_step(s, past, pages);
    h.steps.push_back(s);
  }
  return h;
}

double interpolate_log(const std::vector<CurvePoint>& c, std::uint64_t bytes) {
  if (c.empty()) throw std::invalid_argument("empty curve");
  if (bytes <= c.front().bytes) return c.front().value;
  if (bytes >= c.back().bytes) return c.back().value;
  std::size_t i = 1;
  while (c[i].bytes < bytes) ++i;
  const double x0 = std::log2(static_cast<double>(c[i - 1].bytes));
  const double x1 = std::log2(static_cast<double>(c[i].bytes));
  const double t = (std::log2(static_cast<double>(bytes)) - x0) / (x1 - x0);
  return c[i - 1].value + t * (c[i].value - c[i - 1].value);
}

double ticks_to_ns(double ticks, double tsc_hz) { return ticks / tsc_hz * 1e9; }
double ns_to_cycles(double ns, double core_hz) { return ns * core_hz / 1e9; }
double gb_per_s(double bytes, double ns) { return bytes / ns; }

std::vector<std::uint64_t> size_grid(std::uint64_t lo, std::uint64_t hi, int per_octave) {
  if (lo < 64 || hi < lo) throw std::invalid_argument("size grid: need 64 <= lo <= hi");
  static const double steps1[] = {1.0};
  static const double steps2[] = {1.0, 1.5};
  static const double steps4[] = {1.0, 1.25, 1.5, 1.75};
  const double* steps = per_octave >= 4 ? steps4 : per_octave == 2 ? steps2 : steps1;
  const int ns = per_octave >= 4 ? 4 : per_octave == 2 ? 2 : 1;
  std::vector<std::uint64_t> out;
  std::uint64_t p = 1;
  while (p * 2 <= lo) p *= 2;
  for (; p <= hi; p *= 2)
    for (int i = 0; i < ns; ++i) {
      std::uint64_t s = static_cast<std::uint64_t>(p * steps[i]) / 64 * 64;
      if (s >= lo && s <= hi && (out.empty() || s > out.back())) out.push_back(s);
    }
  return out;
}

}  // namespace cachetick
