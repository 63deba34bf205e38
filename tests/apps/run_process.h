// Runs a program as a child process and captures its stdout and stderr separately, with a
// deadline, for tests that check a command line from the outside.
//
// The child gets /dev/null as stdin and this process's environment. Both pipes are drained with
// poll() so a chatty child cannot dead-lock on a full pipe; past the deadline it is killed with
// SIGKILL and the result says so, so a hang fails a test instead of blocking the suite.
// Not here: shell parsing (arguments are passed as they are), or feeding stdin.
//
// Usage:
//   cnnmem::test::ProcessResult r = cnnmem::test::run_process({"/bin/echo", "hi"});
//   EXPECT_EQ(r.exit_code, 0);  // r.out == "hi\n"
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace cnnmem::test {

struct ProcessResult {
  int exit_code = -1;      // the exit status, or -1 if the child did not exit normally
  int term_signal = 0;     // the signal that ended it (SIGKILL after a timeout), else 0
  bool timed_out = false;  // killed because it ran past the deadline
  std::string out;         // everything it wrote to stdout
  std::string err;         // everything it wrote to stderr
};

inline ProcessResult run_process(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto fail = [](const std::string& what) {
    throw std::runtime_error("run_process: " + what + ": " + std::strerror(errno));
  };
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) fail("pipe");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) fail("pipe");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);

  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawn_rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    errno = spawn_rc;
    fail("cannot start " + args[0]);
  }

  ProcessResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) fail("poll");
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }

  // The child may close its pipes and still hang, so the deadline also bounds the wait.
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, r.timed_out ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail("waitpid");
    if (done == 0 && std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      kill(pid, SIGKILL);
    } else if (done == 0) {
      usleep(2000);
    }
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

}  // namespace cnnmem::test
