// Small text helpers every part of the harness prints with, stated once:
// numbers to three significant digits, byte sizes in binary units, the first
// line of a file, a command's output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cachetick {

// One double through a printf format ("%.1f", "%.0f%%").
std::string fmt(const char* format, double v);

// Three significant digits whatever the magnitude: 3120, 312, 31.2, 3.12,
// 0.312, 0.0312; "0" for zero and "-" for NaN or infinity (not measured).
std::string sig3(double v);

// "16KiB", "4MiB", "1.5GiB", "1.34KiB": binary units, as sysfs and the
// issue speak; a whole number of units without decimals.
std::string format_bytes(std::uint64_t bytes);

// "a, b, c" (or with another separator).
std::string join(const std::vector<std::string>& parts, const std::string& sep = ", ");

// The first line of a file without its trailing blanks; "" when the file
// cannot be read (sysfs and /proc entries that a host does not have).
std::string read_line(const std::string& path);

// What a shell command prints on stdout, trailing blanks and newlines
// removed. `status`, when given, receives pclose's status (-1: not run).
std::string command_output(const std::string& cmd, int* status = nullptr);

}  // namespace cachetick
