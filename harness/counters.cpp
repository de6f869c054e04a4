#include "harness/counters.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace cachetick {

const char* to_string(EventKind k) {
  switch (k) {
    case EventKind::hardware: return "hardware";
    case EventKind::software: return "software";
    case EventKind::derived: return "derived";
    case EventKind::allocation: return "allocation";
  }
  return "?";
}

// PAPI presets first: PAPI maps them to the right native event on each CPU
// (Intel, AMD, ARM), which is what makes a result comparable across
// machines. PAPI's perf:: natives are the kernel's generic events through
// libpfm4; the last resort is the same generic event opened directly
// (harness/perf_events.h), which works where libpfm4 does not know the CPU.
const std::vector<CounterDef>& counter_catalogue() {
  static const std::vector<CounterDef> c = {
      {"cycles", EventKind::hardware, {"PAPI_TOT_CYC", "perf::CYCLES"}, "cycles", "",
       "core clock cycles (user space); not TSC ticks: they follow the core's frequency"},
      {"instructions", EventKind::hardware, {"PAPI_TOT_INS", "perf::INSTRUCTIONS"}, "instructions",
       "", "instructions retired (user space)"},
      {"ipc", EventKind::derived, {}, "", "",
       "instructions per cycle over the batch (instructions / cycles)"},
      {"l1d-misses", EventKind::hardware, {"PAPI_L1_DCM", "perf::L1-DCACHE-LOAD-MISSES"},
       "L1-dcache-load-misses", "", "level 1 data cache misses (the kernel's event: load misses)"},
      {"l2-misses", EventKind::hardware, {"PAPI_L2_DCM", "PAPI_L2_TCM"}, "",
       "the kernel has no generic L2 event (its generic cache events name L1D, L1I, LLC, "
       "TLBs, branch units and the node)",
       "level 2 cache misses (data, else total)"},
      {"llc-misses", EventKind::hardware, {"PAPI_L3_TCM", "PAPI_L3_DCM", "perf::LLC-LOAD-MISSES"},
       "LLC-load-misses", "", "last level cache misses: what goes to DRAM (or another socket)"},
      {"branch-misses", EventKind::hardware, {"PAPI_BR_MSP", "perf::BRANCH-MISSES"},
       "branch-misses", "", "mispredicted branches"},
      {"dtlb-misses", EventKind::hardware, {"PAPI_TLB_DM", "perf::DTLB-LOAD-MISSES"},
       "dTLB-load-misses", "", "data TLB misses (page walks)"},
      {"cache-references", EventKind::hardware, {"perf::CACHE-REFERENCES"}, "cache-references", "",
       "the kernel's generic cache references: last level cache on Intel, L2 requests on AMD Zen"},
      {"cache-misses", EventKind::hardware, {"perf::CACHE-MISSES"}, "cache-misses", "",
       "the kernel's generic cache misses: last level cache on Intel, L2 misses on AMD Zen"},
      {"page-faults", EventKind::software, {"perf::PAGE-FAULTS"}, "page-faults", "",
       "page faults (kernel software event): first touches of fresh memory"},
      // Not through PAPI: its event sets count the user domain only
      // (exclude_kernel), where the kernel never counts a switch: always 0
      // (as in every row of results/reference/run.json).
      {"context-switches", EventKind::software, {}, "context-switches", "",
       "times the benchmark thread was switched out (kernel software event)"},
      // Not through PAPI either: PAPI opens its whole event set as one kernel
      // group, and grouped with page faults the kernel miscounts task-clock
      // (harness/perf_events.h: PerfGroups).
      {"task-clock", EventKind::software, {}, "task-clock", "",
       "ns of CPU time the benchmark thread had, kernel time included (kernel software event)"},
      {"allocs", EventKind::allocation, {}, "", "",
       "heap allocations and bytes per op in the timed loop, peak heap per benchmark "
       "(malloc/free and new/delete counted in this executable)"},
  };
  return c;
}

