#include "harness/text.h"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace cachetick {

namespace {
void trim_right(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
}
}  // namespace

std::string fmt(const char* format, double v) {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

std::string sig3(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a == 0) return "0";
  // Fixed decimals down to 1, so that a column of ns/op lines up; below 1,
  // %.3g keeps three digits however many zeros lead (0.0312, not 0.031).
  return fmt(a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3g", v);
}

std::string format_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f%s", v, units[u]);
  else  // %.3g would write 1e+03 for 1000-1023.x units
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f%s" : "%.3g%s", v, units[u]);
  return buf;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : sep) + p;
  return s;
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f || !std::getline(f, s)) return {};
  trim_right(s);
  return s;
}

std::string command_output(const std::string& cmd, int* status) {
  std::string out;
  int rc = -1;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    rc = pclose(p);
  }
  if (status) *status = rc;
  trim_right(out);
  return out;
}

}  // namespace cachetick
