// The fast forward (Model::score) against the naive double-precision reference (reference_forward.cpp) on
// random-weight models written by synth_model, for each architecture and weight type.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/model.h"
#include "lmzip/model/synth.h"
#include "model/reference_forward.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

SynthOptions options(const SynthShape& shape, uint64_t seed, GgmlType type = GgmlType::F32) {
  SynthOptions o;
  o.shape = shape;
  o.seed = seed;
  o.type = type;
  return o;
}

// Writes the model to a temporary file and opens it.
GgufFile write_and_open(const SynthOptions& options, const std::string& name) {
  const std::string path = test::temp_dir() + "/" + name + ".gguf";
  synth_model(options).writer.write(path);
  return GgufFile::open(path);
}

struct Case {
  std::vector<TokenId> input;
  std::vector<ScoredTarget> targets;
};

// Random tokens; every position scored, plus a few positions scored twice with other targets.
Case random_case(int n_vocab, int n_tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<TokenId> token(0, n_vocab - 1);
  Case c;
  for (int i = 0; i < n_tokens; ++i) c.input.push_back(token(rng));
  for (int i = 0; i < n_tokens; ++i) c.targets.push_back({static_cast<uint32_t>(i), token(rng)});
  c.targets.push_back({0, token(rng)});
  c.targets.push_back({static_cast<uint32_t>(n_tokens / 2), token(rng)});
  return c;
}

// Max |fast - reference| over all targets, asserted below `tolerance` nats.
void expect_agreement(const GgufFile& file, const Case& c, double tolerance, int threads) {
  auto model = Model::load(file);
  ThreadPool pool(threads);
  const std::vector<double> fast = model->score(c.input, c.targets, pool);
  const std::vector<double> ref = test::reference_nll(file, c.input, c.targets);
  ASSERT_EQ(fast.size(), ref.size());
  double worst = 0, mean_nll = 0;
  for (size_t i = 0; i < fast.size(); ++i) {
    EXPECT_NEAR(fast[i], ref[i], tolerance) << file.name() << " target " << i;
    worst = std::max(worst, std::fabs(fast[i] - ref[i]));
    mean_nll += ref[i] / static_cast<double>(fast.size());
  }
  // The models must be far from uniform for the comparison to mean something.
  EXPECT_GT(std::fabs(mean_nll - std::log(static_cast<double>(model->config().n_vocab))), 0.05) << file.name();
  std::printf("%s: %zu targets, worst |fast - reference| = %.3g nats (mean nll %.3f)\n", file.name().c_str(),
              fast.size(), worst, mean_nll);
}

// A shape whose matrix rows are multiples of 256, so every type (K-quants included) applies to every matrix.
SynthShape small_shape(const std::string& arch) {
  return {.arch = arch, .n_vocab = 300, .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 512,
          .n_ctx = 256, .tied_output = arch == "qwen2", .rope_freqs = arch == "llama"};
}

class ForwardVsReference : public ::testing::TestWithParam<std::tuple<std::string, GgmlType>> {};

TEST_P(ForwardVsReference, AgreesPerToken) {
  const auto& [arch, type] = GetParam();
  const std::string name = arch + "-" + ggml_type_name(type);
  GgufFile file = write_and_open(options(small_shape(arch), 7, type), name);
  // F32: the engine's fp32 against double; quantized: the same dequantized values on both sides.
  expect_agreement(file, random_case(300, 40, 11), 1e-4, 2);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, ForwardVsReference,
    ::testing::Combine(::testing::Values("llama", "qwen2"),
                       ::testing::ValuesIn(supported_weight_type_list().begin(), supported_weight_type_list().end())),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + ggml_type_name(std::get<1>(info.param));
    });

// Longer than the attention's query block (128), partial rotary dimensions, multi-head groups of 4, 1 thread
// and 2 threads.
TEST(ForwardVsReference, LongWindowPartialRopeGqa) {
  SynthShape shape{.arch = "qwen2", .n_vocab = 200, .n_embd = 64, .n_layer = 2, .n_head = 8, .n_head_kv = 2,
                   .n_ff = 96, .n_ctx = 512, .n_rot = 4};
  GgufFile file = write_and_open(options(shape, 3), "long");
  const Case c = random_case(200, 300, 5);
  expect_agreement(file, c, 1e-4, 1);
  expect_agreement(file, c, 1e-4, 2);
  // hkust's later windows: only a suffix is scored, so the last layer carries only rows from 211 on.
  Case suffix = c;
  suffix.targets.erase(suffix.targets.begin(), suffix.targets.begin() + 211);
  suffix.targets.resize(89);
  ASSERT_EQ(suffix.targets.front().position, 211u);
  expect_agreement(file, suffix, 1e-4, 2);
}

// Linear rope scaling (rope.scaling.factor, as deepseek-coder uses 4): positions are divided by the factor.
TEST(ForwardVsReference, LinearRopeScaling) {
  SynthShape shape = small_shape("llama");
  shape.rope_freqs = false;
  shape.rope_scale_linear = 4.0f;
  GgufFile file = write_and_open(options(shape, 13), "rope-linear");
  EXPECT_FLOAT_EQ(Model::load(file)->config().rope_freq_scale, 0.25f);
  const Case c = random_case(300, 64, 3);
  expect_agreement(file, c, 1e-4, 2);
  // The same weights without the scaling score differently: the key is not ignored.
  shape.rope_scale_linear = 0;
  GgufFile plain = write_and_open(options(shape, 13), "rope-plain");
  ThreadPool pool(2);
  const auto scaled = Model::load(file)->score(c.input, c.targets, pool);
  const auto unscaled = Model::load(plain)->score(c.input, c.targets, pool);
  double diff = 0;
  for (size_t i = 0; i < scaled.size(); ++i) diff = std::max(diff, std::fabs(scaled[i] - unscaled[i]));
  EXPECT_GT(diff, 1e-3);
}

TEST(ForwardVsReference, ThreadCountDoesNotChangeScoresBeyondRounding) {
  GgufFile file = write_and_open(options(small_shape("llama"), 9, GgmlType::F16), "threads");
  auto model = Model::load(file);
  const Case c = random_case(300, 64, 2);
  ThreadPool one(1), two(2), three(3);
  const auto a = model->score(c.input, c.targets, one);
  const auto b = model->score(c.input, c.targets, two);
  const auto d = model->score(c.input, c.targets, three);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], b[i], 1e-5);
    EXPECT_NEAR(a[i], d[i], 1e-5);
  }
}

TEST(ModelScore, NoTargetsAndBadInput) {
  GgufFile file = write_and_open(options(small_shape("llama"), 1), "bad-input");
  auto model = Model::load(file);
  ThreadPool pool(1);
  const std::vector<TokenId> input{1, 2, 3};
  EXPECT_TRUE(model->score(input, {}, pool).empty());
  const std::vector<ScoredTarget> past_end{{3, 1}};
  EXPECT_THROW(model->score(input, past_end, pool), Error);
  const std::vector<ScoredTarget> bad_target{{0, 300}};
  EXPECT_THROW(model->score(input, bad_target, pool), Error);
  const std::vector<TokenId> bad_input{1, -1};
  const std::vector<ScoredTarget> ok{{0, 1}};
  EXPECT_THROW(model->score(bad_input, ok, pool), Error);
}

}  // namespace
}  // namespace lmzip
