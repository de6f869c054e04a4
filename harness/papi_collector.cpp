#include "harness/papi_collector.h"

#include <algorithm>
#include <chrono>

#if CACHETICK_HAVE_PAPI
#include <papi.h>
#endif

#include "harness/pretend.h"

namespace cachetick {

#if CACHETICK_HAVE_PAPI

namespace {

// What PAPI says on a host without it, or with its component disabled,
// when the condition is injected (harness/pretend.h).
std::string injected_reason() {
  if (pretending(Pretend::no_papi))
    return "cachetick was built without PAPI (injected: CACHETICK_PRETEND=no-papi)";
  if (pretending(Pretend::papi_disabled))
    return "PAPI's perf_event component is disabled: libpfm4 no default PMU found (injected: "
           "CACHETICK_PRETEND=papi-disabled)";
  return "";
}

EventProbe from_papi(int rc) {
  EventProbe p;
  p.detail = PAPI_strerror(rc);
  switch (rc) {
    case PAPI_OK: p.status = EventStatus::ok; p.detail.clear(); break;
    case PAPI_ENOEVNT: p.status = EventStatus::no_such_event; break;
    case PAPI_EPERM: p.status = EventStatus::not_permitted; break;
    case PAPI_ECNFLCT: p.status = EventStatus::conflict; break;
    default: p.status = EventStatus::failed; break;
  }
  return p;
}

// Builds an event set with `events`; on failure destroys it and says why.
EventProbe make_set(const std::vector<std::string>& events, bool multiplex, int* out) {
  int set = PAPI_NULL;
  int rc = PAPI_create_eventset(&set);
  if (rc != PAPI_OK) return from_papi(rc);
  auto fail = [&](int code) {
    PAPI_cleanup_eventset(set);
    PAPI_destroy_eventset(&set);
    return from_papi(code);
  };
  if (multiplex) {
    // Multiplexing needs the set bound to a component first; perf_event is 0.
    if ((rc = PAPI_assign_eventset_component(set, 0)) != PAPI_OK) return fail(rc);
    if ((rc = PAPI_set_multiplex(set)) != PAPI_OK) {
      EventProbe p = fail(rc);
      p.detail = "PAPI_set_multiplex: " + p.detail;
      return p;
    }
  }
  for (const std::string& e : events) {
    int code = 0;
    if ((rc = PAPI_event_name_to_code(e.c_str(), &code)) != PAPI_OK) {
      EventProbe p = fail(rc);
      p.status = EventStatus::unknown_name;
      return p;
    }
    if ((rc = PAPI_add_event(set, code)) != PAPI_OK) return fail(rc);
  }
  // Adding can succeed and starting still fail (the group is only opened
  // by the kernel at start on some PAPI versions): try it.
  std::vector<long long> v(events.size());
  if ((rc = PAPI_start(set)) != PAPI_OK) return fail(rc);
  if ((rc = PAPI_stop(set, v.data())) != PAPI_OK) return fail(rc);
  *out = set;
  return {};
}

void destroy_set(int set) {
  PAPI_cleanup_eventset(set);
  PAPI_destroy_eventset(&set);
}

}  // namespace

void PapiBackend::init() const {
  if (initialised_) return;
  initialised_ = true;
  const int v = PAPI_library_init(PAPI_VER_CURRENT);
  if (v != PAPI_VER_CURRENT) {
    reason_ = "PAPI failed to initialise: " +
              std::string(v > 0 ? "library/header version mismatch" : PAPI_strerror(v));
    return;
  }
  PAPI_multiplex_init();  // failure surfaces later, per event set
  char ver[64];
  std::snprintf(ver, sizeof ver, "PAPI %d.%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
                PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION),
                PAPI_VERSION_INCREMENT(PAPI_VERSION));
  description_ = ver;
  const PAPI_component_info_t* ci = PAPI_get_component_info(0);
  if (ci) {
    description_ += std::string(", component ") + ci->name;
    if (ci->disabled)
      reason_ = std::string("PAPI's ") + ci->name + " component is disabled: " + ci->disabled_reason;
  }
}

