#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "framework/error.h"

namespace cnnmem {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(size, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    size -= static_cast<size_t>(w);
  }
  return true;
}

void write_file_atomic(const std::string& path, const std::string& what,
                       const std::function<bool(int fd)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(what + ": cannot create " + tmp + " (" + errno_text(errno) +
                "); check that the directory exists and is writable");
  }
  try {
    if (!write(fd) || ::fsync(fd) != 0) {
      throw Error(what + ": cannot write " + tmp + " (" + errno_text(errno) +
                  "); check free disk space");
    }
    const int close_rc = ::close(fd);
    fd = -1;
    if (close_rc != 0) {
      throw Error(what + ": cannot close " + tmp + " (" + errno_text(errno) +
                  "); check free disk space");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      throw Error(what + ": cannot rename " + tmp + " to " + path + " (" + errno_text(errno) +
                  "); check that " + path + " is not a directory");
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  sync_directory(dir.empty() ? "." : dir, what);
}

void write_file_atomic(const std::string& path, const std::string& what, std::string_view text) {
  write_file_atomic(path, what, [text](int fd) { return write_all(fd, text.data(), text.size()); });
}

void sync_directory(const std::string& dir, const std::string& what) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) {
    throw Error(what + ": cannot sync directory " + dir + " (" + errno_text(err) +
                "); what was written there may not survive a crash: check the disk");
  }
}

}  // namespace cnnmem
