// Killing a child process at a chosen moment, for crash-safety tests: start a program, poll a
// condition (e.g. "the state file exists"), and SIGKILL the child the moment it holds.
//
// The child gets /dev/null as stdin, stdout and stderr (a killed child's output is not needed)
// and this process's environment plus `env` entries ("NAME=value").
// Not here: capturing output (tests/apps/run_process.h).
//
// Usage:
//   KillResult k = run_and_kill_when({CNNMEM_BINARY, "train", ...},
//                                    [&] { return fs::exists(state); });
//   EXPECT_TRUE(k.killed);
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
  bool killed = false;     // the condition held while the child ran, and it was killed
  bool timed_out = false;  // killed because the condition did not hold before the deadline
  int exit_code = -1;      // when it exited on its own
  int term_signal = 0;
};

inline KillResult run_and_kill_when(const std::vector<std::string>& args,
                                    const std::function<bool()>& condition,
                                    const std::vector<std::string>& env = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("run_and_kill_when: cannot start " + args[0] + ": " +
                             std::strerror(rc));
  }
  KillResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("run_and_kill_when: waitpid failed");
    const bool now = condition();
    if (now || std::chrono::steady_clock::now() >= deadline) {
      r.killed = now;
      r.timed_out = !now;
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    usleep(1000);
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

}  // namespace cnnmem::test
