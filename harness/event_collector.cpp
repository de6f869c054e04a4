#include "harness/event_collector.h"

#include <algorithm>
#include <chrono>

namespace cachetick {

double EventCollector::start_stop_cost_us() {
  if (!counting()) return 0;
  double best = 1e30;
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    start();
    stop();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  have_values_ = false;
  return best;
}

}  // namespace cachetick
