// What every table in the hash family answers to an insert.
#pragma once

#include <cstdint>

namespace cachetick::hash {

enum class InsertResult : std::uint8_t {
  inserted,  // a new key
  assigned,  // the key was present; its value was replaced
  full,      // refused: no room (the table is unchanged)
};

}  // namespace cachetick::hash
