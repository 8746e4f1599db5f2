// Row-wise operations of the forward pass on fp32 activations (row-major [n_rows x n] buffers).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"

namespace lmzip {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for each of n_rows rows of n elements (sum of squares in
// double). out may equal x.
void rms_norm(const float* x, float* out, int64_t n_rows, int64_t n, std::span<const float> weight, float eps,
              ThreadPool& pool);

// x[r] += bias for each row.
void add_bias(float* x, int64_t n_rows, int64_t n, std::span<const float> bias);

// gate[i] = silu(gate[i]) * up[i] = gate / (1 + exp(-gate)) * up, over n_rows x n.
void swiglu(float* gate, const float* up, int64_t n_rows, int64_t n, ThreadPool& pool);

// out[r] = (x[r] - mean) / sqrt(var + eps) * weight (+ bias when non-empty), moments in double. out may equal x.
void layer_norm(const float* x, float* out, int64_t n_rows, int64_t n, std::span<const float> weight,
                std::span<const float> bias, float eps, ThreadPool& pool);

// GELU, exactly (no tables): tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), or erf form.
float gelu_tanh(float x);
float gelu_erf(float x);

// Rotary position embedding tables: for position p and pair i < n_rot/2, angle = p * base^(-2i/n_rot) / factor[i] * freq_scale
// (factor from rope_freqs.weight, or 1). Computed in double; cos/sin stored as [n_pos x n_rot/2], both multiplied
// by magnitude (Phi-3's rope.scaling.attn_factor; 1 otherwise).
struct RopeTable {
  int n_rot = 0;
  std::vector<float> cos, sin;
};
// YaRN (n_ctx_orig > 0), as ggml's rope_yarn computes it: pair i's angle blends the interpolated angle (times
// freq_scale) and the extrapolated one (without it), theta = interp (1 - r_i) + extrap r_i, with the ramp
// r_i = ext_factor (1 - clamp((i - low) / max(0.001, high - low), 0, 1)), low = max(0, floor(corr(beta_fast))),
// high = min(n_rot - 1, ceil(corr(beta_slow))), corr(beta) = n_rot ln(n_ctx_orig / (2 pi beta)) / (2 ln base).
// ggml's own YaRN magnitude (1 + 0.1 ln(1 / freq_scale)) is not applied: pass it in `magnitude` if wanted
// (llama.cpp's DeepSeek-V2 cancels it).
struct RopeYarn {
  int64_t n_ctx_orig = 0;
  float beta_fast = 32, beta_slow = 1, ext_factor = 1;
};
RopeTable make_rope_table(int64_t first_position, int64_t n_pos, int n_rot, float freq_base,
                          std::span<const float> freq_factors, float freq_scale = 1.0f, float magnitude = 1.0f,
                          const RopeYarn& yarn = {});

// Rotates the first n_rot dimensions of each head of each row in place. x: [n_rows x n_heads * head_dim];
// row r has the table's position table_row0 + r. neox: pairs (i, i + n_rot/2); otherwise adjacent pairs (2i, 2i+1).
void apply_rope(float* x, int64_t n_rows, int n_heads, int head_dim, const RopeTable& table, bool neox,
                int64_t table_row0 = 0);

}  // namespace lmzip
