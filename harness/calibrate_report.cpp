// The calibration's console report (`cachetick calibrate`): clocks, timer
// costs, levels beside the known sizes, the other steps, and the curves.
// It reads the calibration document only, so a cached one prints the same.
#include <cmath>
#include <cstdio>

#include "harness/calibrate.h"
#include "harness/text.h"

namespace cachetick {

namespace {

std::string bytes_or_dash(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? format_bytes(j[k].get<std::uint64_t>()) : "-";
}

// A level's size as the CPU reports it; 0 for memory or unknown.
std::uint64_t known_bytes(const nlohmann::json& l) {
  for (const char* k : {"known_bytes", "sysfs_bytes"})  // sysfs_bytes: format 2
    if (l.contains(k) && l[k].is_number()) return l[k].get<std::uint64_t>();
  return 0;
}
std::string known_size(const nlohmann::json& l) { return known_bytes(l) ? format_bytes(known_bytes(l)) : "-"; }

double num(const nlohmann::json& j, const char* k) { return j.value(k, std::nan("")); }

void print_levels(const nlohmann::json& cal, std::FILE* out) {
  std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s  %s\n", "level", "known", "detected",
               "spills at", "latency", "~cycles", "read", "read", "write", "bandwidth", "");
  std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s\n", "", "size", "(fits to)", "", "ns", "",
               "1 stream", "2-8 str.", "GB/s", "fits to");
  for (const auto& l : cal["levels"]) {
    const nlohmann::json bwl = l.value("by_bandwidth", nlohmann::json::object());
    const bool bw_sep = bwl.value("separated", false);
    const std::string name = l["name"].get<std::string>(), note = l.value("note", "");
    if (l["separated"].get<bool>()) {
      std::fprintf(out, "  %-5s %8s %10s %10s %9s %8s %9s %9s %9s %10s  %s\n", name.c_str(),
                   known_size(l).c_str(), bytes_or_dash(l, "boundary_bytes").c_str(),
                   bytes_or_dash(l, "spill_bytes").c_str(), sig3(num(l, "latency_ns")).c_str(),
                   sig3(num(l, "latency_est_cycles")).c_str(), sig3(num(l, "read_gb_per_s")).c_str(),
                   sig3(num(l, "read_multi_gb_per_s")).c_str(), sig3(num(l, "write_gb_per_s")).c_str(),
                   bw_sep ? bytes_or_dash(bwl, "boundary_bytes").c_str() : "-", note.c_str());
      continue;
    }
    std::fprintf(out, "  %-5s %8s  latency %s\n", name.c_str(), known_size(l).c_str(), note.c_str());
    if (bw_sep)
      std::fprintf(out, "  %-5s %8s  bandwidth: a plateau of its own, %s to %s, read %s GB/s%s\n", "", "",
                   bytes_or_dash(bwl, "plateau_from_bytes").c_str(),
                   bytes_or_dash(bwl, "plateau_to_bytes").c_str(), sig3(num(bwl, "read_gb_per_s")).c_str(),
                   bwl.value("note", "").empty() ? "" : (" (" + bwl.value("note", "") + ")").c_str());
  }
}

// Plateaus, when no level could be named: the curve's own steps.
void print_plateaus(const nlohmann::json& cal, std::FILE* out) {
  std::fprintf(out, "  %10s %10s %9s %8s\n", "from", "to", "ns", "~cycles");
  const double ghz = cal["core_clock"]["estimate_ghz"].get<double>();
  for (const auto& p : cal.value("plateaus", nlohmann::json::array()))
    std::fprintf(out, "  %10s %10s %9s %8s\n", bytes_or_dash(p, "from_bytes").c_str(),
                 bytes_or_dash(p, "to_bytes").c_str(), sig3(num(p, "ns")).c_str(),
                 sig3(num(p, "ns") * ghz).c_str());
}

void print_steps(const nlohmann::json& cal, std::FILE* out) {
  const auto steps = cal.value("steps", nlohmann::json::array());
  if (steps.empty()) return;
  std::fprintf(out, "\n%s\n  %-40s %8s %10s %22s\n",
               cal["hierarchy"].value("known", false)
                   ? "Other steps in the latency curve (not cache levels; named for what they likely are)"
                   : "Steps in the latency curve (unnamed: the cache levels are unknown)",
               "step", "edge", "spills at", "ns before -> after");
  for (const auto& st : steps) {
    const std::string ba = sig3(num(st, "below_ns")) + " -> " + sig3(num(st, "above_ns")) +
                           (st.value("at_end", false) ? " (end)" : "");
    std::fprintf(out, "  %-40s %8s %10s %22s\n", st["name"].get<std::string>().c_str(),
                 bytes_or_dash(st, "edge_bytes").c_str(), bytes_or_dash(st, "spill_bytes").c_str(), ba.c_str());
    if (st.value("kind", "") != "unnamed")  // the heading already says why those have no name
      std::fprintf(out, "    %s\n", st.value("note", "").c_str());
  }
}

