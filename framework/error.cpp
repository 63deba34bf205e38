#include "framework/error.h"

namespace cnnmem {

void fail_check(const char* expr, const char* file, int line, const std::string& msg) {
  std::string what =
      std::string("internal check failed: ") + expr + " at " + file + ":" + std::to_string(line);
  if (!msg.empty()) what += " (" + msg + ")";
  throw InternalError(what);
}

}  // namespace cnnmem
