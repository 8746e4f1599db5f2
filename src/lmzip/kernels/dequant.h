// Weight types the engine reads in place, their dequantization to fp32, and a quantizer for test models.
//
// Block layouts are exactly ggml's (ggml-common.h), and every type dequantizes to exactly the floats of ggml's
// reference dequantize_row_* (ggml-quants.c), computed in the same order without fused multiply-adds:
//   Q4_0   {f16 d; u8 qs[16]}                                    x = d * (q - 8)
//   Q4_1   {f16 d, m; u8 qs[16]}                                 x = q * d + m
//   Q5_0   {f16 d; u8 qh[4]; u8 qs[16]}                          x = d * (q - 16), 5th bit in qh
//   Q5_1   {f16 d, m; u8 qh[4]; u8 qs[16]}                       x = q * d + m
//   Q8_0   {f16 d; i8 qs[32]}                                    x = d * q
//   Q2_K   {u8 scales[16]; u8 qs[64]; f16 d, dmin}               x = d*sc * q - dmin*m, 4-bit sc, m per 16
//   Q3_K   {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}       x = d*(sc - 32) * (q - 4), 6-bit sc per 16
//   Q4_K   {f16 d, dmin; u8 scales[12]; u8 qs[128]}              x = d*sc * q - dmin*m, 6-bit sc, m per 32
//   Q5_K   {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}   as Q4_K with a 5th bit from qh
//   Q6_K   {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}         x = d*sc * (q - 32)
//   Q8_K   {f32 d; i8 qs[256]; i16 bsums[16]}                    x = d * q
//   IQ4_NL {f16 d; u8 qs[16]}                                    x = d * kvalues_iq4nl[q]
//   IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}     x = d*(sc - 32) * kvalues_iq4nl[q], per 32
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "lmzip/format/ggml_types.h"

namespace lmzip {

// Every type the engine reads, the plain types first: the one list the checks, messages and tests use.
std::span<const GgmlType> supported_weight_type_list();
bool is_supported_weight_type(GgmlType type);
// "F32, F16, BF16, Q8_0, Q4_0, ..." (for error messages and help texts).
const char* supported_weight_types();

// The 16 values of the IQ4_NL and IQ4_XS 4-bit indices (ggml's kvalues_iq4nl).
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Dequantizes `n` elements (a multiple of the type's block size) from `src` (the start of a block) into `dst`.
// The fast path used by the engine.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, size_t n);

// Element `i` of a row starting at `row`, computed straight from the block layout, one element at a time.
// Slow; the reference the fast path and the double-precision reference forward are checked against.
float dequantize_element_reference(GgmlType type, const uint8_t* row, size_t i);

// Quantizes `n` floats (a multiple of the block size) to `type`, appending the blocks to `out`.
// Round-trip error per element is bounded by the block's scale (half a quantization step, plus the rounding of
// the sub-block scales for the K and IQ4_XS types). Used to make test and benchmark models.
void quantize_row(GgmlType type, const float* src, size_t n, std::string& out);

}  // namespace lmzip
