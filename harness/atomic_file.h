// Results are written whole or not at all: to a temporary file beside the
// target, flushed to disk, then renamed over it (rename is atomic on POSIX).
// A reader, or a run killed mid-write, never sees half a file.
#pragma once

#include <string>

namespace cachetick {

// Throws std::runtime_error with the path and the OS reason on failure.
void write_file_atomic(const std::string& path, const std::string& content);

// Checks up front that `path` can be written (its directory exists and a
// file can be created in it), so a run fails before spending minutes, not
// after.
// Returns an empty string when fine, else the reason.
std::string check_writable(const std::string& path);

// Async-signal-safe cleanup for a SIGINT that lands mid-write: removes the
// temporary file if one is open.
void abandon_pending_write_signal_safe();

}  // namespace cachetick
