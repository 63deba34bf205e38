// Tests for layers/channel_scale.h (ConvNeXt's layer_scale) and layers/stochastic_depth.h
// through the real code path: forward against a double reference and parameter gradients (the
// scale's, and a conv's before it) against finite differences, in plain and blocked layouts,
// training and inference, batch > 1; the buffers each books; the stochastic depth draw as the
// documented function of (seed, step, layer, sample); rejected arguments.
// Not here: the models that use them (tests/models/).
#include "layers/channel_scale.h"

#include <gtest/gtest.h>

#include "layers/dropout.h"
#include "layers/softmax_cross_entropy.h"
#include "layers/stochastic_depth.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

CustomLayer channel_scale_case(const std::string& name, int64_t channels) {
  return {[=] { return std::make_unique<ChannelScale>(name, channels); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            RefTensor y = *in[0];
            const std::vector<double>& gamma = p.at(name);
            const int64_t hw = y.dims[1] * y.dims[2];
            for (size_t i = 0; i < y.v.size(); ++i) {
              y.v[i] *= gamma[static_cast<size_t>(static_cast<int64_t>(i) / hw % channels)];
            }
            return y;
          },
          {{name, {channels, 1, 1}, 1}},
          0.5};
}

TEST(ChannelScaleLayerTest, ForwardOnThePlainInput) {
  Net net({3, 5, 4});
  net.custom("scale", {}, channel_scale_case("scale", 3)).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(ChannelScaleLayerTest, GradientsBetweenConvs) {
  Net net({3, 5, 4});
  net.conv("conv1", conv_options(3, 5, 3, 1, 1))
      .custom("scale", {}, channel_scale_case("scale", 5))
      .conv("conv2", conv_options(5, 3, 3))
      .flatten("flat");
  check_forward(net, 2, 2);
  check_gradients(net, 2, 2);
}

// 20 channels after a conv: nChw16c with a padded second block.
TEST(ChannelScaleLayerTest, GradientsBetweenBlockedConvs) {
  Net net({2, 4, 3});
  net.conv("conv1", conv_options(2, 20, 3, 1, 1))
      .custom("scale", {}, channel_scale_case("scale", 20))
      .conv("conv2", conv_options(20, 3, 1))
      .flatten("flat");
  check_forward(net, 3, 3);
  check_gradients(net, 3, 3);
}

// Straight on the image: only the scale's gradient.
TEST(ChannelScaleLayerTest, ParameterGradientOnTheInput) {
  Net net({4, 3, 3});
  net.custom("scale", {}, channel_scale_case("scale", 4)).conv("conv", conv_options(4, 3, 3));
  net.flatten("flat");
  check_gradients(net, 2, 4);
}

TEST(ChannelScaleLayerTest, RejectsBadArguments) {
  expect_error([] { ChannelScale("s", 0); }, {"channel_scale", "\"s\"", "positive"});
  expect_error([] { ChannelScale("s", 3).infer({{4, 2, 2}}); }, {"3 channels", "4x2x2"});
  expect_error([] { ChannelScale("s", 3).infer({{3}}); }, {"CxHxW"});
}

// The draw of sample n, as documented.
bool sample_kept(const std::string& name, uint64_t seed, int64_t step, int64_t n, double p) {
  return Dropout::keeps(Dropout::step_key(seed, step, Dropout::layer_key(name)), n, p);
}

CustomLayer stochastic_depth_case(const std::string& name, double p, uint64_t seed,
                                  const int64_t* step) {
  return {[=] {
            auto l = std::make_unique<StochasticDepth>(name, p, seed);
            l->set_step_counter(step);
            return l;
          },
          [=](const std::vector<const RefTensor*>& in, const RefParams&, bool training) {
            RefTensor y = *in[0];
            if (!training) return y;
            const size_t per = y.v.size() / static_cast<size_t>(y.n);
            for (size_t i = 0; i < y.v.size(); ++i) {
              const bool keep = sample_kept(name, seed, *step, static_cast<int64_t>(i / per), p);
              y.v[i] = keep ? y.v[i] / (1 - p) : 0.0;
            }
            return y;
          },
          {},
          0};
}

// A seed whose draw at `step` keeps some of the first `n` samples and drops others.
uint64_t mixed_seed(const std::string& name, int64_t step, int64_t n, double p) {
  for (uint64_t seed = 0;; ++seed) {
    int kept = 0;
    for (int64_t k = 0; k < n; ++k) kept += sample_kept(name, seed, step, k, p) ? 1 : 0;
    if (kept > 0 && kept < n) return seed;
  }
}

TEST(StochasticDepthLayerTest, ForwardAndGradientsInABlockedResidualBranch) {
  static const int64_t step = 3;
  const uint64_t seed = mixed_seed("sd", step, 4, 0.4);
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, 16, 3, 1, 1))
      .conv("conv2", conv_options(16, 16, 3, 1, 1))
      .custom("sd", {}, stochastic_depth_case("sd", 0.4, seed, &step))
      .add("add", "sd", "conv1")
      .conv("conv3", conv_options(16, 2, 3))
      .flatten("flat");
  check_forward(net, 4, 5);
  check_gradients(net, 4, 5);
}

