// Dequantization: the fast row kernels against the element-by-element reference, sweeping sizes and types;
// hand-built blocks with known values; the quantizer's round trip; half/bfloat16 conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"

namespace lmzip {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                           GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K};

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(Dequant, FastRowMatchesElementReferenceAcrossSizes) {
  for (GgmlType type : kTypes) {
    const size_t block = ggml_type_info(type).block_elements;
    for (size_t blocks : {1u, 2u, 3u, 7u, 16u, 33u}) {
      const size_t n = blocks * (block == 1 ? 17 : block);  // odd lengths for the plain types (SIMD tails)
      const std::vector<float> x = random_values(n, static_cast<uint32_t>(n));
      std::string q;
      quantize_row(type, x.data(), n, q);
      ASSERT_EQ(q.size(), *ggml_bytes(type, n));
      std::vector<float> fast(n);
      dequantize_row(type, reinterpret_cast<const uint8_t*>(q.data()), fast.data(), n);
      for (size_t i = 0; i < n; ++i) {
        const float ref = dequantize_element_reference(type, reinterpret_cast<const uint8_t*>(q.data()), i);
        ASSERT_EQ(fast[i], ref) << ggml_type_name(type) << " n=" << n << " i=" << i;
      }
    }
  }
}

// Round-trip error against the largest magnitude: what each format's step size allows.
TEST(Dequant, QuantizeRoundTripWithinTheFormatsStep) {
  const std::pair<GgmlType, float> bounds[] = {
      {GgmlType::F32, 0.0f},      {GgmlType::F16, 1e-3f},     {GgmlType::BF16, 8e-3f}, {GgmlType::Q8_0, 0.0045f},
      {GgmlType::Q4_0, 0.07f},    {GgmlType::Q4_K, 0.08f},    {GgmlType::Q6_K, 0.025f}};
  for (const auto& [type, bound] : bounds) {
    const size_t n = 1024;
    const std::vector<float> x = random_values(n, 42);
    std::string q;
    quantize_row(type, x.data(), n, q);
    std::vector<float> y(n);
    dequantize_row(type, reinterpret_cast<const uint8_t*>(q.data()), y.data(), n);
    float amax = 0, max_abs = 0;
    for (size_t i = 0; i < n; ++i) {
      amax = std::max(amax, std::fabs(x[i]));
      max_abs = std::max(max_abs, std::fabs(x[i] - y[i]));
    }
    EXPECT_LE(max_abs, bound * amax + 1e-7f) << ggml_type_name(type);
  }
}

uint16_t h(float f) { return float_to_fp16(f); }

