// --no-inplace-concat from the outside: densenet121's training bill at batch 1 is larger with
// every concatenation copying (and still predicted == measured); at batch 2, where no view is
// handed out, the flag changes nothing.
#include <gtest/gtest.h>

#include "tests/apps/cli_helpers.h"

namespace cnnmem::test {
namespace {

TEST(ConcatCli, NoInplaceConcatGivesTheNaiveTrainingBill) {
  const std::vector<std::string> base = {"cost",    "--model", "densenet121", "--mode", "train",
                                         "--input", "3x64x64", "--optimizer", "adam",   "--json"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_json(args);
  };
  const json in_place = with({"--batch", "1"});
  const json naive = with({"--batch", "1", "--no-inplace-concat", "--measure", "--threads", "1"});
  EXPECT_EQ(naive["predicted"], naive["measured"]);
  EXPECT_LT(in_place["predicted"]["peak_bytes"].get<int64_t>(),
            naive["predicted"]["peak_bytes"].get<int64_t>());
  EXPECT_EQ(with({"--batch", "2"})["predicted"],
            with({"--batch", "2", "--no-inplace-concat"})["predicted"]);
}

}  // namespace
}  // namespace cnnmem::test
