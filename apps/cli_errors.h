// CLI11's parse errors in cnnmem's words: one line that says what was wrong with the command line
// and how to put it right ("--max-steps was given twice (5 and 7): give it once, with the value
// to keep" rather than "--max-steps: At Most 1 required but received 2").
// Not here: the checks of values (apps/cli_common.h validators), library errors.
#pragma once

#include <string>
#include <vector>

namespace cnnmem {

// `what`: CLI11's message; `args`: the command line after the program name; `command`: the
// chosen subcommand ("train"), or "" when none was chosen.
std::string cli_error_message(const std::string& what, const std::vector<std::string>& args,
                              const std::string& command);

}  // namespace cnnmem
