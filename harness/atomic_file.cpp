#include "harness/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace cachetick {

namespace {
// The temporary path being written, for the signal handler. A fixed buffer:
// the handler may only call async-signal-safe functions (unlink).
char g_pending[4096];
std::atomic<bool> g_has_pending{false};

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  if (tmp.size() >= sizeof g_pending) throw std::runtime_error("path too long: " + path);
  std::memcpy(g_pending, tmp.c_str(), tmp.size() + 1);
  g_has_pending.store(true);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    g_has_pending.store(false);
    throw std::runtime_error(errno_text("cannot create", tmp));
  }
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::string msg = errno_text("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      g_has_pending.store(false);
      throw std::runtime_error(msg);
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string msg = errno_text("cannot flush", tmp);
    ::unlink(tmp.c_str());
    g_has_pending.store(false);
    throw std::runtime_error(msg);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = errno_text("cannot rename into", path);
    ::unlink(tmp.c_str());
    g_has_pending.store(false);
    throw std::runtime_error(msg);
  }
  g_has_pending.store(false);
}

std::string check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return "empty output path";
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "'" + path + "' is a directory, not a file";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return "directory '" + dir.string() + "' does not exist";
  if (::access(dir.c_str(), W_OK) != 0)
    return "directory '" + dir.string() + "' is not writable: " + std::strerror(errno);
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
    return "'" + path + "' exists and is not writable";
  // The directory's mode does not tell everything (root passes access() on
  // /proc, where no file can be made): create the temporary file that
  // write_file_atomic will use, and remove it again.
  const std::string probe = path + ".tmp." + std::to_string(getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_text("cannot create", probe);
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

void abandon_pending_write_signal_safe() {
  if (g_has_pending.load()) ::unlink(g_pending);
}

}  // namespace cachetick
