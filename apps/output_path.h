// Checks, before any long work starts, that a file the user asked for can be written.
#pragma once

#include <filesystem>
#include <string>

#include "framework/error.h"

namespace cnnmem {

// Throws Error when the directory of `path` does not exist (`flag` names the option).
inline void check_output_path(const std::string& flag, const std::string& path) {
  const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(dir)) {
    throw Error(flag + " " + path + ": directory " + dir.string() +
                " does not exist; create it or choose another path");
  }
}

}  // namespace cnnmem
