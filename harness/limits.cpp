#include "harness/limits.h"

#include <algorithm>
#include <fstream>

#include "harness/context.h"
#include "harness/text.h"

namespace cachetick {

std::string calibration_cache_path() { return "results/calibration/" + host_name() + ".json"; }

nlohmann::json calibration_identity() {
  const Machine m = machine_info();
  // A calibration taken with injected conditions (a test) or against caches
  // from another source describes another host: never reuse it for this one.
  return {{"host", m.host},
          {"cpu_model", m.cpu_model},
          {"kernel", m.kernel},
          {"logical_cpus", m.logical_cpus},
          {"caches_source", m.caches.source},
          {"pretend", m.pretend}};
}

double read_limit_gbps(double one_stream, double streams) { return std::max(one_stream, streams); }

nlohmann::json load_calibration(const std::string& path, std::string* why_not) {
  auto fail = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return nlohmann::json();
  };
  std::ifstream f(path);
  if (!f) return fail("no calibration at " + path);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    return fail(path + " is not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object() || doc.value("kind", "") != "cachetick calibration")
    return fail(path + " is not a cachetick calibration");
  if (doc.value("format", 0) != kCalibrationFormat)
    return fail(path + " has format " + std::to_string(doc.value("format", 0)) + ", this cachetick writes " +
                std::to_string(kCalibrationFormat));
  const nlohmann::json now = calibration_identity();
  for (const auto& [k, v] : now.items())
    if (!doc["identity"].contains(k) || doc["identity"][k] != v)
      return fail(path + " was measured with a different " + k + " (" +
                  (doc["identity"].contains(k) ? doc["identity"][k].dump() : "none") + ", now " +
                  v.dump() + ")");
  if (!limits_from(doc).valid) return fail(path + " lacks the L1 latency or the core clock");
  return doc;
}

Limits limits_from(const nlohmann::json& cal) {
  Limits l;
  if (!cal.is_object()) return l;
  try {
    l.core_hz = cal.at("core_clock").at("estimate_hz").get<double>();
    for (const auto& lv : cal.at("levels"))
      if (lv.at("separated").get<bool>()) {  // the first separated level is the fastest
        l.l1_ns = lv.at("latency_ns").get<double>();
        break;
      }
    // Unknown hierarchy: no level is named, but the first plateau (the
    // smallest sets) is the L1 on any CPU.
    if (!(l.l1_ns > 0) && cal.contains("plateaus") && !cal["plateaus"].empty())
      l.l1_ns = cal["plateaus"][0].at("ns").get<double>();
    for (const auto& p : cal.at("bandwidth").at("points")) {
      const double one = p.at("read_gb_per_s").get<double>();
      const double multi = p.value("read_multi_gb_per_s", 0.0);
      l.read_gbps.push_back({p.at("bytes").get<std::uint64_t>(), read_limit_gbps(one, multi)});
    }
  } catch (const nlohmann::json::exception&) {
    return Limits{};
  }
  l.valid = l.core_hz > 0 && l.l1_ns > 0 && !l.read_gbps.empty();
  return l;
}

RowLimits judge_row(const Limits& lim, double ns_per_op, std::uint64_t ws, double useful_gbps,
                    bool latency_bound) {
  RowLimits r;
  if (!lim.valid || !(ns_per_op > 0)) return r;
  r.est_cycles_per_op = ns_to_cycles(ns_per_op, lim.core_hz);
  if (latency_bound) r.l1_latencies = ns_per_op / lim.l1_ns;
  if (useful_gbps > 0) {
    r.read_gbps_at_ws = interpolate_log(lim.read_gbps, ws ? ws : lim.read_gbps.front().bytes);
    if (r.read_gbps_at_ws > 0) r.pct_read_bw = 100 * useful_gbps / r.read_gbps_at_ws;
  }
  return r;
}

std::string describe_limits(const nlohmann::json& cal, const Limits& lim) {
  std::string lv;
  for (const auto& l : cal.value("levels", nlohmann::json::array()))
    if (l.value("separated", false))
      lv += " " + l.value("name", std::string("?")) + " " + sig3(l.value("latency_ns", 0.0)) + " ns";
  if (lv.empty())  // the hierarchy was unknown: no level named (see limits_from)
    lv = " cache levels unknown, fastest plateau " + sig3(lim.l1_ns) + " ns";
  return "calibration (" + cal.value("path", std::string()) + ", " + cal.value("created_utc", std::string()) +
         "):" + lv + "; core clock ~" + fmt("%.2f", lim.core_hz / 1e9) + " GHz (estimate)";
}

}  // namespace cachetick