void print_hierarchy(const nlohmann::json& cal, std::FILE* out) {
  const auto& pg = cal["pages"];
  const nlohmann::json hi = cal.value("hierarchy", nlohmann::json::object());
  std::string known;
  for (const auto& k : hi.value("known_levels", nlohmann::json::array()))
    known += (known.empty() ? "" : ", ") + k["name"].get<std::string>() + " " + bytes_or_dash(k, "bytes");
  const double huge = pg.value("huge_fraction", 0.0);
  std::fprintf(out, "\nCache hierarchy: %s\n",
               hi.value("known", true)
                   ? (hi.value("source", "sysfs") + ": " + known).c_str()
                   : "unknown: this system describes no caches, so no plateau is named a cache level");
  std::fprintf(out, "Pages: %s, %s of %s (%.0f%%) on 2 MiB pages; THP %s\n",
               pg["advice"].get<std::string>().c_str(),
               format_bytes(pg["anon_huge_bytes"].get<std::uint64_t>()).c_str(),
               format_bytes(pg["buffer_bytes"].get<std::uint64_t>()).c_str(), 100 * huge,
               pg["thp_enabled"].get<std::string>().c_str());
  if (hi.value("known", true)) {
    std::fprintf(out, "\nCache levels read off the latency curve\n");
    print_levels(cal, out);
  } else {
    std::fprintf(out, "\nPlateaus of the latency curve\n");
    print_plateaus(cal, out);
  }
  print_steps(cal, out);
}

// The curves, one row per working set, with the known sizes marked where a
// set first exceeds them. The bar is log(latency), so each level is a step of
// its own however far apart they are.
void print_curves(const nlohmann::json& cal, std::FILE* out) {
  const auto& lat = cal["latency"]["points"];
  const auto& bw = cal["bandwidth"]["points"];
  double lo = 1e300, hi = 0, bwmax = 0;
  for (const auto& p : lat) lo = std::min(lo, p["ns"].get<double>()), hi = std::max(hi, p["ns"].get<double>());
  for (const auto& p : bw) bwmax = std::max(bwmax, p["read_gb_per_s"].get<double>());
  std::vector<std::pair<std::string, std::uint64_t>> marks;
  for (const auto& l : cal["levels"])
    if (known_bytes(l)) marks.push_back({l["name"], known_bytes(l)});
  const std::string source = cal.value("hierarchy", nlohmann::json::object()).value("source", "sysfs");
  std::size_t next_mark = 0;
  std::fprintf(out,
               "\nLatency and bandwidth curves (%s;\n  %s)\n  %9s %8s %8s %8s %10s %8s  %s\n",
               "latency: dependent loads over a random cycle of 64 B lines",
               "bandwidth: sequential, one core; read xN: the fastest of 2, 4, 8 concurrent streams",
               "set", "ns", "~cycles", "read", "read xN", "write",
               "latency (log scale)                       read GB/s");
  for (std::size_t i = 0; i < lat.size(); ++i) {
    const std::uint64_t b = lat[i]["bytes"];
    while (next_mark < marks.size() && b > marks[next_mark].second) {
      std::fprintf(out, "  ---------- %s %s (%s) ----------\n", marks[next_mark].first.c_str(),
                   format_bytes(marks[next_mark].second).c_str(), source.c_str());
      ++next_mark;
    }
    const double ns = lat[i]["ns"], rd = bw[i]["read_gb_per_s"], wr = bw[i]["write_gb_per_s"];
    const double multi = num(bw[i], "read_multi_gb_per_s");
    const int k = bw[i].value("read_multi", nlohmann::json::object()).value("streams", 0);
    const std::string mk = sig3(multi) + (k ? "/" + std::to_string(k) : "");
    const int w = hi > lo ? 1 + static_cast<int>(std::lround(39 * std::log(ns / lo) / std::log(hi / lo))) : 1;
    const int wb = bwmax > 0 ? std::max(1, static_cast<int>(std::lround(20 * rd / bwmax))) : 1;
    std::fprintf(out, "  %9s %8s %8s %8s %10s %8s  %-40s %s\n", format_bytes(b).c_str(), sig3(ns).c_str(),
                 sig3(lat[i]["est_cycles"].get<double>()).c_str(), sig3(rd).c_str(), mk.c_str(), sig3(wr).c_str(),
                 std::string(w, '#').c_str(), std::string(wb, '=').c_str());
  }
  std::fprintf(out, "\n  bandwidth code: %s\n", cal["bandwidth"]["isa"].get<std::string>().c_str());
  std::fprintf(out, "  read xN: GB/s/streams (measured in %.2f s). Rows are judged (%%BW) against the higher of\n"
                    "  read and read xN.\n", cal["bandwidth"].value("multi_stream_seconds", 0.0));
  std::fprintf(out, "  ~cycles = ns x the core clock ESTIMATE; GB/s = 1e9 bytes/s.\n");
}

}  // namespace

