// A scratch directory of a test's own (under ctest each test runs in its own
// process, so the pid names it), removed with its contents when the test
// ends, an early return by a failed ASSERT included.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace cachetick_test {

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ct_test_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace cachetick_test
