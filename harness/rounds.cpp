#include "harness/rounds.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "harness/alloc_tracker.h"
#include "harness/gb_runs.h"
#include "harness/paired.h"

namespace cachetick {

namespace {

using Clock = std::chrono::steady_clock;

struct Variant {
  const Entry* e = nullptr;
  std::int64_t iters = 0;       // per batch, from the warm-up
  GbRun warm;                   // the warm-up run (allocations), or the failed run
  std::vector<GbRun> rounds;    // one run per round
  bool failed = false;
};

void register_entry(const Entry* e, std::int64_t iters) {
  auto* b = benchmark::RegisterBenchmark(e->spec.name().c_str(), [e](benchmark::State& st) {
    if (alloc_tracker()->skip_pass(e->spec.name())) {  // see alloc_tracker.h
      st.SkipWithError("allocation pass of a later round: not needed");
      return;
    }
    run_measured(*e, st);
  });
  if (iters > 0) b->Iterations(iters);
}

// One Google Benchmark invocation of `order` (iteration counts 0: its own
// search up to the min time); the runs in that order.
std::vector<GbRun> run_batches(const std::vector<Variant*>& order, bool warm_up, nlohmann::json& gb_context) {
  for (const Variant* v : order) register_entry(v->e, warm_up ? 0 : v->iters);
  std::vector<GbRun> got;
  RunCollector c(
      [&](const benchmark::BenchmarkReporter::Context& ctx) {
        if (gb_context.is_null()) gb_context = gb_context_json(ctx);
      },
      [&](const std::vector<GbRun>& runs) {
        for (const GbRun& r : runs)
          if (r.run_type == GbRun::RT_Iteration) got.push_back(r);
      });
  benchmark::RunSpecifiedBenchmarks(&c);
  benchmark::ClearRegisteredBenchmarks();
  if (got.size() != order.size())
    throw std::runtime_error("Google Benchmark ran " + std::to_string(got.size()) + " of " +
                             std::to_string(order.size()) + " benchmarks (a pass-through --benchmark_filter?)");
  for (GbRun& r : got) r.run_name.iterations.clear();  // keep the names what they are across runs
  return got;
}

double ns_of(const GbRun& r, const Spec& s) { return time_figures(r, s, 0, Limits{}).ns_per_op; }

bool shared(const GbRun& r, double below) {
  auto it = r.counters.find("core_share");
  return it != r.counters.end() && it->second.value < below;
}

bool preempted(const GbRun& r) {
  auto it = r.counters.find("preempted");
  return it != r.counters.end() && it->second.value > 0;
}

RoundFlags flags_of(const GbRun& a, const GbRun& b, double below) {
  return {shared(a, below) || shared(b, below), preempted(a) || preempted(b)};
}

// Every live variant against the reference over the rounds so far;
// `process[r]`: which process ran round r (empty: all this one).
std::vector<PairedFigures> pair_all(const std::vector<Variant>& vs, const Variant& ref, const RoundsOptions& o,
                                    const std::vector<std::size_t>& process = {}) {
  std::vector<PairedFigures> out;
  for (const Variant& v : vs) {
    if (&v == &ref || v.failed) continue;
    std::vector<double> a, b;
    std::vector<RoundFlags> fl;
    for (std::size_t r = 0; r < v.rounds.size(); ++r) {
      a.push_back(ns_of(v.rounds[r], v.e->spec));
      b.push_back(ns_of(ref.rounds[r], ref.e->spec));
      fl.push_back(flags_of(v.rounds[r], ref.rounds[r], o.shared_below));
      if (r < process.size()) fl.back().process = process[r];
    }
    out.push_back(pair_rounds(ref.e->spec.variant, a, b, fl, o.margin, o.confidence));
  }
  return out;
}

std::int64_t batch_iterations(const GbRun& warm, double batch_s) {
  const double t = std::max(warm.real_accumulated_time, 1e-9);
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(warm.iterations) * batch_s / t));
}

void warm_up(std::vector<Variant>& vs, const RoundsOptions& o, nlohmann::json& ctx) {
  std::vector<Variant*> all;
  for (Variant& v : vs) all.push_back(&v);
  const std::vector<GbRun> runs = run_batches(all, true, ctx);
  for (std::size_t i = 0; i < vs.size(); ++i) {
    vs[i].warm = runs[i];
    vs[i].failed = runs[i].error_occurred;
    if (!vs[i].failed) vs[i].iters = batch_iterations(runs[i], o.batch_s);
  }
}

