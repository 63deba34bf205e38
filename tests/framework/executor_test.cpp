// The executor end to end: predicted == measured for every built-in model and optimizer, jit
// kernels only, no allocation by cnnmem's own code inside a step, determinism.
#include "framework/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "framework/alloc_probe.h"
#include "framework/error.h"
#include "layers/losses.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"
#include "tests/util/training_run.h"
#include "train/trainer.h"

// Counts malloc calls while `g_counting` is on, apart for those made while a oneDNN primitive
// executes (oneDNN 2.6 builds an argument map per execute; see framework/alloc_probe.h).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_ours{0};
std::atomic<long> g_dnnl{0};
}  // namespace

// Sanitizers interpose malloc themselves (TSan calls it before this replacement could work).
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CNNMEM_COUNTS_MALLOC 1
extern "C" void* __libc_malloc(size_t);
extern "C" void* malloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    (cnnmem::in_dnnl_execute() ? g_dnnl : g_ours).fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_malloc(n);
}
#endif

namespace cnnmem {
namespace {

std::unique_ptr<test::TrainingRun> prepare(const Graph& g, bool training, int64_t batch,
                                           OptimizerConfig cfg, uint64_t seed = 1,
                                           bool fuse = false, double clip = 0,
                                           bool guard = kArenaGuardDefault) {
  ExecutorOptions o;
  o.training = training;
  o.batch = batch;
  o.guard = guard;
  o.fuse_update = fuse;
  o.clip_grad_norm = clip;
  return test::start_run(g, o, training ? make_optimizer(cfg) : nullptr, seed, seed);
}

OptimizerConfig config(const char* name, double momentum = 0, bool nesterov = false) {
  OptimizerConfig c;
  c.name = name;
  c.momentum = momentum;
  c.nesterov = nesterov;
  return c;
}

class PredictedEqualsMeasured : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {
};

TEST_P(PredictedEqualsMeasured, ToTheByte) {
  const auto& [model, batch, which] = GetParam();
  const OptimizerConfig cfgs[] = {config("sgd"), config("sgd", 0.9), config("sgd", 0.9, true),
                                  config("adam")};
  const bool training = which < 4;
  const Graph g = make_model(model);
  auto r = prepare(g, training, batch, training ? cfgs[which] : OptimizerConfig{});
  r->ex->run_step();
  r->ex->run_step();
  expect_same(r->ex->predicted(), r->ex->measured());
  const MemoryStats& p = r->ex->predicted();
  const int64_t w = p.by_tag[tag_index(Tag::kWeight)];
  EXPECT_GE(w, 4 * g.param_count());
  if (training) {
    EXPECT_EQ(p.by_tag[tag_index(Tag::kGrad)], w);
    const int64_t per = r->opt->state_bytes_per_element();
    EXPECT_EQ(p.by_tag[tag_index(Tag::kOptimizerState)], w * per / 4);
  } else {
    EXPECT_EQ(p.by_tag[tag_index(Tag::kGrad)], 0);
    EXPECT_EQ(p.by_tag[tag_index(Tag::kActivationGrad)], 0);
  }
}

INSTANTIATE_TEST_SUITE_P(SmallModels, PredictedEqualsMeasured,
                         ::testing::Combine(::testing::Values("lenet5", "vgg-mini"),
                                            ::testing::Values(1, 3),
                                            ::testing::Values(0, 1, 2, 3, 4)));

TEST(PredictedEqualsMeasuredVgg16, TrainAdamBatch1) {
  const Graph g = make_model("vgg16");
  EXPECT_EQ(g.param_count(), 138357544);  // torchvision's vgg16
  auto r = prepare(g, true, 1, config("adam"));
  r->ex->run_step();
  expect_same(r->ex->predicted(), r->ex->measured());
}

TEST(PredictedEqualsMeasuredVgg16, TrainSgdMomentumBatch1) {
  const Graph g = make_model("vgg16");
  auto r = prepare(g, true, 1, config("sgd", 0.9));
  r->ex->run_step();
  expect_same(r->ex->predicted(), r->ex->measured());
}

TEST(PredictedEqualsMeasuredVgg16, InferBatch1) {
  const Graph g = make_model("vgg16");
  auto r = prepare(g, false, 1, {});
  r->ex->run_step();
  expect_same(r->ex->predicted(), r->ex->measured());
}

// Arena guard mode moves buffers apart and checks canaries after every op: the same losses and
// weights to the bit, and the same predicted == measured bytes, as without it.
TEST(ArenaGuardMode, ChangesNeitherResultsNorBytes) {
  for (const char* model : {"lenet5", "vgg-mini"}) {
    SCOPED_TRACE(model);
    const Graph g = make_model(model);
    auto plain = prepare(g, true, 3, config("adam"), 1, false, 0, /*guard=*/false);
    auto guarded = prepare(g, true, 3, config("adam"), 1, false, 0, /*guard=*/true);
    for (int step = 0; step < 2; ++step) {
      plain->ex->run_step();
      guarded->ex->run_step();
      EXPECT_EQ(plain->ex->loss(), guarded->ex->loss());
    }
    expect_same(guarded->ex->predicted(), guarded->ex->measured());
    expect_same(plain->ex->measured(), guarded->ex->measured());
    const std::vector<NamedTensor> a = plain->ex->weights(), b = guarded->ex->weights();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  }
}

// Writes one label past the end of the staging labels while a chosen op runs (the observer runs
// inside the op's slot, before the check): the step stops with an error naming that op.
class OverrunDuring : public OpObserver {
 public:
  OverrunDuring(std::string op, int32_t* labels, int64_t batch)
      : op_(std::move(op)), labels_(labels), batch_(batch) {}
  void on_op(int, const Op& op, const TagBytes&, double, double) override {
    if (op.name == op_) labels_[batch_] = 7;
  }
  void on_step_end(const MemoryStats&) override {}

