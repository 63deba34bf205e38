// The cnnmem command line: parses flags and calls the library. Nothing here computes memory.
//   cnnmem train  --model M --data fashion-mnist|synthetic --epochs E --batch B --optimizer O ...
//   cnnmem cost   --model M --mode train|infer --batch B [--optimizer O] [--measure] [--json]
//   cnnmem infer  --model M --batch B --reuse S [--keep L] [--poison] [--output-tensor F] ...
//   cnnmem plan   --intervals FILE.csv --strategy S [--json]
// Each command lives in its own file (apps/*_command.cpp).
// Exit status: 0 success, 1 user error (one line on stderr), 2 internal error.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli_common.h"
#include "apps/cli_errors.h"
#include "framework/error.h"

namespace cnnmem {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"cnnmem: train CNNs on the CPU and account for every byte"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {add_train_command(app),
                                         add_cost_command(app),
                                         add_infer_command(app),
                                         add_plan_command(app),
                                         add_compare_optimizers_command(app),
                                         add_compare_reuse_command(app),
                                         add_sweep_checkpoint_command(app)};
  std::string names;
  for (const Command& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::string command;
    for (const Command& c : commands) {
      if (c.app->parsed()) command = c.app->get_name();
    }
    // CLI11 calls "cnnmem trian" a missing subcommand; name the word the user typed instead.
    if (argc == 1) {
      what = "no command given: use one of " + names + " (see cnnmem --help)";
    } else if (argv[1][0] != '-' && command.empty()) {
      what = "unknown command \"" + std::string(argv[1]) + "\": use one of " + names +
             " (see cnnmem --help)";
    } else {
      what = cli_error_message(what, std::vector<std::string>(argv + 1, argv + argc), command);
    }
    std::cerr << "cnnmem: error: " << what << "\n";
    return 1;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return 2;
}

}  // namespace
}  // namespace cnnmem

int main(int argc, char** argv) {
  try {
    return cnnmem::run(argc, argv);
  } catch (const cnnmem::Error& e) {
    std::cerr << "cnnmem: error: " << cnnmem::flag_text(e) << "\n";
    return 1;
  } catch (const dnnl::error& e) {
    std::cerr << "cnnmem: internal error: oneDNN: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cnnmem: internal error: " << e.what() << "\n";
    return 2;
  }
}
