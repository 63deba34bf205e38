// The inception family of the torchvision zoo: googlenet and inception_v3, with torchvision
// 0.14's module names, built as torchvision's constructors build them with aux_logits=False (see
// models/torchvision.h for why) and transform_input=False (their default without weights).
// A BasicConv2d is "<p>conv" (no bias), "<p>bn" (BatchNorm, eps 0.001) and "<p>relu" (torchvision's
// functional ReLU). What torchvision calls functionally gets a name of its own: a block's
// torch.cat "<block>.cat" (inception_v3's inner ones "<block>.branch3x3_cat" and
// "<block>.branch3x3dbl_cat"), inception_v3's pools "<block>.avg_pool" / "<block>.max_pool",
// and "flatten".
// Usage: tv::googlenet({3, 224, 224}), tv::inception_v3({3, 299, 299}) (through
// make_torchvision_model).
// Not here: the auxiliary classifiers, the shared pieces (models/torchvision_parts.h).
#include <memory>
#include <vector>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/batch_norm2d.h"
#include "layers/concat.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {
namespace {

constexpr double kBnEps = 1e-3;

// torchvision's BasicConv2d (both families): conv without bias, BatchNorm eps 0.001, ReLU.
int basic_conv(Graph& g, int x, const std::string& p, const Conv2dOptions& o) {
  x = g.add(std::make_unique<Conv2d>(p + "conv", o), {x});
  x = g.add(std::make_unique<BatchNorm2d>(p + "bn", o.out_channels, kBnEps), {x});
  return g.add(std::make_unique<Relu>(p + "relu"), {x});
}

// A square k x k convolution without bias.
Conv2dOptions conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                   int64_t padding = 0) {
  return Conv2dOptions(in, out, kernel, stride, padding, 1, false);
}

// A KH x KW convolution (1x7, 7x1, 1x3, 3x1) padded to keep the size, without bias.
Conv2dOptions conv_hw(int64_t in, int64_t out, int64_t kh, int64_t kw) {
  Conv2dOptions o = conv(in, out, 1);
  Window2d w;
  w.kernel_h = kh;
  w.kernel_w = kw;
  w.pads = {(kh - 1) / 2, (kw - 1) / 2, (kh - 1) / 2, (kw - 1) / 2};
  o.geometry = w;
  return o;
}

int max_pool(Graph& g, int x, const std::string& name, int64_t kernel, int64_t stride,
             int64_t padding, bool ceil_mode) {
  Pool2dOptions o = Pool2dOptions::square(kernel, stride, padding);
  o.ceil_mode = ceil_mode;
  return g.add(std::make_unique<Pool2d>(name, PoolKind::kMax, o), {x});
}

// F.avg_pool2d(x, 3, stride=1, padding=1) (count_include_pad, PyTorch's default).
int avg_pool_3x3(Graph& g, int x, const std::string& name) {
  return g.add(std::make_unique<Pool2d>(name, PoolKind::kAvg, Pool2dOptions::square(3, 1, 1)), {x});
}

int cat(Graph& g, const std::string& name, const std::vector<int>& xs) {
  return g.add(std::make_unique<Concat>(name), xs);
}

// ---- googlenet ----------------------------------------------------------------------------

struct InceptionWidths {
  int64_t ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
};

// torchvision's googlenet Inception block; its "5x5" branch has a 3x3 kernel, as torchvision's.
int googlenet_block(Graph& g, int x, const std::string& name, int64_t in,
                    const InceptionWidths& c) {
  const std::string p = name + ".";
  const int b1 = basic_conv(g, x, p + "branch1.", conv(in, c.ch1x1, 1));
  int b2 = basic_conv(g, x, p + "branch2.0.", conv(in, c.ch3x3red, 1));
  b2 = basic_conv(g, b2, p + "branch2.1.", conv(c.ch3x3red, c.ch3x3, 3, 1, 1));
  int b3 = basic_conv(g, x, p + "branch3.0.", conv(in, c.ch5x5red, 1));
  b3 = basic_conv(g, b3, p + "branch3.1.", conv(c.ch5x5red, c.ch5x5, 3, 1, 1));
  int b4 = max_pool(g, x, p + "branch4.0", 3, 1, 1, true);
  b4 = basic_conv(g, b4, p + "branch4.1.", conv(in, c.pool_proj, 1));
  return cat(g, p + "cat", {b1, b2, b3, b4});
}

// ---- inception_v3 -------------------------------------------------------------------------