 private:
  std::string op_;
  int32_t* labels_;
  int64_t batch_;
};

TEST(ArenaGuardMode, NamesTheOpDuringWhichABufferWasOverrun) {
  const Graph g = make_model("lenet5");
  auto r = prepare(g, true, 3, config("sgd"), 1, false, 0, /*guard=*/true);
  const std::string victim = r->ex->schedule().ops[4].name;
  OverrunDuring observer(victim, r->ex->staging_labels(), 3);
  r->ex->set_observer(&observer);
  try {
    r->ex->run_step();
    FAIL() << "the overrun was not seen";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("op " + victim + " wrote past the end of buffer input.next_labels"),
              std::string::npos)
        << what;
  }
}

// Initialisation draws the same values in PyTorch's order whichever way they reach oneDNN's
// layout: in place (plain), through the gradient buffer (training), or a block of rows at a time
// (inference; resnet18's blocked conv weights are written in several sub-tensors).
TEST(Executor, InferenceAndTrainingInitialiseTheSameWeights) {
  for (const char* model : {"vgg-mini", "resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(model);
    const Graph g = make_model(model);
    ExecutorOptions train, infer;
    train.batch = infer.batch = 1;
    infer.training = false;
    const std::unique_ptr<Optimizer> opt = make_optimizer(config("sgd"));
    Executor a(g, train, opt.get(), std::make_unique<SoftmaxCrossEntropy>()), b(g, infer, nullptr);
    a.bind();
    b.bind();
    a.init_weights(5);
    b.init_weights(5);
    const std::vector<NamedTensor> wa = a.weights(), wb = b.weights();
    ASSERT_EQ(wa.size(), wb.size());
    for (size_t i = 0; i < wa.size(); ++i) {
      EXPECT_EQ(wa[i].name, wb[i].name);
      EXPECT_EQ(wa[i].data, wb[i].data) << wa[i].name;
    }
    // Training's staging copies leave the gradients at zero.
    for (const NamedTensor& t : a.gradients()) {
      EXPECT_EQ(std::count(t.data.begin(), t.data.end(), 0.0F), static_cast<long>(t.data.size()))
          << t.name;
    }
  }
}

TEST(Executor, EveryPrimitiveIsJit) {
  for (const std::string& model : model_names()) {
    const Graph g = make_model(model);
    for (bool training : {true, false}) {
      auto opt = make_optimizer(config("adam"));
      ExecutorOptions o;
      o.training = training;
      o.batch = model == "vgg16" ? 2 : 64;
      const Executor ex(g, o, opt.get(), make_loss(default_loss_name(g.nodes().back().dims)));
      const auto impls = ex.implementations();
      EXPECT_GT(impls.size(), 5u);
      for (const std::string& s : impls) {
        EXPECT_EQ(s.find("ref"), std::string::npos) << model << ": " << s;
      }
    }
  }
}

TEST(Executor, NoAllocationByCnnmemInsideASteps) {
  for (const char* model : {"lenet5", "vgg-mini"}) {
    const Graph g = make_model(model);
    auto r = prepare(g, true, 4, config("adam"));
    r->ex->run_step();  // warm-up: first-touch work in oneDNN and OpenMP
    g_ours = 0;
    g_dnnl = 0;
    g_counting = true;
    for (int i = 0; i < 4; ++i) r->ex->run_step();
    g_counting = false;
    EXPECT_EQ(g_ours.load(), 0) << model;
#if defined(CNNMEM_COUNTS_MALLOC)
    EXPECT_GT(g_dnnl.load(), 0) << "the probe must see oneDNN's own allocations";
#endif
  }
}

std::vector<float> losses(uint64_t seed, int steps) {
  const Graph g = make_model("lenet5");
  auto r = prepare(g, true, 16, config("adam"), seed);
  std::vector<float> out;
  for (int i = 0; i < steps; ++i) {
    r->ex->run_step();
    out.push_back(r->ex->loss());
  }
  return out;
}

TEST(Executor, SameSeedSameLossesBitwise) {
  const auto a = losses(3, 5), b = losses(3, 5), c = losses(4, 5);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Executor, WeightsRoundTripThroughBlockedLayouts) {
  const Graph g = make_model("vgg-mini");
  auto r = prepare(g, false, 2, {});
  std::vector<NamedTensor> w = r->ex->weights();
  ASSERT_EQ(w.size(), 12u);
  EXPECT_EQ(w[0].name, "features.0.weight");
  EXPECT_EQ(w[0].shape, (Dims{32, 1, 3, 3}));
  for (NamedTensor& t : w) {
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i % 97) * 0.01f;
  }
  r->ex->load_weights(w, "test");
  const std::vector<NamedTensor> back = r->ex->weights();
  for (size_t k = 0; k < w.size(); ++k) EXPECT_EQ(back[k].data, w[k].data) << w[k].name;
}

TEST(FusedUpdate, SameWeightsAsUnfusedAndOnlyTheLargestGradientLive) {
  for (const char* model : {"lenet5", "vgg-mini"}) {
    const Graph g = make_model(model);
    auto plain = prepare(g, true, 4, config("adam"));
    auto fused = prepare(g, true, 4, config("adam"), 1, /*fuse=*/true);
    for (int i = 0; i < 3; ++i) {
      plain->ex->run_step();
      fused->ex->run_step();
      EXPECT_EQ(plain->ex->loss(), fused->ex->loss()) << model << " step " << i;
    }
    const auto a = plain->ex->weights(), b = fused->ex->weights();
    for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].data, b[k].data) << a[k].name;
    expect_same(fused->ex->predicted(), fused->ex->measured());
    // Gradients are transient: at any moment at most one layer's are live, and the largest
    // layer's set the grad peak.
    int64_t largest = 0, all = 0;
    const Schedule& s = fused->ex->schedule();
    for (const ParamBinding& p : fused->ex->params()) {
      const Buffer& buf = s.buffers[static_cast<size_t>(p.grad)];
      EXPECT_FALSE(buf.persistent);
      largest = std::max(largest, buf.bytes_aligned);
      all += buf.bytes_aligned;
    }
    const int64_t grad_peak = fused->ex->measured().tag_peaks[tag_index(Tag::kGrad)];
    EXPECT_GE(grad_peak, largest);
    EXPECT_LT(grad_peak, all);
    EXPECT_EQ(plain->ex->measured().tag_peaks[tag_index(Tag::kGrad)], all);
  }
}

