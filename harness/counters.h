// Counters: what `--counters` asks for, and what this host can count.
//
// A user names counters in words (cycles, l1d-misses, page-faults), as raw
// PAPI events (PAPI_TOT_CYC, perf::PAGE-FAULTS), or says `auto` / `none`.
// This file turns that request into a plan: for every counter, the backend
// and event that will count it, or the reason it cannot be counted here.
// Two backends, tried in order: PAPI (its presets are the portable names,
// mapped per CPU by libpfm4), then the kernel's own perf_event_open generic
// events (harness/perf_events.h), which need no CPU table and still count
// where libpfm4 does not know the CPU and PAPI is disabled. The plan is pure
// logic over two EventBackends, so every combination (PAPI working,
// disabled, absent; the kernel with a PMU, without one, without
// perf_event) is unit-tested with fake backends on any machine.
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

// One friendly counter name and the events that can count it: PAPI's, best
// first (the portable preset, then perf_event's generic native event), then
// the kernel's generic event for the perf_event backend.
struct CounterDef {
  std::string name;                 // "l1d-misses"
  EventKind kind;
  std::vector<std::string> events;  // PAPI: {"PAPI_L1_DCM", "perf::L1-DCACHE-LOAD-MISSES"}
  std::string kernel;               // perf_event backend: "L1-dcache-load-misses", "" if none
  std::string no_kernel;            // why the kernel has none (when kernel is "")
  std::string what;                 // one line for `cachetick counters`
};
const std::vector<CounterDef>& counter_catalogue();
const CounterDef* find_counter(const std::string& name);
std::string valid_counter_names();  // for error messages

// Raw names: "PAPI_..." presets and "pmu::event" natives (PAPI's names).
bool is_raw_event_name(const std::string& name);
// perf_event software events (kernel-counted, no PMU needed).
bool is_software_event(const std::string& raw_name);

// What a backend answers when asked to count an event (alone or in a set).
enum class EventStatus {
  ok,
  unknown_name,   // the name means nothing to the backend on this host
  no_such_event,  // known name, but this CPU / kernel cannot count it
  not_permitted,  // perf_event_paranoid (or a capability) forbids it
  conflict,       // does not fit in the hardware counters with the others
  failed,         // anything else (detail says what)
};
struct EventProbe {
  EventStatus status = EventStatus::ok;
  std::string detail;  // the backend's own words (PAPI_strerror, strerror)
};

// The thing that really counts (PAPI, perf_event_open), or a fake table in
// the tests.
class EventBackend {
 public:
  virtual ~EventBackend() = default;
  virtual std::string name() const = 0;  // "papi", "perf_event": the JSON's word
  // "" when usable; otherwise why no event can be counted at all (PAPI
  // missing at build time, failed to initialise, its component disabled;
  // no perf_event_open).
  virtual std::string unavailable_reason() const = 0;
  virtual std::string description() const = 0;  // "PAPI 7.0.0.0, component perf_event"
  // Can `event` be counted on its own?
  virtual EventProbe probe(const std::string& event) = 0;
  // Can these events be counted together, with or without multiplexing
  // (the kernel time-shares the counters; counts are scaled)?
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

struct Candidate {
  std::string backend;  // "papi", "perf_event"
  std::string event;
};

struct CounterChoice {
  std::string name;                // friendly or raw, as shown in rows and JSON
  EventKind kind = EventKind::hardware;
  std::vector<Candidate> tried;    // candidate events, in order
  std::string backend;             // "papi", "perf_event", "alloc_hooks"; "" if none
  std::string event;               // the event that counts it ("" if none)
  bool available = false;
  bool explicit_request = false;
  std::string reason;              // why not (or a note when available)
};

// One backend's part of the plan: its event set and how it is counted.
struct BackendPlan {
  std::string name;                  // "papi", "perf_event"
  std::string description;           // what it is, or "unavailable: why"
  bool usable = false;
  std::vector<std::string> events;   // its event set, deduplicated, in order
  bool multiplexed = false;
  std::string mode = "unused";       // "unused", "direct", "multiplexed"
  std::string mode_note;
};

struct CounterPlan {
  std::string requested;             // the --counters text
  std::vector<CounterChoice> counters;
  BackendPlan papi, kernel;          // kernel = the perf_event backend
  bool multiplexed = false;          // either backend multiplexes
  std::string mode;                  // "none", "allocations only", "direct", "multiplexed"
  std::string mode_note;
  bool allocs = false;               // allocation accounting on
  std::string allocs_reason;         // why not, when requested but unavailable

  const CounterChoice* find(const std::string& name) const;
  std::vector<const CounterChoice*> available() const;
};

// What a collector reports for one counter its backend counts: an index
// into that backend's event set, or ipc's two inputs.
struct CounterOutput {
  std::string name;
  int index = -1;
  bool ipc = false;
  int cyc = -1, ins = -1;
};
std::vector<CounterOutput> counter_outputs(const CounterPlan& plan, const BackendPlan& backend);

// Facts about the host that explain missing counters.
struct CounterEnvironment {
  PmuStatus pmu;
  std::string perf_event_paranoid;  // "" if unreadable
  std::string allocs_unavailable;   // "" when the malloc/new hooks are linked in
};

// Resolves a request against the backends: each counter from PAPI when PAPI
// can count it, else from the kernel's generic event, else not counted,
// with the reason. Throws std::invalid_argument (exit 2 at the command
// line) on a raw PAPI name when PAPI is unavailable, and on a raw name PAPI
// does not know.
//
// Policy, per backend, when the hardware counters cannot hold every event:
// `auto` keeps counts exact - it adds events in catalogue order while the
// set still fits and leaves the rest out with the reason; explicitly named
// counters are all kept through multiplexing (scaled estimates, and the
// result says so), or, where that fails, the ones that do not fit are left out.
CounterPlan plan_counters(const std::string& spec, EventBackend& papi, EventBackend& kernel,
                          const CounterEnvironment& env);

// A backend whose collector could not open its events after all: its
// counters become unavailable with `why`, and the plan's mode follows.
void drop_backend(CounterPlan& plan, BackendPlan& backend, const std::string& why);

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
