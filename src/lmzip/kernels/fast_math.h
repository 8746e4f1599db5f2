// lmzip's own exp, so that probabilities do not depend on the C library's libm version, and written
// branch-free so that loops over it vectorize.
#pragma once

#include <cmath>
#include <cstdint>
#include <bit>

namespace lmzip {

// exp(x) for float, relative error below 2e-7 (a few ulp) on [-87, 88]; inputs below -87.3 give a tiny
// positive number (~1e-38) instead of a subnormal or 0, inputs above 88.7 are clamped. NaN is not handled.
// Method: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), exp(r) by its degree-7 Taylor polynomial,
// then scaling by 2^n through the exponent bits.
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // nearbyint (not floor(x + 0.5)): GCC 12 vectorizes this form. Default rounding mode: to nearest even.
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

}  // namespace lmzip
