// Every supported weight type end to end: the same random model synthesized in each type, with rows of 256 so
// that every matrix really is in that type, loads, scores finite, and stays within the type's tolerance of the
// F32 model's bits per token. The tolerances follow the formats' precision (dequant_test's round-trip bounds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lmzip/kernels/dequant.h"
#include "lmzip/model/synth.h"
#include "model/synth_fixture.h"

namespace lmzip {
namespace {

SynthShape shape() {
  return {.arch = "llama", .n_vocab = 300, .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 512,
          .n_ctx = 256};
}

// -ln p of each next token of fixed random tokens under the model synthesized in `type` (seed 3).
std::vector<double> token_nats(GgmlType type) {
  SynthOptions o{.shape = shape(), .seed = 3, .type = type, .vocab_path = {}};
  EXPECT_TRUE(synth_model(o).fallbacks.empty()) << ggml_type_name(type);
  const test::SynthFixture f = test::load_synth(shape(), 3, type, std::string("wtypes-") + ggml_type_name(type));
  const auto tokens = test::random_tokens(96, 4);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
  ThreadPool pool(2);
  return f.model->score(tokens, targets, pool);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

TEST(WeightTypes, EveryTypeScoresCloseToF32) {
  // Bounds on |bits - F32 bits| / F32 bits and on the mean |nats - F32 nats| per token (which cannot cancel
  // out): the coarser the format, the wider.
  struct Tolerance {
    GgmlType type;
    double bits, per_token;
  };
  // The per-token differences come out at about 1.4x each format's rms round-trip error (dequant_test);
  // the bounds leave a factor of about 2.
  const Tolerance tolerances[] = {
      {GgmlType::F32, 0, 0},            {GgmlType::F16, 1e-5, 1e-3},      {GgmlType::BF16, 2e-4, 1e-2},
      {GgmlType::Q8_0, 5e-4, 2e-2},     {GgmlType::Q8_K, 5e-4, 2e-2},     {GgmlType::Q6_K, 3e-3, 5e-2},
      {GgmlType::Q5_0, 3e-3, 0.12},     {GgmlType::Q5_1, 3e-3, 0.12},     {GgmlType::Q5_K, 3e-3, 0.12},
      {GgmlType::Q4_0, 1.5e-2, 0.25},   {GgmlType::Q4_1, 1.5e-2, 0.25},   {GgmlType::Q4_K, 1.5e-2, 0.25},
      {GgmlType::IQ4_NL, 1.5e-2, 0.25}, {GgmlType::IQ4_XS, 1.5e-2, 0.25}, {GgmlType::Q3_K, 3e-2, 0.4},
      {GgmlType::Q2_K, 5e-2, 1.0}};
  const std::vector<double> f32 = token_nats(GgmlType::F32);
  const double f32_bits = mean(f32) / std::log(2.0);
  ASSERT_TRUE(std::isfinite(f32_bits));
  // Far from uniform over the 300 tokens, so that the weights matter to the score.
  EXPECT_GT(std::fabs(f32_bits - std::log2(300.0)), 0.1);
  for (GgmlType type : supported_weight_type_list()) {
    const auto it = std::find_if(std::begin(tolerances), std::end(tolerances),
                                 [&](const Tolerance& t) { return t.type == type; });
    ASSERT_NE(it, std::end(tolerances)) << "no tolerance for " << ggml_type_name(type);
    const std::vector<double> nats = token_nats(type);
    ASSERT_EQ(nats.size(), f32.size());
    double per_token = 0;
    for (size_t i = 0; i < nats.size(); ++i) {
      ASSERT_TRUE(std::isfinite(nats[i])) << ggml_type_name(type) << " token " << i;
      per_token += std::fabs(nats[i] - f32[i]) / static_cast<double>(nats.size());
    }
    const double bits = mean(nats) / std::log(2.0), rel = std::fabs(bits - f32_bits) / f32_bits;
    std::printf("%-6s %.5f bits/token (F32 %.5f): %.2e relative; mean |d nats| %.2e\n", ggml_type_name(type), bits,
                f32_bits, rel, per_token);
    EXPECT_LE(rel, it->bits) << ggml_type_name(type);
    EXPECT_LE(per_token, it->per_token) << ggml_type_name(type);
  }
}

}  // namespace
}  // namespace lmzip