void print_calibration(const nlohmann::json& cal, std::FILE* out, bool brief) {
  const double core_ghz = cal["core_clock"]["estimate_ghz"].get<double>();
  const auto& id = cal["identity"];
  std::fprintf(out, "cachetick calibration (%s, %s, %.1f s) on %s, %s, %d logical CPUs\n",
               cal["mode"].get<std::string>().c_str(), cal["created_utc"].get<std::string>().c_str(),
               cal.value("duration_s", 0.0), id["cpu_model"].get<std::string>().c_str(),
               id["kernel"].get<std::string>().c_str(), id["logical_cpus"].get<int>());
  const double share = cal.value("cpu_share", 1.0);
  std::fprintf(out, "  it had %.0f%% of a CPU%s; figures are the fastest of many short samples\n",
               100 * share, share < 0.8 ? " (the machine was BUSY: medians in the JSON show by how much)" : "");
  std::fprintf(out, "\nClocks\n  TSC          %.3f GHz (%s): ticks are wall-clock units, not cycles\n",
               cal["tsc"]["ghz"].get<double>(), cal["tsc"]["source"].get<std::string>().c_str());
  const auto& cc = cal["core_clock"];
  std::fprintf(out,
               "  core clock   ~%.2f GHz ESTIMATE (dependent add chain, 1 cycle/add, fastest sample; "
               "median %.2f GHz;\n               check: imul/add = %.2f, expect 3.00)\n",
               core_ghz, cc["median_ghz"].get<double>(), cc["imul_to_add_ratio"].get<double>());
  if (cal.contains("l1_latency_cycles"))
    std::fprintf(out,
                 "  L1 load      %.2f core cycles, load-to-use (4 KiB chase / add chain timed alternately:\n"
                 "               a ratio, immune to the clock drifting between measurements)\n",
                 cal["l1_latency_cycles"]["cycles"].get<double>());
  if (cal.contains("core_share_probe")) {
    const auto& cs = cal["core_share_probe"];
    const double sf = cs["shared_fraction"].get<double>();
    std::fprintf(out,
                 "  core share   probe best %.2f cycles (24 uops: %.1f uops/cycle), median %.2f; "
                 "%.0f%% of %d samples\n               saw another hardware thread on this core%s\n",
                 cs["best_cycles"].get<double>(), 24 / cs["best_cycles"].get<double>(),
                 cs["median_cycles"].get<double>(), 100 * sf, cs["samples"].get<int>(),
                 sf > 0.05 ? " (an SMT sibling busy: throughput-bound code slows up to 2x in spells)" : "");
  }

  if (!brief) std::fprintf(out, "\nTimer costs (back-to-back calls, fastest of 21 batches)\n");
  for (const auto& t : brief ? nlohmann::json::array() : cal["timers"]) {
    if (t.value("available", true))
      std::fprintf(out, "  %-20s %7s ns  %7s ticks  %s\n", t["name"].get<std::string>().c_str(),
                   sig3(t["ns_per_call"].get<double>()).c_str(),
                   sig3(t["ticks_per_call"].get<double>()).c_str(), t["note"].get<std::string>().c_str());
    else
      std::fprintf(out, "  %-20s unavailable: %s\n", t["name"].get<std::string>().c_str(),
                   t["note"].get<std::string>().c_str());
  }

  print_hierarchy(cal, out);
  if (brief) return;
  print_curves(cal, out);
}

}  // namespace cachetick
