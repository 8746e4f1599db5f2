// Dequantization: the fast row kernels against the element-by-element reference, sweeping sizes and types;
// hand-built blocks with known values; the quantizer's round trip; half/bfloat16 conversions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>

#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"

namespace lmzip {
namespace {

const std::span<const GgmlType> kTypes = supported_weight_type_list();

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

// Random bytes reach every bit of every field (scale bits, hmask, qh), which quantizer output need not.
// Compared bit for bit; only where random scale bits make a NaN must both sides be NaN.
TEST(Dequant, FastRowMatchesElementReferenceOnRandomBlocks) {
  std::mt19937 rng(7);
  for (GgmlType type : kTypes) {
    const GgmlTypeInfo& info = ggml_type_info(type);
    if (info.block_elements == 1) continue;  // the plain types: the sweep above and the F16 test below
    for (size_t blocks : {1u, 5u, 31u, 200u}) {
      std::string bytes(blocks * info.block_bytes, '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      std::vector<float> fast(blocks * info.block_elements);
      const auto* row = reinterpret_cast<const uint8_t*>(bytes.data());
      dequantize_row(type, row, fast.data(), fast.size());
      for (size_t i = 0; i < fast.size(); ++i) {
        const float ref = dequantize_element_reference(type, row, i);
        if (std::isnan(ref) && std::isnan(fast[i])) continue;  // a NaN or infinite scale from random bits
        ASSERT_EQ(float_to_bits(fast[i]), float_to_bits(ref)) << ggml_type_name(type) << " blocks=" << blocks
                                                              << " i=" << i;
      }
    }
  }
}

// Round-trip error against the largest magnitude of the row: what each format's step size allows. Every
// supported type must have a bound here.
TEST(Dequant, QuantizeRoundTripWithinTheFormatsStep) {
  const std::pair<GgmlType, float> bounds[] = {
      {GgmlType::F32, 0.0f},     {GgmlType::F16, 1e-3f},    {GgmlType::BF16, 8e-3f},  {GgmlType::Q8_0, 0.0045f},
      {GgmlType::Q4_0, 0.07f},   {GgmlType::Q4_1, 0.07f},   {GgmlType::Q5_0, 0.065f}, {GgmlType::Q5_1, 0.035f},
      {GgmlType::Q2_K, 0.35f},   {GgmlType::Q3_K, 0.26f},   {GgmlType::Q4_K, 0.08f},  {GgmlType::Q5_K, 0.04f},
      {GgmlType::Q6_K, 0.025f},  {GgmlType::Q8_K, 0.0045f}, {GgmlType::IQ4_NL, 0.12f}, {GgmlType::IQ4_XS, 0.12f}};
  // Q4_1/Q5_1: half a step of range/15 or range/31; Q5_0, Q3_K: one step where the top clamps (+16 -> 15,
  // +4 -> 3); Q2_K: half of the widest step (range/3) plus 4-bit scales; IQ4: half the widest table gap (24)
  // and the +113 end, over 127.
  for (GgmlType type : kTypes) {
    const auto it = std::find_if(std::begin(bounds), std::end(bounds), [&](const auto& b) { return b.first == type; });
    ASSERT_NE(it, std::end(bounds)) << "no round-trip bound for " << ggml_type_name(type);
    const size_t n = 1024;
    const std::vector<float> x = random_values(n, 42);
    std::string q;
    quantize_row(type, x.data(), n, q);
    std::vector<float> y(n);
    dequantize_row(type, reinterpret_cast<const uint8_t*>(q.data()), y.data(), n);
    float amax = 0, max_abs = 0;
    double sq = 0;
    for (size_t i = 0; i < n; ++i) {
      amax = std::max(amax, std::fabs(x[i]));
      max_abs = std::max(max_abs, std::fabs(x[i] - y[i]));
      sq += (x[i] - y[i]) * (x[i] - y[i]);
    }
    std::printf("%-6s max|err|/amax %.4f  rms err %.4f\n", ggml_type_name(type), max_abs / amax, std::sqrt(sq / n));
    EXPECT_LE(max_abs, it->second * amax + 1e-7f) << ggml_type_name(type);
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

// Dequantizes a hand-built block with both the fast row and the reference and checks chosen elements.
void expect_block(GgmlType type, const std::vector<uint8_t>& block, const std::vector<std::pair<int, float>>& want) {
  ASSERT_EQ(block.size(), ggml_type_info(type).block_bytes) << ggml_type_name(type);
  std::vector<float> y(ggml_type_info(type).block_elements);
  dequantize_row(type, block.data(), y.data(), y.size());
  for (const auto& [i, value] : want) {
    EXPECT_EQ(y[i], value) << ggml_type_name(type) << " fast [" << i << "]";
    EXPECT_EQ(dequantize_element_reference(type, block.data(), i), value) << ggml_type_name(type) << " ref [" << i << "]";
  }
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// One block of each type added for issue 12, its bytes set by hand from the ggml layout (dequant.h) and the
// expected floats worked out here. Half floats: 0x3C00 = 1, 0x3800 = 0.5, 0x3400 = 0.25, 0x4000 = 2, 0xC000 = -2.
TEST(Dequant, HandBuiltBlocksOfTheLegacyTypes) {
  // Q4_1 {f16 d = 0.5; f16 m = -2; qs}: x = q * d + m.
  std::vector<uint8_t> q41 = zeros(20);
  q41[0] = 0x00, q41[1] = 0x38, q41[2] = 0x00, q41[3] = 0xC0;
  q41[4 + 0] = 0xA3;   // element 0: q 3 -> 1.5 - 2 = -0.5; element 16: q 10 -> 5 - 2 = 3
  q41[4 + 15] = 0x0F;  // element 15: q 15 -> 7.5 - 2 = 5.5; element 31: q 0 -> -2
  expect_block(GgmlType::Q4_1, q41, {{0, -0.5f}, {16, 3.0f}, {15, 5.5f}, {31, -2.0f}, {1, -2.0f}});

  // Q5_0 {f16 d = 0.25; u32 qh; qs}: x = (q - 16) * d, bit j of qh = 5th bit of element j.
  std::vector<uint8_t> q50 = zeros(22);
  q50[0] = 0x00, q50[1] = 0x34;
  q50[2] = 0x01, q50[4] = 0x02;  // qh = 0x00020001: bits 0 and 17
  q50[6 + 0] = 0x21;             // element 0: 1 | 16 = 17 -> 0.25; element 16: 2 -> -14 * 0.25 = -3.5
  q50[6 + 1] = 0xF0;             // element 1: 0 -> -4; element 17: 15 | 16 = 31 -> 15 * 0.25 = 3.75
  expect_block(GgmlType::Q5_0, q50, {{0, 0.25f}, {16, -3.5f}, {1, -4.0f}, {17, 3.75f}});

  // Q5_1 {f16 d = 2; f16 m = 1; u32 qh; qs}: x = q * d + m.
  std::vector<uint8_t> q51 = zeros(24);
  q51[0] = 0x00, q51[1] = 0x40, q51[2] = 0x00, q51[3] = 0x3C;
  q51[7] = 0x80;         // qh bit 31
  q51[8 + 15] = 0xF7;    // element 15: 7 -> 15; element 31: 15 | 16 = 31 -> 63
  expect_block(GgmlType::Q5_1, q51, {{15, 15.0f}, {31, 63.0f}, {0, 1.0f}});

  // IQ4_NL {f16 d = 0.5; qs}: x = d * kvalues[q], kvalues = {-127, -104, ..., -10, 1, 13, ..., 113}.
  std::vector<uint8_t> nl = zeros(18);
  nl[0] = 0x00, nl[1] = 0x38;
  nl[2 + 0] = 0xF0;  // element 0: index 0 -> -127 * 0.5 = -63.5; element 16: index 15 -> 113 * 0.5 = 56.5
  nl[2 + 3] = 0x78;  // element 3: index 8 -> 1 * 0.5; element 19: index 7 -> -10 * 0.5 = -5
  expect_block(GgmlType::IQ4_NL, nl, {{0, -63.5f}, {16, 56.5f}, {3, 0.5f}, {19, -5.0f}, {1, -63.5f}});
}

TEST(Dequant, HandBuiltBlocksOfTheKTypes) {
  // Q2_K {u8 scales[16]; u8 qs[64]; f16 d = 1 @80; f16 dmin = 0.5 @82}: x = d * (sc & 15) * q - dmin * (sc >> 4);
  // element 128h + 32r + l: bits 2r of qs[32h + l], sub-block 8h + 2r + l/16.
  std::vector<uint8_t> q2 = zeros(84);
  q2[80] = 0x00, q2[81] = 0x3C, q2[82] = 0x00, q2[83] = 0x38;
  q2[0] = 0x23;        // sub-block 0: scale 3, min 2
  q2[2] = 0x15;        // sub-block 2: scale 5, min 1
  q2[9] = 0xF7;        // sub-block 9: scale 7, min 15
  q2[16 + 0] = 0x1B;   // bits 0-1 = 3 (element 0), bits 2-3 = 2 (element 32), bits 4-5 = 1 (element 64)
  q2[16 + 53] = 0x02;  // element 128 + 21 = 149 (h 1, r 0, l 21: sub-block 9): q 2
  expect_block(GgmlType::Q2_K, q2,
               {{0, 3 * 3 - 0.5f * 2},      // 8
                {1, -0.5f * 2},             // q 0: -1
                {32, 5 * 2 - 0.5f * 1},     // 9.5
                {64, 0.0f},                 // sub-block 4: scale 0, min 0
                {149, 7 * 2 - 0.5f * 15}});  // 6.5

  // Q3_K {u8 hmask[32]; u8 qs[64] @32; u8 scales[12] @96; f16 d = 0.5 @108}: x = d * (sc - 32) * (q - 4 * !hbit),
  // 6-bit sc of sub-block s: low 4 bits from byte s (s < 8) or the high nibble of byte s - 8, high 2 bits
  // from byte 8 + s%4 at bit 2*(s/4); element e's high bit: bit e/32 of hmask[e%32].
  std::vector<uint8_t> q3 = zeros(110);
  q3[108] = 0x00, q3[109] = 0x38;
  q3[96 + 0] = 0x03, q3[96 + 8] = 0x02;  // sub-block 0: 3 | 2 << 4 = 35 -> 3, step 1.5
  q3[96 + 5] = 0xA0;                      // sub-block 13: low 10, high 0 -> 10 - 32 = -22, step -11
  q3[32 + 0] = 0x01, q3[0] = 0x01;        // element 0: q 1, high bit set -> 1 * 1.5
  q3[32 + 50] = 0x30, q3[18] = 0x40;      // element 210 (h 1, r 2, l 18; sub-block 13): 3, bit 6 set -> 3
  expect_block(GgmlType::Q3_K, q3,
               {{0, 1.5f},
                {1, 1.5f * -4},     // q 0, high bit clear: -4
                {210, -11.0f * 3},  // -33
                {211, -11.0f * -4},  // 44
                {100, -16.0f * -4}});  // sub-block 6: scale bits 0 -> -32, step -16; q -4 -> 64

  // Q5_K {f16 d = 1; f16 dmin = 0.25; u8 scales[12] @4; u8 qh[32] @16; u8 qs[128] @48}:
  // x = d * sc * q - dmin * m (get_scale_min_k4), 5th bit of element 32s + l = bit s of qh[l].
  std::vector<uint8_t> q5 = zeros(176);
  q5[0] = 0x00, q5[1] = 0x3C, q5[2] = 0x00, q5[3] = 0x34;
  q5[4 + 0] = 2, q5[4 + 4] = 4;       // sub-block 0: sc 2, m 4
  q5[4 + 3] = 1, q5[4 + 7] = 8;       // sub-block 3: sc 1, m 8
  q5[4 + 10] = 0x13, q5[4 + 2] = 0x40;  // sub-block 6: sc 3 | 1 << 4 = 19, m 1 (sub-block 2's sc stays 0)
  q5[48 + 0] = 0x05, q5[16 + 0] = 0x01;  // element 0: 5 | 16 = 21
  q5[48 + 39] = 0x90, q5[16 + 7] = 0x08;  // element 103 (sub-block 3, high nibble of byte 32 + 7): 9 | 16 = 25
  q5[48 + 96] = 0x0A;                     // element 192 (sub-block 6): 10, qh[0] bit 6 clear
  expect_block(GgmlType::Q5_K, q5,
               {{0, 2 * 21 - 0.25f * 4},     // 41
                {103, 1 * 25 - 0.25f * 8},   // 23
                {192, 19 * 10 - 0.25f * 1},  // 189.75
                {64, 0.0f}});                // sub-block 2: sc 0 (its byte's top bits belong to sub-block 6), m 0

  // Q8_K {f32 d = 0.125 (0x3E000000); i8 qs[256]; i16 bsums[16]}: x = d * q.
  std::vector<uint8_t> q8 = zeros(292);
  q8[3] = 0x3E;
  q8[4 + 0] = 0x80, q8[4 + 1] = 3, q8[4 + 255] = 127;
  expect_block(GgmlType::Q8_K, q8, {{0, -16.0f}, {1, 0.375f}, {255, 15.875f}, {2, 0.0f}});

  // IQ4_XS {f16 d = 0.25; u16 scales_h @2; u8 scales_l[4] @4; u8 qs[128] @8}: sub-block s's ls = low nibble s%2
  // of scales_l[s/2] | bits 2s of scales_h << 4; x = d * (ls - 32) * kvalues[q], 16 bytes of qs per sub-block.
  std::vector<uint8_t> xs = zeros(136);
  xs[0] = 0x00, xs[1] = 0x34;
  xs[2] = 0x02, xs[3] = 0xC0;    // scales_h = 0xC002: sub-block 0 high 2, sub-block 7 high 3
  xs[4 + 0] = 0x04;              // sub-block 0: 4 | 2 << 4 = 36 -> 4 * 0.25 = 1
  xs[4 + 2] = 0x10;              // sub-block 5: 1 | 0 -> -31 * 0.25 = -7.75
  xs[4 + 3] = 0xF0;              // sub-block 7: 15 | 3 << 4 = 63 -> 31 * 0.25 = 7.75
  xs[8 + 0] = 0x0F;              // element 0: index 15 (113); element 16: index 0 (-127)
  xs[8 + 16 * 5 + 4] = 0xC0;     // element 5*32 + 20: high nibble of byte 4, index 12 (53)
  xs[8 + 16 * 7 + 1] = 0x09;     // element 7*32 + 1: index 9 (13)
  expect_block(GgmlType::IQ4_XS, xs,
               {{0, 113.0f}, {16, -127.0f}, {180, -7.75f * 53}, {225, 7.75f * 13}, {33, -127.0f * -32 * 0.25f}});
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
