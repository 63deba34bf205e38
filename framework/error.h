// Errors: one exception type for user mistakes, one check macro for internal invariants.
//
// `Error` carries a one-line message that names the thing that is wrong and how to fix it, in the
// library's terms; the CLI prints it and exits 1. A setting the message is about is marked with
// `setting()`, so that a front end can name it its own way (the CLI: by its flag):
//   throw Error(setting("batch") + " must be a positive number of images, got 0");
//   e.what()                            // "batch must be a positive number of images, got 0"
//   e.text([](auto& key) { return "--" + key; })  // "--batch must be a positive number ..."
// `CNNMEM_CHECK` guards invariants of the library itself; it stays on in release builds and
// throws `InternalError` (exit 2) with the expression and file:line.
// Not here: logging, error codes, the CLI's flag names (apps/cli_errors.h).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnnmem {

// A setting named inside an Error message. `key`: the library's name of the setting (the option
// field: "batch", "checkpoint", "lr", "weight_decay"); `words`: how the message reads it in the
// library's terms (default: the key); `value`: the value a front end writes after its own name
// for the setting ("train" in "--mode train"), already said by `words` in the library's form.
std::string setting(const std::string& key, const std::string& words = "",
                    const std::string& value = "");

// A mistake of the user: bad setting, bad shape, corrupt file. The message is one line.
class Error : public std::runtime_error {
 public:
  // `message` may contain settings marked with setting(); what() reads each in its words.
  explicit Error(const std::string& message);

  // The message with each marked setting named by `name(key)` (then its value, if any), or in
  // its words where `name` returns "".
  std::string text(const std::function<std::string(const std::string& key)>& name) const;
  // The keys of the settings the message names, in order.
  std::vector<std::string> settings() const;
  // The message with its marks, for an Error that quotes this one: Error("x (" + e.marked() + ")").
  const std::string& marked() const { return marked_; }

 private:
  std::string marked_;
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
