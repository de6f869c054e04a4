#include "harness/run.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "harness/atomic_file.h"
#include "harness/build_info.h"
#include "harness/context.h"
#include "harness/pretend.h"
#include "harness/text.h"

namespace cachetick {

namespace {

void check_families(const std::vector<std::string>& wanted) {
  const auto& fams = families();
  for (const std::string& f : wanted)
    if (std::none_of(fams.begin(), fams.end(), [&](const Family& x) { return x.name == f; })) {
      std::vector<std::string> known;
      for (const auto& x : fams) known.push_back(x.name);
      throw std::invalid_argument("unknown family '" + f + "' (known: " + join(known) + ")");
    }
}

std::regex filter_regex(const std::string& filter) {
  try {
    return std::regex(filter.empty() ? ".*" : filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("invalid --filter regex '" + filter + "': " + e.what());
  }
}

}  // namespace

namespace {

// The largest working set of the row's comparison group (every registered
// variant of its family/workload/size): a size cut keeps or drops a group
// whole, never its reference without its peers.
std::uint64_t group_working_set(const Spec& s) {
  std::uint64_t m = 0;
  for (const Entry& e : entries())
    if (e.spec.family == s.family && e.spec.workload == s.workload && e.spec.size_label == s.size_label)
      m = std::max(m, e.spec.working_set_bytes);
  return m;
}

}  // namespace

std::uint64_t max_working_set(const RunOptions& o) {
  if (o.quick) return kQuickMaxWorkingSet;
  if (o.large || o.backend != "time") return ~0ull;
  return kDefaultMaxWorkingSet;
}

std::vector<const Entry*> select(const RunOptions& o) {
  check_families(o.families);
  const std::regex re = filter_regex(o.filter);
  std::vector<const Entry*> out;
  std::size_t matched_before_cut = 0;
  const std::uint64_t cut = max_working_set(o);
  for (const Entry& e : entries()) {
    if (!o.families.empty() &&
        std::find(o.families.begin(), o.families.end(), e.spec.family) == o.families.end())
      continue;
    if (!std::regex_search(e.spec.name(), re)) continue;
    ++matched_before_cut;
    if (group_working_set(e.spec) > cut) continue;
    out.push_back(&e);
  }
  if (!out.empty()) return out;
  if (matched_before_cut)
    throw std::invalid_argument("the selection only has working sets above " + format_bytes(cut) + ", which " +
                                (o.quick ? "--quick skips; drop --quick" : "a default run skips; add --large"));
  throw std::invalid_argument("no benchmark matches" +
                              (o.filter.empty() ? std::string() : " --filter '" + o.filter + "'") +
                              (o.families.empty() ? std::string() : " in the chosen families") +
                              " (see `cachetick list`)");
}

std::string default_out_path(const std::string& suffix) {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&t));
  return "results/runs/" + std::string(buf) + "-" + host_name() + suffix + ".json";
}

int select_for_run(const RunOptions& o, std::vector<const Entry*>& chosen) {
  try {
    chosen = select(o);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cachetick run: %s\n", e.what());
    return 2;
  }
  return 0;
}

int prepare_output(const RunOptions& o, const std::string& suffix, std::string& out) {
  out = o.no_out ? "" : (o.out.empty() ? default_out_path(suffix) : o.out);
  if (out.empty()) return 0;
  if (o.out.empty()) std::filesystem::create_directories("results/runs");
  if (std::string why = check_writable(out); !why.empty()) {
    std::fprintf(stderr, "cachetick run: cannot write results to '%s': %s\n", out.c_str(), why.c_str());
    return 2;
  }
  return 0;
}

RunContext base_context(const std::string& backend, const RunOptions& o,
                        const std::vector<std::string>& command_line) {
  RunContext c;
  c.backend = backend;
  c.machine = machine_info();
  c.build = build_info();
  c.options.filter = o.filter;
  c.options.families = o.families;
  c.options.quick = o.quick;
  c.options.command_line = command_line;
  if (o.quick)
    c.notes.push_back(backend == "time" ? "quick mode: 1 ms batches, 0.15 s per group, working sets above " +
                                              format_bytes(kQuickMaxWorkingSet) +
                                              " skipped: a smoke run, its intervals wider than a full run's"
                                        : "quick mode: working sets above " + format_bytes(kQuickMaxWorkingSet) +
                                              " skipped");
  if (!o.quick && !o.large && backend == "time")
    c.notes.push_back("working sets above " + format_bytes(kDefaultMaxWorkingSet) +
                      " skipped (the DRAM-scale rows: their set-up takes seconds per round); --large runs them");
  if (!pretended().empty())
    c.notes.push_back("CACHETICK_PRETEND=" + join(pretended(), ",") +
                      ": host conditions injected for a test; the figures describe a pretended host, not this one");
  if (std::string(CACHETICK_BUILD_TYPE) != "Release")
    c.notes.push_back(std::string("not a Release build (") + CACHETICK_BUILD_TYPE +
                      "): numbers are not representative");
  return c;
}

}  // namespace cachetick
