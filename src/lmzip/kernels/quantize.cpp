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

// The value of largest magnitude among x[0..n), with its sign (ggml's "max" of the symmetric types).
float signed_absmax(const float* x, int n) {
  float max = 0;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
  }
  return max;
}

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
  const uint16_t d16 = float_to_fp16(signed_absmax(x, 32) / -8.0f);
  const float d = fp16_to_float(d16), id = d != 0 ? 1.0f / d : 0.0f;
  put_u16(out, d16);
  for (int j = 0; j < 16; ++j) {
    const int lo = round_clamp(x[j] * id + 8.0f, 0, 15), hi = round_clamp(x[j + 16] * id + 8.0f, 0, 15);
    out.push_back(static_cast<char>(lo | (hi << 4)));
  }
}

// Element j of 32 and element j + 16 share byte j: the layout of every 4-bit type with 32-element groups.
void put_nibbles(std::string& out, const uint8_t* q) {
  for (int j = 0; j < 16; ++j) out.push_back(static_cast<char>(q[j] | (q[j + 16] << 4)));
}

// Q4_1 and Q5_1: x ~ d * q + m over the block's range, q in 0..nmax.
void quantize_with_min(const float* x, int nmax, uint8_t* q, std::string& out) {
  const float lo = *std::min_element(x, x + 32), hi = *std::max_element(x, x + 32);
  const uint16_t d16 = float_to_fp16((hi - lo) / static_cast<float>(nmax)), m16 = float_to_fp16(lo);
  const float d = fp16_to_float(d16), m = fp16_to_float(m16);
  for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(d > 0 ? round_clamp((x[j] - m) / d, 0, nmax) : 0);
  put_u16(out, d16);
  put_u16(out, m16);
}

// Q5_0 and Q5_1: the 5th bits as a little-endian u32 (bit j: element j), then the low nibbles.
void put_q5_bits(std::string& out, const uint8_t* q) {
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>(q[j] >> 4) << j;
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((qh >> (8 * b)) & 0xff));
  uint8_t low[32];
  for (int j = 0; j < 32; ++j) low[j] = q[j] & 0x0f;
  put_nibbles(out, low);
}

void quantize_q4_1(const float* x, std::string& out) {
  uint8_t q[32];
  quantize_with_min(x, 15, q, out);
  put_nibbles(out, q);
}

// As ggml: d = (the value of largest magnitude) / -16, so that value maps to q = 0 exactly.
void quantize_q5_0(const float* x, std::string& out) {
  const uint16_t d16 = float_to_fp16(signed_absmax(x, 32) / -16.0f);
  const float d = fp16_to_float(d16), id = d != 0 ? 1.0f / d : 0.0f;
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(round_clamp(x[j] * id + 16.0f, 0, 31));
  put_u16(out, d16);
  put_q5_bits(out, q);
}

void quantize_q5_1(const float* x, std::string& out) {
  uint8_t q[32];
  quantize_with_min(x, 31, q, out);
  put_q5_bits(out, q);
}

// IQ4_NL's index: the table value nearest to v (in units of the block's d).
uint8_t nearest_iq4_index(float v) {
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(kIq4nlValues[k] - v) < std::fabs(kIq4nlValues[best] - v)) best = k;
  }
  return static_cast<uint8_t>(best);
}

// d = (the value of largest magnitude) / -127, so that value is the table's -127 exactly.
void quantize_iq4_nl(const float* x, std::string& out) {
  const uint16_t d16 = float_to_fp16(signed_absmax(x, 32) / -127.0f);
  const float d = fp16_to_float(d16), id = d != 0 ? 1.0f / d : 0.0f;
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = nearest_iq4_index(x[j] * id);
  put_u16(out, d16);
  put_nibbles(out, q);
}

// The 2-bit quants of a Q2_K/Q3_K block: qs[32h + l] holds elements 128h + l + 32r in bits 2r..2r+1.
void put_2bit_quants(std::string& out, const uint8_t* q) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* L = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      out.push_back(static_cast<char>(L[l] | (L[l + 32] << 2) | (L[l + 64] << 4) | (L[l + 96] << 6)));
    }
  }
}

