// Tests for framework/step_compiler.h on the tiny model (tests/util/tiny_model.h), whose step can
// be written out by hand: the ops of a training step and of an inference pass, in order and with
// their phases, where the forward part ends, the buffers of each, what --keep changes (the kept
// output outlives the pass and the ReLU after it can no longer write over it), and the errors a
// user sees.
// Not here: running the step (executor_test.cpp), checkpointing (checkpoint_test.cpp).
#include "framework/step_compiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"
#include "tests/util/expect_error.h"
#include "tests/util/tiny_model.h"

namespace cnnmem {
namespace {

using test::error_of;
using test::tiny_model;

// compile_step with what it borrows kept alive for the test.
struct Compiled {
  std::unique_ptr<Optimizer> opt;
  SoftmaxCrossEntropy loss;
  StepContext context;
  CompiledStep step;
};

std::unique_ptr<Compiled> compile(const Graph& g, bool training,
                                  std::vector<std::string> keep = {}) {
  auto c = std::make_unique<Compiled>();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  if (training) c->opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.training = training;
  o.batch = 2;
  o.keep = std::move(keep);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  c->step = compile_step(g, o, c->opt.get(), &c->loss, engine, &c->context);
  return c;
}

std::vector<std::pair<std::string, Phase>> ops_of(const Schedule& s) {
  std::vector<std::pair<std::string, Phase>> out;
  for (const Op& op : s.ops) out.emplace_back(op.name, op.phase);
  return out;
}

// Sorted, without "scratchpad": that one is booked only when a oneDNN kernel asks for scratch
// memory, which depends on the kernels this CPU gets (checked in ScratchpadIsSharedWorkspace).
// A weights reorder for the backward-data primitive exists where oneDNN's inner product wants
// its weights in another layout for backward than for forward (seen with AVX2, not AVX-512): it
// depends on the CPU, not on the compiler, so these tests leave it out.
bool cpu_dependent(const std::string& name) {
  return name.find(".weights_bwd") != std::string::npos;
}

// The op names in [range.first, range.second), without the CPU-dependent reorders.
std::vector<std::string> ops_in(const Schedule& s, std::pair<size_t, size_t> range) {
  std::vector<std::string> out;
  for (size_t i = range.first; i < range.second; ++i) {
    if (!cpu_dependent(s.ops[i].name)) out.push_back(s.ops[i].name);
  }
  return out;
}

std::vector<std::string> buffer_names(const Schedule& s) {
  std::vector<std::string> out;
  for (const Buffer& b : s.buffers) {
    if (b.name != "scratchpad" && !cpu_dependent(b.name)) out.push_back(b.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

BufferId buffer_named(const Schedule& s, const std::string& name) {
  for (size_t i = 0; i < s.buffers.size(); ++i) {
    if (s.buffers[i].name == name) return static_cast<BufferId>(i);
  }
  ADD_FAILURE() << "no buffer " << name;
  return kNoBuffer;
}

TEST(StepCompiler, TrainingStepIsLoadForwardLossBackwardThenUpdates) {
  const Graph g = tiny_model();
  const auto c = compile(g, true);
  const CompiledStep& s = c->step;
  // Backward runs from the loss to the first layer; flatten reads the input, whose gradient
  // nobody needs, so it has no backward op. SGD without momentum: one update per parameter, in
  // the order the layers registered them.
  const std::vector<std::pair<std::string, Phase>> want = {
      {"load_batch", Phase::kLoad},         {"fc1.forward", Phase::kForward},
      {"relu.forward", Phase::kForward},    {"fc2.forward", Phase::kForward},
      {"loss.forward", Phase::kLoss},       {"loss.backward", Phase::kLoss},
      {"fc2.backward", Phase::kBackward},   {"relu.backward", Phase::kBackward},
      {"fc1.backward", Phase::kBackward},   {"update(fc1.weight)", Phase::kUpdate},
      {"update(fc1.bias)", Phase::kUpdate}, {"update(fc2.weight)", Phase::kUpdate},
      {"update(fc2.bias)", Phase::kUpdate}};
  auto ops = ops_of(s.schedule);
  ops.erase(std::remove_if(ops.begin(), ops.end(),
                           [](const auto& op) { return cpu_dependent(op.first); }),
            ops.end());
  EXPECT_EQ(ops, want);
  EXPECT_EQ(s.forward_end, 5u);  // load, three forward ops, the loss
  EXPECT_FALSE(s.forward_differs);
  // Each node's forward and backward ops, [begin, end) in the op list.
  EXPECT_EQ(s.node_fwd[1], (std::pair<size_t, size_t>{1, 1}));  // flatten of plain data: a view
  EXPECT_EQ(s.node_fwd[2], (std::pair<size_t, size_t>{1, 2}));
  EXPECT_EQ(s.node_fwd[3], (std::pair<size_t, size_t>{2, 3}));
  EXPECT_EQ(s.node_fwd[4], (std::pair<size_t, size_t>{3, 4}));
  EXPECT_EQ(s.node_bwd[4].first, 6u);
  EXPECT_EQ(ops_in(s.schedule, s.node_bwd[4]), std::vector<std::string>{"fc2.backward"});
  EXPECT_EQ(s.node_bwd[3].first, s.node_bwd[4].second);
  EXPECT_EQ(ops_in(s.schedule, s.node_bwd[3]), std::vector<std::string>{"relu.backward"});
  EXPECT_EQ(s.node_bwd[2].first, s.node_bwd[3].second);
  EXPECT_EQ(ops_in(s.schedule, s.node_bwd[2]), std::vector<std::string>{"fc1.backward"});
  EXPECT_EQ(s.node_bwd[1], (std::pair<size_t, size_t>{s.node_bwd[2].second, s.node_bwd[2].second}));
  ASSERT_EQ(s.params.size(), 4u);
  EXPECT_EQ(s.params[0].name, "fc1.weight");
  EXPECT_EQ(s.params[3].name, "fc2.bias");
  EXPECT_NE(s.labels, kNoBuffer);
  EXPECT_NE(s.staging_labels, kNoBuffer);
  EXPECT_NE(s.result, kNoBuffer);
  EXPECT_TRUE(s.kept.empty());
}

TEST(StepCompiler, TrainingBuffersAreTaggedAndTheReluWritesOverItsInput) {
  const Graph g = tiny_model();
  const auto c = compile(g, true);
  const Schedule& s = c->step.schedule;
  // No "relu.dst" and no "relu.diff_src": ReLU works in place both ways.
  const std::vector<std::string> want = {
      "fc1.bias",      "fc1.diff_src",     "fc1.dst",           "fc1.weight",
      "fc2.bias",      "fc2.diff_src",     "fc2.dst",           "fc2.weight",
      "grad.fc1.bias", "grad.fc1.weight",  "grad.fc2.bias",     "grad.fc2.weight",
      "input.images",  "input.labels",     "input.next_images", "input.next_labels",
      "loss",          "loss.diff_logits", "loss.probs"};
  EXPECT_EQ(buffer_names(s), want);
  const auto tag = [&](const std::string& name) {
    return s.buffers[static_cast<size_t>(buffer_named(s, name))].tag;
  };
  EXPECT_EQ(tag("fc1.weight"), Tag::kWeight);
  EXPECT_EQ(tag("grad.fc1.weight"), Tag::kGrad);
  EXPECT_EQ(tag("fc1.dst"), Tag::kActivation);
  EXPECT_EQ(tag("loss.probs"), Tag::kActivation);
  EXPECT_EQ(tag("fc2.diff_src"), Tag::kActivationGrad);
  EXPECT_EQ(tag("input.labels"), Tag::kInput);
  // fc2 (5x3 + 3) in f32; the logits are (2, 3) f32 = 24 bytes, aligned to 64.
  const Buffer& w = s.buffers[static_cast<size_t>(buffer_named(s, "fc2.weight"))];
  EXPECT_EQ(w.bytes_logical, 5 * 3 * 4);
  EXPECT_TRUE(w.persistent);
  const Buffer& probs = s.buffers[static_cast<size_t>(buffer_named(s, "loss.probs"))];
  EXPECT_EQ(probs.bytes_requested, 2 * 3 * 4);
  EXPECT_EQ(probs.bytes_aligned, 64);
  EXPECT_FALSE(probs.persistent);
}

TEST(StepCompiler, InferencePassIsLoadForwardOutput) {
  const Graph g = tiny_model();
  const auto c = compile(g, false);
  const CompiledStep& s = c->step;
  const std::vector<std::pair<std::string, Phase>> want = {{"load_batch", Phase::kLoad},
                                                           {"fc1.forward", Phase::kForward},
                                                           {"relu.forward", Phase::kForward},
                                                           {"fc2.forward", Phase::kForward},
                                                           {"output", Phase::kForward}};
  EXPECT_EQ(ops_of(s.schedule), want);
  EXPECT_EQ(s.forward_end, 5u);
  // No labels, loss, gradients or staging for labels in inference.
  EXPECT_EQ(s.labels, kNoBuffer);
  EXPECT_EQ(s.staging_labels, kNoBuffer);
  EXPECT_EQ(s.result, kNoBuffer);
  const std::vector<std::string> buffers = {"fc1.bias",     "fc1.dst",          "fc1.weight",
                                            "fc2.bias",     "fc2.dst",          "fc2.weight",
                                            "input.images", "input.next_images"};
  EXPECT_EQ(buffer_names(s.schedule), buffers);
  // The output op reads the logits: fc2's output.
  EXPECT_EQ(s.output.buffer, buffer_named(s.schedule, "fc2.dst"));
  EXPECT_EQ(s.schedule.ops.back().uses, (std::vector<BufferId>{s.output.buffer}));
  // The ReLU wrote over fc1's output, which is dead once fc2 read it (op 3).
  const std::vector<Lifetime> life = s.schedule.lifetimes();
  const BufferId fc1 = buffer_named(s.schedule, "fc1.dst");
  EXPECT_EQ(life[static_cast<size_t>(fc1)].first, 1);
  EXPECT_EQ(life[static_cast<size_t>(fc1)].last, 3);
}

TEST(StepCompiler, KeptTensorOutlivesThePassAndIsNotWrittenOver) {
  const Graph g = tiny_model();
  const auto c = compile(g, false, {"fc1"});
  const CompiledStep& s = c->step;
  const BufferId fc1 = buffer_named(s.schedule, "fc1.dst");
  ASSERT_EQ(s.kept.size(), 1u);
  EXPECT_EQ(s.kept[0].first, "fc1");
  EXPECT_EQ(s.kept[0].second.buffer, fc1);
  // The ReLU may not overwrite a kept tensor: it gets an output of its own.
  const BufferId relu = buffer_named(s.schedule, "relu.dst");
  EXPECT_NE(relu, kNoBuffer);
  // The output op reads the logits and the kept tensor, so fc1.dst lives to the last op.
  EXPECT_EQ(s.schedule.ops.back().name, "output");
  std::vector<BufferId> want = {s.output.buffer, fc1};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(s.schedule.ops.back().uses, want);
  const std::vector<Lifetime> life = s.schedule.lifetimes();
  EXPECT_EQ(life[static_cast<size_t>(fc1)].last, 4);
  EXPECT_EQ(life[static_cast<size_t>(relu)].last, 3);
}

TEST(StepCompiler, ScratchpadIsOneSharedWorkspaceBufferThatCheckpointingNeverCopies) {
  const Graph g = tiny_model();
  const auto c = compile(g, true);
  const Schedule& s = c->step.schedule;
  const auto n = std::count_if(s.buffers.begin(), s.buffers.end(),
                               [](const Buffer& b) { return b.name == "scratchpad"; });
  ASSERT_LE(n, 1);
  if (n == 0) {
    EXPECT_TRUE(c->step.checkpoint_shared.empty());
    return;
  }
  const BufferId id = buffer_named(s, "scratchpad");
  EXPECT_EQ(s.buffers[static_cast<size_t>(id)].tag, Tag::kWorkspace);
  EXPECT_GT(s.buffers[static_cast<size_t>(id)].bytes_requested, 0);
  EXPECT_EQ(c->step.checkpoint_shared, (std::vector<BufferId>{id}));
}

TEST(StepCompiler, UnknownKeepNameIsAUserError) {
  const Graph g = tiny_model();
  EXPECT_EQ(
      error_of([&] {
        compile(g, false, {"fc1", "nope"});
      }),
      "kept tensor nope: model tiny has no layer of that name (layer names are like PyTorch's, "
      "e.g. fc2)");
}

TEST(StepCompiler, KeepInTrainingIsAUserError) {
  const Graph g = tiny_model();
  EXPECT_EQ(error_of([&] { compile(g, true, {"fc1"}); }),
            "keeping tensors applies to inference; a training step keeps what backward needs");
}

// Inference takes any output; training with class targets needs one logit per class.
TEST(StepCompiler, LastLayerOfTheWrongWidthIsAUserErrorInTraining) {
  const Graph g = tiny_model(/*classes=*/10);
  EXPECT_EQ(error_of([&] { compile(g, false); }), "");
  EXPECT_EQ(error_of([&] { compile(g, true); }),
            "model tiny: the last layer produces 3 per image, the model has 10 classes: end with "
            "a layer of that width");
}

}  // namespace
}  // namespace cnnmem
