// Vectorizable row reductions with a fixed order (16 interleaved partial results combined pairwise), so that a
// result depends only on the data, never on the thread count, and the compiler can use SIMD without
// -ffast-math.
#pragma once

#include <algorithm>
#include <cstdint>

#include "lmzip/kernels/fast_math.h"

namespace lmzip {

constexpr int kReduceLanes = 16;

inline float combine_lanes_sum(float* lane) {
  for (int width = kReduceLanes / 2; width > 0; width /= 2) {
    for (int i = 0; i < width; ++i) lane[i] += lane[i + width];
  }
  return lane[0];
}

// max(x[0..n)), n >= 1.
inline float max_of(const float* x, int64_t n) {
  float lane[kReduceLanes];
  std::fill(lane, lane + kReduceLanes, x[0]);
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes) {
    for (int j = 0; j < kReduceLanes; ++j) lane[j] = lane[j] > x[i + j] ? lane[j] : x[i + j];
  }
  float m = *std::max_element(lane, lane + kReduceLanes);
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// x[i] = exp(x[i] - shift) in place; returns the sum of the new values.
inline float exp_shift_sum(float* x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = exp_approx(x[i] - shift);
  float lane[kReduceLanes] = {};
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes) {
    for (int j = 0; j < kReduceLanes; ++j) lane[j] += x[i + j];
  }
  float tail = 0;
  for (; i < n; ++i) tail += x[i];
  return combine_lanes_sum(lane) + tail;
}

}  // namespace lmzip