// Blocks assembled by hand from the ggml layouts, with values worked out on paper.
TEST(Dequant, HandBuiltBlocks) {
  // Q8_0: d = 0.5, q = -3 at [0], 127 at [31] -> -1.5, 63.5
  std::string q8(34, '\0');
  const uint16_t half = h(0.5f);
  std::memcpy(q8.data(), &half, 2);
  q8[2] = static_cast<char>(-3);
  q8[2 + 31] = 127;
  std::vector<float> y(32);
  dequantize_row(GgmlType::Q8_0, reinterpret_cast<const uint8_t*>(q8.data()), y.data(), 32);
  EXPECT_EQ(y[0], -1.5f);
  EXPECT_EQ(y[31], 63.5f);
  EXPECT_EQ(y[5], 0.0f);

  // Q4_0: d = 2, byte 0 = 0xF1 -> x[0] = 2 * (1 - 8) = -14, x[16] = 2 * (15 - 8) = 14
  std::string q4(18, '\x88');  // all nibbles 8 -> 0
  const uint16_t two = h(2.0f);
  std::memcpy(q4.data(), &two, 2);
  q4[2] = static_cast<char>(0xF1);
  dequantize_row(GgmlType::Q4_0, reinterpret_cast<const uint8_t*>(q4.data()), y.data(), 32);
  EXPECT_EQ(y[0], -14.0f);
  EXPECT_EQ(y[16], 14.0f);
  EXPECT_EQ(y[1], 0.0f);

  // Q4_K: d = 1, dmin = 0.5; sub-block 0: scale 3, min 2; sub-block 5: scale 33 (low 4 bits 1 in scales[9],
  // high 2 bits 2 in scales[1] bits 6-7), min 17 (low 1 in scales[9] high nibble, high 1 in scales[5] bits 6-7).
  std::string q4k(144, '\0');
  const uint16_t one = h(1.0f), hm = h(0.5f);
  std::memcpy(q4k.data(), &one, 2);
  std::memcpy(q4k.data() + 2, &hm, 2);
  uint8_t* sc = reinterpret_cast<uint8_t*>(q4k.data() + 4);
  sc[0] = 3;                   // scale of sub-block 0
  sc[4] = 2;                   // min of sub-block 0
  sc[9] = 0x11;                // sub-block 5: low 4 bits of scale (1) and of min (1)
  sc[1] |= 2 << 6;             // sub-block 5: scale high bits 2 -> 1 + 32 = 33
  sc[5] |= 1 << 6;             // sub-block 5: min high bits 1 -> 1 + 16 = 17
  uint8_t* qs = reinterpret_cast<uint8_t*>(q4k.data() + 16);
  qs[0] = 0x07;       // sub-block 0 element 0: q = 7
  qs[64 + 3] = 0x90;  // qs bytes 64..95 hold sub-blocks 4 (low) and 5 (high): element 32*5+3 has q = 9
  std::vector<float> y256(256);
  dequantize_row(GgmlType::Q4_K, reinterpret_cast<const uint8_t*>(q4k.data()), y256.data(), 256);
  EXPECT_EQ(y256[0], 1.0f * 3 * 7 - 0.5f * 2);            // 20
  EXPECT_EQ(y256[1], -1.0f);                              // q = 0: -dmin * min
  EXPECT_EQ(y256[32 * 5 + 3], 1.0f * 33 * 9 - 0.5f * 17);  // 288.5

  // Q6_K: d = 0.25; scales[0] = 2, scales[6] = -4; element 0: ql low 5, qh bits 0-1 = 2 -> q = 5 + 32 - 32 = 5;
  // element 64 (quarter 2 of half 0): ql[0] high nibble 3, qh[0] bits 4-5 = 1 -> q = 3 + 16 - 32 = -13.
  std::string q6(210, '\0');
  uint8_t* b = reinterpret_cast<uint8_t*>(q6.data());
  b[0] = 0x35;
  b[128] = 2 | (1 << 4);
  b[192 + 0] = 2;
  b[192 + 4] = static_cast<uint8_t>(-4);
  const uint16_t quarter = h(0.25f);
  std::memcpy(b + 208, &quarter, 2);
  dequantize_row(GgmlType::Q6_K, b, y256.data(), 256);
  EXPECT_EQ(y256[0], 0.25f * 2 * 5);
  EXPECT_EQ(y256[64], 0.25f * -4 * -13);
  EXPECT_EQ(y256[1], 0.25f * 2 * -32);  // all-zero bits: q = -32
}

TEST(Fp16, ConversionsExact) {
  EXPECT_EQ(fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_float(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_float(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(fp16_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(fp16_to_float(0x7e00)));
  // Every half survives half -> float -> half.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = fp16_to_float(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_fp16(f), bits) << bits;
  }
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7c00);             // rounds to infinity
  EXPECT_EQ(float_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
  EXPECT_EQ(float_to_fp16(std::ldexp(1.0f, -25)), 0x0000);         // tie to even (zero)
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_float(0xc0a0), -5.0f);
  EXPECT_EQ(float_to_bf16(bits_to_float(0x3f808000)), 0x3f80);  // tie to even
  EXPECT_EQ(float_to_bf16(bits_to_float(0x3f818000)), 0x3f82);
}

TEST(Dequant, F16FastPathMatchesScalarOnAllValues) {
  std::vector<uint16_t> all(0x10000);
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> y(all.size());
  dequantize_row(GgmlType::F16, reinterpret_cast<const uint8_t*>(all.data()), y.data(), all.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    const float ref = fp16_to_float(static_cast<uint16_t>(i));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(y[i]));
    } else {
      ASSERT_EQ(float_to_bits(y[i]), float_to_bits(ref)) << i;
    }
  }
}

}  // namespace
}  // namespace lmzip
