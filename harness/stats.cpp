#include "harness/stats.h"

#include <algorithm>
#include <limits>

namespace cachetick {

double median(std::vector<double> v) {
  const std::size_t n = v.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace cachetick
