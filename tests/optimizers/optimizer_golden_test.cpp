// The first 10 updates of every optimizer configuration against PyTorch 1.13's torch.optim
// (foreach=False, float32), from tests/fixtures/golden/optimizers_10_steps.json, made by
// scripts/make_optimizer_golden.py. No network: the rig writes each step's gradient and runs the
// update ops directly.
//
// Tolerance: 1e-6 relative to the largest magnitude the weight has had so far (PyTorch's values,
// from the initial one to this step's). cnnmem's loop does PyTorch's float operations in
// PyTorch's order, but PyTorch's AVX2 kernels fuse some multiply-adds (vec::fmadd in
// add(alpha=)) and cnnmem's portable build does not, so a step can differ by an ulp or so of its
// larger operand, and that absolute difference stays when the weight later shrinks toward zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "tests/optimizers/update_rig.h"

namespace cnnmem::optimizer_test {
namespace {

constexpr double kRelTol = 1e-6;

// |got - want| relative to `scale`, at least |want|.
double rel_error(float got, float want, double scale) {
  return std::abs(static_cast<double>(got) - want) /
         std::max({std::abs(double{want}), scale, 1e-30});
}

UpdateRig rig_at_init(const OptimizerConfig& config, bool with_scale = false) {
  UpdateRig rig(config, golden().shapes, with_scale);
  for (size_t p = 0; p < golden().shapes.size(); ++p) rig.set_weight(p, golden().init[p]);
  return rig;
}

void set_grads(UpdateRig& rig, size_t step, float factor = 1.0f) {
  for (size_t p = 0; p < golden().shapes.size(); ++p) {
    std::vector<float> g = golden().grads[step][p];
    for (float& x : g) x *= factor;
    rig.set_grad(p, g);
  }
}

TEST(OptimizerGolden, FixtureHasEveryConfiguration) {
  std::vector<std::string> names;
  for (const GoldenConfig& c : golden().configs) names.push_back(c.name);
  const std::vector<std::string> want = {"sgd",
                                         "sgd-momentum",
                                         "sgd-momentum-dampening",
                                         "sgd-nesterov-wd",
                                         "adam",
                                         "adam-amsgrad",
                                         "adam-wd",
                                         "adamw",
                                         "adamw-amsgrad",
                                         "rmsprop",
                                         "rmsprop-centered-momentum",
                                         "rmsprop-wd",
                                         "adagrad",
                                         "adagrad-decay-init-wd"};
  EXPECT_EQ(names, want);
  ASSERT_EQ(golden().shapes, (std::vector<Dims>{{197}, {3, 5}}));
  ASSERT_EQ(golden().grads.size(), 10u);
  for (const GoldenConfig& c : golden().configs) ASSERT_EQ(c.after.size(), 10u) << c.name;
}

TEST(OptimizerGolden, EveryConfigurationMovesTheWeightsFarBeyondTheTolerance) {
  // Otherwise matching PyTorch would prove nothing about the formula.
  for (const GoldenConfig& c : golden().configs) {
    double most = 0;
    for (size_t p = 0; p < golden().shapes.size(); ++p) {
      for (size_t i = 0; i < golden().init[p].size(); ++i) {
        const float init = golden().init[p][i];
        most = std::max(most, rel_error(init, c.after[0][p][i], std::abs(init)));
      }
    }
    EXPECT_GT(most, 1000 * kRelTol) << c.name << ": the first step barely moves the weights";
  }
}

TEST(OptimizerGolden, TenStepsMatchPyTorch) {
  for (const GoldenConfig& c : golden().configs) {
    SCOPED_TRACE(c.name);
    UpdateRig rig = rig_at_init(c.config);
    std::vector<std::vector<double>> largest(golden().init.size());  // [param][i]: max |w| so far
    for (size_t p = 0; p < largest.size(); ++p) {
      for (float w : golden().init[p]) largest[p].push_back(std::abs(w));
    }
    double worst = 0;
    int values = 0, not_bitwise = 0;
    for (size_t s = 0; s < c.after.size(); ++s) {
      set_grads(rig, s);
      rig.step();
      for (size_t p = 0; p < c.after[s].size(); ++p) {
        const std::vector<float>& want = c.after[s][p];
        const std::vector<float>& got = rig.weight(p);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
          largest[p][i] = std::max(largest[p][i], std::abs(double{want[i]}));
          const double e = rel_error(got[i], want[i], largest[p][i]);
          worst = std::max(worst, e);
          ++values;
          if (got[i] != want[i]) ++not_bitwise;
          ASSERT_LE(e, kRelTol) << "step " << s + 1 << ", p" << p << "[" << i << "]: cnnmem "
                                << got[i] << ", PyTorch " << want[i];
        }
      }
    }
    std::printf("[ golden   ] %-26s max relative error %.3g, %d of %d values not bitwise equal\n",
                c.name.c_str(), worst, not_bitwise, values);
  }
}

bool scale_invariant(const std::string& name) {
  for (const char* n : {"adam", "adam-amsgrad", "adamw", "adamw-amsgrad", "rmsprop",
                        "rmsprop-centered-momentum", "adagrad"}) {
    if (name == n) return true;
  }
  return false;
}

TEST(OptimizerGolden, GradScaleOfOneHalfEqualsHalvedGradients) {
  // The scale buffer is how gradient clipping reaches the update; halving is exact in float, so
  // the two runs must agree bit for bit.
  for (const GoldenConfig& c : golden().configs) {
    SCOPED_TRACE(c.name);
    UpdateRig scaled = rig_at_init(c.config, /*with_scale=*/true);
    UpdateRig halved = rig_at_init(c.config);
    scaled.set_scale(0.5f);
    for (size_t s = 0; s < c.after.size(); ++s) {
      set_grads(scaled, s);
      set_grads(halved, s, 0.5f);
      scaled.step();
      halved.step();
    }
    for (size_t p = 0; p < golden().shapes.size(); ++p) {
      EXPECT_EQ(scaled.weight(p), halved.weight(p)) << "p" << p;
      // Adam, RMSprop and Adagrad without weight decay or a start value are invariant to the
      // gradient's scale (exactly, for a power of two, while eps is negligible): the scale can
      // show only in the others.
      if (!scale_invariant(c.name)) {
        EXPECT_NE(scaled.weight(p), c.after.back()[p]) << "p" << p << ": the scale had no effect";
      }
    }
  }
}

TEST(OptimizerGolden, ParallelLoopGivesTheSerialResult) {
  // A parameter above the OpenMP threshold (16384 elements), made of copies of p0: each copy must
  // end where the 197-element run ends.
  constexpr size_t kCopies = 100;
  const std::vector<float>& init = golden().init[0];
  const size_t n = init.size();
  for (const GoldenConfig& c : golden().configs) {
    SCOPED_TRACE(c.name);
    UpdateRig big(c.config, {{static_cast<int64_t>(n * kCopies)}});
    UpdateRig small(c.config, {{static_cast<int64_t>(n)}});
    float* big_w = big.data(big.params()[0].weight);
    float* big_g = big.data(big.params()[0].grad);
    for (size_t k = 0; k < kCopies; ++k) std::copy(init.begin(), init.end(), big_w + k * n);
    small.set_weight(0, init);
    for (size_t s = 0; s < golden().grads.size(); ++s) {
      const std::vector<float>& g = golden().grads[s][0];
      for (size_t k = 0; k < kCopies; ++k) std::copy(g.begin(), g.end(), big_g + k * n);
      small.set_grad(0, g);
      big.step();
      small.step();
    }
    for (size_t k = 0; k < kCopies; ++k) {
      ASSERT_TRUE(std::equal(small.weight(0).begin(), small.weight(0).end(),
                             big.weight(0).begin() + static_cast<std::ptrdiff_t>(k * n)))
          << "copy " << k;
    }
  }
}

}  // namespace
}  // namespace cnnmem::optimizer_test
