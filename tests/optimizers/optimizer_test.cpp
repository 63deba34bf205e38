// What each optimizer books and refuses: the optimizer_state bytes per parameter (the issue's
// table), one fused update op per parameter with no temporaries, PyTorch's defaults, the
// validation of every hyper-parameter, and Adagrad's start value. The numbers an optimizer
// computes are checked against PyTorch in optimizer_golden_test.cpp.
#include <gtest/gtest.h>

#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "framework/error.h"
#include "tests/optimizers/update_rig.h"

namespace cnnmem::optimizer_test {
namespace {

OptimizerConfig make(
    const std::string& name,
    const std::function<void(OptimizerConfig&)>& set = [](OptimizerConfig&) {}) {
  OptimizerConfig c;
  c.name = name;
  set(c);
  return c;
}

const std::vector<Dims> kShapes = {{197}, {3, 5}, {64, 100}};

struct StateCase {
  std::string label;
  OptimizerConfig config;
  int64_t bytes_per_element;  // the table
  std::vector<std::string> states;
};

std::vector<StateCase> state_cases() {
  return {
      {"sgd", make("sgd"), 0, {}},
      {"sgd momentum", make("sgd", [](auto& c) { c.momentum = 0.9; }), 4, {"sgd.momentum."}},
      {"sgd nesterov",
       make("sgd", [](auto& c) { c.momentum = 0.9, c.nesterov = true; }),
       4,
       {"sgd.momentum."}},
      {"adam", make("adam"), 8, {"adam.m.", "adam.v."}},
      {"adam amsgrad",
       make("adam", [](auto& c) { c.amsgrad = true; }),
       12,
       {"adam.m.", "adam.v.", "adam.v_max."}},
      {"adamw", make("adamw"), 8, {"adamw.m.", "adamw.v."}},
      {"adamw amsgrad",
       make("adamw", [](auto& c) { c.amsgrad = true; }),
       12,
       {"adamw.m.", "adamw.v.", "adamw.v_max."}},
      {"rmsprop", make("rmsprop"), 4, {"rmsprop.square_avg."}},
      {"rmsprop centered",
       make("rmsprop", [](auto& c) { c.centered = true; }),
       8,
       {"rmsprop.square_avg.", "rmsprop.grad_avg."}},
      {"rmsprop momentum",
       make("rmsprop", [](auto& c) { c.momentum = 0.5; }),
       8,
       {"rmsprop.square_avg.", "rmsprop.momentum."}},
      {"rmsprop centered momentum",
       make("rmsprop", [](auto& c) { c.centered = true, c.momentum = 0.5; }),
       12,
       {"rmsprop.square_avg.", "rmsprop.grad_avg.", "rmsprop.momentum."}},
      {"adagrad", make("adagrad"), 4, {"adagrad.sum."}},
  };
}

TEST(OptimizerState, BytesPerParameterMatchTheTable) {
  for (const StateCase& c : state_cases()) {
    SCOPED_TRACE(c.label);
    UpdateRig rig(c.config, kShapes);
    const Schedule& s = rig.schedule();
    EXPECT_EQ(rig.optimizer().state_bytes_per_element(), c.bytes_per_element);
    int64_t elements = 0;
    for (const Dims& d : kShapes) elements += dims_product(d);
    int64_t state_bytes = 0;
    std::vector<std::string> names;
    for (const Buffer& b : s.buffers) {
      EXPECT_NE(b.tag, Tag::kWorkspace) << b.name << ": the update must need no temporaries";
      if (b.tag != Tag::kOptimizerState) continue;
      EXPECT_TRUE(b.persistent) << b.name;
      state_bytes += b.bytes_requested;
      names.push_back(b.name);
    }
    EXPECT_EQ(state_bytes, c.bytes_per_element * elements);
    // One buffer per state and parameter, in the parameter's layout, named <opt>.<state>.<param>.
    std::vector<std::string> want;
    for (const std::string& st : c.states) {
      for (const ParamBinding& p : rig.params()) want.push_back(st + p.name);
    }
    std::sort(names.begin(), names.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(names, want);
  }
}

TEST(OptimizerState, StateBuffersHaveTheParametersSize) {
  UpdateRig rig(make("adam", [](auto& c) { c.amsgrad = true; }), kShapes);
  const Schedule& s = rig.schedule();
  for (const ParamBinding& p : rig.params()) {
    const int64_t weight_bytes = s.buffers[static_cast<size_t>(p.weight)].bytes_requested;
    int found = 0;
    for (const Buffer& b : s.buffers) {
      if (b.tag == Tag::kOptimizerState && b.name.ends_with("." + p.name)) {
        EXPECT_EQ(b.bytes_requested, weight_bytes) << b.name;
        ++found;
      }
    }
    EXPECT_EQ(found, 3) << p.name;
  }
}

TEST(OptimizerPlan, OneUpdateOpPerParameterUsingWeightGradAndState) {
  for (const StateCase& c : state_cases()) {
    SCOPED_TRACE(c.label);
    UpdateRig rig(c.config, kShapes, /*with_scale=*/true);
    const Schedule& s = rig.schedule();
    ASSERT_EQ(s.ops.size(), rig.params().size());
    for (size_t i = 0; i < s.ops.size(); ++i) {
      const Op& op = s.ops[i];
      const ParamBinding& p = rig.params()[i];
      EXPECT_EQ(op.name, "update(" + p.name + ")");
      EXPECT_EQ(op.phase, Phase::kUpdate);
      EXPECT_TRUE(op.calls.empty());
      EXPECT_TRUE(static_cast<bool>(op.custom));
      EXPECT_GT(op.flops, 0);
      std::vector<std::string> used;
      for (BufferId id : op.uses) used.push_back(s.buffers[static_cast<size_t>(id)].name);
      std::vector<std::string> want = {p.name, "grad." + p.name, "grad_scale"};
      for (const std::string& st : c.states) want.push_back(st + p.name);
      std::sort(used.begin(), used.end());
      std::sort(want.begin(), want.end());
      EXPECT_EQ(used, want);
    }
  }
}

TEST(OptimizerDefaults, DescribeShowsPyTorchDefaults) {
  EXPECT_EQ(make_optimizer(make("sgd"))->describe(),
            "sgd lr=0.01 momentum=0 dampening=0 nesterov=false weight_decay=0");
  EXPECT_EQ(make_optimizer(make("adam"))->describe(),
            "adam lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0 amsgrad=false");
  EXPECT_EQ(make_optimizer(make("adamw"))->describe(),
            "adamw lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0.01 (decoupled) amsgrad=false");
  EXPECT_EQ(make_optimizer(make("rmsprop"))->describe(),
            "rmsprop lr=0.01 alpha=0.99 eps=1e-08 weight_decay=0 momentum=0 centered=false");
  EXPECT_EQ(make_optimizer(make("adagrad"))->describe(),
            "adagrad lr=0.01 lr_decay=0 weight_decay=0 initial_accumulator_value=0 eps=1e-10");
  // Given values replace the defaults, zero included.
  EXPECT_EQ(
      make_optimizer(make("adamw", [](auto& c) { c.weight_decay = 0, c.lr = 0.5; }))->describe(),
      "adamw lr=0.5 betas=0.9,0.999 eps=1e-08 weight_decay=0 (decoupled) amsgrad=false");
  EXPECT_EQ(make_optimizer(make("adagrad", [](auto& c) { c.eps = 1e-3; }))->describe(),
            "adagrad lr=0.01 lr_decay=0 weight_decay=0 initial_accumulator_value=0 eps=0.001");
  EXPECT_STREQ(make_optimizer(make("adamw"))->name(), "adamw");
}

struct BadCase {
  OptimizerConfig config;
  std::string message;  // the whole one-line message
};

std::vector<BadCase> bad_cases() {
  return {
      {make("sgd", [](auto& c) { c.lr = -1; }), "sgd: lr must be >= 0, got -1"},
      {make("sgd", [](auto& c) { c.momentum = -0.5; }), "sgd: momentum must be >= 0, got -0.5"},
      {make("sgd", [](auto& c) { c.momentum = 0.9, c.dampening = 1.5; }),
       "sgd: dampening must be in [0, 1], got 1.5"},
      {make("sgd", [](auto& c) { c.weight_decay = -1e-4; }),
       "sgd: weight_decay must be >= 0, got -0.0001"},
      {make("sgd", [](auto& c) { c.nesterov = true; }),
       "sgd: nesterov needs momentum > 0 and dampening 0, got momentum 0, dampening 0"},
      {make("sgd", [](auto& c) { c.nesterov = true, c.momentum = 0.9, c.dampening = 0.1; }),
       "sgd: nesterov needs momentum > 0 and dampening 0, got momentum 0.9, dampening 0.1"},
      {make("adam", [](auto& c) { c.lr = -1; }), "adam: lr must be >= 0, got -1"},
      {make("adam", [](auto& c) { c.eps = -1e-8; }), "adam: eps must be >= 0, got -1e-08"},
      {make("adam", [](auto& c) { c.beta1 = 1; }),
       "adam: betas must each be in [0, 1), got 1,0.999"},
      {make("adam", [](auto& c) { c.beta2 = -0.1; }),
       "adam: betas must each be in [0, 1), got 0.9,-0.1"},
      {make("adam", [](auto& c) { c.weight_decay = -1; }),
       "adam: weight_decay must be >= 0, got -1"},
      {make("adamw", [](auto& c) { c.weight_decay = -1; }),
       "adamw: weight_decay must be >= 0, got -1"},
      {make("adamw", [](auto& c) { c.beta1 = 1.5; }),
       "adamw: betas must each be in [0, 1), got 1.5,0.999"},
      {make("rmsprop", [](auto& c) { c.lr = -1; }), "rmsprop: lr must be >= 0, got -1"},
      {make("rmsprop", [](auto& c) { c.alpha = -1; }), "rmsprop: alpha must be >= 0, got -1"},
      {make("rmsprop", [](auto& c) { c.eps = -1; }), "rmsprop: eps must be >= 0, got -1"},
      {make("rmsprop", [](auto& c) { c.momentum = -1; }), "rmsprop: momentum must be >= 0, got -1"},
      {make("rmsprop", [](auto& c) { c.weight_decay = -1; }),
       "rmsprop: weight_decay must be >= 0, got -1"},
      {make("adagrad", [](auto& c) { c.lr = -1; }), "adagrad: lr must be >= 0, got -1"},
      {make("adagrad", [](auto& c) { c.lr_decay = -1; }), "adagrad: lr_decay must be >= 0, got -1"},
      {make("adagrad", [](auto& c) { c.initial_accumulator_value = -1; }),
       "adagrad: initial_accumulator_value must be >= 0, got -1"},
      {make("adagrad", [](auto& c) { c.eps = -1; }), "adagrad: eps must be >= 0, got -1"},
      {make("adagrad", [](auto& c) { c.weight_decay = -1; }),
       "adagrad: weight_decay must be >= 0, got -1"},
      // An option the optimizer does not have, as torch.optim refuses an unexpected keyword.
      {make("adam", [](auto& c) { c.momentum = 0.9; }),
       "adam: momentum is not an option of adam (it has lr weight_decay betas eps "
       "amsgrad)"},
      {make("sgd", [](auto& c) { c.eps = 1e-8; }),
       "sgd: eps is not an option of sgd (it has lr weight_decay momentum dampening "
       "nesterov)"},
      {make("sgd", [](auto& c) { c.amsgrad = true; }),
       "sgd: amsgrad is not an option of sgd (it has lr weight_decay momentum dampening "
       "nesterov)"},
      {make("adamw", [](auto& c) { c.alpha = 0.9; }),
       "adamw: alpha is not an option of adamw (it has lr weight_decay betas eps "
       "amsgrad)"},
      {make("rmsprop", [](auto& c) { c.beta1 = 0.8; }),
       "rmsprop: betas is not an option of rmsprop (it has lr weight_decay alpha eps "
       "momentum centered)"},
      {make("adagrad", [](auto& c) { c.centered = true; }),
       "adagrad: centered is not an option of adagrad (it has lr weight_decay lr_decay "
       "initial_accumulator_value eps)"},
      {make("rmsprop", [](auto& c) { c.lr_decay = 0.1; }),
       "rmsprop: lr_decay is not an option of rmsprop (it has lr weight_decay alpha eps "
       "momentum centered)"},
      {make("adam", [](auto& c) { c.initial_accumulator_value = 0.1; }),
       "adam: initial_accumulator_value is not an option of adam (it has lr weight_decay "
       "betas eps amsgrad)"},
      {make("sgd", [](auto& c) { c.momentum = 0.9, c.centered = true; }),
       "sgd: centered is not an option of sgd (it has lr weight_decay momentum "
       "dampening nesterov)"},
      {make("lion"), "unknown optimizer \"lion\": use sgd, adam, adamw, rmsprop or adagrad"},
  };
}

TEST(OptimizerInvalid, EachBadHyperParameterThrowsOneLineNamingIt) {
  for (const BadCase& c : bad_cases()) {
    try {
      make_optimizer(c.config);
      ADD_FAILURE() << "no error for: " << c.message;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

TEST(OptimizerInvalid, BoundaryValuesAreAccepted) {
  // PyTorch accepts all of these; so must cnnmem.
  const std::vector<OptimizerConfig> good = {
      make("sgd", [](auto& c) { c.lr = 0, c.momentum = 0.9, c.dampening = 1; }),
      make("sgd", [](auto& c) { c.momentum = 0.9, c.nesterov = true; }),
      make("adam", [](auto& c) { c.beta1 = 0, c.beta2 = 0, c.eps = 0; }),
      make("adamw", [](auto& c) { c.weight_decay = 0, c.amsgrad = true; }),
      make("rmsprop", [](auto& c) { c.alpha = 0, c.momentum = 0.9, c.centered = true; }),
      make("rmsprop", [](auto& c) { c.alpha = 1.5; }),
      make("adagrad", [](auto& c) { c.lr_decay = 1, c.initial_accumulator_value = 0.1; }),
  };
  for (const OptimizerConfig& c : good) EXPECT_NO_THROW(make_optimizer(c)) << c.name;
}

TEST(AdagradInit, FirstStepStartsFromTheInitialValueWhateverTheBufferHolds) {
  // The arena zero-fills the sum; the first update must not rely on it (or on anything else).
  const OptimizerConfig c = make("adagrad", [](auto& o) { o.initial_accumulator_value = 0.25; });
  UpdateRig zero(c, {{4}});
  UpdateRig junk(c, {{4}});
  const BufferId sum = zero.schedule().ops[0].uses[2];
  ASSERT_EQ(zero.schedule().buffers[static_cast<size_t>(sum)].name, "adagrad.sum.p0");
  std::fill_n(junk.data(sum), 4, 123.0f);
  const std::vector<float> w = {0.5f, -1.0f, 2.0f, 0.0f};
  const std::vector<float> g = {1.0f, 0.5f, -2.0f, 0.0f};
  for (UpdateRig* r : {&zero, &junk}) {
    r->set_weight(0, w);
    r->set_grad(0, g);
    r->step();
  }
  EXPECT_EQ(zero.weight(0), junk.weight(0));
  // sum = 0.25 + g^2; w -= 0.01 * g / (sqrt(sum) + 1e-10)
  for (size_t i = 0; i < 4; ++i) {
    const double sum_i = 0.25 + double{g[i]} * g[i];
    EXPECT_NEAR(zero.weight(0)[i], w[i] - 0.01 * g[i] / std::sqrt(sum_i), 1e-7) << i;
    EXPECT_FLOAT_EQ(zero.buffer(sum)[i], static_cast<float>(sum_i)) << i;
  }
}

}  // namespace
}  // namespace cnnmem::optimizer_test
