// One run per directory: an exclusive lock on DIR/lock, held for the life of a DirLock, with the
// holder's pid written in the file so that a refused run can say who holds it.
//
// The lock is flock(2) on the file: the kernel drops it when the holder exits or dies (a SIGKILL
// or a power cut leaves no stale lock to clean up), and the next run takes it over. The file
// itself stays (removing it would let two runs lock two different files of the same name).
// Not here: what the directory holds (io/training_state.h).
//
// Usage:
//   DirLock lock(state_dir);  // throws Error naming the holder's pid if another live run has it
//   ... write into state_dir ...
#pragma once

#include <string>

namespace cnnmem {

class DirLock {
 public:
  // Takes DIR/lock or throws Error: "DIR is in use by another cnnmem run (pid N) ...".
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// DIR/lock.
std::string dir_lock_path(const std::string& dir);

}  // namespace cnnmem
