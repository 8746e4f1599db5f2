#include "lmzip/kernels/dequant.h"

#include <immintrin.h>

#include <span>

#include "lmzip/core/error.h"
#include "lmzip/kernels/fp16.h"

namespace lmzip {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// ---- F16 / BF16 --------------------------------------------------------------------------------------------

void dequantize_f16(const uint8_t* src, float* dst, size_t n) {
  size_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
    // maskz form: GCC 12 warns about the undefined pass-through of the plain _mm512_cvtph_ps.
    _mm512_storeu_ps(dst + i, _mm512_maskz_cvtph_ps(0xffff, h));
  }
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) dst[i] = fp16_to_float(load_u16(src + 2 * i));
}

void dequantize_bf16(const uint8_t* src, float* dst, size_t n) {
  // A shift of the bits: the compiler vectorizes this loop.
  for (size_t i = 0; i < n; ++i) dst[i] = bits_to_float(static_cast<uint32_t>(load_u16(src + 2 * i)) << 16);
}

// ---- 32-element blocks: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL ---------------------------------------------
// In the 4-bit types byte j of qs holds element j (low nibble) and element j + 16 (high nibble).

void dequantize_q8_0(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    const float d = fp16_to_float(load_u16(src));
    const int8_t* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < 32; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

void dequantize_q4_0(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    const float d = fp16_to_float(load_u16(src));
    const uint8_t* qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
      dst[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_1(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 32; ++b, src += 20, dst += 32) {
    const float d = fp16_to_float(load_u16(src)), m = fp16_to_float(load_u16(src + 2));
    const uint8_t* qs = src + 4;
    for (int j = 0; j < 16; ++j) {
      dst[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
      dst[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
    }
  }
}

// Q5_0 and Q5_1: bit j of the little-endian u32 qh is the 5th bit of element j.
uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void q5_values(const uint8_t* qh_bytes, const uint8_t* qs, int (&q)[32]) {
  const uint32_t qh = load_u32(qh_bytes);
  for (int j = 0; j < 16; ++j) {
    q[j] = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

void dequantize_q5_0(const uint8_t* src, float* dst, size_t n) {
  int q[32];
  for (size_t b = 0; b < n / 32; ++b, src += 22, dst += 32) {
    const float d = fp16_to_float(load_u16(src));
    q5_values(src + 2, src + 6, q);
    for (int j = 0; j < 32; ++j) dst[j] = static_cast<float>(q[j] - 16) * d;
  }
}

void dequantize_q5_1(const uint8_t* src, float* dst, size_t n) {
  int q[32];
  for (size_t b = 0; b < n / 32; ++b, src += 24, dst += 32) {
    const float d = fp16_to_float(load_u16(src)), m = fp16_to_float(load_u16(src + 2));
    q5_values(src + 4, src + 8, q);
    for (int j = 0; j < 32; ++j) dst[j] = static_cast<float>(q[j]) * d + m;
  }
}

// 16 elements of IQ4_NL/IQ4_XS: byte j of qs holds elements j (low nibble) and j + 16 (high nibble).
void iq4_values(float d, const uint8_t* qs, float* dst) {
  for (int j = 0; j < 16; ++j) {
    dst[j] = d * static_cast<float>(kIq4nlValues[qs[j] & 0x0f]);
    dst[j + 16] = d * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
  }
}

void dequantize_iq4_nl(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 32; ++b, src += 18, dst += 32) iq4_values(fp16_to_float(load_u16(src)), src + 2, dst);
}

// ---- Q2_K and Q3_K: 256 elements in 16 sub-blocks of 16, 2-bit quants -------------------------------------
// Element e = 128h + 32r + l (half h, shift r, lane l < 32) is bits 2r..2r+1 of qs[32h + l]; its sub-block is
// 8h + 2r + l/16. Q3_K adds a high bit, bit 4h + r of hmask[l], set meaning "do not subtract 4".

void dequantize_q2_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 84) {
    const uint8_t* scales = src;  // low nibble: scale, high nibble: min
    const float d = fp16_to_float(load_u16(src + 80)), dmin = fp16_to_float(load_u16(src + 82));
    for (int h = 0; h < 2; ++h) {
      const uint8_t* q = src + 16 + 32 * h;
      for (int r = 0; r < 4; ++r) {
        for (int g = 0; g < 2; ++g) {
          const uint8_t sc = *scales++;
          const float dl = d * static_cast<float>(sc & 0x0f), ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 16 * g; l < 16 * g + 16; ++l) *dst++ = dl * static_cast<float>((q[l] >> (2 * r)) & 3) - ml;
        }
      }
    }
  }
}

// ggml's 12-byte packing of 16 6-bit scales: low 4 bits in the nibbles of bytes 0..7, high 2 bits in bytes 8..11.
int q3k_scale(const uint8_t* scales, int s) {
  const int low = s < 8 ? scales[s] & 0x0f : scales[s - 8] >> 4;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void dequantize_q3_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 110) {
    const uint8_t* hmask = src;
    const float d = fp16_to_float(load_u16(src + 108));
    for (int h = 0; h < 2; ++h) {
      const uint8_t* q = src + 32 + 32 * h;
      for (int r = 0; r < 4; ++r) {
        const uint8_t bit = static_cast<uint8_t>(1u << (4 * h + r));
        for (int g = 0; g < 2; ++g) {
          const float dl = d * static_cast<float>(q3k_scale(src + 96, 8 * h + 2 * r + g));
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            *dst++ = dl * static_cast<float>(((q[l] >> (2 * r)) & 3) - ((hmask[l] & bit) ? 0 : 4));
          }
        }
      }
    }
  }
}