TEST(FusedUpdate, RefusesGradientClipping) {
  const Graph g = make_model("lenet5");
  auto opt = make_optimizer(config("sgd"));
  ExecutorOptions o;
  o.fuse_update = true;
  o.clip_grad_norm = 1.0;
  EXPECT_THROW({ Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>()); }, Error);
}

TEST(ClipGradNorm, ScalesEveryGradientByTheGlobalNorm) {
  const Graph g = make_model("lenet5");
  OptimizerConfig sgd = config("sgd");
  sgd.lr = 1.0;
  // Unclipped: read the gradients of the first step.
  auto ref = prepare(g, true, 8, sgd);
  const std::vector<NamedTensor> w0 = ref->ex->weights();
  ref->ex->run_step();
  const std::vector<NamedTensor> grads = ref->ex->gradients();
  double norm2 = 0;
  for (const NamedTensor& t : grads) {
    for (float v : t.data) norm2 += static_cast<double>(v) * v;
  }
  const double max_norm = 0.05;
  const double scale = std::min(1.0, max_norm / (std::sqrt(norm2) + 1e-6));
  ASSERT_LT(scale, 0.9) << "the case must actually clip";
  auto clipped = prepare(g, true, 8, sgd, 1, false, max_norm);
  clipped->ex->run_step();
  const std::vector<NamedTensor> w1 = clipped->ex->weights();
  for (size_t k = 0; k < w1.size(); ++k) {
    for (size_t i = 0; i < w1[k].data.size(); ++i) {
      const double want = w0[k].data[i] - scale * grads[k].data[i];
      ASSERT_NEAR(w1[k].data[i], want, 1e-6) << w1[k].name << "[" << i << "]";
    }
  }
  expect_same(clipped->ex->predicted(), clipped->ex->measured());
}

TEST(Executor, BatchZeroIsAUserError) {
  const Graph g = make_model("lenet5");
  ExecutorOptions o;
  o.training = false;
  o.batch = 0;
  EXPECT_THROW({ Executor ex(g, o, nullptr); }, Error);
}

}  // namespace
}  // namespace cnnmem
