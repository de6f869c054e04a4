#include "harness/paired.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace cachetick {

std::vector<std::size_t> round_order(std::size_t n, std::size_t round) {
  std::vector<std::size_t> order(n);
  if (n == 0) return order;
  for (std::size_t i = 0; i < n; ++i) order[i] = (i + round) % n;
  if ((round / n) % 2 == 1) std::reverse(order.begin(), order.end());
  return order;
}

namespace {

// P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n may be large).
double binomial_cdf_half(std::size_t n, std::size_t k) {
  double p = 0;
  const double log_half_n = n * std::log(0.5);
  for (std::size_t i = 0; i <= k && i <= n; ++i)
    p += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + log_half_n);
  return p;
}

// The largest k >= 1 with P(X <= k-1) <= alpha/2, or 0 when none: then
// [d(k), d(n+1-k)] covers the median with probability 1 - 2 P(X <= k-1).
std::size_t order_rank(std::size_t n, double alpha) {
  std::size_t k = 0;
  while (k + 1 <= n / 2 && binomial_cdf_half(n, k) <= alpha / 2) ++k;
  return k;
}

std::string fmt(const char* f, double a, double b = 0) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

}  // namespace

std::size_t min_rounds(double confidence) {
  std::size_t n = 1;
  while (order_rank(n, 1 - confidence) == 0) ++n;
  return n;
}

double RatioInterval::half_width() const {
  if (!valid || lo <= 0) return INFINITY;
  return std::exp((std::log(hi) - std::log(lo)) / 2) - 1;
}

RatioInterval ratio_interval(const std::vector<double>& ratios, double confidence) {
  std::vector<double> d;
  d.reserve(ratios.size());
  for (double r : ratios) {
    if (!(r > 0) || !std::isfinite(r)) throw std::invalid_argument("ratio_interval: a ratio is not positive");
    d.push_back(std::log(r));
  }
  std::sort(d.begin(), d.end());
  RatioInterval out;
  out.rounds = d.size();
  if (d.empty()) return out;
  const std::size_t n = d.size();
  const double mid = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
  out.ratio = std::exp(mid);
  const std::size_t k = order_rank(n, 1 - confidence);
  if (k == 0) return out;
  out.valid = true;
  out.lo = std::exp(d[k - 1]);
  out.hi = std::exp(d[n - k]);
  out.confidence = 1 - 2 * binomial_cdf_half(n, k - 1);
  return out;
}

namespace {

// Each verdict's two names, in one table: for people and for files.
struct VerdictNames {
  Verdict verdict;
  const char* key;   // in result files
  const char* text;  // on the console
};
constexpr VerdictNames kVerdictNames[] = {{Verdict::faster, "faster", "faster"},
                                          {Verdict::slower, "slower", "slower"},
                                          {Verdict::no_difference, "no_difference", "no difference shown"}};

const VerdictNames& names_of(Verdict v) {
  for (const VerdictNames& n : kVerdictNames)
    if (n.verdict == v) return n;
  throw std::logic_error("a verdict without names");
}

}  // namespace

const char* to_string(Verdict v) { return names_of(v).text; }

const char* verdict_key(Verdict v) { return names_of(v).key; }

Judgement judge_ratio(const RatioInterval& r, double margin) {
  const double up = 1 + margin, down = 1 / (1 + margin);
  const std::string pct = fmt("%.0f%%", margin * 100);
  if (!r.valid)
    return {Verdict::no_difference,
            fmt("%.0f rounds: an interval needs at least %.0f", double(r.rounds), double(min_rounds()))};
  if (r.hi < down) return {Verdict::faster, fmt("%.2fx faster", 1 / r.ratio)};
  if (r.lo > up) return {Verdict::slower, fmt("%.2fx slower", r.ratio)};
  if (r.lo >= down && r.hi <= up) return {Verdict::no_difference, "equivalent: within +-" + pct};
  return {Verdict::no_difference,
          fmt("interval %.3f-%.3f", r.lo, r.hi) + " reaches past the +-" + pct + " margin: too wide to tell"};
}

bool narrow_enough(const std::vector<RatioInterval>& intervals, double target) {
  return std::all_of(intervals.begin(), intervals.end(),
                     [&](const RatioInterval& r) { return r.valid && r.half_width() <= target; });
}

namespace {

nlohmann::json interval_json(const RatioInterval& r, const Judgement& j) {
  nlohmann::json o = {{"ratio", r.ratio}, {"rounds", r.rounds}, {"verdict", verdict_key(j.verdict)},
                      {"detail", j.detail}};
  if (r.valid) o.update({{"lo", r.lo}, {"hi", r.hi}, {"confidence", r.confidence}, {"half_width", r.half_width()}});
  else o.update({{"lo", nullptr}, {"hi", nullptr}, {"confidence", nullptr}, {"half_width", nullptr}});
  return o;
}

Verdict verdict_from(const std::string& k) {
  for (const VerdictNames& n : kVerdictNames)
    if (k == n.key) return n.verdict;
  throw std::invalid_argument("unknown paired verdict '" + k + "'");
}

void interval_from(const nlohmann::json& o, RatioInterval& r, Judgement& j) {
  r.ratio = o.at("ratio").get<double>();
  r.rounds = o.at("rounds").get<std::size_t>();
  r.valid = o.at("lo").is_number();
  if (r.valid) {
    r.lo = o.at("lo").get<double>();
    r.hi = o.at("hi").get<double>();
    r.confidence = o.at("confidence").get<double>();
  }
  j.verdict = verdict_from(o.at("verdict").get<std::string>());
  j.detail = o.at("detail").get<std::string>();
}

}  // namespace

