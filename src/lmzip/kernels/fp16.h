// IEEE half and bfloat16 <-> float, bit-exact scalar conversions (the references for the vectorized paths).
#pragma once

#include <cstdint>
#include <cstring>

namespace lmzip {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

// Exact for every half value, subnormals, infinities and NaN included.
inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_to_float(sign);
  // Subnormal half: normalize into a float.
  int e = -1;
  do {
    ++e;
    mantissa <<= 1;
  } while ((mantissa & 0x400) == 0);
  return bits_to_float(sign | static_cast<uint32_t>(112 - e) << 23 | ((mantissa & 0x3ff) << 13));
}

// Round to nearest even; overflow to infinity; NaN stays NaN.
inline uint16_t float_to_fp16(float f) {
  const uint32_t x = float_to_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {                                               // below 2^-14: subnormal half or 0
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);           // below 2^-25: rounds to zero
    const uint32_t shift = 126 - (abs >> 23);  // 14..24: the value in units of 2^-24 is mant >> shift
    const uint32_t mant = (abs & 0x7fffff) | 0x800000;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    uint32_t q = mant >> shift;
    if (rem > half || (rem == half && (q & 1))) ++q;  // a carry into bit 10 is the smallest normal: correct
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float bf16_to_float(uint16_t b) { return bits_to_float(static_cast<uint32_t>(b) << 16); }

// Round to nearest even, as ggml's GGML_FP32_TO_BF16 (NaN kept quiet).
inline uint16_t float_to_bf16(float f) {
  const uint32_t x = float_to_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 64);
  return static_cast<uint16_t>((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

}  // namespace lmzip
