// Logits -> integer frequencies: the fixed-point exp against exact values, the floor, the fixed total, and
// hand-worked tables.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lmzip/codec/freq.h"

namespace lmzip::codec {
namespace {

TEST(Freq, Pow2NegIsAccurate) {
  const double one = std::ldexp(1.0, 40);
  EXPECT_EQ(pow2_neg_q40(0), uint64_t{1} << 40);
  EXPECT_EQ(pow2_neg_q40(uint64_t{1} << 24), uint64_t{1} << 39);  // 2^-1
  EXPECT_EQ(pow2_neg_q40(uint64_t{10} << 24), uint64_t{1} << 30);  // 2^-10
  for (uint64_t t : {1ull, 4095ull, 4096ull, 1234567ull, 8388608ull, 16777215ull, 50000000ull, 300000000ull}) {
    double exact = one * std::exp2(-static_cast<double>(t) / 16777216.0);
    EXPECT_NEAR(static_cast<double>(pow2_neg_q40(t)), exact, exact * 1e-12 + 1.0) << t;
  }
  EXPECT_EQ(pow2_neg_q40(uint64_t{44} << 24), 0u);
  EXPECT_EQ(pow2_neg_q40(uint64_t{41} << 24), 0u);  // 2^-41 in Q40 rounds down to 0
}

TEST(Freq, LogitWeightIsExp) {
  EXPECT_EQ(logit_weight(0.0f), uint64_t{1} << 40);
  for (float d : {0.001f, 0.5f, 1.0f, 2.302585f, 10.0f, 20.0f}) {
    double exact = std::ldexp(std::exp(-static_cast<double>(d)), 40);
    EXPECT_NEAR(static_cast<double>(logit_weight(d)), exact, exact * 2e-7 + 1.0) << d;
  }
  EXPECT_EQ(logit_weight(64.0f), 0u);
  EXPECT_EQ(logit_weight(NAN), 0u);
  EXPECT_EQ(logit_weight(INFINITY), 0u);
}

TEST(Freq, HandWorkedTwoTokens) {
  // Logits {0, 0}: equal weights 2^40; spare = 2^28 - 2; each gets 1 + (2^28-2)/2 = 2^27; no remainder.
  FreqTable t;
  std::vector<uint64_t> w;
  std::vector<float> logits = {0.0f, 0.0f};
  logits_to_freqs(logits, t, w);
  EXPECT_EQ(t.cum, (std::vector<uint32_t>{0, 1u << 27, 1u << 28}));
  // Logits {ln 3, 0}: weights 2^40 and ~2^40/3. Shares 3/4 and 1/4 of the spare, rounded down; the remainder
  // (at most 1 count per token) goes to token 0, the best.
  logits = {std::log(3.0f), 0.0f};
  logits_to_freqs(logits, t, w);
  EXPECT_EQ(t.cum.back(), kFreqTotal);
  EXPECT_NEAR(t.freq(0), 0.75 * kFreqTotal, 40.0);
  EXPECT_NEAR(t.freq(1), 0.25 * kFreqTotal, 40.0);
}

TEST(Freq, FloorKeepsEveryTokenCodable) {
  std::vector<float> logits(1000, -1000.0f);
  logits[17] = 50.0f;
  logits[3] = NAN;
  logits[4] = -INFINITY;
  FreqTable t;
  std::vector<uint64_t> w;
  logits_to_freqs(logits, t, w);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_GE(t.freq(i), 1u) << i;
  EXPECT_EQ(t.freq(0), 1u);
  EXPECT_EQ(t.freq(17), kFreqTotal - 999);
  EXPECT_EQ(t.cum.back(), kFreqTotal);
}

TEST(Freq, NoFiniteLogitGivesUniform) {
  std::vector<float> logits(4, NAN);
  FreqTable t;
  std::vector<uint64_t> w;
  logits_to_freqs(logits, t, w);
  EXPECT_EQ(t.cum, (std::vector<uint32_t>{0, 1u << 26, 2u << 26, 3u << 26, 4u << 26}));
}

TEST(Freq, RandomTablesSumToTotalAndFollowSoftmax) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  FreqTable t;
  std::vector<uint64_t> w;
  for (size_t n : {1u, 2u, 7u, 256u, 8000u, 152064u}) {
    std::vector<float> logits(n);
    for (float& x : logits) x = normal(rng);
    logits_to_freqs(logits, t, w);
    ASSERT_EQ(t.cum.back(), kFreqTotal);
    double kl_bits = 0;  // cost of coding with the table instead of the softmax, in bits per token
    double max_logit = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (float x : logits) sum += std::exp(x - max_logit);
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_GE(t.freq(i), 1u);
      double p = std::exp(logits[i] - max_logit) / sum;
      kl_bits += p * std::log2(p / (static_cast<double>(t.freq(i)) / kFreqTotal));
      ASSERT_EQ(t.find(t.cum[i]), i);
      ASSERT_EQ(t.find(t.cum[i + 1] - 1), i);
    }
    EXPECT_LT(kl_bits, 2e-3) << n;  // the floor's mass: about n / 2^28 of the total
  }
}

TEST(Freq, ModelBitsIsSoftmaxCrossEntropy) {
  std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  EXPECT_NEAR(model_bits(logits, 2), 2.0, 1e-12);
  logits = {std::log(3.0f), 0.0f};
  EXPECT_NEAR(model_bits(logits, 1), 2.0, 1e-6);
}

}  // namespace
}  // namespace lmzip::codec