// ---- Q4_K and Q5_K: 256 elements in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min ------------
// x = d * sc[s] * q - dmin * m[s]. Each 32 bytes of qs hold two sub-blocks: low nibbles first, then high nibbles;
// Q5_K's 5th bit of element 32s + l is bit s of qh[l].

// ggml's get_scale_min_k4: the 12 bytes hold 8 (scale, min) pairs of 6 bits.
void q4k_scale_min(int s, const uint8_t* scales, uint8_t& sc, uint8_t& m) {
  if (s < 4) {
    sc = scales[s] & 63;
    m = scales[s + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((scales[s + 4] & 0x0f) | ((scales[s - 4] >> 6) << 4));
    m = static_cast<uint8_t>((scales[s + 4] >> 4) | ((scales[s] >> 6) << 4));
  }
}

// Sub-block s's step d * sc and offset dmin * m.
void kquant_step(const uint8_t* block, int s, float& step, float& offset) {
  uint8_t sc, m;
  q4k_scale_min(s, block + 4, sc, m);
  step = fp16_to_float(load_u16(block)) * static_cast<float>(sc);
  offset = fp16_to_float(load_u16(block + 2)) * static_cast<float>(m);
}

void dequantize_q4_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 144) {
    const uint8_t* q = src + 16;
    for (int s = 0; s < 8; s += 2, q += 32) {
      float d1, m1, d2, m2;
      kquant_step(src, s, d1, m1);
      kquant_step(src, s + 1, d2, m2);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 176) {
    const uint8_t* qh = src + 16;
    const uint8_t* q = src + 48;
    for (int s = 0; s < 8; s += 2, q += 32) {
      float d1, m1, d2, m2;
      kquant_step(src, s, d1, m1);
      kquant_step(src, s + 1, d2, m2);
      for (int l = 0; l < 32; ++l) {
        *dst++ = d1 * static_cast<float>((q[l] & 0x0f) + (((qh[l] >> s) & 1) << 4)) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        *dst++ = d2 * static_cast<float>((q[l] >> 4) + (((qh[l] >> (s + 1)) & 1) << 4)) - m2;
      }
    }
  }
}

// ---- Q6_K: 256 elements in 16 sub-blocks of 16 with int8 scales ----------------------------------------------
// 6-bit q = 4 low bits from ql, 2 high bits from qh; x = d * sc * (q - 32).

