// Checks, before any long work starts, that a file the user asked for can be written.
#pragma once

#include <string>

namespace cnnmem {

// Throws Error (naming `flag`) unless `path` can be written: its directory exists, it is not a
// directory, and a file can really be made there. The check creates the file and removes it
// again, so /proc, read-only mounts and full quotas are found out now, not after training; a
// file that already exists is opened for writing but left as it is.
void check_output_path(const std::string& flag, const std::string& path);

}  // namespace cnnmem