// Q2_K: per sub-block of 16, x ~ scale * q - min with q in 0..3 and min >= 0; scales and mins are quantized to
// 4 bits against d = max(scale)/15 and dmin = max(min)/15.
void quantize_q2_k(const float* x, std::string& out) {
  float scale[16], min[16];
  for (int s = 0; s < 16; ++s) {
    const float* xs = x + 16 * s;
    const float lo = std::min(0.0f, *std::min_element(xs, xs + 16)), hi = std::max(0.0f, *std::max_element(xs, xs + 16));
    scale[s] = (hi - lo) / 3.0f;
    min[s] = -lo;
  }
  const uint16_t d16 = float_to_fp16(*std::max_element(scale, scale + 16) / 15.0f);
  const uint16_t dmin16 = float_to_fp16(*std::max_element(min, min + 16) / 15.0f);
  const float d = fp16_to_float(d16), dmin = fp16_to_float(dmin16);
  uint8_t scales[16], q[256];
  for (int s = 0; s < 16; ++s) {
    const int ls = d > 0 ? round_clamp(scale[s] / d, 0, 15) : 0, lm = dmin > 0 ? round_clamp(min[s] / dmin, 0, 15) : 0;
    scales[s] = static_cast<uint8_t>(ls | (lm << 4));
    const float step = d * static_cast<float>(ls), offset = dmin * static_cast<float>(lm);
    for (int l = 0; l < 16; ++l) {
      q[16 * s + l] = static_cast<uint8_t>(step > 0 ? round_clamp((x[16 * s + l] + offset) / step, 0, 3) : 0);
    }
  }
  out.append(reinterpret_cast<const char*>(scales), 16);
  put_2bit_quants(out, q);
  put_u16(out, d16);
  put_u16(out, dmin16);
}

// Q3_K: per sub-block of 16 a signed scale (largest magnitude / -4, q in -4..3), quantized to 6 bits (-32..31)
// against d = (the scale of largest magnitude) / -32.
void quantize_q3_k(const float* x, std::string& out) {
  float scale[16];
  for (int s = 0; s < 16; ++s) scale[s] = signed_absmax(x + 16 * s, 16) / -4.0f;
  const uint16_t d16 = float_to_fp16(signed_absmax(scale, 16) / -32.0f);
  const float d = fp16_to_float(d16);
  uint8_t scales[12] = {}, hmask[32] = {}, q[256];
  for (int s = 0; s < 16; ++s) {
    const int ls = d != 0 ? round_clamp(scale[s] / d, -32, 31) : 0;
    const int packed = ls + 32;  // the packing of ggml's quantize_row_q3_K_ref
    scales[s % 8] |= static_cast<uint8_t>((packed & 0x0f) << (s < 8 ? 0 : 4));
    scales[8 + s % 4] |= static_cast<uint8_t>((packed >> 4) << (2 * (s / 4)));
    const float step = d * static_cast<float>(ls);
    for (int l = 0; l < 16; ++l) {
      const int e = 16 * s + l, v = (step != 0 ? round_clamp(x[e] / step, -4, 3) : 0) + 4;  // 0..7
      if (v > 3) hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));  // set: "do not subtract 4"
      q[e] = static_cast<uint8_t>(v & 3);
    }
  }
  out.append(reinterpret_cast<const char*>(hmask), 32);
  put_2bit_quants(out, q);
  out.append(reinterpret_cast<const char*>(scales), 12);
  put_u16(out, d16);
}

// Q4_K and Q5_K: per sub-block of 32, x ~ scale * q - min with q in 0..nmax and min >= 0; scales and mins are
// then quantized to 6 bits against the block's d = max(scale)/63 and dmin = max(min)/63.
struct KScales {
  uint16_t d16, dmin16;
  uint8_t packed[12];  // the layout ggml's get_scale_min_k4 reads
};

