#include "io/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "framework/error.h"

namespace cnnmem {

namespace {

// The pid written by the lock's holder, or "unknown" (it may be writing it right now).
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ? "unknown" : pid;
}

}  // namespace

std::string dir_lock_path(const std::string& dir) { return dir + "/lock"; }

DirLock::DirLock(const std::string& dir) : path_(dir_lock_path(dir)) {
  // The file is opened, then locked; if another run replaced it in between (a different inode at
  // the path now), the lock guards nothing, so start again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw Error("cannot create the lock file " + path_ + ": " + std::strerror(errno) +
                  "; check that the directory is writable");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string pid = holder_pid(fd);
      ::close(fd);
      if (err == EWOULDBLOCK) {
        throw Error(dir + " is in use by another cnnmem run (pid " + pid +
                    "); wait for it to end, or use another directory");
      }
      throw Error("cannot lock " + path_ + ": " + std::strerror(err));
    }
    struct stat opened {};
    struct stat named {};
    if (::fstat(fd, &opened) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 ||
          ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::close(fd);
        throw Error("cannot write the lock file " + path_ + ": " + std::strerror(err));
      }
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw Error("cannot lock " + path_ + ": the file keeps being replaced");
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace cnnmem