TEST(StochasticDepthLayerTest, ForwardAndGradientsOnPlainFeatures) {
  static const int64_t step = 7;
  const uint64_t seed = mixed_seed("sd", step, 3, 0.5);
  Net net({6, 1, 1});
  net.flatten("flat")
      .linear("fc1", 6, 5)
      .custom("sd", {}, stochastic_depth_case("sd", 0.5, seed, &step))
      .linear("fc2", 5, 4);
  check_forward(net, 3, 6);
  check_gradients(net, 3, 6);
}

// Training books the per-sample scale (N floats, activation) and writes over the input when it
// may; inference and p = 0 book nothing and plan no op.
TEST(StochasticDepthLayerTest, BooksTheScaleOnly) {
  static const int64_t step = 0;
  for (const double p : {0.2, 0.0}) {
    for (const bool training : {true, false}) {
      SCOPED_TRACE(std::to_string(p) + (training ? " training" : " inference"));
      Net net({3, 4, 4});
      net.conv("conv", conv_options(3, 16, 3, 1, 1))
          .custom("sd", {}, stochastic_depth_case("sd", p, 1, &step))
          .flatten("flat");
      const Graph g = net.graph();
      OptimizerConfig cfg;
      cfg.name = "sgd";
      const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
      ExecutorOptions o;
      o.training = training;
      o.batch = 5;
      const Executor ex(g, o, training ? opt.get() : nullptr,
                        training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
      int found = 0;
      for (const Buffer& buf : ex.schedule().buffers) {
        // (backward may reorder diff_dst into the forward's layout: "sd.diff_dst")
        if (buf.name.rfind("sd.", 0) != 0 || buf.tag == Tag::kActivationGrad) continue;
        ++found;
        EXPECT_EQ(buf.name, "sd.scale");
        EXPECT_EQ(buf.tag, Tag::kActivation);
        EXPECT_EQ(buf.bytes_requested, 5 * 4);
      }
      EXPECT_EQ(found, training && p > 0 ? 1 : 0);
      for (const Op& op : ex.schedule().ops) {
        if (!(training && p > 0) && op.phase != Phase::kBackward) {
          EXPECT_EQ(op.name.rfind("sd.", 0), std::string::npos) << op.name;
        }
      }
    }
  }
}

TEST(StochasticDepthLayerTest, RejectsBadProbabilities) {
  expect_error([] { StochasticDepth("sd", 1.0); }, {"stochastic_depth", "\"sd\"", "[0, 1)"});
  expect_error([] { StochasticDepth("sd", -0.1); }, {"probability"});
}

}  // namespace
}  // namespace cnnmem::layer_test