KScales quantize_k_block(const float* x, int nmax, uint8_t* q) {
  float scale[8], min[8];
  for (int s = 0; s < 8; ++s) {
    const float* xs = x + 32 * s;
    // include 0 so that min >= 0 as the format requires
    const float lo = std::min(0.0f, *std::min_element(xs, xs + 32)), hi = std::max(0.0f, *std::max_element(xs, xs + 32));
    scale[s] = (hi - lo) / static_cast<float>(nmax);
    min[s] = -lo;
  }
  KScales k{float_to_fp16(*std::max_element(scale, scale + 8) / 63.0f),
            float_to_fp16(*std::max_element(min, min + 8) / 63.0f), {}};
  const float d = fp16_to_float(k.d16), dmin = fp16_to_float(k.dmin16);
  for (int s = 0; s < 8; ++s) {
    const uint8_t ls = static_cast<uint8_t>(d > 0 ? round_clamp(scale[s] / d, 0, 63) : 0);
    const uint8_t lm = static_cast<uint8_t>(dmin > 0 ? round_clamp(min[s] / dmin, 0, 63) : 0);
    if (s < 4) {  // the packing of ggml's quantize_row_q4_K_ref
      k.packed[s] |= ls;
      k.packed[s + 4] |= lm;
    } else {
      k.packed[s + 4] = static_cast<uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
      k.packed[s - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      k.packed[s] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
    const float step = d * ls, offset = dmin * lm;
    for (int l = 0; l < 32; ++l) {
      q[32 * s + l] = static_cast<uint8_t>(step > 0 ? round_clamp((x[32 * s + l] + offset) / step, 0, nmax) : 0);
    }
  }
  return k;
}

void put_k_header(std::string& out, const KScales& k) {
  put_u16(out, k.d16);
  put_u16(out, k.dmin16);
  out.append(reinterpret_cast<const char*>(k.packed), 12);
}

// Low nibbles of sub-blocks 2p and 2p + 1 share bytes 32p..32p+31 of qs.
void put_k_nibbles(std::string& out, const uint8_t* q) {
  for (int j = 0; j < 256; j += 64) {
    for (int l = 0; l < 32; ++l) out.push_back(static_cast<char>((q[j + l] & 0x0f) | ((q[j + l + 32] & 0x0f) << 4)));
  }
}

void quantize_q4_k(const float* x, std::string& out) {
  uint8_t q[256];
  put_k_header(out, quantize_k_block(x, 15, q));
  put_k_nibbles(out, q);
}

// Q5_K: as Q4_K with q in 0..31; the 5th bit of element 32s + l is bit s of qh[l].
void quantize_q5_k(const float* x, std::string& out) {
  uint8_t q[256];
  put_k_header(out, quantize_k_block(x, 31, q));
  uint8_t qh[32] = {};
  for (int e = 0; e < 256; ++e) qh[e % 32] |= static_cast<uint8_t>((q[e] >> 4) << (e / 32));
  out.append(reinterpret_cast<const char*>(qh), 32);
  put_k_nibbles(out, q);
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

// Q8_K: d = amax / 127 as a float; bsums[g] = the sum of the quants of group g of 16 (for ggml's dot products).
void quantize_q8_k(const float* x, std::string& out) {
  float amax = 0;
  for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
  int8_t q[256];
  for (int j = 0; j < 256; ++j) q[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
  out.append(reinterpret_cast<const char*>(&d), 4);
  out.append(reinterpret_cast<const char*>(q), 256);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) sum += q[16 * g + l];
    put_u16(out, static_cast<uint16_t>(static_cast<int16_t>(sum)));
  }
}

// IQ4_XS: per sub-block of 32 a signed scale (largest magnitude / -127, so it is the table's -127), quantized to
// 6 bits (-32..31) against d = (the scale of largest magnitude) / -32; then the nearest table index.
void quantize_iq4_xs(const float* x, std::string& out) {
  float scale[8];
  for (int s = 0; s < 8; ++s) scale[s] = signed_absmax(x + 32 * s, 32) / -127.0f;
  const uint16_t d16 = float_to_fp16(signed_absmax(scale, 8) / -32.0f);
  const float d = fp16_to_float(d16);
  uint16_t scales_h = 0;
  uint8_t scales_l[4] = {}, q[256];
  for (int s = 0; s < 8; ++s) {
    const int ls = d != 0 ? round_clamp(scale[s] / d, -32, 31) : 0, packed = ls + 32;
    scales_l[s / 2] |= static_cast<uint8_t>((packed & 0x0f) << (4 * (s % 2)));
    scales_h |= static_cast<uint16_t>((packed >> 4) << (2 * s));
    const float step = d * static_cast<float>(ls), inv = step != 0 ? 1.0f / step : 0.0f;
    for (int l = 0; l < 32; ++l) q[32 * s + l] = nearest_iq4_index(x[32 * s + l] * inv);
  }
  put_u16(out, d16);
  put_u16(out, scales_h);
  out.append(reinterpret_cast<const char*>(scales_l), 4);
  for (int s = 0; s < 8; ++s) put_nibbles(out, q + 32 * s);
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
      case GgmlType::Q4_1: quantize_q4_1(x, out); break;
      case GgmlType::Q5_0: quantize_q5_0(x, out); break;
      case GgmlType::Q5_1: quantize_q5_1(x, out); break;
      case GgmlType::Q2_K: quantize_q2_k(x, out); break;
      case GgmlType::Q3_K: quantize_q3_k(x, out); break;
      case GgmlType::Q4_K: quantize_q4_k(x, out); break;
      case GgmlType::Q5_K: quantize_q5_k(x, out); break;
      case GgmlType::Q6_K: quantize_q6_k(x, out); break;
      case GgmlType::Q8_K: quantize_q8_k(x, out); break;
      case GgmlType::IQ4_NL: quantize_iq4_nl(x, out); break;
      case GgmlType::IQ4_XS: quantize_iq4_xs(x, out); break;
      default: LMZIP_CHECK(false, std::string("quantize_row: unsupported type ") + info.name);
    }
  }
}

}  // namespace lmzip
