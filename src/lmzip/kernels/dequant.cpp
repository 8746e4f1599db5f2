#include "lmzip/kernels/dequant.h"

#include <immintrin.h>

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

// ---- Q8_0: 32 elements, {f16 d; int8 qs[32]}, x = d * q ------------------------------------------------------

void dequantize_q8_0(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    const float d = fp16_to_float(load_u16(src));
    const int8_t* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < 32; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

// ---- Q4_0: 32 elements, {f16 d; u8 qs[16]}: x[j] = d * (lo4(qs[j]) - 8), x[j+16] = d * (hi4(qs[j]) - 8) ----

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

// ---- Q4_K: 256 elements in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min --------------------
// {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}: x = d * sc[s] * q - dmin * m[s].

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

void dequantize_q4_k(const uint8_t* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / 256; ++b, src += 144) {
    const float d = fp16_to_float(load_u16(src)), dmin = fp16_to_float(load_u16(src + 2));
    const uint8_t* scales = src + 4;
    const uint8_t* q = src + 16;
    // Each 32 bytes of qs hold two sub-blocks: low nibbles first, then high nibbles.
    for (int s = 0; s < 8; s += 2, q += 32) {
      uint8_t sc, m;
      q4k_scale_min(s, scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      q4k_scale_min(s + 1, scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// ---- Q6_K: 256 elements in 16 sub-blocks of 16 with int8 scales ----------------------------------------------
// {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 6-bit q = 4 low bits from ql, 2 high bits from qh; x = d*sc*(q-32).

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

}  // namespace

bool is_supported_weight_type(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: case GgmlType::Q4_0:
    case GgmlType::Q4_K: case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

const char* supported_weight_types() { return "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K"; }

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, size_t n) {
  LMZIP_CHECK(n % ggml_type_info(type).block_elements == 0, "dequantize_row: n not a multiple of the block");
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, n * 4); return;
    case GgmlType::F16: dequantize_f16(src, dst, n); return;
    case GgmlType::BF16: dequantize_bf16(src, dst, n); return;
    case GgmlType::Q8_0: dequantize_q8_0(src, dst, n); return;
    case GgmlType::Q4_0: dequantize_q4_0(src, dst, n); return;
    case GgmlType::Q4_K: dequantize_q4_k(src, dst, n); return;
    case GgmlType::Q6_K: dequantize_q6_k(src, dst, n); return;
    default: LMZIP_CHECK(false, std::string("dequantize_row: unsupported type ") + ggml_type_name(type));
  }
}

// The reference: locate the block and the element's position in it, then apply the format's formula.
float dequantize_element_reference(GgmlType type, const uint8_t* row, size_t i) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  const uint8_t* block = row + (i / info.block_elements) * info.block_bytes;
  const size_t j = i % info.block_elements;  // index inside the block
  switch (type) {
    case GgmlType::F32: {
      float f;
      std::memcpy(&f, block, 4);
      return f;
    }
    case GgmlType::F16: return fp16_to_float(load_u16(block));
    case GgmlType::BF16: return bf16_to_float(load_u16(block));
    case GgmlType::Q8_0: return fp16_to_float(load_u16(block)) * static_cast<int8_t>(block[2 + j]);
    case GgmlType::Q4_0: {
      const uint8_t byte = block[2 + j % 16];
      const int q = j < 16 ? (byte & 0x0f) : (byte >> 4);
      return fp16_to_float(load_u16(block)) * static_cast<float>(q - 8);
    }
    case GgmlType::Q4_K: {
      const int sub = static_cast<int>(j / 32);  // sub-block 0..7; pairs (2p, 2p+1) share 32 bytes of qs
      const uint8_t byte = block[16 + (sub / 2) * 32 + j % 32];
      const int q = sub % 2 == 0 ? (byte & 0x0f) : (byte >> 4);
      uint8_t sc, m;
      q4k_scale_min(sub, block + 4, sc, m);
      return fp16_to_float(load_u16(block)) * sc * static_cast<float>(q) -
             fp16_to_float(load_u16(block + 2)) * m;
    }
    case GgmlType::Q6_K: {
      // Element j: half h = j/128; within it, quarter r = (j%128)/32 and lane l = j%32.
      const size_t h = j / 128, r = (j % 128) / 32, l = j % 32;
      const uint8_t low_byte = block[h * 64 + l + (r % 2) * 32];
      const int low = r < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
      const int high = (block[128 + h * 32 + l] >> (2 * r)) & 3;
      const int8_t scale = static_cast<int8_t>(block[192 + h * 8 + r * 2 + l / 16]);
      return fp16_to_float(load_u16(block + 208)) * scale * static_cast<float>((low | (high << 4)) - 32);
    }
    default: LMZIP_CHECK(false, std::string("dequantize_element_reference: unsupported type ") + info.name);
  }
  return 0;
}

}  // namespace lmzip
