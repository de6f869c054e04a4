#include "harness/child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace cachetick {

namespace {

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_all(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

[[noreturn]] void be_child(int fd, const std::function<nlohmann::json(int&)>& job) {
  // Interrupted, the parent says what was kept; the child just ends. And it
  // ends with its parent, whatever killed that.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int code = 0;
  try {
    const nlohmann::json answer = job(code);
    std::fflush(stdout);
    if (!write_all(fd, answer.dump())) code = code ? code : 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachetick: %s\n", e.what());
    code = 3;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(code);  // no atexit handlers, no static destructors: the parent owns those
}

}  // namespace

ChildAnswer run_in_child(const std::function<nlohmann::json(int& exit_code)>& job) {
  ChildAnswer a;
  int fds[2];
  if (pipe(fds) != 0) {
    a.why = std::string("pipe: ") + std::strerror(errno);
    return a;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    a.why = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return a;
  }
  if (pid == 0) {
    close(fds[0]);
    be_child(fds[1], job);
  }
  close(fds[1]);
  const std::string text = read_all(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    a.signal = WTERMSIG(status);
    a.why = "killed by signal " + std::to_string(a.signal) + " (" + strsignal(a.signal) + ")";
    return a;
  }
  a.exit_code = WEXITSTATUS(status);
  if (a.exit_code != 0) {
    a.why = "exit " + std::to_string(a.exit_code);
  } else if (text.empty()) {
    a.why = "no answer";
  } else {
    a.answer = nlohmann::json::parse(text, nullptr, false);
    if (a.answer.is_discarded()) a.why = "an answer that is not JSON";
  }
  if (a.exit_code != 0 && !text.empty()) a.answer = nlohmann::json::parse(text, nullptr, false);
  a.ok = a.why.empty();
  return a;
}

}  // namespace cachetick