const CounterDef* find_counter(const std::string& name) {
  for (const auto& d : counter_catalogue())
    if (d.name == name) return &d;
  return nullptr;
}

std::string valid_counter_names() {
  std::string s;
  for (const auto& d : counter_catalogue()) s += (s.empty() ? "" : ", ") + d.name;
  return s + ", auto, none, or a raw PAPI preset (PAPI_TOT_CYC) or native event "
             "(perf::PAGE-FAULTS); `cachetick counters` shows what this host supports";
}

bool is_raw_event_name(const std::string& n) {
  return n.rfind("PAPI_", 0) == 0 || n.find("::") != std::string::npos;
}

bool is_software_event(const std::string& raw) {
  static const char* sw[] = {
      "PAGE-FAULTS", "FAULTS", "MINOR-FAULTS", "MAJOR-FAULTS", "CONTEXT-SWITCHES", "CS",
      "CPU-MIGRATIONS", "MIGRATIONS", "TASK-CLOCK", "CPU-CLOCK", "CGROUP-SWITCHES",
      "ALIGNMENT-FAULTS", "EMULATION-FAULTS"};
  if (raw.rfind("perf::", 0) != 0) return false;
  std::string e = raw.substr(6);
  e = e.substr(0, e.find(':'));  // drop modifiers (perf::PAGE-FAULTS:u=1)
  if (e.rfind("PERF_COUNT_SW_", 0) == 0) return true;
  return std::any_of(std::begin(sw), std::end(sw), [&](const char* s) { return e == s; });
}

CounterRequest parse_counter_request(const std::string& spec) {
  CounterRequest r;
  std::stringstream ss(spec);
  std::string item;
  std::vector<std::string> items;
  while (std::getline(ss, item, ',')) {
    // Tolerate "cycles, instructions" typed with spaces.
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty())
      throw std::invalid_argument("empty name in --counters '" + spec +
                                  "' (valid: " + valid_counter_names() + ")");
    items.push_back(item);
  }
  if (items.empty())
    throw std::invalid_argument("--counters needs a value (valid: " + valid_counter_names() + ")");
  for (const std::string& n : items) {
    if (n == "none") {
      if (items.size() > 1)
        throw std::invalid_argument("--counters none cannot be combined with other counters");
      r.none = true;
    } else if (n == "auto") {
      r.automatic = true;
    } else if (find_counter(n) || is_raw_event_name(n)) {
      if (std::find(r.names.begin(), r.names.end(), n) == r.names.end()) r.names.push_back(n);
    } else {
      throw std::invalid_argument("unknown counter '" + n + "' (valid: " + valid_counter_names() + ")");
    }
  }
  return r;
}