// One round; a variant that fails in it leaves the group (its error row
// says why) and its earlier rounds are dropped with it.
void run_round(std::vector<Variant>& vs, std::size_t round, nlohmann::json& ctx) {
  std::vector<Variant*> live;
  for (Variant& v : vs)
    if (!v.failed) live.push_back(&v);
  std::vector<Variant*> order;
  for (std::size_t i : round_order(live.size(), round)) order.push_back(live[i]);
  const std::vector<GbRun> runs = run_batches(order, false, ctx);
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (runs[i].error_occurred) {
      order[i]->failed = true;
      order[i]->warm = runs[i];
      order[i]->rounds.clear();
    } else {
      order[i]->rounds.push_back(runs[i]);
    }
  }
}

struct Stop {
  std::string why;  // "" = go on
  double half_width = 0;
};

// `o` is one process's share (share_of): its min_rounds the process's part
// of the group's minimum, its cap and max_rounds its part of the group's.
Stop should_stop(const std::vector<Variant>& vs, const Variant* ref, std::size_t done, double elapsed,
                 const RoundsOptions& o) {
  Stop s;
  if (done < o.min_rounds) return s;
  if (!ref || ref->failed) return {"rounds", 0};
  if (done >= min_rounds(o.confidence)) {  // this process's own intervals exist: narrow yet?
    std::vector<RatioInterval> iv;
    for (const PairedFigures& p : pair_all(vs, *ref, o)) {
      iv.push_back(p.ratio);
      s.half_width = std::max(s.half_width, p.ratio.half_width());
    }
    if (narrow_enough(iv, o.target)) s.why = "narrow";
  }
  if (s.why.empty() && elapsed >= o.cap_s) s.why = "cap";
  else if (s.why.empty() && done >= o.max_rounds) s.why = "max_rounds";
  return s;
}

// The group's reference among `vs`, or nullptr (a group that compares nothing).
const Variant* reference_of(const std::vector<Variant>& vs, const Group& g) {
  for (const Variant& v : vs)
    if (g.reference && v.e == g.reference) return &v;
  return nullptr;
}

// One process's part of a group: its warm-up and rounds.
struct Share {
  std::vector<Variant> vs;
  std::size_t rounds = 0;
  Stop stop;
  double seconds = 0;
  nlohmann::json gb_context;
};

// What each of a group's `n` processes runs: its part of the group's
// minimum, cap and round limit. A cheap group still runs the 6 rounds an
// interval needs in every process (then stops when narrow); a DRAM-scale
// group, whose rounds take seconds, stops at its cap after 2 rounds in
// each of 3 processes: the 6 the pooled interval needs, as one process ran
// before.
RoundsOptions share_of(const RoundsOptions& o, std::size_t n, bool paired) {
  RoundsOptions s = o;
  n = std::max<std::size_t>(n, 1);
  const std::size_t group_min = paired ? std::max(o.min_rounds, min_rounds(o.confidence)) : o.min_rounds;
  s.min_rounds = (group_min + n - 1) / n;
  s.cap_s = o.cap_s / static_cast<double>(n);
  s.max_rounds = std::max((o.max_rounds + n - 1) / n, s.min_rounds);
  return s;
}

// The batch iterations the first process chose (its share's JSON, or
// null): every process's batches then run as many iterations, as Google
// Benchmark's statistics require of a row's repetitions, and a round is a
// round of the same length everywhere.
void keep_iterations(std::vector<Variant>& vs, const nlohmann::json& first) {
  if (first.is_null()) return;
  for (const auto& jv : first.at("variants"))
    for (Variant& v : vs)
      if (!v.failed && v.e->spec.name() == jv.at("name") && jv.at("iterations").get<std::int64_t>() > 0)
        v.iters = jv.at("iterations").get<std::int64_t>();
}

