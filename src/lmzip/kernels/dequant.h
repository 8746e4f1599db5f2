// Weight types the engine reads in place, their dequantization to fp32, and a quantizer for test models.
//
// Block layouts are exactly ggml's (ggml-common.h): Q8_0 {f16 d; i8 qs[32]}, Q4_0 {f16 d; u8 qs[16]},
// Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}, Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "lmzip/format/ggml_types.h"

namespace lmzip {

// True for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K.
bool is_supported_weight_type(GgmlType type);
// "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K" (for error messages).
const char* supported_weight_types();

// Dequantizes `n` elements (a multiple of the type's block size) from `src` (the start of a block) into `dst`.
// The fast path used by the engine.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, size_t n);

// Element `i` of a row starting at `row`, computed straight from the block layout, one element at a time.
// Slow; the reference the fast path and the double-precision reference forward are checked against.
float dequantize_element_reference(GgmlType type, const uint8_t* row, size_t i);

// Quantizes `n` floats (a multiple of the block size) to `type`, appending the blocks to `out`.
// Round-trip error per element is bounded by the block's scale (half a quantization step, plus the 6-bit
// scale rounding for the K types). Used to make test and benchmark models.
void quantize_row(GgmlType type, const float* src, size_t n, std::string& out);

}  // namespace lmzip
