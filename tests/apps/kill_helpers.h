// Signalling a child process at a chosen moment, for crash-safety and interruption tests: start a
// program, poll a condition (e.g. "the state file exists"), and send the child a signal (SIGKILL
// by default) the moment it holds; then wait for it to end.
//
// The child gets /dev/null as stdin and stdout, stderr to `stderr_path` (or /dev/null), and this
// process's environment plus `env` entries ("NAME=value"). After a signal other than SIGKILL the
// child has `grace` to end on its own before it is killed (and `ended_on_its_own` says so).
// Not here: capturing stdout (tests/apps/run_process.h).
//
// Usage:
//   KillResult k = run_and_kill_when({CNNMEM_BINARY, "train", ...},
//                                    [&] { return fs::exists(state); });
//   EXPECT_TRUE(k.killed);
//   SignalOptions o; o.signal = SIGINT; o.stderr_path = "err.txt";
//   KillResult s = run_and_signal_when(args, condition, o);  // s.exit_code == 130
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace cnnmem::test {

struct KillResult {
  bool killed = false;            // the condition held while the child ran, and it was signalled
  bool timed_out = false;         // killed because the condition did not hold before the deadline
  bool ended_on_its_own = false;  // after a signal other than SIGKILL, within the grace time
  int exit_code = -1;             // when it exited (on its own or by handling the signal)
  int term_signal = 0;
};

struct SignalOptions {
  int signal = SIGKILL;
  std::vector<std::string> env;
  std::string stderr_path;  // "" = /dev/null
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  std::chrono::milliseconds grace = std::chrono::seconds(60);
};

namespace detail {

// waitpid with WNOHANG until `deadline`; true when the child ended (status filled).
inline bool wait_until(pid_t pid, int& status, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) throw std::runtime_error("kill_helpers: waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) return false;
    usleep(1000);
  }
}

inline void kill_and_reap(pid_t pid, int& status) {
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace detail

inline KillResult run_and_signal_when(const std::vector<std::string>& args,
                                      const std::function<bool()>& condition,
                                      const SignalOptions& options) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const std::string err = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const std::string& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("run_and_signal_when: cannot start " + args[0] + ": " +
                             std::strerror(rc));
  }
  KillResult r;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("run_and_signal_when: waitpid failed");
    const bool now = condition();
    if (now && options.signal != SIGKILL) {
      r.killed = true;
      kill(pid, options.signal);
      r.ended_on_its_own =
          detail::wait_until(pid, status, std::chrono::steady_clock::now() + options.grace);
      if (!r.ended_on_its_own) detail::kill_and_reap(pid, status);
      break;
    }
    if (now || std::chrono::steady_clock::now() >= deadline) {
      r.killed = now;
      r.timed_out = !now;
      detail::kill_and_reap(pid, status);
      break;
    }
    usleep(1000);
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

inline KillResult run_and_kill_when(const std::vector<std::string>& args,
                                    const std::function<bool()>& condition,
                                    const std::vector<std::string>& env = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  SignalOptions o;
  o.env = env;
  o.timeout = timeout;
  return run_and_signal_when(args, condition, o);
}

}  // namespace cnnmem::test
