// The quantizer for test and benchmark models: simple round-to-nearest per block, written into exactly ggml's
// block layouts (see dequant.h). It is not ggml's error-minimizing search (make_qkx2_quants); any valid block
// dequantizes the same way, which is all the engine and its tests need.
#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"

namespace lmzip {
namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

int round_clamp(float x, int lo, int hi) { return std::clamp(static_cast<int>(std::lround(x)), lo, hi); }

void quantize_q8_0(const float* x, std::string& out) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const uint16_t d16 = float_to_fp16(amax / 127.0f);
  const float d = fp16_to_float(d16), id = d != 0 ? 1.0f / d : 0.0f;
  put_u16(out, d16);
  for (int j = 0; j < 32; ++j) out.push_back(static_cast<char>(round_clamp(x[j] * id, -127, 127)));
}

// As ggml: d = (the value of largest magnitude) / -8, so that value maps to q = 0 exactly.
void quantize_q4_0(const float* x, std::string& out) {
  float max = 0;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
  }
  const uint16_t d16 = float_to_fp16(max / -8.0f);
  const float d = fp16_to_float(d16), id = d != 0 ? 1.0f / d : 0.0f;
  put_u16(out, d16);
  for (int j = 0; j < 16; ++j) {
    const int lo = round_clamp(x[j] * id + 8.0f, 0, 15), hi = round_clamp(x[j + 16] * id + 8.0f, 0, 15);
    out.push_back(static_cast<char>(lo | (hi << 4)));
  }
}

// Q4_K: per sub-block of 32, x ~ scale * q - min with q in 0..15 and min >= 0; scales and mins are then
// quantized to 6 bits against the block's d = max(scale)/63 and dmin = max(min)/63.
void quantize_q4_k(const float* x, std::string& out) {
  float scale[8], min[8];
  for (int s = 0; s < 8; ++s) {
    float lo = 0, hi = 0;  // include 0 so that min >= 0 as the format requires
    for (int l = 0; l < 32; ++l) {
      lo = std::min(lo, x[32 * s + l]);
      hi = std::max(hi, x[32 * s + l]);
    }
    scale[s] = (hi - lo) / 15.0f;
    min[s] = -lo;
  }
  const uint16_t d16 = float_to_fp16(*std::max_element(scale, scale + 8) / 63.0f);
  const uint16_t dmin16 = float_to_fp16(*std::max_element(min, min + 8) / 63.0f);
  const float d = fp16_to_float(d16), dmin = fp16_to_float(dmin16);
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; ++s) {
    ls[s] = static_cast<uint8_t>(d > 0 ? round_clamp(scale[s] / d, 0, 63) : 0);
    lm[s] = static_cast<uint8_t>(dmin > 0 ? round_clamp(min[s] / dmin, 0, 63) : 0);
  }
  uint8_t scales[12] = {};
  for (int s = 0; s < 8; ++s) {  // the packing of ggml's quantize_row_q4_K_ref
    if (s < 4) {
      scales[s] = ls[s];
      scales[s + 4] = lm[s];
    } else {
      scales[s + 4] = static_cast<uint8_t>((ls[s] & 0x0f) | ((lm[s] & 0x0f) << 4));
      scales[s - 4] |= static_cast<uint8_t>((ls[s] >> 4) << 6);
      scales[s] |= static_cast<uint8_t>((lm[s] >> 4) << 6);
    }
  }
  uint8_t q[256];
  for (int s = 0; s < 8; ++s) {
    const float step = d * ls[s], offset = dmin * lm[s];
    for (int l = 0; l < 32; ++l) {
      q[32 * s + l] = static_cast<uint8_t>(step > 0 ? round_clamp((x[32 * s + l] + offset) / step, 0, 15) : 0);
    }
  }
  put_u16(out, d16);
  put_u16(out, dmin16);
  out.append(reinterpret_cast<const char*>(scales), 12);
  for (int j = 0; j < 256; j += 64) {
    for (int l = 0; l < 32; ++l) out.push_back(static_cast<char>(q[j + l] | (q[j + l + 32] << 4)));
  }
}

// Q6_K: 16 sub-blocks of 16 with q in -32..31 and an int8 scale each, against d = max|scale| / 127.
void quantize_q6_k(const float* x, std::string& out) {
  float scale[16];
  for (int s = 0; s < 16; ++s) {
    float amax = 0;
    for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * s + l]));
    scale[s] = amax / 31.0f;
  }
  const uint16_t d16 = float_to_fp16(*std::max_element(scale, scale + 16) / 127.0f);
  const float d = fp16_to_float(d16);
  int8_t sc[16];
  uint8_t q[256];  // q + 32, in 0..63
  for (int s = 0; s < 16; ++s) {
    sc[s] = static_cast<int8_t>(d > 0 ? round_clamp(scale[s] / d, -128, 127) : 0);
    const float step = d * sc[s];
    for (int l = 0; l < 16; ++l) {
      q[16 * s + l] = static_cast<uint8_t>((step != 0 ? round_clamp(x[16 * s + l] / step, -32, 31) : 0) + 32);
    }
  }
  uint8_t ql[128], qh[64];
  for (int h = 0; h < 2; ++h) {  // the packing of ggml's quantize_row_q6_K_ref
    const uint8_t* L = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[64 * h + l] = static_cast<uint8_t>((L[l] & 0x0f) | ((L[l + 64] & 0x0f) << 4));
      ql[64 * h + l + 32] = static_cast<uint8_t>((L[l + 32] & 0x0f) | ((L[l + 96] & 0x0f) << 4));
      qh[32 * h + l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                                            ((L[l + 96] >> 4) << 6));
    }
  }
  out.append(reinterpret_cast<const char*>(ql), 128);
  out.append(reinterpret_cast<const char*>(qh), 64);
  out.append(reinterpret_cast<const char*>(sc), 16);
  put_u16(out, d16);
}

}  // namespace

void quantize_row(GgmlType type, const float* src, size_t n, std::string& out) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  LMZIP_CHECK(n % info.block_elements == 0, "quantize_row: n not a multiple of the block size");
  out.reserve(out.size() + n / info.block_elements * info.block_bytes);
  for (size_t b = 0; b < n / info.block_elements; ++b) {
    const float* x = src + b * info.block_elements;
    switch (type) {
      case GgmlType::F32: out.append(reinterpret_cast<const char*>(x), 4); break;
      case GgmlType::F16: put_u16(out, float_to_fp16(*x)); break;
      case GgmlType::BF16: put_u16(out, float_to_bf16(*x)); break;
      case GgmlType::Q8_0: quantize_q8_0(x, out); break;
      case GgmlType::Q4_0: quantize_q4_0(x, out); break;
      case GgmlType::Q4_K: quantize_q4_k(x, out); break;
      case GgmlType::Q6_K: quantize_q6_k(x, out); break;
      default: LMZIP_CHECK(false, std::string("quantize_row: unsupported type ") + info.name);
    }
  }
}

}  // namespace lmzip
