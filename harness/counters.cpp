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

// Presets first: PAPI maps them to the right native event on each CPU
// (Intel, AMD, ARM), which is what makes a result comparable across
// machines. The perf:: generic events are the fallback the kernel itself
// maps; they exist wherever perf_event has a driver for the PMU.
const std::vector<CounterDef>& counter_catalogue() {
  static const std::vector<CounterDef> c = {
      {"cycles", EventKind::hardware, {"PAPI_TOT_CYC", "perf::CYCLES"},
       "core clock cycles (user space); not TSC ticks: they follow the core's frequency"},
      {"instructions", EventKind::hardware, {"PAPI_TOT_INS", "perf::INSTRUCTIONS"},
       "instructions retired (user space)"},
      {"ipc", EventKind::derived, {},
       "instructions per cycle over the batch (instructions / cycles)"},
      {"l1d-misses", EventKind::hardware, {"PAPI_L1_DCM", "perf::L1-DCACHE-LOAD-MISSES"},
       "level 1 data cache misses"},
      {"l2-misses", EventKind::hardware, {"PAPI_L2_DCM", "PAPI_L2_TCM"},
       "level 2 cache misses (data, else total)"},
      {"llc-misses", EventKind::hardware, {"PAPI_L3_TCM", "PAPI_L3_DCM", "perf::LLC-LOAD-MISSES"},
       "last level cache misses: what goes to DRAM (or another socket)"},
      {"branch-misses", EventKind::hardware, {"PAPI_BR_MSP", "perf::BRANCH-MISSES"},
       "mispredicted branches"},
      {"dtlb-misses", EventKind::hardware, {"PAPI_TLB_DM", "perf::DTLB-LOAD-MISSES"},
       "data TLB misses (page walks)"},
      {"page-faults", EventKind::software, {"perf::PAGE-FAULTS"},
       "page faults (kernel software event): first touches of fresh memory"},
      {"context-switches", EventKind::software, {"perf::CONTEXT-SWITCHES"},
       "times the benchmark thread was switched out (kernel software event)"},
      {"allocs", EventKind::allocation, {},
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

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// Why an event cannot be counted, in the user's terms: the host fact that
// explains it (no PMU, paranoid setting) before PAPI's own words.
std::string explain(const CounterChoice& c, const EventProbe& worst,
                    const CounterEnvironment& env) {
  const std::string tried = " (tried " + join(c.tried, ", ") + ")";
  if (worst.status == EventStatus::not_permitted)
    return "not permitted: perf_event_paranoid=" +
           (env.perf_event_paranoid.empty() ? "?" : env.perf_event_paranoid) +
           " (lower it, e.g. sysctl kernel.perf_event_paranoid=1)";
  if (c.kind == EventKind::hardware && !env.pmu.available)
    return "hardware event, but " + env.pmu.reason;
  if (worst.status == EventStatus::unknown_name || worst.status == EventStatus::no_such_event)
    return "this CPU/kernel has no such event" + tried +
           (worst.detail.empty() ? "" : ": " + worst.detail);
  if (worst.status == EventStatus::conflict)
    return "cannot be scheduled on the hardware counters" + tried;
  return "PAPI could not count it" + tried + (worst.detail.empty() ? "" : ": " + worst.detail);
}

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

}  // namespace

CounterPlan plan_counters(const std::string& spec, EventBackend& be, const CounterEnvironment& env) {
  CounterPlan plan;
  plan.requested = spec;
  const CounterRequest req = parse_counter_request(spec);
  const std::string be_reason = be.unavailable_reason();
  plan.backend = be_reason.empty() ? be.description() : "unavailable: " + be_reason;
  if (req.none) {
    plan.mode = "none";
    plan.mode_note = "counters switched off (--counters none)";
    return plan;
  }

  // The list to resolve: auto's catalogue first, then explicit extras.
  std::vector<std::pair<std::string, bool>> wanted;  // name, explicit
  if (req.automatic)
    for (const auto& d : counter_catalogue()) wanted.push_back({d.name, false});
  for (const auto& n : req.names) {
    auto it = std::find_if(wanted.begin(), wanted.end(), [&](auto& w) { return w.first == n; });
    if (it != wanted.end())
      it->second = true;
    else
      wanted.push_back({n, true});
  }
  // ipc is a ratio of two counters: asking for it brings them in.
  auto has = [&](const std::string& n) {
    return std::any_of(wanted.begin(), wanted.end(), [&](auto& w) { return w.first == n; });
  };
  if (has("ipc")) {
    auto ipc = std::find_if(wanted.begin(), wanted.end(), [](auto& w) { return w.first == "ipc"; });
    const bool ex = ipc->second;
    const auto pos = ipc - wanted.begin();
    if (!has("instructions")) wanted.insert(wanted.begin() + pos, {"instructions", ex});
    if (!has("cycles")) wanted.insert(wanted.begin() + pos, {"cycles", ex});
  }

  // 1. Each counter alone: the first candidate event that counts.
  for (const auto& [name, ex] : wanted) {
    CounterChoice c;
    c.name = name;
    c.explicit_request = ex;
    const CounterDef* d = find_counter(name);
    if (d) {
      c.kind = d->kind;
      c.tried = d->events;
    } else {
      c.kind = is_software_event(name) ? EventKind::software : EventKind::hardware;
      c.tried = {name};
    }
    if (c.kind == EventKind::allocation) {
      c.available = env.allocs_unavailable.empty();
      c.event = "malloc/new hooks";
      c.reason = c.available ? "" : env.allocs_unavailable;
      plan.allocs = c.available;
      plan.allocs_reason = env.allocs_unavailable;
      plan.counters.push_back(c);
      continue;
    }
    if (c.kind == EventKind::derived) {  // resolved after the events
      plan.counters.push_back(c);
      continue;
    }
    if (!be_reason.empty()) {
      c.reason = be_reason;
      plan.counters.push_back(c);
      continue;
    }
    EventProbe worst{EventStatus::unknown_name, ""};
    for (const std::string& ev : c.tried) {
      EventProbe p = be.probe(ev);
      if (p.status == EventStatus::ok) {
        c.event = ev;
        c.available = true;
        break;
      }
      if (severity(p.status) >= severity(worst.status)) worst = p;
    }
    if (!c.available) {
      // A raw name PAPI has never heard of is a typo, not a missing feature.
      if (!d && ex && worst.status == EventStatus::unknown_name)
        throw std::invalid_argument("unknown counter '" + name + "': PAPI on this host knows no such event" +
                                    (worst.detail.empty() ? "" : " (" + worst.detail + ")") +
                                    "; valid: " + valid_counter_names());
      c.reason = explain(c, worst, env);
    }
    plan.counters.push_back(c);
  }

  // 2. Together: the event set must fit in the hardware counters.
  std::vector<std::string> set;
  for (const auto& c : plan.counters)
    if (c.available && !c.event.empty() && c.kind != EventKind::allocation &&
        std::find(set.begin(), set.end(), c.event) == set.end())
      set.push_back(c.event);
  plan.mode = "direct";
  plan.mode_note = "every event in one PAPI event set, counted all the time: exact counts";
  if (!set.empty() && be.probe_set(set, false).status != EventStatus::ok) {
    // Explicit requests keep every counter when PAPI can multiplex.
    bool explicit_events = false;
    for (const auto& c : plan.counters)
      if (c.available && c.explicit_request && c.kind != EventKind::allocation) explicit_events = true;
    EventProbe mpx{EventStatus::failed, "not tried"};
    if (explicit_events) mpx = be.probe_set(set, true);
    if (explicit_events && mpx.status == EventStatus::ok) {
      plan.multiplexed = true;
      plan.mode = "multiplexed";
      plan.mode_note = std::to_string(set.size()) +
                       " events do not fit in the hardware counters together: PAPI multiplexing "
                       "(the kernel time-shares the counters; each count is scaled by time "
                       "enabled / time running): estimates, not exact counts";
    } else {
      // Greedy, in plan order: keep an event while the set still fits.
      std::vector<std::string> kept;
      for (const std::string& ev : set) {
        std::vector<std::string> trial = kept;
        trial.push_back(ev);
        if (be.probe_set(trial, false).status == EventStatus::ok) kept.push_back(ev);
      }
      const std::string why =
          explicit_events
              ? "too many events for the hardware counters, and PAPI cannot multiplex here (" +
                    mpx.detail + ")"
              : "too many events for the hardware counters: `auto` keeps counts exact and does not "
                "multiplex (name the counters explicitly to multiplex them)";
      for (auto& c : plan.counters)
        if (c.available && !c.event.empty() && c.kind != EventKind::allocation &&
            std::find(kept.begin(), kept.end(), c.event) == kept.end()) {
          c.available = false;
          c.reason = why;
          c.event.clear();
        }
      set = kept;
      plan.mode_note = "one PAPI event set counted all the time (exact counts); events that did "
                       "not fit are listed as unavailable";
    }
  }
  plan.events = set;

  // 3. Derived counters follow their inputs.
  for (auto& c : plan.counters) {
    if (c.kind != EventKind::derived) continue;
    const CounterChoice* cyc = plan.find("cycles");
    const CounterChoice* ins = plan.find("instructions");
    c.available = cyc && ins && cyc->available && ins->available;
    c.event = "instructions / cycles";
    if (!c.available) c.reason = "needs cycles and instructions, which are not counted (see above)";
  }
  if (set.empty()) {
    plan.mode = plan.allocs ? "allocations only" : "none";
    plan.mode_note = plan.allocs ? "no PAPI event can be counted; allocation accounting only"
                                 : "nothing can be counted";
  }
  return plan;
}

nlohmann::json to_json(const CounterPlan& plan) {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : plan.counters) {
    nlohmann::json j = {{"name", c.name},           {"kind", to_string(c.kind)},
                        {"available", c.available}, {"explicit", c.explicit_request},
                        {"candidates", c.tried}};
    if (!c.event.empty()) j["event"] = c.event;
    if (!c.reason.empty()) j["reason"] = c.reason;
    cs.push_back(j);
  }
  return {{"requested", plan.requested},
          {"backend", plan.backend},
          {"mode", plan.mode},
          {"mode_note", plan.mode_note},
          {"multiplexed", plan.multiplexed},
          {"events", plan.events},
          {"counters", cs}};
}

std::vector<std::string> describe_plan(const CounterPlan& plan) {
  std::vector<std::string> out;
  if (plan.mode == "none" && !plan.allocs) {
    out.push_back("counters: none (" + plan.mode_note + ")");
  }
  std::vector<std::string> on;
  for (const auto* c : plan.available())
    on.push_back(c->kind == EventKind::allocation || c->kind == EventKind::derived || c->event == c->name
                     ? c->name
                     : c->name + " (" + c->event + ")");
  if (!on.empty())
    out.push_back("counters: " + join(on, ", ") +
                  (plan.events.empty() ? "" : "; PAPI " + plan.mode));
  if (plan.multiplexed) out.push_back("  " + plan.mode_note);
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