// ratio < 1: the row is faster than the reference. "rounds": the rounds
// the headline used; "rounds_run": every round. An interval the rounds
// could not give (fewer than min_rounds) is null, its verdict
// "no_difference" with the reason in "detail".
nlohmann::json to_json(const PairedFigures& p) {
  nlohmann::json o = interval_json(p.ratio, p.judgement);
  o["reference"] = p.reference;
  o["margin"] = p.margin;
  o["rounds_run"] = p.rounds;
  o["shared_rounds"] = p.shared_rounds;
  o["preempted_rounds"] = p.preempted_rounds;
  o["dropped_disturbed"] = p.dropped_disturbed;
  o["every_round"] = interval_json(p.every_round, p.every_round_judgement);
  o["disturbed_changes_verdict"] = p.disturbed_changes_verdict();
  o["processes"] = p.processes;
  o["process_ratios"] = p.process_ratios;
  o["widened_by_processes"] = p.widened;
  o["shared_core"] = p.shared_core;
  return o;
}

PairedFigures paired_from_json(const nlohmann::json& j) {
  PairedFigures p;
  interval_from(j, p.ratio, p.judgement);
  interval_from(j.at("every_round"), p.every_round, p.every_round_judgement);
  p.reference = j.at("reference").get<std::string>();
  p.margin = j.at("margin").get<double>();
  p.rounds = j.at("rounds_run").get<std::size_t>();
  p.shared_rounds = j.at("shared_rounds").get<std::size_t>();
  p.preempted_rounds = j.at("preempted_rounds").get<std::size_t>();
  p.dropped_disturbed = j.at("dropped_disturbed").get<bool>();
  p.processes = j.value("processes", std::size_t{1});  // files from before processes: one
  p.process_ratios = j.value("process_ratios", std::vector<double>{});
  p.widened = j.value("widened_by_processes", false);
  p.shared_core = j.value("shared_core", false);
  return p;
}

namespace {

// Each process's median of the ratios `use` keeps.
std::vector<double> process_medians(const std::vector<double>& ratios, const std::vector<RoundFlags>& flags,
                                    const std::vector<bool>& use, std::size_t processes) {
  std::vector<double> out;
  for (std::size_t p = 0; p < processes; ++p) {
    std::vector<double> mine;
    for (std::size_t i = 0; i < ratios.size(); ++i)
      if (use[i] && flags[i].process == p) mine.push_back(ratios[i]);
    if (!mine.empty()) out.push_back(ratio_interval(mine).ratio);  // its median, as the headline's
  }
  return out;
}

// Widens a valid interval to cover every process's median; true if it moved.
bool cover(RatioInterval& r, const std::vector<double>& medians) {
  if (!r.valid || medians.size() < 2) return false;
  const auto [lo, hi] = std::minmax_element(medians.begin(), medians.end());
  const bool moved = *lo < r.lo || *hi > r.hi;
  r.lo = std::min(r.lo, *lo);
  r.hi = std::max(r.hi, *hi);
  return moved;
}

Judgement not_judged_shared(const RatioInterval& r, std::size_t shared) {
  return {Verdict::no_difference,
          fmt("%.0f of %.0f rounds on a shared core (another hardware thread competed): not judged",
              double(shared), double(r.rounds)) +
              (r.valid ? fmt(" (%.3f there)", r.ratio) : "")};
}

}  // namespace

PairedFigures pair_rounds(const std::string& reference, const std::vector<double>& variant_ns,
                          const std::vector<double>& reference_ns, const std::vector<RoundFlags>& flags,
                          double margin, double confidence) {
  if (variant_ns.size() != reference_ns.size() || flags.size() != variant_ns.size())
    throw std::invalid_argument("pair_rounds: the variant, reference and flag series differ in length");
  PairedFigures p;
  p.reference = reference;
  p.margin = margin;
  p.rounds = variant_ns.size();
  std::vector<double> all, clean;
  std::vector<bool> is_clean;
  for (std::size_t i = 0; i < variant_ns.size(); ++i) {
    const double r = variant_ns[i] / reference_ns[i];
    all.push_back(r);
    p.shared_rounds += flags[i].shared;
    p.preempted_rounds += flags[i].preempted;
    is_clean.push_back(!flags[i].shared && !flags[i].preempted);
    if (is_clean.back()) clean.push_back(r);
    p.processes = std::max(p.processes, flags[i].process + 1);
  }
  p.dropped_disturbed = clean.size() < all.size() && clean.size() >= min_rounds(confidence);
  const std::vector<bool> every(all.size(), true);
  p.every_round = ratio_interval(all, confidence);
  cover(p.every_round, process_medians(all, flags, every, p.processes));
  p.every_round_judgement = judge_ratio(p.every_round, margin);
  const std::vector<bool>& used = p.dropped_disturbed ? is_clean : every;
  p.ratio = ratio_interval(p.dropped_disturbed ? clean : all, confidence);
  if (p.processes > 1) p.process_ratios = process_medians(all, flags, used, p.processes);
  p.widened = cover(p.ratio, p.process_ratios);
  p.judgement = judge_ratio(p.ratio, margin);
  // Shared core (paired.h): the headline kept its disturbed rounds (it is
  // then the every-round interval) and most of them shared the core.
  if (!p.dropped_disturbed && 2 * p.shared_rounds > p.rounds) {
    p.shared_core = true;
    p.judgement = p.every_round_judgement = not_judged_shared(p.ratio, p.shared_rounds);
  }
  return p;
}

}  // namespace cachetick
