// Errors as the CLI prints them. CLI11's parse errors in cnnmem's words: one line that says what
// was wrong with the command line and how to put it right ("--max-steps was given twice (5 and
// 7): give it once, with the value to keep" rather than "--max-steps: At Most 1 required but
// received 2"). The library's errors with each setting they name written as its flag:
//   flag_text(e)  // "--batch must be a positive number of images, got 0" (e.what(): "batch ...")
// Not here: the checks of values (apps/cli_common.h validators), the library's messages.
#pragma once

#include <string>
#include <vector>

#include "framework/error.h"

namespace cnnmem {

// The flag that sets the library setting `key` ("batch" -> "--batch", "training" -> "--mode").
std::string flag_of(const std::string& key);

// The message of a library error with every setting it names written as the CLI's flag.
std::string flag_text(const Error& e);

// `what`: CLI11's message; `args`: the command line after the program name; `command`: the
// chosen subcommand ("train"), or "" when none was chosen.
std::string cli_error_message(const std::string& what, const std::vector<std::string>& args,
                              const std::string& command);

}  // namespace cnnmem
