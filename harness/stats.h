// The statistics the harness takes of its samples, stated once.
#pragma once

#include <vector>

namespace cachetick {

// The middle value (the mean of the two middle ones for an even count);
// NaN for an empty vector - never a read past its end, never a made-up 0.
double median(std::vector<double> v);

}  // namespace cachetick
