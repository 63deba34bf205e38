#include "apps/output_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "framework/error.h"

namespace cnnmem {

void check_output_path(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw Error(flag + " needs a file name");
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec);
  const fs::path dir = abs.parent_path();
  if (!fs::is_directory(dir, ec)) {
    throw Error(flag + " " + path + ": directory " + dir.string() +
                " does not exist; create it or choose another path");
  }
  if (fs::is_directory(abs, ec)) {
    throw Error(flag + " " + path + " is a directory; give a file name");
  }
  const bool existed = fs::exists(abs, ec);
  // An existing file is opened without truncation; a new one is made and removed again.
  const int fd = existed ? ::open(abs.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)
                         : ::open(abs.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(flag + " " + path + ": cannot " +
                (existed ? "write that file" : "create a file in " + dir.string()) + " (" +
                std::strerror(errno) + "); choose another path");
  }
  ::close(fd);
  if (!existed) ::unlink(abs.c_str());
}

}  // namespace cnnmem
