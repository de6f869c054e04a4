#include "harness/curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "harness/context.h"

namespace cachetick {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

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

std::vector<LevelReading> match_levels(
    const std::vector<Plateau>& plateaus,
    const std::vector<std::pair<std::string, std::uint64_t>>& sysfs_levels,
    std::uint64_t largest_measured, double noisy) {
  if (sysfs_levels.empty()) {
    // Nothing to match against: every plateau that ends is a cache level of
    // its own ("level 1", ...), sizes unknown; the open-ended one is memory.
    std::vector<LevelReading> out;
    for (std::size_t k = 0; k < plateaus.size(); ++k) {
      const Plateau& p = plateaus[k];
      LevelReading r;
      r.separated = true;
      r.value = p.value, r.lo = p.lo, r.hi = p.hi;
      r.from_bytes = p.from_bytes, r.to_bytes = p.to_bytes;
      r.boundary_bytes = p.next_bytes ? p.to_bytes : 0;
      r.spill_bytes = p.next_bytes;
      r.name = p.next_bytes ? "level " + std::to_string(k + 1) : "memory";
      r.note = "sysfs reports no caches: sizes cannot be compared";
      if (p.hi > noisy * p.lo) r.note += "; noisy";
      out.push_back(r);
    }
    return out;
  }
  std::vector<LevelReading> out;
  for (const auto& [name, bytes] : sysfs_levels) {
    LevelReading r;
    r.name = name;
    r.sysfs_bytes = bytes;
    out.push_back(r);
  }
  LevelReading dram;
  dram.name = "DRAM";
  out.push_back(dram);
  const std::size_t ncache = sysfs_levels.size();

  auto assign = [](LevelReading& r, const Plateau& p, bool ends) {
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
  };

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
    std::size_t best = next_level;
    double best_d = 1e300;
    for (std::size_t l = next_level; l < ncache; ++l) {
      const double d = std::fabs(std::log2(static_cast<double>(p.to_bytes)) -
                                 std::log2(static_cast<double>(sysfs_levels[l].second)));
      if (d < best_d) best_d = d, best = l;
    }
    // Nearest level by size, never one below a level already decided: the
    // first plateau lands on L1 unless it plainly ends at a larger level's
    // size (L1 and L2 merged), and then L1 is reported as not separated.
    assign(out[best], p, true);
    next_level = best + 1;
  }

  // Say why each unmatched level has no reading.
  for (std::size_t l = 0; l < out.size(); ++l) {
    LevelReading& r = out[l];
    if (r.separated) {
      if (r.sysfs_bytes && r.boundary_bytes) {
        const double f = static_cast<double>(r.boundary_bytes) / r.sysfs_bytes;
        if (f > 2 || f < 0.5)
          r.note = "detected boundary " + format_bytes(r.boundary_bytes) + " is " +
                   (f < 1 ? std::to_string(static_cast<int>(std::lround(1 / f))) + "x below"
                          : std::to_string(static_cast<int>(std::lround(f))) + "x above") +
                   " sysfs " + format_bytes(r.sysfs_bytes) +
                   (f < 1 ? " (a shared cache: other cores or tenants hold part of it)" : "");
      } else if (r.sysfs_bytes && !r.boundary_bytes) {
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
    if (l == ncache && largest_measured <= 2 * (ncache ? sysfs_levels.back().second : 0))
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
  if (!extras.empty()) {
    std::string s = "extra steps beyond the known levels at";
    for (const auto& e : extras) s += " " + e;
    s += " (TLB reach or a shared cache)";
    LevelReading& last_cache = out[ncache ? ncache - 1 : 0];
    last_cache.note += (last_cache.note.empty() ? "" : "; ") + s;
  }
  return out;
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