Share measure_share_here(const Group& g, const RoundsOptions& o, const nlohmann::json& first) {
  const auto t0 = Clock::now();
  Share sh;
  for (const Entry* e : g.variants) sh.vs.push_back({e, 0, {}, {}, false});
  const Variant* ref = reference_of(sh.vs, g);
  warm_up(sh.vs, o, sh.gb_context);
  keep_iterations(sh.vs, first);
  while (std::any_of(sh.vs.begin(), sh.vs.end(), [](const Variant& v) { return !v.failed; })) {
    run_round(sh.vs, sh.rounds, sh.gb_context);
    ++sh.rounds;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    sh.stop = should_stop(sh.vs, ref, sh.rounds, elapsed, o);
    if (!sh.stop.why.empty()) break;
  }
  sh.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return sh;
}

// Another process's share, added to this one's: its rounds go first (it
// ran first) and `process` records whose each round is. A variant that
// failed there fails here, with that error.
void merge_share(std::vector<Variant>& vs, const nlohmann::json& j, std::size_t index,
                 std::vector<std::size_t>& process) {
  const std::size_t n = j.at("rounds").get<std::size_t>();
  process.insert(process.begin(), n, index);
  for (const auto& jv : j.at("variants")) {
    auto v = std::find_if(vs.begin(), vs.end(), [&](const Variant& x) { return x.e->spec.name() == jv.at("name"); });
    if (v == vs.end()) throw std::runtime_error("a process measured a variant the group lacks: " + jv.dump());
    if (v->failed) continue;
    if (!jv.at("error_run").is_null()) {
      v->failed = true;
      v->warm = run_from_json(jv.at("error_run"));
      v->rounds.clear();
      continue;
    }
    std::vector<GbRun> theirs;
    for (const auto& r : jv.at("rounds")) theirs.push_back(run_from_json(r));
    v->rounds.insert(v->rounds.begin(), theirs.begin(), theirs.end());
  }
}

nlohmann::json group_block(const Group& g, const std::vector<Variant>& vs, const Variant& ref,
                           const std::vector<PairedFigures>& pairs, const nlohmann::json& processes,
                           const RoundsOptions& o) {
  nlohmann::json names = nlohmann::json::array();
  std::size_t shared_rounds = 0, preempted_rounds = 0, rounds = 0;
  double seconds = 0, half_width = 0;
  std::string stop = "narrow";
  for (const Variant& v : vs)
    if (!v.failed) names.push_back(v.e->spec.variant);
  auto any = [&](std::size_t r, auto pred) {
    return std::any_of(vs.begin(), vs.end(),
                       [&](const Variant& v) { return !v.failed && r < v.rounds.size() && pred(v.rounds[r]); });
  };
  for (const auto& p : processes) {
    rounds += p.at("rounds").get<std::size_t>();
    seconds += p.at("seconds").get<double>();
    if (stop == "narrow") stop = p.at("stop").get<std::string>();  // the first process that did not get narrow
  }
  for (std::size_t r = 0; r < rounds; ++r) {
    shared_rounds += any(r, [&](const GbRun& x) { return shared(x, o.shared_below); });
    preempted_rounds += any(r, [](const GbRun& x) { return preempted(x); });
  }
  for (const PairedFigures& p : pairs) half_width = std::max(half_width, p.ratio.half_width());
  return {{"family", g.family}, {"workload", g.workload}, {"size_label", g.size_label},
          {"reference", ref.e->spec.variant}, {"variants", names}, {"rounds", rounds},
          {"stop", stop}, {"half_width", half_width}, {"target", o.target},
          {"seconds", seconds}, {"shared_rounds", shared_rounds},
          {"preempted_rounds", preempted_rounds}, {"processes", processes}};
}

// The rows, built by the reporter as if Google Benchmark had run each
// variant's rounds as repetitions, and each paired row's block.
nlohmann::json build_answer(std::vector<Variant>& vs, const std::vector<PairedFigures>& pairs, const Variant* ref,
                            ReportOptions ro) {
  ResultDocument doc(RunContext{}, "");
  Reporter rep(doc, ro);
  for (Variant& v : vs) {
    if (v.failed) {
      rep.on_runs({v.warm});
      continue;
    }
    v.rounds.front().memory_result = v.warm.memory_result;  // the warm-up's allocation pass
    std::vector<GbRun> aggs = aggregates_of(v.rounds);
    rep.on_runs(v.rounds);
    if (!aggs.empty()) rep.on_runs(aggs);
  }
  std::vector<Row> rows = doc.rows();
  nlohmann::json entries = doc.to_json(false)["benchmarks"];
  std::size_t k = 0;
  for (const Variant& v : vs) {
    if (!ref || ref->failed || &v == ref || v.failed) continue;
    const PairedFigures& p = pairs[k++];
    // On the row's median entry only: the row's figure (a block per round
    // entry would repeat it 10-60 times in the file).
    for (auto& e : entries)
      if (e["cachetick"].value("variant", "") == v.e->spec.variant && e.value("aggregate_name", "") == "median")
        e["cachetick"]["paired"] = to_json(p);
    for (Row& r : rows)
      if (r.spec == &v.e->spec) r.paired = p;
  }
  nlohmann::json out = {{"entries", entries}, {"rows", nlohmann::json::array()}};
  for (const Row& r : rows) out["rows"].push_back(row_to_json(r));
  return out;
}

