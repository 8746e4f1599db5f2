#include "lmzip/kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/fast_math.h"

namespace lmzip {

void rms_norm(const float* x, float* out, int64_t n_rows, int64_t n, std::span<const float> weight, float eps,
              ThreadPool& pool) {
  LMZIP_CHECK(static_cast<int64_t>(weight.size()) == n, "rms_norm: weight size");
  pool.parallel_for(static_cast<size_t>(n_rows), [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const float* xr = x + r * static_cast<size_t>(n);
      float* yr = out + r * static_cast<size_t>(n);
      double sum_sq = 0;
      for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
      const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * weight[static_cast<size_t>(i)];
    }
  });
}

void layer_norm(const float* x, float* out, int64_t n_rows, int64_t n, std::span<const float> weight,
                std::span<const float> bias, float eps, ThreadPool& pool) {
  LMZIP_CHECK(static_cast<int64_t>(weight.size()) == n && (bias.empty() || static_cast<int64_t>(bias.size()) == n),
              "layer_norm: weight or bias size");
  pool.parallel_for(static_cast<size_t>(n_rows), [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const float* xr = x + r * static_cast<size_t>(n);
      float* yr = out + r * static_cast<size_t>(n);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(n);
      double var = 0;
      for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const double scale = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
      for (int64_t i = 0; i < n; ++i) {
        const float v = static_cast<float>((xr[i] - mean) * scale) * weight[static_cast<size_t>(i)];
        yr[i] = bias.empty() ? v : v + bias[static_cast<size_t>(i)];
      }
    }
  });
}

float gelu_tanh(float x) {
  const double v = x;
  return static_cast<float>(0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
}

float gelu_erf(float x) {
  const double v = x;
  return static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.7071067811865476)));
}

void add_bias(float* x, int64_t n_rows, int64_t n, std::span<const float> bias) {
  LMZIP_CHECK(static_cast<int64_t>(bias.size()) == n, "add_bias: bias size");
  for (int64_t r = 0; r < n_rows; ++r) {
    float* xr = x + r * n;
    for (int64_t i = 0; i < n; ++i) xr[i] += bias[static_cast<size_t>(i)];
  }
}

void swiglu(float* gate, const float* up, int64_t n_rows, int64_t n, ThreadPool& pool) {
  pool.parallel_for(static_cast<size_t>(n_rows), [&](size_t begin, size_t end) {
    for (size_t i = begin * static_cast<size_t>(n); i < end * static_cast<size_t>(n); ++i) {
      gate[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
    }
  });
}

RopeTable make_rope_table(int64_t first_position, int64_t n_pos, int n_rot, float freq_base,
                          std::span<const float> freq_factors, float freq_scale, float magnitude,
                          const RopeYarn& yarn) {
  const int half = n_rot / 2;
  LMZIP_CHECK(freq_factors.empty() || static_cast<int>(freq_factors.size()) == half, "rope: freq_factors size");
  RopeTable t;
  t.n_rot = n_rot;
  t.cos.resize(static_cast<size_t>(n_pos * half));
  t.sin.resize(t.cos.size());
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) {
    inv_freq[static_cast<size_t>(i)] = std::pow(static_cast<double>(freq_base), -2.0 * i / n_rot) /
                                       (freq_factors.empty() ? 1.0 : freq_factors[static_cast<size_t>(i)]) *
                                       static_cast<double>(freq_scale);
  }
  if (yarn.n_ctx_orig > 0 && freq_scale != 1.0f) {
    // Angles are linear in the position for each pair: blend the per-pair frequencies.
    auto corr_dim = [&](double beta) {
      return n_rot * std::log(static_cast<double>(yarn.n_ctx_orig) / (beta * 2 * M_PI)) /
             (2 * std::log(static_cast<double>(freq_base)));
    };
    const double low = std::max(0.0, std::floor(corr_dim(yarn.beta_fast)));
    const double high = std::min(n_rot - 1.0, std::ceil(corr_dim(yarn.beta_slow)));
    for (int i = 0; i < half; ++i) {
      const double ramp = (1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0)) * yarn.ext_factor;
      double& f = inv_freq[static_cast<size_t>(i)];
      f = f * (1 - ramp) + f / static_cast<double>(freq_scale) * ramp;
    }
  }
  for (int64_t p = 0; p < n_pos; ++p) {
    for (int i = 0; i < half; ++i) {
      const double angle = static_cast<double>(first_position + p) * inv_freq[static_cast<size_t>(i)];
      t.cos[static_cast<size_t>(p * half + i)] = static_cast<float>(magnitude * std::cos(angle));
      t.sin[static_cast<size_t>(p * half + i)] = static_cast<float>(magnitude * std::sin(angle));
    }
  }
  return t;
}

void apply_rope(float* x, int64_t n_rows, int n_heads, int head_dim, const RopeTable& table, bool neox,
                int64_t table_row0) {
  const int half = table.n_rot / 2;
  LMZIP_CHECK(static_cast<int64_t>(table.cos.size()) >= (table_row0 + n_rows) * half, "apply_rope: table too short");
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* c = table.cos.data() + (table_row0 + r) * half;
    const float* s = table.sin.data() + (table_row0 + r) * half;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (r * n_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        // The pair rotated by angle i: adjacent (GGML "normal") or split halves (NEOX).
        float& a = neox ? v[i] : v[2 * i];
        float& b = neox ? v[i + half] : v[2 * i + 1];
        const float a0 = a, b0 = b;
        a = a0 * c[i] - b0 * s[i];
        b = a0 * s[i] + b0 * c[i];
      }
    }
  }
}

}  // namespace lmzip
