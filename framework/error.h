// Errors: one exception type for user mistakes, one check macro for internal invariants.
//
// `Error` carries a one-line message that names the thing that is wrong and how to fix it; the
// CLI prints it and exits 1. `CNNMEM_CHECK` guards invariants of the library itself; it stays on
// in release builds and throws `InternalError` (exit 2) with the expression and file:line.
// Not here: logging, or error codes.
#pragma once

#include <stdexcept>
#include <string>

namespace cnnmem {

// A mistake of the user: bad flag, bad shape, corrupt file. The message is one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A broken invariant of cnnmem itself: a bug.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& what) : std::logic_error(what) {}
};

[[noreturn]] void fail_check(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace cnnmem

#define CNNMEM_CHECK(cond)                                            \
  do {                                                                \
    if (!(cond)) ::cnnmem::fail_check(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define CNNMEM_CHECK_MSG(cond, msg)                                      \
  do {                                                                   \
    if (!(cond)) ::cnnmem::fail_check(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