void dequantize_q6_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 210) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = fp16_to_float(load_u16(src + 208));
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, dst += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * sc[is] * static_cast<float>(q1);
        dst[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
        dst[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
        dst[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
      }
    }
  }
}

// ---- Q8_K: 256 elements {f32 d; i8 qs[256]; i16 bsums[16]} (bsums serve ggml's dot products only) -----------

float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

void dequantize_q8_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 292, dst += 256) {
    const float d = load_f32(src);
    const int8_t* qs = reinterpret_cast<const int8_t*>(src + 4);
    for (int j = 0; j < 256; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

// ---- IQ4_XS: 256 elements in 8 sub-blocks of 32, a 6-bit scale each (low 4 bits in scales_l, high 2 in
// scales_h), values from kvalues_iq4nl: x = d * (ls - 32) * kvalues[q] ---------------------------------------

int iq4xs_scale(const uint8_t* block, int ib) {
  const int low = (block[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f;
  const int high = (load_u16(block + 2) >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

void dequantize_iq4_xs(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 136) {
    const float d = fp16_to_float(load_u16(src));
    for (int ib = 0; ib < 8; ++ib, dst += 32) {
      iq4_values(d * static_cast<float>(iq4xs_scale(src, ib)), src + 8 + 16 * ib, dst);
    }
  }
}

}  // namespace

namespace {

constexpr GgmlType kWeightTypes[] = {
    GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,   GgmlType::Q4_1,
    GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,   GgmlType::Q5_K,
    GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

}  // namespace

std::span<const GgmlType> supported_weight_type_list() { return kWeightTypes; }

bool is_supported_weight_type(GgmlType type) {
  for (GgmlType t : kWeightTypes) {
    if (t == type) return true;
  }
  return false;
}

const char* supported_weight_types() {
  static const std::string names = [] {
    std::string s;
    for (GgmlType t : kWeightTypes) s += (s.empty() ? "" : ", ") + std::string(ggml_type_name(t));
    return s;
  }();
  return names.c_str();
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, size_t n) {
  LMZIP_CHECK(n % ggml_type_info(type).block_elements == 0, "dequantize_row: n not a multiple of the block");
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, n * 4); return;
    case GgmlType::F16: dequantize_f16(src, dst, n); return;
    case GgmlType::BF16: dequantize_bf16(src, dst, n); return;
    case GgmlType::Q8_0: dequantize_q8_0(src, dst, n); return;
    case GgmlType::Q4_0: dequantize_q4_0(src, dst, n); return;
    case GgmlType::Q4_1: dequantize_q4_1(src, dst, n); return;
    case GgmlType::Q5_0: dequantize_q5_0(src, dst, n); return;
    case GgmlType::Q5_1: dequantize_q5_1(src, dst, n); return;
    case GgmlType::Q2_K: dequantize_q2_k(src, dst, n); return;
    case GgmlType::Q3_K: dequantize_q3_k(src, dst, n); return;
    case GgmlType::Q4_K: dequantize_q4_k(src, dst, n); return;
    case GgmlType::Q5_K: dequantize_q5_k(src, dst, n); return;
    case GgmlType::Q6_K: dequantize_q6_k(src, dst, n); return;
    case GgmlType::Q8_K: dequantize_q8_k(src, dst, n); return;
    case GgmlType::IQ4_NL: dequantize_iq4_nl(src, dst, n); return;
    case GgmlType::IQ4_XS: dequantize_iq4_xs(src, dst, n); return;
    default: LMZIP_CHECK(false, std::string("dequantize_row: unsupported type ") + ggml_type_name(type));
  }
}

namespace {

// The 4-bit index of element j of a 32-element group whose 16 bytes start at qs (low nibbles: j < 16).
int nibble(const uint8_t* qs, size_t j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

// The 2-bit quant of element j of a Q2_K/Q3_K block whose qs start at q, and its sub-block of 16.
int k2_quant(const uint8_t* q, size_t j) {
  const size_t h = j / 128, r = (j % 128) / 32, l = j % 32;
  return (q[32 * h + l] >> (2 * r)) & 3;
}
int k2_sub_block(size_t j) { return static_cast<int>(8 * (j / 128) + 2 * ((j % 128) / 32) + (j % 32) / 16); }

}  // namespace

// The reference: locate the block and the element's position in it, then apply the format's formula.
float dequantize_element_reference(GgmlType type, const uint8_t* row, size_t i) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  const uint8_t* block = row + (i / info.block_elements) * info.block_bytes;
  const size_t j = i % info.block_elements;  // index inside the block
  const auto f16 = [&](size_t offset) { return fp16_to_float(load_u16(block + offset)); };
  switch (type) {
    case GgmlType::F32: return load_f32(block);
    case GgmlType::F16: return f16(0);
    case GgmlType::BF16: return bf16_to_float(load_u16(block));
    case GgmlType::Q8_0: return f16(0) * static_cast<int8_t>(block[2 + j]);
    case GgmlType::Q4_0: return f16(0) * static_cast<float>(nibble(block + 2, j) - 8);
    case GgmlType::Q4_1: return static_cast<float>(nibble(block + 4, j)) * f16(0) + f16(2);
    case GgmlType::Q5_0:
    case GgmlType::Q5_1: {
      const bool has_min = type == GgmlType::Q5_1;
      const uint8_t* qh = block + (has_min ? 4 : 2);
      const int high = (load_u32(qh) >> j) & 1;
      const int q = nibble(qh + 4, j) | (high << 4);
      return has_min ? static_cast<float>(q) * f16(0) + f16(2) : static_cast<float>(q - 16) * f16(0);
    }
    case GgmlType::Q2_K: {
      const uint8_t sc = block[k2_sub_block(j)];
      return f16(80) * static_cast<float>(sc & 0x0f) * static_cast<float>(k2_quant(block + 16, j)) -
             f16(82) * static_cast<float>(sc >> 4);
    }
    case GgmlType::Q3_K: {
      const int high = (block[j % 32] >> (j / 32)) & 1;  // hmask: bit j/32 of byte j%32
      const int q = k2_quant(block + 32, j) - (high ? 0 : 4);
      return f16(108) * static_cast<float>(q3k_scale(block + 96, k2_sub_block(j))) * static_cast<float>(q);
    }
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      const int sub = static_cast<int>(j / 32);  // sub-block 0..7; pairs (2p, 2p+1) share 32 bytes of qs
      const bool five = type == GgmlType::Q5_K;
      const uint8_t byte = block[(five ? 48 : 16) + (sub / 2) * 32 + j % 32];
      int q = sub % 2 == 0 ? (byte & 0x0f) : (byte >> 4);
      if (five) q += ((block[16 + j % 32] >> sub) & 1) << 4;
      float step, offset;
      kquant_step(block, sub, step, offset);
      return step * static_cast<float>(q) - offset;
    }
    case GgmlType::Q6_K: {
      // Element j: half h = j/128; within it, quarter r = (j%128)/32 and lane l = j%32.
      const size_t h = j / 128, r = (j % 128) / 32, l = j % 32;
      const uint8_t low_byte = block[h * 64 + l + (r % 2) * 32];
      const int low = r < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
      const int high = (block[128 + h * 32 + l] >> (2 * r)) & 3;
      const int8_t scale = static_cast<int8_t>(block[192 + h * 8 + r * 2 + l / 16]);
      return f16(208) * scale * static_cast<float>((low | (high << 4)) - 32);
    }
    case GgmlType::Q8_K: return load_f32(block) * static_cast<float>(static_cast<int8_t>(block[4 + j]));
    case GgmlType::IQ4_NL: return f16(0) * static_cast<float>(kIq4nlValues[nibble(block + 2, j)]);
    case GgmlType::IQ4_XS: {
      const int ib = static_cast<int>(j / 32);
      return f16(0) * static_cast<float>(iq4xs_scale(block, ib)) *
             static_cast<float>(kIq4nlValues[nibble(block + 8 + 16 * ib, j % 32)]);
    }
    default: LMZIP_CHECK(false, std::string("dequantize_element_reference: unsupported type ") + info.name);
  }
  return 0;
}

}  // namespace lmzip
