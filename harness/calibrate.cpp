// Calibration: the measurements of measure.h turned into the calibration
// document, the levels read off its curves (curve.h), and the
// `cachetick calibrate` command. The report is calibrate_report.cpp; what a
// run takes from the document, limits.cpp.
#include "harness/calibrate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "harness/atomic_file.h"
#include "harness/context.h"
#include "harness/core_share.h"
#include "harness/stats.h"
#include "harness/text.h"
#include "harness/tsc.h"

namespace cachetick {

namespace {

// THE place calibration learns which caches this CPU has: every question
// about the hierarchy goes through here, and so through host_caches()
// (sysfs, else CPUID - some VMs have no /sys/devices/system/cpu/cpu0/cache -
// else "unknown").
struct KnownHierarchy {
  KnownLevels levels;  // data or unified caches, sizes ascending
  std::string source;  // "sysfs", "CPUID leaf 4", ..., or "unknown" when levels is empty
};
KnownHierarchy known_data_levels() {
  KnownHierarchy h;
  const HostCaches& host = host_caches();
  for (const CacheLevel& c : host.levels)
    if (c.type != "Instruction" && c.size_bytes)
      h.levels.push_back({"L" + std::to_string(c.level) + (c.type == "Data" ? "d" : ""), c.size_bytes});
  std::sort(h.levels.begin(), h.levels.end(), [](auto& a, auto& b) { return a.second < b.second; });
  h.source = h.levels.empty() ? "unknown" : host.source;
  return h;
}

// A second opinion from the read-bandwidth curve (as ns per KiB, so that it
// steps up like latency): a level whose random-access latency is lost in
// noise (a shared L3) can still show as a bandwidth plateau. Only against
// known levels: with none there is nothing to name.
std::vector<LevelReading> cost_levels(const nlohmann::json& bw, const KnownHierarchy& known,
                                      std::uint64_t largest) {
  if (known.levels.empty()) return {};
  std::vector<CurvePoint> cost;
  for (const auto& b : bw)
    cost.push_back({b["bytes"].get<std::uint64_t>(), 1024.0 / b["read_gb_per_s"].get<double>()});
  // (No "noisy" note here: its figures would be in ns per KiB.)
  return match_levels(find_plateaus(cost), known.levels, largest, 1e300, known.source);
}

// Median read (one stream and several) and write bandwidth over [from, to].
void bandwidth_on(nlohmann::json& j, const nlohmann::json& bw, std::uint64_t from, std::uint64_t to) {
  std::vector<double> rd, wr, multi;
  for (const auto& b : bw)
    if (b["bytes"] >= from && b["bytes"] <= to) {
      rd.push_back(b["read_gb_per_s"].get<double>());
      wr.push_back(b["write_gb_per_s"].get<double>());
      multi.push_back(b["read_multi_gb_per_s"].get<double>());
    }
  j["read_gb_per_s"] = median(rd);
  j["read_multi_gb_per_s"] = median(multi);
  j["write_gb_per_s"] = median(wr);
}

nlohmann::json levels_json(const HierarchyReading& h, const nlohmann::json& bw,
                           const std::vector<LevelReading>& by_bw, double core_hz) {
  nlohmann::json lv = nlohmann::json::array();
  for (std::size_t li = 0; li < h.levels.size(); ++li) {
    const LevelReading& r = h.levels[li];
    nlohmann::json j = {{"name", r.name}, {"separated", r.separated}, {"note", r.note}};
    if (li < by_bw.size()) {
      const LevelReading& b = by_bw[li];
      nlohmann::json k = {{"separated", b.separated}, {"note", b.note}};
      if (b.separated) {
        k["read_gb_per_s"] = 1024.0 / b.value;
        k["plateau_from_bytes"] = b.from_bytes;
        k["plateau_to_bytes"] = b.to_bytes;
        if (b.boundary_bytes) k["boundary_bytes"] = b.boundary_bytes;
      }
      j["by_bandwidth"] = k;
    }
    j["known_bytes"] = r.known_bytes ? nlohmann::json(r.known_bytes) : nlohmann::json(nullptr);
    if (r.separated) {
      j["latency_ns"] = r.value;
      j["latency_est_cycles"] = ns_to_cycles(r.value, core_hz);
      j["plateau_from_bytes"] = r.from_bytes;
      j["plateau_to_bytes"] = r.to_bytes;
      if (r.boundary_bytes) {
        j["boundary_bytes"] = r.boundary_bytes;
        j["spill_bytes"] = r.spill_bytes;
      }
      bandwidth_on(j, bw, r.from_bytes, r.to_bytes);
    }
    lv.push_back(j);
  }
  return lv;
}

nlohmann::json steps_json(const HierarchyReading& h, double core_hz) {
  nlohmann::json st = nlohmann::json::array();
  for (const StepReading& s : h.steps)
    st.push_back({{"kind", s.kind},
                  {"name", s.name},
                  {"edge_bytes", s.edge_bytes},
                  {"spill_bytes", s.spill_bytes},
                  {"below_ns", s.below},
                  {"above_ns", s.above},
                  {"above_est_cycles", ns_to_cycles(s.above, core_hz)},
                  {"at_end", s.at_end},
                  {"note", s.note}});
  return st;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}


nlohmann::json core_clock_json(const CoreClock& c) {
  return {{"estimate_hz", c.best_hz},
          {"estimate_ghz", c.best_hz / 1e9},
          {"median_ghz", c.median_hz / 1e9},
          {"imul_to_add_ratio", c.imul_to_add},
          {"label", "estimate"},
          {"method", "fastest of " + std::to_string(c.samples) +
                         " samples of a chain of 384k dependent register adds (1 core cycle each) timed by "
                         "the TSC; check: a dependent imul chain (3 cycles each) should take 3.0x as long per op"}};
}

// Back-to-back calls: the cost a timing pays per read, in ns and TSC ticks.
nlohmann::json timers_json(const std::vector<TimerCost>& costs) {
  nlohmann::json timers = nlohmann::json::array();
  for (const TimerCost& t : costs) {
    if (!t.available) {
      timers.push_back({{"name", t.name}, {"available", false}, {"note", t.note}});
      continue;
    }
    nlohmann::json j = {{"name", t.name},
                        {"ns_per_call", ticks_to_ns(t.ticks_per_call, tsc_info().hz)},
                        {"ticks_per_call", t.ticks_per_call},
                        {"note", t.note}};
    if (!t.event.empty()) j["available"] = true, j["event"] = t.event;
    timers.push_back(j);
  }
  return timers;
}

nlohmann::json pages_json(const Region& region) {
  return {{"advice", region.advice},
          {"thp_enabled", read_line("/sys/kernel/mm/transparent_hugepage/enabled")},
          {"anon_huge_bytes", region.anon_huge_bytes},
          {"buffer_bytes", region.bytes},
          {"huge_fraction", static_cast<double>(region.anon_huge_bytes) / region.bytes}};
}

nlohmann::json latency_point(std::uint64_t bytes, const Sample& l, double core_hz) {
  return {{"bytes", bytes},
          {"ns", l.best},
          {"ns_median", l.median},
          {"ticks", l.best * tsc_info().hz / 1e9},
          {"est_cycles", ns_to_cycles(l.best, core_hz)}};
}

nlohmann::json bandwidth_point(std::uint64_t bytes, const Bandwidth& b) {
  nlohmann::json by = nlohmann::json::object();
  for (const StreamFigure& f : b.by_streams) by[std::to_string(f.streams)] = f.gbps;
  return {{"bytes", bytes},
          {"read_gb_per_s", b.read.best},
          {"read_multi_gb_per_s", b.multi.gbps},
          {"write_gb_per_s", b.write.best},
          {"read_median_gb_per_s", b.read.median},
          {"read_multi_median_gb_per_s", b.multi_median},
          {"write_median_gb_per_s", b.write.median},
          {"read_multi", {{"streams", b.multi.streams}, {"by_streams", by}}}};
}

// The latency and bandwidth curves over `sizes`, with how they were taken.
// `between` runs after every size (the core-share probe's samples).
struct Curves {
  nlohmann::json latency, bandwidth;
  std::vector<CurvePoint> curve;  // latency, for read_hierarchy
};
Curves measure_curves(const Region& region, const std::vector<std::uint64_t>& sizes, bool full,
                      double core_hz, const std::function<void()>& between) {
  Curves c;
  nlohmann::json lat = nlohmann::json::array(), bw = nlohmann::json::array();
  double multi_seconds = 0;
  for (std::uint64_t s : sizes) {
    const Sample l = measure_latency(region.p, s, full, 0x5eed0000 + s);
    const Bandwidth b = measure_bandwidth(region.p, s, full);
    multi_seconds += b.multi_seconds;
    c.curve.push_back({s, l.best});
    lat.push_back(latency_point(s, l, core_hz));
    bw.push_back(bandwidth_point(s, b));
    between();
  }
  const std::string reps = std::to_string(full ? 31 : 11);
  c.latency = {
      {"method", "dependent loads (p = *p) through one random cycle over all 64-byte lines of the "
                 "working set (Sattolo's algorithm), 16 per loop trip; one warm-up lap (capped at "
                 "256k loads), then the fastest of " + reps +
                     " samples of >= 0.1 ms each (ns_median: their median), timed by the TSC"},
      {"unit", "ns per load (est_cycles: x the core clock estimate)"},
      {"points", lat}};
  c.bandwidth = {{"isa", bandwidth_isa()},
                 {"method", "sequential: each sample streams 4 MiB, the whole set repeated "
                            "or a 4 MiB slice of a larger one at a rotating offset; the best of " + reps +
                                " samples (median also kept). "
                            "read_multi_gb_per_s: the same with 2, 4 and 8 concurrent read streams "
                            "over equal disjoint parts of the set, one 64-byte line of each per "
                            "trip, the fastest count (read_multi.by_streams: each count's best). "
                            "The read limit rows are judged against is the higher of read_gb_per_s "
                            "and read_multi_gb_per_s"},
                 {"unit", "GB/s = 1e9 bytes per second, one core"},
                 {"multi_stream_seconds", multi_seconds},
                 {"points", bw}};
  return c;
}

// The levels, steps and plateaus read off the curves against the known caches.
void read_levels(nlohmann::json& doc, const Curves& c, const Region& region, std::uint64_t largest,
                 double core_hz) {
  const KnownHierarchy known = known_data_levels();
  const PageBacking pages{region.bytes, region.anon_huge_bytes};
  const HierarchyReading h = read_hierarchy(c.curve, known.levels, known.source, pages);
  doc["hierarchy"] = {{"source", known.source},
                      {"known", h.known},
                      {"known_levels", nlohmann::json::array()}};
  for (const auto& [name, bytes] : known.levels)
    doc["hierarchy"]["known_levels"].push_back({{"name", name}, {"bytes", bytes}});
  const nlohmann::json& bw = c.bandwidth["points"];
  doc["levels"] = levels_json(h, bw, cost_levels(bw, known, largest), core_hz);
  doc["steps"] = steps_json(h, core_hz);
  nlohmann::json pl = nlohmann::json::array();
  for (const Plateau& p : h.plateaus)
    pl.push_back({{"from_bytes", p.from_bytes}, {"to_bytes", p.to_bytes}, {"ns", p.value}});
  doc["plateaus"] = pl;
}

// The core-share probe's uncontended cost (harness/core_share.h) from
// samples spread over the whole calibration: a busy SMT sibling comes and
// goes in spells, and the fastest sample is the core to itself. Null when
// the probe cannot run here.
nlohmann::json core_share_probe(const std::vector<double>& samples) {
  std::vector<double> ok;
  for (double v : samples)
    if (std::isfinite(v) && v > 0) ok.push_back(v);
  if (ok.empty()) return nullptr;
  const double best = *std::min_element(ok.begin(), ok.end());
  const auto shared = std::count_if(ok.begin(), ok.end(), [&](double v) { return best / v < kSharedCoreBelow; });
  return {{"best_cycles", best},
          {"median_cycles", median(ok)},
          {"samples", ok.size()},
          {"shared_fraction", static_cast<double>(shared) / ok.size()},
          {"method", "24 independent uops per trip (16 adds, 8 L1 loads) timed against 24 "
                     "dependent adds (24 cycles), fastest of 3 alternations per sample; best_cycles = the fastest "
                     "sample = the core's issue slots to this thread alone; shared_fraction = the "
                     "samples below " + std::to_string(kSharedCoreBelow).substr(0, 3) +
                     " of it (another hardware thread competing)"}};
}

nlohmann::json document_head(const CalibrateOptions& opt, const PinToCurrentCpu& pin) {
  nlohmann::json doc;
  doc["kind"] = "cachetick calibration";
  doc["format"] = kCalibrationFormat;
  doc["identity"] = calibration_identity();
  doc["created_utc"] = utc_now();
  doc["mode"] = opt.full ? "full" : "quick";
  const TscInfo& t = tsc_info();
  doc["tsc"] = {{"hz", t.hz}, {"ghz", t.hz / 1e9}, {"source", t.source}, {"unit", t.unit}};
  doc["pinned_cpu"] = pin.ok ? nlohmann::json(pin.cpu) : nlohmann::json(nullptr);
  return doc;
}

}  // namespace

nlohmann::json calibrate(const CalibrateOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  const std::uint64_t max_bytes = opt.max_bytes ? opt.max_bytes : (opt.full ? 1ull << 30 : 512ull << 20);
  const std::vector<std::uint64_t> sizes = size_grid(opt.min_bytes, max_bytes, opt.full ? 4 : 2);
  if (sizes.empty()) throw std::invalid_argument("calibration: no working-set sizes to measure");
  PinToCurrentCpu pin;
  auto dot = [&](const char* s) {
    if (opt.progress) std::fputs(s, stderr), std::fflush(stderr);
  };
  std::vector<double> issue;
  auto probe_issue = [&](int n) {
    for (int i = 0; i < n; ++i) issue.push_back(issue_probe_cycles());
  };

  nlohmann::json doc = document_head(opt, pin);
  dot("cachetick calibrate: clocks");
  const CoreClock clock = measure_core_clock(opt.full);
  doc["core_clock"] = core_clock_json(clock);
  const double core_hz = clock.best_hz;
  probe_issue(20);
  dot(", timers");
  doc["timers"] = timers_json(measure_timers());
  dot(", memory ");
  Region region(sizes.back(), opt.hugepages);
  doc["pages"] = pages_json(region);
  doc["l1_latency_cycles"] = {
      {"cycles", l1_latency_cycles(region.p, opt.full)},
      {"method", "4 KiB pointer chase and dependent add chain timed alternately, fastest of each; "
                 "load time / add time (an add is 1 core cycle)"}};
  const Curves c = measure_curves(region, sizes, opt.full, core_hz, [&] {
    probe_issue(10);
    dot(".");
  });
  dot("\n");
  doc["latency"] = c.latency;
  doc["bandwidth"] = c.bandwidth;
  read_levels(doc, c, region, sizes.back(), core_hz);
  probe_issue(20);
  if (nlohmann::json cs = core_share_probe(issue); !cs.is_null()) doc["core_share_probe"] = cs;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  doc["duration_s"] = wall;
  // How much of a CPU the calibration got: well under 1 means the machine
  // was busy (medians then sit well above the minima).
  doc["cpu_share"] = (cpu_seconds() - cpu0) / wall;
  return doc;
}

// ---------------------------------------------------------------------------
// The command

namespace {

// The output is checked before anything is measured: a bad path must not
// cost a minute of measuring and then an abort.
std::string prepare_output(const std::string& out, bool default_path) {
  if (default_path) {
    std::error_code ec;  // an unwritable directory is reported by check_writable below
    std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
  }
  return check_writable(out);
}

// The cached calibration when it serves this request (as full as asked,
// the same pages); else null and why it does not.
nlohmann::json usable_cache(const std::string& path, const CalibrateOptions& opt, std::string& why) {
  nlohmann::json cached = load_calibration(path, &why);
  if (cached.is_null()) return cached;
  const bool enough = (!opt.full || cached.value("mode", "") == "full") &&
                      cached["pages"].value("advice", "").rfind(opt.hugepages ? "MADV_HUGEPAGE"
                                                                              : "MADV_NOHUGEPAGE", 0) == 0;
  if (enough) return cached;
  why = "cached calibration is quick or used other pages";
  return nullptr;
}

}  // namespace

int calibrate_command(const CalibrateOptions& opt, bool force, const std::string& out_arg, bool no_out,
                      bool brief) {
  const std::string out = no_out ? "" : (out_arg.empty() ? calibration_cache_path() : out_arg);
  std::string why;
  if (!force && !out.empty()) {
    if (const nlohmann::json cached = usable_cache(out, opt, why); !cached.is_null()) {
      print_calibration(cached, stdout, brief);
      std::printf("\nCached: %s (measured %s; --force measures again)\n", out.c_str(),
                  cached.value("created_utc", std::string()).c_str());
      return 0;
    }
  }
  if (!out.empty())
    if (std::string bad = prepare_output(out, out_arg.empty()); !bad.empty()) {
      std::fprintf(stderr, "cachetick calibrate: cannot write '%s': %s\n", out.c_str(), bad.c_str());
      return 2;
    }
  if (!why.empty()) std::fprintf(stderr, "cachetick calibrate: measuring (%s)\n", why.c_str());
  nlohmann::json cal;
  try {
    cal = calibrate(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick calibrate: %s\n", e.what());
    return 1;
  }
  print_calibration(cal, stdout, brief);
  if (out.empty()) return 0;
  try {
    write_file_atomic(out, cal.dump(2) + "\n");
  } catch (const std::exception& e) {  // checked above; the disk may still fill
    std::fprintf(stderr, "cachetick calibrate: %s\n", e.what());
    return 1;
  }
  std::printf("\nSaved: %s (every `cachetick run` from this directory attaches it)\n", out.c_str());
  return 0;
}

}  // namespace cachetick