const CounterChoice* CounterPlan::find(const std::string& name) const {
  for (const auto& c : counters)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const CounterChoice*> CounterPlan::available() const {
  std::vector<const CounterChoice*> v;
  for (const auto& c : counters)
    if (c.available) v.push_back(&c);
  return v;
}

std::vector<CounterOutput> counter_outputs(const CounterPlan& plan, const BackendPlan& be) {
  auto index_of = [&](const std::string& ev) {
    auto it = std::find(be.events.begin(), be.events.end(), ev);
    return it == be.events.end() ? -1 : static_cast<int>(it - be.events.begin());
  };
  std::vector<CounterOutput> out;
  for (const CounterChoice* c : plan.available()) {
    if (c->backend != be.name) continue;
    CounterOutput o;
    o.name = c->name;
    if (c->kind == EventKind::derived) {
      o.ipc = true;
      o.cyc = index_of(plan.find("cycles")->event);
      o.ins = index_of(plan.find("instructions")->event);
      if (o.cyc < 0 || o.ins < 0) continue;
    } else {
      o.index = index_of(c->event);
      if (o.index < 0) continue;
    }
    out.push_back(o);
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string label(const std::string& backend) { return backend == "papi" ? "PAPI" : backend; }

// The two backends of one plan and, for each, why it is down ("" if up).
struct Backends {
  EventBackend& papi;
  EventBackend& kernel;
  std::string papi_down, kernel_down;
  EventBackend& get(const std::string& n) { return n == "papi" ? papi : kernel; }
  const std::string& down(const std::string& n) const { return n == "papi" ? papi_down : kernel_down; }
};

// The most telling failure among candidates: a permission problem explains
// more than "no such event" does.
int severity(EventStatus s) {
  switch (s) {
    case EventStatus::not_permitted: return 5;
    case EventStatus::conflict: return 4;
    case EventStatus::failed: return 3;
    case EventStatus::no_such_event: return 2;
    case EventStatus::unknown_name: return 1;
    case EventStatus::ok: return 0;
  }
  return 0;
}

// One backend's failure for one counter, in its own words.
std::string describe_failure(const EventProbe& w, const std::vector<std::string>& tried) {
  const std::string t = " (tried " + join(tried, ", ") + ")";
  const std::string detail = w.detail.empty() ? "" : ": " + w.detail;
  if (w.status == EventStatus::unknown_name || w.status == EventStatus::no_such_event)
    return "this CPU/kernel has no such event" + t + detail;
  if (w.status == EventStatus::conflict) return "cannot be scheduled on the hardware counters" + t;
  return "could not count it" + t + detail;
}

// Why a counter cannot be counted, in the user's terms: the host fact that
// explains it (paranoid setting, no PMU) before each backend's own words.
std::string explain(const CounterChoice& c, const CounterDef* d,
                    std::map<std::string, EventProbe>& worst, const Backends& bs,
                    const CounterEnvironment& env) {
  for (const auto& [be, w] : worst)
    if (w.status == EventStatus::not_permitted)
      return "not permitted: perf_event_paranoid=" +
             (env.perf_event_paranoid.empty() ? "?" : env.perf_event_paranoid) +
             " (lower it, e.g. sysctl kernel.perf_event_paranoid=1)";
  if (c.kind == EventKind::hardware && !env.pmu.available) return "hardware event, but " + env.pmu.reason;
  std::vector<std::string> parts;
  for (const std::string be : {"papi", "perf_event"}) {
    std::vector<std::string> tried;
    for (const Candidate& t : c.tried)
      if (t.backend == be) tried.push_back(t.event);
    if (tried.empty()) {
      if (be == "perf_event" && d && !d->no_kernel.empty()) parts.push_back(be + ": " + d->no_kernel);
      continue;
    }
    parts.push_back(label(be) + ": " +
                    (bs.down(be).empty() ? describe_failure(worst[be], tried)
                                         : "unavailable: " + bs.down(be)));
  }
  return join(parts, "; ");
}

std::string friendly_names() {
  std::string s;
  for (const auto& d : counter_catalogue()) s += (s.empty() ? "" : ", ") + d.name;
  return s;
}

// The counter's candidates, or an error for a raw name nothing can count.
void set_candidates(CounterChoice& c, const CounterDef* d, const Backends& bs) {
  if (d) {
    c.kind = d->kind;
    for (const auto& e : d->events) c.tried.push_back({"papi", e});
    if (!d->kernel.empty()) c.tried.push_back({"perf_event", d->kernel});
    return;
  }
  // Raw names are PAPI's: without PAPI they name nothing here.
  if (!bs.papi_down.empty())
    throw std::invalid_argument("counter '" + c.name + "' is a raw PAPI event name, but PAPI is "
                                "unavailable here: " + bs.papi_down +
                                "; name counters in words instead (" + friendly_names() +
                                "): the kernel's perf_event backend may count them");
  c.kind = is_software_event(c.name) ? EventKind::software : EventKind::hardware;
  c.tried = {{"papi", c.name}};
}

// One counter alone: the first candidate, in backend order, that counts.
CounterChoice resolve_one(const std::string& name, bool ex, Backends& bs,
                          const CounterEnvironment& env) {
  CounterChoice c;
  c.name = name;
  c.explicit_request = ex;
  const CounterDef* d = find_counter(name);
  set_candidates(c, d, bs);
  if (c.kind == EventKind::allocation) {
    c.available = env.allocs_unavailable.empty();
    c.backend = c.available ? "alloc_hooks" : "";
    c.event = "malloc/new hooks";
    c.reason = env.allocs_unavailable;
    return c;
  }
  if (c.kind == EventKind::derived) return c;  // resolved after the events
  std::map<std::string, EventProbe> worst = {{"papi", {EventStatus::unknown_name, ""}},
                                             {"perf_event", {EventStatus::unknown_name, ""}}};
  for (const Candidate& t : c.tried) {
    if (!bs.down(t.backend).empty()) continue;  // nothing is asked of a backend that is down
    const EventProbe p = bs.get(t.backend).probe(t.event);
    if (p.status == EventStatus::ok) {
      c.backend = t.backend;
      c.event = t.event;
      c.available = true;
      return c;
    }
    if (severity(p.status) >= severity(worst[t.backend].status)) worst[t.backend] = p;
  }
  // A raw name PAPI has never heard of is a typo, not a missing feature.
  if (!d && ex && worst["papi"].status == EventStatus::unknown_name)
    throw std::invalid_argument("unknown counter '" + name + "': PAPI on this host knows no such event" +
                                (worst["papi"].detail.empty() ? "" : " (" + worst["papi"].detail + ")") +
                                "; valid: " + valid_counter_names());
  c.reason = explain(c, d, worst, bs, env);
  return c;
}

// The list to resolve: auto's catalogue first, then explicit extras; ipc,
// a ratio of two counters, brings them in.
std::vector<std::pair<std::string, bool>> wanted_counters(const CounterRequest& req) {
  std::vector<std::pair<std::string, bool>> wanted;  // name, explicit
  if (req.automatic)
    for (const auto& d : counter_catalogue()) wanted.push_back({d.name, false});
  auto find = [&](const std::string& n) {
    return std::find_if(wanted.begin(), wanted.end(), [&](auto& w) { return w.first == n; });
  };
  for (const auto& n : req.names) {
    auto it = find(n);
    if (it != wanted.end())
      it->second = true;
    else
      wanted.push_back({n, true});
  }
  auto ipc = find("ipc");
  if (ipc != wanted.end()) {
    const bool ex = ipc->second;
    const auto pos = ipc - wanted.begin();
    if (find("instructions") == wanted.end()) wanted.insert(wanted.begin() + pos, {"instructions", ex});
    if (find("cycles") == wanted.end()) wanted.insert(wanted.begin() + pos, {"cycles", ex});
  }
  return wanted;
}

// Greedy, in plan order: keeps an event while the set still fits; the
// counters of the others become unavailable with `why`.
std::vector<std::string> keep_what_fits(CounterPlan& plan, EventBackend& be, const BackendPlan& bp,
                                        const std::vector<std::string>& set, const std::string& why) {
  std::vector<std::string> kept;
  for (const std::string& ev : set) {
    std::vector<std::string> trial = kept;
    trial.push_back(ev);
    if (be.probe_set(trial, false).status == EventStatus::ok) kept.push_back(ev);
  }
  for (auto& c : plan.counters)
    if (c.available && c.backend == bp.name && c.kind != EventKind::derived &&
        std::find(kept.begin(), kept.end(), c.event) == kept.end()) {
      c.available = false;
      c.reason = why;
      c.event.clear();
      c.backend.clear();
    }
  return kept;
}

// Together: one backend's event set must fit in the hardware counters.
void fit_backend(CounterPlan& plan, EventBackend& be, BackendPlan& bp) {
  std::vector<std::string> set;
  bool explicit_events = false;
  for (const auto& c : plan.counters)
    if (c.available && c.backend == bp.name && c.kind != EventKind::derived) {
      if (std::find(set.begin(), set.end(), c.event) == set.end()) set.push_back(c.event);
      explicit_events = explicit_events || c.explicit_request;
    }
  if (set.empty()) return;
  const std::string who = label(bp.name);
  const std::string unit = bp.name == "papi" ? "one PAPI event set"
                                             : "perf_event groups (PMU events in one, software events in another)";
  bp.mode = "direct";
  bp.mode_note = "every event in " + unit + ", counted all the time: exact counts";
  if (be.probe_set(set, false).status == EventStatus::ok) {
    bp.events = set;
    return;
  }
  // Explicit requests keep every counter when the backend can multiplex.
  EventProbe mpx{EventStatus::failed, "not tried"};
  if (explicit_events) mpx = be.probe_set(set, true);
  if (explicit_events && mpx.status == EventStatus::ok) {
    bp.multiplexed = true;
    bp.mode = "multiplexed";
    bp.mode_note = std::to_string(set.size()) + " events do not fit in the hardware counters "
                   "together: " + who + " multiplexing (the kernel time-shares the counters; each "
                   "count is scaled by time enabled / time running): estimates, not exact counts";
    bp.events = set;
    return;
  }
  const std::string why =
      explicit_events
          ? "too many events for the hardware counters, and " + who + " cannot multiplex here (" +
                mpx.detail + ")"
          : "too many events for the hardware counters: `auto` keeps counts exact and does not "
            "multiplex (name the counters explicitly to multiplex them)";
  bp.events = keep_what_fits(plan, be, bp, set, why);
  bp.mode_note = "events counted all the time in " + unit +
                 " (exact counts); events that did not fit are listed as unavailable";
}

// Derived counters follow their inputs: both counted, in one collector.
void resolve_derived(CounterPlan& plan) {
  for (auto& c : plan.counters) {
    if (c.kind != EventKind::derived) continue;
    const CounterChoice* cyc = plan.find("cycles");
    const CounterChoice* ins = plan.find("instructions");
    c.event = "instructions / cycles";
    if (!(cyc && ins && cyc->available && ins->available)) {
      c.reason = "needs cycles and instructions, which are not counted (see above)";
    } else if (cyc->backend != ins->backend) {
      c.reason = "cycles and instructions are counted by different backends (" + cyc->backend +
                 ", " + ins->backend + "): no ratio across them";
    } else {
      c.available = true;
      c.backend = cyc->backend;
    }
  }
}

void describe_backend(BackendPlan& bp, const EventBackend& be, const std::string& down) {
  bp.name = be.name();
  bp.usable = down.empty();
  bp.description = bp.usable ? be.description() : "unavailable: " + down;
}

void overall_mode(CounterPlan& plan) {
  plan.multiplexed = plan.papi.multiplexed || plan.kernel.multiplexed;
  if (plan.papi.events.empty() && plan.kernel.events.empty()) {
    plan.mode = plan.allocs ? "allocations only" : "none";
    plan.mode_note = plan.allocs ? "no event can be counted (neither PAPI nor perf_event); "
                                   "allocation accounting only"
                                 : "nothing can be counted";
    return;
  }
  plan.mode = plan.multiplexed ? "multiplexed" : "direct";
  std::vector<std::string> notes;
  for (const BackendPlan* bp : {&plan.papi, &plan.kernel})
    if (!bp->events.empty()) notes.push_back(label(bp->name) + ": " + bp->mode_note);
  plan.mode_note = join(notes, "; ");
}

}  // namespace

CounterPlan plan_counters(const std::string& spec, EventBackend& papi, EventBackend& kernel,
                          const CounterEnvironment& env) {
  CounterPlan plan;
  plan.requested = spec;
  const CounterRequest req = parse_counter_request(spec);
  Backends bs{papi, kernel, papi.unavailable_reason(), kernel.unavailable_reason()};
  describe_backend(plan.papi, papi, bs.papi_down);
  describe_backend(plan.kernel, kernel, bs.kernel_down);
  if (req.none) {
    plan.mode = "none";
    plan.mode_note = "counters switched off (--counters none)";
    return plan;
  }
  for (const auto& [name, ex] : wanted_counters(req)) {
    CounterChoice c = resolve_one(name, ex, bs, env);
    if (c.kind == EventKind::allocation) {
      plan.allocs = c.available;
      plan.allocs_reason = env.allocs_unavailable;
    }
    plan.counters.push_back(c);
  }
  fit_backend(plan, papi, plan.papi);
  fit_backend(plan, kernel, plan.kernel);
  resolve_derived(plan);
  overall_mode(plan);
  return plan;
}

void drop_backend(CounterPlan& plan, BackendPlan& bp, const std::string& why) {
  for (auto& c : plan.counters)
    if (c.available && c.backend == bp.name) {
      c.available = false;
      c.reason = why;
      c.backend.clear();
      if (c.kind != EventKind::derived) c.event.clear();
    }
  bp.events.clear();
  bp.multiplexed = false;
  bp.mode = "unused";
  bp.mode_note = why;
  overall_mode(plan);
}

namespace {

nlohmann::json backend_json(const BackendPlan& b) {
  return {{"usable", b.usable}, {"description", b.description}, {"mode", b.mode},
          {"mode_note", b.mode_note}, {"multiplexed", b.multiplexed}, {"events", b.events}};
}

}  // namespace

nlohmann::json to_json(const CounterPlan& plan) {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : plan.counters) {
    nlohmann::json tried = nlohmann::json::array();
    for (const Candidate& t : c.tried) tried.push_back({{"backend", t.backend}, {"event", t.event}});
    nlohmann::json j = {{"name", c.name},
                        {"kind", to_string(c.kind)},
                        {"available", c.available},
                        {"explicit", c.explicit_request},
                        {"backend", c.backend.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.backend)},
                        {"candidates", tried}};
    if (!c.event.empty()) j["event"] = c.event;
    if (!c.reason.empty()) j["reason"] = c.reason;
    cs.push_back(j);
  }
  return {{"requested", plan.requested},
          {"mode", plan.mode},
          {"mode_note", plan.mode_note},
          {"multiplexed", plan.multiplexed},
          {"backends", {{"papi", backend_json(plan.papi)}, {"perf_event", backend_json(plan.kernel)}}},
          {"counters", cs}};
}