std::string PapiBackend::unavailable_reason() const {
  if (pretending(Pretend::no_papi)) return injected_reason();  // never initialised then
  init();
  return reason_.empty() ? injected_reason() : reason_;
}

std::string PapiBackend::description() const {
  if (pretending(Pretend::no_papi)) return "none";
  init();
  return description_;
}

EventProbe PapiBackend::probe(const std::string& event) {
  if (const std::string why = unavailable_reason(); !why.empty()) return {EventStatus::failed, why};
  int set = -1;
  EventProbe p = make_set({event}, false, &set);
  if (p.status == EventStatus::ok) destroy_set(set);
  return p;
}

EventProbe PapiBackend::probe_set(const std::vector<std::string>& events, bool multiplex) {
  if (const std::string why = unavailable_reason(); !why.empty()) return {EventStatus::failed, why};
  int set = -1;
  EventProbe p = make_set(events, multiplex, &set);
  if (p.status == EventStatus::ok) destroy_set(set);
  return p;
}

PapiCollector::PapiCollector(const CounterPlan& plan) {
  if (plan.papi.events.empty()) return;
  EventProbe p = make_set(plan.papi.events, plan.papi.multiplexed, &set_);
  if (p.status != EventStatus::ok) {
    error_ = "PAPI event set could not be built: " + p.detail;
    set_ = -1;
    return;
  }
  values_.assign(plan.papi.events.size(), 0);
  outs_ = counter_outputs(plan, plan.papi);
}

PapiCollector::~PapiCollector() {
  if (set_ < 0) return;
  if (running_) PAPI_stop(set_, values_.data());
  destroy_set(set_);
}

void PapiCollector::start() {
  have_values_ = false;
  // Remembered per batch: the pause may end before the probe reports.
  paused_ = collectors_paused();
  if (set_ < 0 || paused_) return;
  // PAPI_start zeroes the counters: the batch's counts are what PAPI_stop reads.
  running_ = PAPI_start(set_) == PAPI_OK;
}

void PapiCollector::stop() {
  if (!running_) return;
  running_ = false;
  have_values_ = PAPI_stop(set_, values_.data()) == PAPI_OK;
}

void PapiCollector::report(benchmark::State& state, double ops) {
  if (set_ < 0 || paused_) return;
  if (!have_values_) {
    // Never a zero for a count that was not taken: fail the row instead.
    state.SkipWithError("PAPI could not start or read the counters for this batch");
    return;
  }
  for (const CounterOutput& o : outs_) {
    if (o.ipc) {
      const double cyc = static_cast<double>(values_[o.cyc]);
      if (cyc > 0) state.counters[o.name] = static_cast<double>(values_[o.ins]) / cyc;
    } else {
      state.counters[o.name] = static_cast<double>(values_[o.index]) / ops;
    }
  }
}

#else  // !CACHETICK_HAVE_PAPI

void PapiBackend::init() const {}
std::string PapiBackend::unavailable_reason() const {
  return "cachetick was built without PAPI (libpapi-dev was not found at configure time; "
         "install it and rebuild)";
}
std::string PapiBackend::description() const { return "none"; }
EventProbe PapiBackend::probe(const std::string&) {
  return {EventStatus::failed, unavailable_reason()};
}
EventProbe PapiBackend::probe_set(const std::vector<std::string>&, bool) {
  return {EventStatus::failed, unavailable_reason()};
}
PapiCollector::PapiCollector(const CounterPlan&) {}
PapiCollector::~PapiCollector() = default;
void PapiCollector::start() {}
void PapiCollector::stop() {}
void PapiCollector::report(benchmark::State&, double) {}
double PapiCollector::start_stop_cost_us() { return 0; }

#endif

PapiBackend& papi_backend() {
  static PapiBackend b;
  return b;
}

}  // namespace cachetick
