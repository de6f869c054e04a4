#include "harness/gb_runs.h"

#include <regex>
#include <sstream>

namespace cachetick {

bool init_google_benchmark(std::vector<std::string> args) {
  // Google Benchmark keeps argv[0] (its context's executable name) for the
  // rest of the process: the strings must outlive this call.
  static std::vector<std::string> kept;
  kept = std::move(args);
  std::vector<char*> argv;
  for (auto& a : kept) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(kept.size());
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) return false;
  benchmark::SetDefaultTimeUnit(benchmark::kNanosecond);
  return true;
}

nlohmann::json gb_context_json(const benchmark::BenchmarkReporter::Context& context) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportContext(context);
  os << "\n  ]\n}\n";  // close the "benchmarks" array it opened
  return nlohmann::json::parse(os.str()).at("context");
}

nlohmann::json gb_entries_json(const std::vector<GbRun>& runs) {
  std::ostringstream os;
  benchmark::JSONReporter jr;
  jr.SetOutputStream(&os);
  jr.SetErrorStream(&os);
  jr.ReportRuns(runs);
  static const std::regex non_finite(R"(": -?(NaN|Infinity)\b)");
  return nlohmann::json::parse("[" + std::regex_replace(os.str(), non_finite, "\": null") + "]");
}

}  // namespace cachetick