namespace {

// "cycles (PAPI_TOT_CYC)", "page-faults (perf_event)", "l1d-misses (perf_event L1-dcache-load-misses)".
std::string shown(const CounterChoice& c) {
  if (c.kind == EventKind::allocation || c.kind == EventKind::derived) return c.name;
  if (c.backend == "perf_event")
    return c.name + " (perf_event" + (c.event == c.name ? "" : " " + c.event) + ")";
  return c.event == c.name ? c.name : c.name + " (" + c.event + ")";
}

}  // namespace

std::vector<std::string> describe_plan(const CounterPlan& plan) {
  std::vector<std::string> out;
  if (plan.mode == "none" && !plan.allocs) out.push_back("counters: none (" + plan.mode_note + ")");
  std::vector<std::string> on, modes;
  for (const auto* c : plan.available()) on.push_back(shown(*c));
  for (const BackendPlan* bp : {&plan.papi, &plan.kernel})
    if (!bp->events.empty()) modes.push_back(label(bp->name) + " " + bp->mode);
  if (!on.empty())
    out.push_back("counters: " + join(on, ", ") + (modes.empty() ? "" : "; " + join(modes, ", ")));
  for (const BackendPlan* bp : {&plan.papi, &plan.kernel})
    if (bp->multiplexed) out.push_back("  " + label(bp->name) + ": " + bp->mode_note);
  // Group counters that are missing for the same reason: one line per cause.
  std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
  for (const auto& c : plan.counters) {
    if (c.available) continue;
    auto it = std::find_if(by_reason.begin(), by_reason.end(),
                           [&](auto& p) { return p.first == c.reason; });
    if (it == by_reason.end())
      by_reason.push_back({c.reason, {c.name}});
    else
      it->second.push_back(c.name);
  }
  for (const auto& [why, names] : by_reason)
    out.push_back("not counted: " + join(names, ", ") + ": " + why);
  return out;
}

}  // namespace cachetick