int inception_a(Graph& g, int x, const std::string& p, int64_t in, int64_t pool_features) {
  const int b1 = basic_conv(g, x, p + "branch1x1.", conv(in, 64, 1));
  int b5 = basic_conv(g, x, p + "branch5x5_1.", conv(in, 48, 1));
  b5 = basic_conv(g, b5, p + "branch5x5_2.", conv(48, 64, 5, 1, 2));
  int b3 = basic_conv(g, x, p + "branch3x3dbl_1.", conv(in, 64, 1));
  b3 = basic_conv(g, b3, p + "branch3x3dbl_2.", conv(64, 96, 3, 1, 1));
  b3 = basic_conv(g, b3, p + "branch3x3dbl_3.", conv(96, 96, 3, 1, 1));
  int bp = avg_pool_3x3(g, x, p + "avg_pool");
  bp = basic_conv(g, bp, p + "branch_pool.", conv(in, pool_features, 1));
  return cat(g, p + "cat", {b1, b5, b3, bp});
}

int inception_b(Graph& g, int x, const std::string& p, int64_t in) {
  const int b3 = basic_conv(g, x, p + "branch3x3.", conv(in, 384, 3, 2));
  int bd = basic_conv(g, x, p + "branch3x3dbl_1.", conv(in, 64, 1));
  bd = basic_conv(g, bd, p + "branch3x3dbl_2.", conv(64, 96, 3, 1, 1));
  bd = basic_conv(g, bd, p + "branch3x3dbl_3.", conv(96, 96, 3, 2));
  const int bp = max_pool(g, x, p + "max_pool", 3, 2, 0, false);
  return cat(g, p + "cat", {b3, bd, bp});
}

int inception_c(Graph& g, int x, const std::string& p, int64_t in, int64_t c7) {
  const int b1 = basic_conv(g, x, p + "branch1x1.", conv(in, 192, 1));
  int b7 = basic_conv(g, x, p + "branch7x7_1.", conv(in, c7, 1));
  b7 = basic_conv(g, b7, p + "branch7x7_2.", conv_hw(c7, c7, 1, 7));
  b7 = basic_conv(g, b7, p + "branch7x7_3.", conv_hw(c7, 192, 7, 1));
  int bd = basic_conv(g, x, p + "branch7x7dbl_1.", conv(in, c7, 1));
  bd = basic_conv(g, bd, p + "branch7x7dbl_2.", conv_hw(c7, c7, 7, 1));
  bd = basic_conv(g, bd, p + "branch7x7dbl_3.", conv_hw(c7, c7, 1, 7));
  bd = basic_conv(g, bd, p + "branch7x7dbl_4.", conv_hw(c7, c7, 7, 1));
  bd = basic_conv(g, bd, p + "branch7x7dbl_5.", conv_hw(c7, 192, 1, 7));
  int bp = avg_pool_3x3(g, x, p + "avg_pool");
  bp = basic_conv(g, bp, p + "branch_pool.", conv(in, 192, 1));
  return cat(g, p + "cat", {b1, b7, bd, bp});
}

int inception_d(Graph& g, int x, const std::string& p, int64_t in) {
  int b3 = basic_conv(g, x, p + "branch3x3_1.", conv(in, 192, 1));
  b3 = basic_conv(g, b3, p + "branch3x3_2.", conv(192, 320, 3, 2));
  int b7 = basic_conv(g, x, p + "branch7x7x3_1.", conv(in, 192, 1));
  b7 = basic_conv(g, b7, p + "branch7x7x3_2.", conv_hw(192, 192, 1, 7));
  b7 = basic_conv(g, b7, p + "branch7x7x3_3.", conv_hw(192, 192, 7, 1));
  b7 = basic_conv(g, b7, p + "branch7x7x3_4.", conv(192, 192, 3, 2));
  const int bp = max_pool(g, x, p + "max_pool", 3, 2, 0, false);
  return cat(g, p + "cat", {b3, b7, bp});
}

