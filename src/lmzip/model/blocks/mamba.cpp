// The Mamba-1 mixer (Gu & Dao 2023), as the reference implementation and llama.cpp's GGUF layout define it:
//   [x | z] = W_in xn                                  [n x 2 d_inner]
//   x = silu(causal_conv1d(x) + conv_b)                 per channel, d_conv taps, tap d_conv-1 = current token
//   [dt_in | B | C] = W_x x                             [n x (dt_rank + 2 d_state)]; Jamba: each RMSNormed
//   dt = softplus(W_dt dt_in + dt_b)                    [n x d_inner]
//   h = h * exp(dt A) + dt B x;  y = h C + D x          per channel, the recurrent state h [d_inner x d_state]
//   out = W_out (y * silu(z))
// The conv window and h of each sequence live in the state (ForwardState::conv_state / ssm_state), so a
// sequence continues across passes; a chunk at position 0 starts from zeros.
#include <algorithm>
#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/fast_math.h"
#include "lmzip/model/blocks/blocks.h"

namespace lmzip {
namespace {

float silu(float v) { return v / (1.0f + std::exp(-v)); }
float softplus(float v) { return v <= 20.0f ? std::log1p(std::exp(v)) : v; }

// x[0..n) = x / sqrt(mean(x^2) + eps) * w, the sum of squares in double (as rms_norm).
void rms_norm_segment(float* x, int64_t n, const std::vector<float>& w, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * scale * w[static_cast<size_t>(i)];
}

}  // namespace

void mamba_block(const ModelConfig& c, const LayerWeights& L, int layer, const float* xn, const PassRows& pass,
                 float* out, bool accumulate, ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd, di = c.ssm_d_inner, ds = c.ssm_d_state, dc = c.ssm_d_conv, dt_rank = c.ssm_dt_rank;
  const int64_t xp = dt_rank + 2 * ds, n = pass.n;
  float* xz = s.ssm_xz.data();
  project(s, xn, n, d, L.ssm_in, xz, 2 * di, false, pool);  // [x | z]
  float* conv_all = s.conv_state[static_cast<size_t>(layer)].data();
  float* ssm_all = s.ssm_state[static_cast<size_t>(layer)].data();
  // Causal conv per chunk (its own state), parallel over channels.
  int64_t row0 = 0;
  for (const SequenceChunk& ch : pass.chunks) {
    LMZIP_CHECK(ch.state >= 0 && ch.state < s.n_states && ch.prefix_end == ch.prefix_begin,
                "mamba: chunk state out of range, or a shared prefix on a recurrent model");
    float* conv = conv_all + ch.state * (dc - 1) * di;  // [(d_conv - 1) x d_inner]: the previous inputs
    float* h_all = ssm_all + ch.state * di * ds;
    if (ch.first_pos == 0) {
      std::fill(conv, conv + (dc - 1) * di, 0.0f);
      std::fill(h_all, h_all + di * ds, 0.0f);
    }
    pool.parallel_for(static_cast<size_t>(di), [&](size_t begin, size_t end) {
      for (size_t ch_i = begin; ch_i < end; ++ch_i) {
        const float* w = L.ssm_conv1d.data() + ch_i * static_cast<size_t>(dc);
        for (int64_t t = 0; t < ch.n_tokens; ++t) {
          const int64_t r = row0 + t;
          const float cur = xz[r * 2 * di + static_cast<int64_t>(ch_i)];
          float acc = L.ssm_conv1d_b[ch_i];
          for (int64_t tap = 0; tap < dc - 1; ++tap) acc += w[tap] * conv[tap * di + static_cast<int64_t>(ch_i)];
          acc += w[dc - 1] * cur;
          for (int64_t tap = 0; tap + 1 < dc - 1; ++tap) {
            conv[tap * di + static_cast<int64_t>(ch_i)] = conv[(tap + 1) * di + static_cast<int64_t>(ch_i)];
          }
          if (dc > 1) conv[(dc - 2) * di + static_cast<int64_t>(ch_i)] = cur;
          s.ssm_x[static_cast<size_t>(r * di) + ch_i] = silu(acc);
        }
      }
    });
    row0 += ch.n_tokens;
  }
  // [dt_in | B | C] and dt for every row at once.
  float* dbc = s.ssm_dbc.data();
  project(s, s.ssm_x.data(), n, di, L.ssm_x, dbc, xp, false, pool);
  if (!L.ssm_dt_norm.empty()) {
    // Jamba: RMSNorm on dt_in, B and C of each row (each segment with its weight).
    for (int64_t r = 0; r < n; ++r) {
      float* row = dbc + r * xp;
      rms_norm_segment(row, dt_rank, L.ssm_dt_norm, c.norm_eps);
      rms_norm_segment(row + dt_rank, ds, L.ssm_b_norm, c.norm_eps);
      rms_norm_segment(row + dt_rank + ds, ds, L.ssm_c_norm, c.norm_eps);
    }
  }
  float* dt = s.ssm_dt.data();
  project(s, dbc, n, xp, L.ssm_dt, dt, di, false, pool);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < di; ++i) dt[r * di + i] = softplus(dt[r * di + i] + L.ssm_dt_b[static_cast<size_t>(i)]);
  }
  // The selective scan per chunk, parallel over channels; y gated by silu(z).
  row0 = 0;
  for (const SequenceChunk& ch : pass.chunks) {
    float* h_all = ssm_all + ch.state * di * ds;
    pool.parallel_for(static_cast<size_t>(di), [&](size_t begin, size_t end) {
      for (size_t ch_i = begin; ch_i < end; ++ch_i) {
        float* h = h_all + ch_i * static_cast<size_t>(ds);
        const float* a = L.ssm_a.data() + ch_i * static_cast<size_t>(ds);
        const float d_skip = L.ssm_d[ch_i];
        for (int64_t t = 0; t < ch.n_tokens; ++t) {
          const int64_t r = row0 + t;
          const float x = s.ssm_x[static_cast<size_t>(r * di) + ch_i];
          const float delta = dt[static_cast<size_t>(r * di) + ch_i];
          const float* B = dbc + r * xp + dt_rank;
          const float* C = B + ds;
          float y = 0;
          for (int64_t j = 0; j < ds; ++j) {
            h[j] = h[j] * std::exp(delta * a[j]) + delta * B[j] * x;
            y += h[j] * C[j];
          }
          y += d_skip * x;
          s.ssm_y[static_cast<size_t>(r * di) + ch_i] = y * silu(xz[r * 2 * di + di + static_cast<int64_t>(ch_i)]);
        }
      }
    });
    row0 += ch.n_tokens;
  }
  project(s, s.ssm_y.data(), n, di, L.ssm_out, out, d, accumulate, pool);
}

}  // namespace lmzip
