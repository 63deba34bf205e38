// Shared pieces of the optimizer tests: `UpdateRig` drives an optimizer's update ops without a
// network, and the golden fixture of scripts/make_optimizer_golden.py is read here.
//
// The rig registers parameters with a StepBuilder (plain layouts), plans the optimizer, gives
// every buffer its own zero-filled std::vector<float> (as the arena zero-fills at bind), and runs
// a step as the executor does: begin_step(), then every op's custom work in schedule order.
//
// Usage:
//   UpdateRig rig(config, {{197}, {3, 5}});
//   rig.set_weight(0, initial);  rig.set_grad(0, gradient);  rig.step();
//
// Not here: the expected values (each test states them) or any test-only hook in the library.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "framework/step_builder.h"
#include "optimizers/optimizer.h"

namespace cnnmem::optimizer_test {

class UpdateRig {
 public:
  // `with_scale`: book a one-float gradient scale buffer and hand it to set_grad_scale.
  UpdateRig(const OptimizerConfig& config, const std::vector<Dims>& shapes, bool with_scale = false)
      : optimizer_(make_optimizer(config)) {
    StepBuilder b(dnnl::engine(dnnl::engine::kind::cpu, 0), /*training=*/true, /*batch=*/1);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const Dims& s = shapes[i];
      const auto tag = s.size() == 1 ? dnnl::memory::format_tag::a : dnnl::memory::format_tag::ab;
      const dnnl::memory::desc md(s, dnnl::memory::data_type::f32, tag);
      params_.push_back(b.param("p" + std::to_string(i), s, s.back(), md));
    }
    if (with_scale) {
      scale_ = b.book_bytes("grad_scale", Tag::kWorkspace, sizeof(float), /*persistent=*/true);
      optimizer_->set_grad_scale(scale_);
    }
    optimizer_->plan(b);
    schedule_ = b.finish();
    storage_.resize(schedule_.buffers.size());
    table_.resize(schedule_.buffers.size());
    for (size_t i = 0; i < storage_.size(); ++i) {
      storage_[i].assign(static_cast<size_t>(schedule_.buffers[i].bytes_requested) / 4, 0.0f);
      table_.set(static_cast<BufferId>(i), reinterpret_cast<std::byte*>(storage_[i].data()));
    }
    if (with_scale) set_scale(1.0f);
  }

  Optimizer& optimizer() { return *optimizer_; }
  const Schedule& schedule() const { return schedule_; }
  const std::vector<ParamBinding>& params() const { return params_; }
  // Buffers never reallocate (the table points into them): write through these.
  float* data(BufferId id) { return storage_[static_cast<size_t>(id)].data(); }
  const std::vector<float>& buffer(BufferId id) const { return storage_[static_cast<size_t>(id)]; }
  const std::vector<float>& weight(size_t i) const { return buffer(params_[i].weight); }
  void set_weight(size_t i, const std::vector<float>& v) { set(params_[i].weight, v); }
  void set_grad(size_t i, const std::vector<float>& v) { set(params_[i].grad, v); }
  void set_scale(float s) { data(scale_)[0] = s; }

  void step() {
    optimizer_->begin_step();
    for (const Op& op : schedule_.ops) {
      if (op.custom) op.custom(table_);
    }
  }

 private:
  void set(BufferId id, const std::vector<float>& v) {
    ASSERT_EQ(v.size(), buffer(id).size()) << schedule_.buffers[static_cast<size_t>(id)].name;
    std::copy(v.begin(), v.end(), data(id));
  }

  std::unique_ptr<Optimizer> optimizer_;
  std::vector<ParamBinding> params_;
  Schedule schedule_;
  std::vector<std::vector<float>> storage_;
  BufferTable table_;
  BufferId scale_ = kNoBuffer;
};

// ---------------------------------------------------------------------------------------------
// The golden fixture: tests/fixtures/golden/optimizers_10_steps.json.

inline std::vector<float> decode_floats(const std::string& base64) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::vector<unsigned char> bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : base64) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<unsigned char>((acc >> bits) & 0xFF));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);  // little-endian, as the host
  return out;
}

struct GoldenConfig {
  std::string name;
  OptimizerConfig config;
  std::vector<std::vector<std::vector<float>>> after;  // [step][param] PyTorch's parameters
};

struct Golden {
  std::vector<Dims> shapes;
  std::vector<std::vector<float>> init;                // [param]
  std::vector<std::vector<std::vector<float>>> grads;  // [step][param]
  std::vector<GoldenConfig> configs;
};

// torch.optim keyword arguments -> OptimizerConfig; an absent one stays unset (the default).
inline OptimizerConfig config_from(const std::string& optimizer, const nlohmann::json& o) {
  OptimizerConfig c;
  c.name = optimizer;
  auto real = [&o](const char* key, double& field) {
    if (o.contains(key)) field = o[key].get<double>();
  };
  real("lr", c.lr);
  real("weight_decay", c.weight_decay);
  real("eps", c.eps);
  real("momentum", c.momentum);
  real("dampening", c.dampening);
  real("alpha", c.alpha);
  real("lr_decay", c.lr_decay);
  real("initial_accumulator_value", c.initial_accumulator_value);
  c.nesterov = o.value("nesterov", false);
  c.amsgrad = o.value("amsgrad", false);
  c.centered = o.value("centered", false);
  if (o.contains("betas")) {
    c.beta1 = o["betas"][0].get<double>();
    c.beta2 = o["betas"][1].get<double>();
  }
  return c;
}

inline const Golden& golden() {
  static const Golden g = [] {
    std::ifstream f(std::string(CNNMEM_SOURCE_DIR) +
                    "/tests/fixtures/golden/optimizers_10_steps.json");
    const nlohmann::json j = nlohmann::json::parse(f);
    Golden out;
    for (const auto& p : j["params"]) out.shapes.push_back(p["shape"].get<Dims>());
    for (const auto& s : j["init"]) out.init.push_back(decode_floats(s.get<std::string>()));
    for (const auto& step : j["grads"]) {
      out.grads.emplace_back();
      for (const auto& s : step) out.grads.back().push_back(decode_floats(s.get<std::string>()));
    }
    for (const auto& c : j["configs"]) {
      GoldenConfig gc;
      gc.name = c["name"].get<std::string>();
      gc.config = config_from(c["optimizer"].get<std::string>(), c["options"]);
      for (const auto& step : c["params_after"]) {
        gc.after.emplace_back();
        for (const auto& s : step) gc.after.back().push_back(decode_floats(s.get<std::string>()));
      }
      out.configs.push_back(std::move(gc));
    }
    return out;
  }();
  return g;
}

}  // namespace cnnmem::optimizer_test
