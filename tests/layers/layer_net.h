// The network description of the layer tests: `Net` builds both a cnnmem Graph and a
// double-precision reference of the same network (the naive loops of
// tests/layers/layer_reference.h). Known layers have a builder method each; any other layer is
// added with `custom` (a CustomLayer: how to make it, its reference, its parameters).
//
// Usage:
//   Net net({3, 7, 6});
//   net.conv("conv", conv_options(3, 5, 3)).relu("relu").flatten("flat");
//   Graph g = net.graph();
//   RefTensor y = net.forward(to_double(params), batch);
// Not here: running the real code path and the checks (tests/layers/layer_harness.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "framework/graph.h"
#include "framework/layer.h"
#include "io/safetensors.h"
#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "layers/relu6.h"
#include "tests/layers/layer_reference.h"

namespace cnnmem::layer_test {

inline Conv2dOptions conv_options(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                                  int64_t padding = 0, int64_t dilation = 1, bool bias = true,
                                  int64_t groups = 1) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.stride = stride;
  o.padding = padding;
  o.dilation = dilation;
  o.bias = bias;
  o.groups = groups;
  return o;
}

// A layer the harness does not know by kind (the layers added after it was written): how to make
// it, its double reference, and its trainable parameters (full PyTorch names and shapes; seeded
// like every other parameter, in U(-1, 1) / sqrt(fan_in), plus `init_offset`).
struct CustomLayer {
  std::function<std::unique_ptr<Layer>()> make;
  // The inputs in order (the layer added before when none were named), the parameters and
  // states by name, PyTorch's train() mode or not.
  std::function<RefTensor(const std::vector<const RefTensor*>& in, const RefParams& p,
                          bool training)>
      ref;
  std::vector<ParamDecl> params;
  double init_offset = 0;
};

struct Batch {
  int64_t n = 0;
  std::vector<float> images;    // (N, C, H, W)
  std::vector<int32_t> labels;  // N values in [0, classes)
};

// ---- The network description ----------------------------------------------------------------

class Net {
 public:
  explicit Net(Dims input) : input_(std::move(input)) {}

  Net& conv(std::string name, Conv2dOptions o) {
    Spec s{Kind::kConv, std::move(name)};
    s.conv = o;
    return push(std::move(s));
  }
  Net& linear(std::string name, int64_t in, int64_t out, bool bias = true) {
    Spec s{Kind::kLinear, std::move(name)};
    s.in = in;
    s.out = out;
    s.bias = bias;
    return push(std::move(s));
  }
  Net& relu(std::string name) { return push({Kind::kRelu, std::move(name)}); }
  Net& pool(std::string name, PoolKind kind, int64_t kernel, int64_t stride = 0,
            int64_t padding = 0) {
    Spec s{kind == PoolKind::kMax ? Kind::kMaxPool : Kind::kAvgPool, std::move(name)};
    s.kernel = kernel;
    s.stride = stride;
    s.padding = padding;
    return push(std::move(s));
  }
  Net& flatten(std::string name) { return push({Kind::kFlatten, std::move(name)}); }
  Net& batch_norm(std::string name, int64_t channels) {
    Spec s{Kind::kBatchNorm, std::move(name)};
    s.out = channels;
    return push(std::move(s));
  }
  Net& relu6(std::string name) { return push({Kind::kRelu6, std::move(name)}); }
  Net& adaptive_avg_pool(std::string name, int64_t out_h, int64_t out_w) {
    Spec s{Kind::kAdaptiveAvgPool, std::move(name)};
    s.kernel = out_h;
    s.stride = out_w;
    return push(std::move(s));
  }
  // Training masks are drawn at `*step` (which must outlive the runs), with `seed`.
  Net& dropout(std::string name, double p, uint64_t seed, const int64_t* step) {
    Spec s{Kind::kDropout, std::move(name)};
    s.p = p;
    s.seed = seed;
    s.step = step;
    return push(std::move(s));
  }
  // a + b of two earlier layers (by name; "input" is the image).
  Net& add(std::string name, std::string a, std::string b) {
    Spec s{Kind::kAdd, std::move(name)};
    s.inputs = {std::move(a), std::move(b)};
    return push(std::move(s));
  }
  // Any layer (see CustomLayer) reading `inputs` (names; empty: the layer added last).
  Net& custom(std::string name, std::vector<std::string> inputs, CustomLayer layer) {
    Spec s{Kind::kCustom, std::move(name)};
    s.inputs = std::move(inputs);
    s.custom = std::make_shared<CustomLayer>(std::move(layer));
    return push(std::move(s));
  }
  // Multiplies the random initial parameters of the layer added last by `factor` (to drive
  // values past an activation's bounds).
  Net& init_scale(double factor) {
    layers_.back().init_scale = factor;
    return *this;
  }
  // The next layer added reads `layer` instead of the layer added last.
  Net& from(std::string layer) {
    from_ = std::move(layer);
    return *this;
  }

