// Counters: what `--counters` asks for, and what this host can count.
//
// A user names counters in words (cycles, l1d-misses, page-faults), as raw
// PAPI events (PAPI_TOT_CYC, perf::PAGE-FAULTS), or says `auto` / `none`.
// This file turns that request into a plan: for every counter, the PAPI event
// that will count it, or the reason it cannot be counted here. The plan is
// pure logic over an EventBackend, so the hardware path (presets for cycles,
// instructions, L1/L2/LLC misses) is unit-tested with a fake availability
// table on machines - like our VMs - that have no PMU.
//
// Principle: an unavailable counter is never shown as 0. It is absent from
// the rows and listed, with its reason, in the header and the result file.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/context.h"

namespace cachetick {

enum class EventKind {
  hardware,    // counted by the CPU's PMU: needs one exposed to this system
  software,    // counted by the kernel (perf_event software events): works in VMs
  derived,     // computed from other counters (ipc = instructions / cycles)
  allocation,  // counted by cachetick's own malloc/new hooks, not PAPI
};
const char* to_string(EventKind k);

// One friendly counter name and the PAPI events that can count it, best
// first: the portable PAPI preset, then perf_event's generic native event.
struct CounterDef {
  std::string name;                 // "l1d-misses"
  EventKind kind;
  std::vector<std::string> events;  // {"PAPI_L1_DCM", "perf::L1-DCACHE-LOAD-MISSES"}
  std::string what;                 // one line for `cachetick counters`
};
const std::vector<CounterDef>& counter_catalogue();
const CounterDef* find_counter(const std::string& name);
std::string valid_counter_names();  // for error messages

// Raw names: "PAPI_..." presets and "pmu::event" natives.
bool is_raw_event_name(const std::string& name);
// perf_event software events (kernel-counted, no PMU needed).
bool is_software_event(const std::string& raw_name);

// What a backend answers when asked to count an event (alone or in a set).
enum class EventStatus {
  ok,
  unknown_name,   // the name means nothing to PAPI on this host
  no_such_event,  // known name, but this CPU / kernel cannot count it
  not_permitted,  // perf_event_paranoid (or a capability) forbids it
  conflict,       // does not fit in the hardware counters with the others
  failed,         // anything else (detail says what)
};
struct EventProbe {
  EventStatus status = EventStatus::ok;
  std::string detail;  // the backend's own words (PAPI_strerror)
};

// The thing that really counts (PAPI), or a fake table in the tests.
class EventBackend {
 public:
  virtual ~EventBackend() = default;
  // "" when usable; otherwise why no event can be counted at all (PAPI
  // missing at build time, PAPI failed to initialise).
  virtual std::string unavailable_reason() const = 0;
  virtual std::string description() const = 0;  // "PAPI 7.0.0.0, perf_event component"
  // Can `event` be counted on its own?
  virtual EventProbe probe(const std::string& event) = 0;
  // Can these events be counted together in one event set, with or without
  // multiplexing (the kernel time-shares the counters; counts are scaled)?
  virtual EventProbe probe_set(const std::vector<std::string>& events, bool multiplex) = 0;
};

// The parsed `--counters` value.
struct CounterRequest {
  bool none = false;
  bool automatic = false;            // `auto`: every counter this host supports
  std::vector<std::string> names;    // explicit friendly or raw names, in order
};
// Throws std::invalid_argument (with the list of valid names) on unknown
// friendly names, empty items, or `none` mixed with others.
CounterRequest parse_counter_request(const std::string& spec);

struct CounterChoice {
  std::string name;                // friendly or raw, as shown in rows and JSON
  EventKind kind = EventKind::hardware;
  std::vector<std::string> tried;  // candidate events, in order
  std::string event;               // the event that counts it ("" if none)
  bool available = false;
  bool explicit_request = false;
  std::string reason;              // why not (or a note when available)
};

struct CounterPlan {
  std::string requested;             // the --counters text
  std::vector<CounterChoice> counters;
  std::vector<std::string> events;   // the event set, deduplicated, in order
  bool multiplexed = false;
  std::string mode;                  // "none", "direct", "multiplexed"
  std::string mode_note;
  bool allocs = false;               // allocation accounting on
  std::string allocs_reason;         // why not, when requested but unavailable
  std::string backend;               // backend description or why unavailable

  const CounterChoice* find(const std::string& name) const;
  std::vector<const CounterChoice*> available() const;
};

// Facts about the host that explain missing counters.
struct CounterEnvironment {
  PmuStatus pmu;
  std::string perf_event_paranoid;  // "" if unreadable
  std::string allocs_unavailable;   // "" when the malloc/new hooks are linked in
};

// Resolves a request against a backend. Unknown raw event names asked for
// explicitly throw std::invalid_argument (exit 2 at the command line).
//
// Policy when the hardware counters cannot hold every event: `auto` keeps
// counts exact - it adds events in catalogue order while the set still fits
// and leaves the rest out with the reason; explicitly named counters are all
// kept through multiplexing (scaled estimates, and the result says so), or,
// where PAPI cannot multiplex, the ones that do not fit are left out.
CounterPlan plan_counters(const std::string& spec, EventBackend& backend,
                          const CounterEnvironment& env);

nlohmann::json to_json(const CounterPlan& plan);

// Header lines for the console (each without the leading indentation).
std::vector<std::string> describe_plan(const CounterPlan& plan);

// Lets one benchmark run with cachetick's collectors idle (their start/stop
// do nothing), so that "counters on" and "counters off" can be compared
// inside ONE run, under the same machine load.
inline std::atomic<bool> g_collectors_paused{false};
class PauseCollectors {
 public:
  PauseCollectors() { g_collectors_paused.store(true, std::memory_order_relaxed); }
  ~PauseCollectors() { g_collectors_paused.store(false, std::memory_order_relaxed); }
  PauseCollectors(const PauseCollectors&) = delete;
  PauseCollectors& operator=(const PauseCollectors&) = delete;
};
inline bool collectors_paused() { return g_collectors_paused.load(std::memory_order_relaxed); }

}  // namespace cachetick