int inception_e(Graph& g, int x, const std::string& p, int64_t in) {
  const int b1 = basic_conv(g, x, p + "branch1x1.", conv(in, 320, 1));
  const int b3 = basic_conv(g, x, p + "branch3x3_1.", conv(in, 384, 1));
  const int b3a = basic_conv(g, b3, p + "branch3x3_2a.", conv_hw(384, 384, 1, 3));
  const int b3b = basic_conv(g, b3, p + "branch3x3_2b.", conv_hw(384, 384, 3, 1));
  const int b3cat = cat(g, p + "branch3x3_cat", {b3a, b3b});
  int bd = basic_conv(g, x, p + "branch3x3dbl_1.", conv(in, 448, 1));
  bd = basic_conv(g, bd, p + "branch3x3dbl_2.", conv(448, 384, 3, 1, 1));
  const int bda = basic_conv(g, bd, p + "branch3x3dbl_3a.", conv_hw(384, 384, 1, 3));
  const int bdb = basic_conv(g, bd, p + "branch3x3dbl_3b.", conv_hw(384, 384, 3, 1));
  const int bdcat = cat(g, p + "branch3x3dbl_cat", {bda, bdb});
  int bp = avg_pool_3x3(g, x, p + "avg_pool");
  bp = basic_conv(g, bp, p + "branch_pool.", conv(in, 192, 1));
  return cat(g, p + "cat", {b1, b3cat, bdcat, bp});
}

}  // namespace

Graph googlenet(const Dims& input) {
  Graph g("googlenet", input, kClasses);
  int x = basic_conv(g, 0, "conv1.", conv(3, 64, 7, 2, 3));
  x = max_pool(g, x, "maxpool1", 3, 2, 0, true);
  x = basic_conv(g, x, "conv2.", conv(64, 64, 1));
  x = basic_conv(g, x, "conv3.", conv(64, 192, 3, 1, 1));
  x = max_pool(g, x, "maxpool2", 3, 2, 0, true);
  struct Block {
    const char* name;
    int64_t in;
    InceptionWidths widths;
  };
  const Block blocks[] = {
      {"inception3a", 192, {64, 96, 128, 16, 32, 32}},
      {"inception3b", 256, {128, 128, 192, 32, 96, 64}},
      {"inception4a", 480, {192, 96, 208, 16, 48, 64}},
      {"inception4b", 512, {160, 112, 224, 24, 64, 64}},
      {"inception4c", 512, {128, 128, 256, 24, 64, 64}},
      {"inception4d", 512, {112, 144, 288, 32, 64, 64}},
      {"inception4e", 528, {256, 160, 320, 32, 128, 128}},
      {"inception5a", 832, {256, 160, 320, 32, 128, 128}},
      {"inception5b", 832, {384, 192, 384, 48, 128, 128}},
  };
  for (const Block& b : blocks) {
    const std::string name = b.name;
    x = googlenet_block(g, x, name, b.in, b.widths);
    if (name == "inception3b") x = max_pool(g, x, "maxpool3", 3, 2, 0, true);
    if (name == "inception4e") x = max_pool(g, x, "maxpool4", 2, 2, 0, true);
  }
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Dropout>("dropout", 0.2));
  g.add(std::make_unique<Linear>("fc", 1024, kClasses));
  return g;
}

Graph inception_v3(const Dims& input) {
  Graph g("inception_v3", input, kClasses);
  int x = basic_conv(g, 0, "Conv2d_1a_3x3.", conv(3, 32, 3, 2));
  x = basic_conv(g, x, "Conv2d_2a_3x3.", conv(32, 32, 3));
  x = basic_conv(g, x, "Conv2d_2b_3x3.", conv(32, 64, 3, 1, 1));
  x = max_pool(g, x, "maxpool1", 3, 2, 0, false);
  x = basic_conv(g, x, "Conv2d_3b_1x1.", conv(64, 80, 1));
  x = basic_conv(g, x, "Conv2d_4a_3x3.", conv(80, 192, 3));
  x = max_pool(g, x, "maxpool2", 3, 2, 0, false);
  x = inception_a(g, x, "Mixed_5b.", 192, 32);
  x = inception_a(g, x, "Mixed_5c.", 256, 64);
  x = inception_a(g, x, "Mixed_5d.", 288, 64);
  x = inception_b(g, x, "Mixed_6a.", 288);
  x = inception_c(g, x, "Mixed_6b.", 768, 128);
  x = inception_c(g, x, "Mixed_6c.", 768, 160);
  x = inception_c(g, x, "Mixed_6d.", 768, 160);
  x = inception_c(g, x, "Mixed_6e.", 768, 192);
  x = inception_d(g, x, "Mixed_7a.", 768);
  x = inception_e(g, x, "Mixed_7b.", 1280);
  x = inception_e(g, x, "Mixed_7c.", 2048);
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Dropout>("dropout", 0.5));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc", 2048, kClasses));
  return g;
}

}  // namespace cnnmem::tv