  const Dims& input_dims() const { return input_; }
  // Width K of the (N, K) output, as the Graph infers it.
  int64_t classes() const {
    const Graph g = build(1);
    return dims_product(g.nodes().back().dims);
  }
  Graph graph() const { return build(static_cast<int>(classes())); }

  // Seeded parameters in U(-1, 1) / sqrt(fan_in), PyTorch names and shapes (BatchNorm's weight
  // in U(0.5, 1.5) and bias in U(-0.5, 0.5), so that both matter).
  std::vector<NamedTensor> random_params(std::mt19937& rng) const {
    std::vector<NamedTensor> out;
    const auto add = [&](const std::string& name, Dims shape, int64_t fan_in) {
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      const float scale = 1.0f / std::sqrt(static_cast<float>(fan_in));
      NamedTensor t{name, shape, std::vector<float>(static_cast<size_t>(dims_product(shape)))};
      for (float& v : t.data) v = u(rng) * scale;
      out.push_back(std::move(t));
    };
    for (const Spec& s : layers_) {
      const size_t first = out.size();
      add_params(s, add, out);
      for (size_t i = first; i < out.size(); ++i) {
        for (float& v : out[i].data) v = static_cast<float>(v * s.init_scale);
      }
    }
    return out;
  }

  // Seeded non-trainable state (BatchNorm's running_mean in U(-0.5, 0.5), running_var in
  // U(0.5, 1.5), num_batches_tracked 3).
  std::vector<NamedTensor> random_states(std::mt19937& rng) const {
    std::vector<NamedTensor> out;
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (const Spec& s : layers_) {
      if (s.kind != Kind::kBatchNorm) continue;
      NamedTensor mean{s.name + ".running_mean", {s.out}, {}};
      NamedTensor var{s.name + ".running_var", {s.out}, {}};
      for (int64_t i = 0; i < s.out; ++i) mean.data.push_back(u(rng));
      for (int64_t i = 0; i < s.out; ++i) var.data.push_back(1.0f + u(rng));
      out.push_back(std::move(mean));
      out.push_back(std::move(var));
      out.push_back({s.name + ".num_batches_tracked", {}, {3.0f}});
    }
    return out;
  }

