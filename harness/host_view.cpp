#include "harness/host_view.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/pretend.h"

namespace cachetick::sim {

namespace {

bool write_file(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// Map this user to root inside the namespace (needed to mount there).
bool map_user(uid_t uid, gid_t gid) {
  return write_file("/proc/self/setgroups", "deny") &&
         write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") &&
         write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
}

}  // namespace

bool enter_canonical_host(const std::string& scratch_dir) {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  static const char kHost[] = "cachetick-sim";
  const std::string cpuinfo = scratch_dir + "/cpuinfo";
  return unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS) == 0 && map_user(uid, gid) &&
         mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("cachetick-sim", "/sys/devices/system/cpu/cpu0", "tmpfs", MS_RDONLY, "size=4k") == 0 &&
         write_file(cpuinfo, "processor\t: 0\nmodel name\t: cachetick sim (canonical host)\n"
                             "cpu MHz\t\t: 1000.000\n\n") &&
         mount(cpuinfo.c_str(), "/proc/cpuinfo", nullptr, MS_BIND, nullptr) == 0 &&
         sethostname(kHost, sizeof kHost - 1) == 0;
}

std::string canonical_host_unavailable(const std::string& scratch_dir) {
  if (pretending(Pretend::no_namespaces))
    return "no user namespaces (injected: CACHETICK_PRETEND=no-namespaces): the child reads this "
           "host's sysfs, /proc/cpuinfo and host name";
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  if (pid == 0) _exit(enter_canonical_host(scratch_dir) ? 0 : (errno ? errno : 255) & 0xff);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::string("waitpid failed: ") + std::strerror(errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  const int e = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  return std::string("this kernel refuses the namespaces (") + (e ? std::strerror(e) : "signal") +
         "): the child reads this host's sysfs, /proc/cpuinfo and host name";
}

}  // namespace cachetick::sim
