// Tests for train/preprocess.h: value/255 and float samples, normalisation by hand, random crop
// after zero padding and horizontal flip checked pixel by pixel against a naive reference, the
// draws' determinism per (seed, epoch, sample), the statistics of --normalize auto, and every
// rejection of --normalize.
// Not here: batching (tests/train/trainer_test.cpp), the CLI flags (tests/apps/data_cli_test.cpp).
#include "train/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/util/expect_error.h"

namespace cnnmem {
namespace {

using test::expect_error;

// Two 2x3x4 images with distinct pixels.
std::vector<uint8_t> pixels() {
  std::vector<uint8_t> p(2 * 24);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(5 * i + 3);
  return p;
}

const Dims kDims = {2, 3, 4};

TEST(Preprocess, PixelsBecomeValueOver255AndAreNormalisedPerChannel) {
  const std::vector<uint8_t> p = pixels();
  Preprocess pre;
  pre.normalize = parse_normalize("0.5,0.25,2,4", 2);
  std::vector<float> out(24);
  prepare_sample(SampleSource{p.data(), nullptr}, 1, kDims, 0, false, pre, out.data());
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t j = 0; j < 12; ++j) {
      const float x = static_cast<float>(p[static_cast<size_t>(24 + c * 12 + j)]) / 255.0f;
      const float want = c == 0 ? (x - 0.5f) * (1.0f / 2.0f) : (x - 0.25f) * (1.0f / 4.0f);
      EXPECT_EQ(out[static_cast<size_t>(c * 12 + j)], want);
    }
  }
}

TEST(Preprocess, FloatSamplesPassAsTheyAre) {
  std::vector<float> v(48);
  for (size_t i = 0; i < v.size(); ++i) v[i] = -3.0f + 0.125f * static_cast<float>(i);
  std::vector<float> out(24);
  prepare_sample(SampleSource{nullptr, v.data()}, 1, kDims, 0, false, Preprocess{}, out.data());
  EXPECT_EQ(out, std::vector<float>(v.begin() + 24, v.end()));
}

// The naive reference: pad by `pad` with 0, take the H x W window at (dy, dx), mirror if `flip`.
float reference(const std::vector<uint8_t>& p, int64_t index, int64_t c, int64_t y, int64_t x,
                int64_t pad, int64_t dy, int64_t dx, bool flip) {
  const int64_t xx = flip ? 3 - x : x;
  const int64_t sy = y + dy - pad, sx = xx + dx - pad;
  if (sy < 0 || sy >= 3 || sx < 0 || sx >= 4) return 0.0f;
  return static_cast<float>(p[static_cast<size_t>(index * 24 + (c * 3 + sy) * 4 + sx)]) / 255.0f;
}

// Finds the (dy, dx, flip) that explains `out` exactly; false when none does.
bool explained(const std::vector<uint8_t>& p, int64_t index, int64_t pad,
               const std::vector<float>& out, int64_t* dy, int64_t* dx, bool* flip) {
  for (int64_t f = 0; f < 2; ++f) {
    for (int64_t a = 0; a <= 2 * pad; ++a) {
      for (int64_t b = 0; b <= 2 * pad; ++b) {
        bool all = true;
        for (int64_t i = 0; i < 24 && all; ++i) {
          all = out[static_cast<size_t>(i)] ==
                reference(p, index, i / 12, (i / 4) % 3, i % 4, pad, a, b, f == 1);
        }
        if (all) {
          *dy = a;
          *dx = b;
          *flip = f == 1;
          return true;
        }
      }
    }
  }
  return false;
}

TEST(Preprocess, CropAndFlipMatchTheReferenceAndCoverEveryOffset) {
  const std::vector<uint8_t> p = pixels();
  Preprocess pre;
  pre.crop_padding = 1;
  pre.flip = true;
  pre.seed = 7;
  std::vector<int> seen(2 * 3 * 3, 0);
  for (int64_t epoch = 0; epoch < 100; ++epoch) {
    for (int64_t index = 0; index < 2; ++index) {
      std::vector<float> out(24);
      prepare_sample(SampleSource{p.data(), nullptr}, index, kDims, epoch, true, pre, out.data());
      int64_t dy = 0, dx = 0;
      bool flip = false;
      ASSERT_TRUE(explained(p, index, 1, out, &dy, &dx, &flip)) << epoch << " " << index;
      ++seen[static_cast<size_t>((flip ? 9 : 0) + dy * 3 + dx)];
    }
  }
  // 200 draws over 18 outcomes: each appears (a uniform draw misses one with p < 1e-8).
  for (size_t k = 0; k < seen.size(); ++k) EXPECT_GT(seen[k], 0) << k;
}

TEST(Preprocess, DrawsDependOnSeedEpochAndSampleOnly) {
  const std::vector<uint8_t> p = pixels();
  Preprocess pre;
  pre.crop_padding = 2;
  pre.flip = true;
  const auto run = [&](uint64_t seed, int64_t epoch, int64_t index) {
    pre.seed = seed;
    std::vector<float> out(24);
    prepare_sample(SampleSource{p.data(), nullptr}, index, kDims, epoch, true, pre, out.data());
    return out;
  };
  EXPECT_EQ(run(3, 5, 1), run(3, 5, 1));
  int differ_epoch = 0, differ_seed = 0;
  for (int64_t e = 0; e < 20; ++e) {
    differ_epoch += run(3, e, 1) != run(3, e + 1, 1) ? 1 : 0;
    differ_seed += run(3, e, 1) != run(4, e, 1) ? 1 : 0;
  }
  EXPECT_GT(differ_epoch, 10);
  EXPECT_GT(differ_seed, 10);
}

TEST(Preprocess, WithoutAugmentNothingMoves) {
  const std::vector<uint8_t> p = pixels();
  Preprocess pre;
  pre.crop_padding = 3;
  pre.flip = true;
  std::vector<float> out(24);
  prepare_sample(SampleSource{p.data(), nullptr}, 0, kDims, 9, false, pre, out.data());
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(out[i], static_cast<float>(p[i]) / 255.0f);
}

TEST(Preprocess, AutoNormaliseIsThePopulationMeanAndStdPerChannel) {
  // Channel 0 holds 0 and 255 (mean 0.5, std 0.5), channel 1 is constant (std left at 1).
  const std::vector<uint8_t> p = {0, 255, 51, 51, 0, 255, 51, 51};
  const Normalize n = normalize_from_data(SampleSource{p.data(), nullptr}, 2, Dims{2, 1, 2});
  ASSERT_EQ(n.mean.size(), 2u);
  EXPECT_NEAR(n.mean[0], 0.5, 1e-7);
  EXPECT_NEAR(n.std[0], 0.5, 1e-7);
  EXPECT_NEAR(n.mean[1], 0.2, 1e-7);
  EXPECT_EQ(n.std[1], 1.0f);
  EXPECT_EQ(normalize_text(parse_normalize("0.5,0.25", 3)), "0.5,0.5,0.5,0.25,0.25,0.25");
}

TEST(Preprocess, BadNormaliseIsRejected) {
  expect_error([] { parse_normalize("0.5,0.2,0.1", 2); }, "3 numbers for 2-channel images");
  expect_error([] { parse_normalize("0.5,x", 1); }, "\"x\" is not a number");
  expect_error([] { parse_normalize("0.5,", 1); }, "1 numbers for 1-channel images");
  expect_error([] { parse_normalize("0.5,0", 1); }, "a standard deviation must be > 0");
  expect_error([] { parse_normalize("0.5,nan", 1); }, "\"nan\" is not a number");
}

}  // namespace
}  // namespace cnnmem