  // Seeded images in U(-1, 1) and labels in [0, classes).
  Batch random_batch(std::mt19937& rng, int64_t n) const {
    Batch b{n, std::vector<float>(static_cast<size_t>(n * dims_product(input_))),
            std::vector<int32_t>(static_cast<size_t>(n))};
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : b.images) v = u(rng);
    std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(classes() - 1));
    for (int32_t& y : b.labels) y = label(rng);
    return b;
  }

  // The whole network in double, as PyTorch's train() (batch statistics, dropout) or eval();
  // returns the last layer's output. `p` holds the parameters and the state tensors.
  RefTensor forward(const RefParams& p, const Batch& batch, bool training = false) const {
    std::map<std::string, RefTensor> values;
    values["input"] =
        RefTensor{batch.n, input_, std::vector<double>(batch.images.begin(), batch.images.end())};
    std::string last = "input";
    const auto bias = [&](const std::string& name, bool on) {
      return on ? &p.at(name + ".bias") : nullptr;
    };
    for (const Spec& s : layers_) {
      const RefTensor& x = values.at(s.inputs.empty() ? last : s.inputs[0]);
      RefTensor y;
      switch (s.kind) {
        case Kind::kConv:
          y = ref_conv2d(x, s.conv, p.at(s.name + ".weight"), bias(s.name, s.conv.bias));
          break;
        case Kind::kLinear:
          y = ref_linear(x, s.out, p.at(s.name + ".weight"), bias(s.name, s.bias));
          break;
        case Kind::kRelu:
          y = ref_relu(x);
          break;
        case Kind::kMaxPool:
        case Kind::kAvgPool:
          y = ref_pool2d(x, s.kind == Kind::kMaxPool ? PoolKind::kMax : PoolKind::kAvg, s.kernel,
                         s.stride == 0 ? s.kernel : s.stride, s.padding);
          break;
        case Kind::kFlatten:
          y = x;
          y.dims = {dims_product(x.dims)};
          break;
        case Kind::kBatchNorm:
          y = ref_batch_norm2d(x, p.at(s.name + ".weight"), p.at(s.name + ".bias"),
                               p.at(s.name + ".running_mean"), p.at(s.name + ".running_var"), 1e-5,
                               training);
          break;
        case Kind::kRelu6:
          y = ref_relu6(x);
          break;
        case Kind::kAdaptiveAvgPool:
          y = ref_adaptive_avg_pool2d(x, s.kernel, s.stride);
          break;
        case Kind::kDropout:
          y = training ? ref_dropout(x, s.p,
                                     Dropout::step_key(s.seed, *s.step, Dropout::layer_key(s.name)))
                       : x;
          break;
        case Kind::kAdd:
          y = ref_add(x, values.at(s.inputs[1]));
          break;
        case Kind::kCustom: {
          std::vector<const RefTensor*> in = {&x};
          for (size_t i = 1; i < s.inputs.size(); ++i) in.push_back(&values.at(s.inputs[i]));
          y = s.custom->ref(in, p, training);
          break;
        }
      }
      values[s.name] = std::move(y);
      last = s.name;
    }
    return values.at(last);
  }
  // The training loss (PyTorch's train() mode), the one the gradients belong to.
  double loss(const RefParams& p, const Batch& batch) const {
    return ref_softmax_cross_entropy(forward(p, batch, true), batch.labels);
  }

 private:
  enum class Kind {
    kConv,
    kLinear,
    kRelu,
    kMaxPool,
    kAvgPool,
    kFlatten,
    kBatchNorm,
    kRelu6,
    kAdaptiveAvgPool,
    kDropout,
    kAdd,
    kCustom
  };
  struct Spec {
    Spec(Kind k, std::string n) : kind(k), name(std::move(n)) {}
    Kind kind;
    std::string name;
    std::vector<std::string> inputs;  // empty: the layer added before
    Conv2dOptions conv;
    int64_t in = 0, out = 0;
    bool bias = true;
    int64_t kernel = 0, stride = 0, padding = 0;
    double p = 0;
    uint64_t seed = 0;
    const int64_t* step = nullptr;
    double init_scale = 1;
    std::shared_ptr<const CustomLayer> custom;
  };
  // Appends the parameters of layer `s` through add(name, shape, fan_in).
  template <typename AddFn>
  void add_params(const Spec& s, AddFn& add, std::vector<NamedTensor>& out) const {
    if (s.kind == Kind::kConv) {
      const Conv2dOptions& o = s.conv;
      const Window2d w = o.window();
      const int64_t fan_in = o.in_channels / o.groups * w.kernel_h * w.kernel_w;
      add(s.name + ".weight", {o.out_channels, o.in_channels / o.groups, w.kernel_h, w.kernel_w},
          fan_in);
      if (o.bias) add(s.name + ".bias", {o.out_channels}, fan_in);
    } else if (s.kind == Kind::kLinear) {
      add(s.name + ".weight", {s.out, s.in}, s.in);
      if (s.bias) add(s.name + ".bias", {s.out}, s.in);
    } else if (s.kind == Kind::kBatchNorm) {
      add(s.name + ".weight", {s.out}, 4);
      for (float& v : out.back().data) v += 1.0f;
      add(s.name + ".bias", {s.out}, 4);
    } else if (s.kind == Kind::kCustom) {
      for (const ParamDecl& d : s.custom->params) {
        add(d.name, d.shape, d.fan_in);
        for (float& v : out.back().data) v += static_cast<float>(s.custom->init_offset);
      }
    }
  }

  Net& push(Spec s) {
    if (!from_.empty() && s.inputs.empty()) s.inputs = {from_};
    from_.clear();
    layers_.push_back(std::move(s));
    return *this;
  }
  Graph build(int classes) const {
    Graph g("test", input_, classes);
    std::map<std::string, int> ids = {{"input", 0}};
    for (const Spec& s : layers_) {
      std::vector<int> in;
      for (const std::string& name : s.inputs) in.push_back(ids.at(name));
      switch (s.kind) {
        case Kind::kConv:
          g.add(std::make_unique<Conv2d>(s.name, s.conv), in);
          break;
        case Kind::kLinear:
          g.add(std::make_unique<Linear>(s.name, s.in, s.out, s.bias), in);
          break;
        case Kind::kRelu:
          g.add(std::make_unique<Relu>(s.name), in);
          break;
        case Kind::kMaxPool:
        case Kind::kAvgPool:
          g.add(std::make_unique<Pool2d>(s.name,
                                         s.kind == Kind::kMaxPool ? PoolKind::kMax : PoolKind::kAvg,
                                         s.kernel, s.stride, s.padding),
                in);
          break;
        case Kind::kFlatten:
          g.add(std::make_unique<Flatten>(s.name), in);
          break;
        case Kind::kBatchNorm:
          g.add(std::make_unique<BatchNorm2d>(s.name, s.out), in);
          break;
        case Kind::kRelu6:
          g.add(std::make_unique<Relu6>(s.name), in);
          break;
        case Kind::kAdaptiveAvgPool:
          g.add(std::make_unique<AdaptiveAvgPool2d>(s.name, s.kernel, s.stride), in);
          break;
        case Kind::kDropout: {
          auto d = std::make_unique<Dropout>(s.name, s.p, s.seed);
          d->set_step_counter(s.step);
          g.add(std::move(d), in);
          break;
        }
        case Kind::kAdd:
          g.add(std::make_unique<Add>(s.name), in);
          break;
        case Kind::kCustom:
          g.add(s.custom->make(), in);
          break;
      }
      ids[s.name] = g.output();
    }
    return g;
  }

  Dims input_;
  std::vector<Spec> layers_;
  std::string from_;
};

inline RefParams to_double(const std::vector<NamedTensor>& params) {
  RefParams p;
  for (const NamedTensor& t : params) p[t.name] = std::vector<double>(t.data.begin(), t.data.end());
  return p;
}

}  // namespace cnnmem::layer_test