// What the group's block keeps of each process: the same keys whether the
// share was measured here or came from another process's answer.
nlohmann::json share_summary(const Share& sh) {
  return {{"rounds", sh.rounds}, {"stop", sh.stop.why}, {"half_width", sh.stop.half_width},
          {"seconds", sh.seconds}};
}
nlohmann::json share_summary(const nlohmann::json& answer) {
  nlohmann::json s;
  for (const char* k : {"rounds", "stop", "half_width", "seconds"}) s[k] = answer.at(k);
  return s;
}

}  // namespace

nlohmann::json measure_share(const Group& g, const RoundsOptions& o, const nlohmann::json& first) {
  const Share sh = measure_share_here(g, share_of(o, o.processes, g.paired()), first);
  nlohmann::json out = share_summary(sh);
  out["variants"] = nlohmann::json::array();
  for (const Variant& v : sh.vs) {
    nlohmann::json rounds = nlohmann::json::array();
    for (const GbRun& r : v.rounds) rounds.push_back(run_to_json(r));
    out["variants"].push_back({{"name", v.e->spec.name()}, {"iterations", v.iters},
                               {"error_run", v.failed ? run_to_json(v.warm) : nlohmann::json(nullptr)},
                               {"rounds", rounds}});
  }
  return out;
}

nlohmann::json measure_group(const Group& g, const RoundsOptions& o, const ReportOptions& ro,
                             const std::vector<nlohmann::json>& others) {
  Share sh = measure_share_here(g, share_of(o, others.size() + 1, g.paired()),
                                others.empty() ? nlohmann::json() : others.front());
  std::vector<std::size_t> process(sh.rounds, others.size());
  nlohmann::json processes = nlohmann::json::array();
  for (std::size_t i = others.size(); i-- > 0;) merge_share(sh.vs, others[i], i, process);
  for (const auto& j : others) processes.push_back(share_summary(j));
  processes.push_back(share_summary(sh));
  const Variant* ref = reference_of(sh.vs, g);
  const std::vector<PairedFigures> pairs =
      (ref && !ref->failed) ? pair_all(sh.vs, *ref, o, process) : std::vector<PairedFigures>{};
  nlohmann::json out = build_answer(sh.vs, pairs, ref, ro);
  out["gb_context"] = sh.gb_context;
  out["group"] = (ref && !ref->failed) ? group_block(g, sh.vs, *ref, pairs, processes, o) : nlohmann::json(nullptr);
  return out;
}

nlohmann::json to_json(const RoundsOptions& o) {
  return {{"target", o.target}, {"group_cap_s", o.cap_s}, {"margin", o.margin},
          {"confidence", o.confidence}, {"min_rounds", std::max(o.min_rounds, min_rounds(o.confidence))},
          {"max_rounds", o.max_rounds}, {"batch_s", o.batch_s}, {"shared_below", o.shared_below},
          {"processes", o.processes},
          {"method",
           "each comparison group (family/workload/size) measured in rounds in `processes` fresh processes "
           "one after another: every variant one batch per round, the order rotating (Latin square, "
           "reversed every other cycle); per round the variant's ns/op over the reference's; the ratio is "
           "the median over every process's rounds with a distribution-free sign-test interval, widened "
           "to cover each process's own median; faster/slower only when the whole interval lies beyond "
           "+-margin, else no difference shown; each process's rounds stop when every interval is within "
           "+-target or at its share of the group's time cap"}};
}

}  // namespace cachetick
