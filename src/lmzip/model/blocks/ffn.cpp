// Dense feed-forward blocks: gated (SwiGLU, GeGLU; Phi-3's fused gate|up) and the plain GELU MLP with biases.
#include <cmath>

#include "lmzip/kernels/fast_math.h"
#include "lmzip/model/blocks/blocks.h"

namespace lmzip {
namespace {

float act_one(Activation act, float x) {
  switch (act) {
    case Activation::Silu: return x / (1.0f + exp_approx(-x));
    case Activation::GeluTanh: return gelu_tanh(x);
    case Activation::GeluErf: return gelu_erf(x);
  }
  return x;
}

}  // namespace

void activate(Activation act, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = act_one(act, x[i]);
}

void gated_activate(Activation act, float* gate, const float* up, int64_t rows, int64_t n, int64_t ld_up,
                    ThreadPool& pool) {
  if (act == Activation::Silu && ld_up == n) {
    swiglu(gate, up, rows, n, pool);
    return;
  }
  pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      float* g = gate + r * static_cast<size_t>(n);
      const float* u = up + r * static_cast<size_t>(ld_up);
      for (int64_t i = 0; i < n; ++i) g[i] = act_one(act, g[i]) * u[i];
    }
  });
}

void gated_ffn(Activation act, const WeightView& gate, const WeightView& up, const WeightView& down, const float* xn,
               int64_t rows, int64_t d, float* out, bool accumulate, ForwardState& s, ThreadPool& pool) {
  const int64_t ff = gate.n_out;
  project(s, xn, rows, d, gate, s.gate.data(), ff, false, pool);  // gate[rows x ff]
  project(s, xn, rows, d, up, s.up.data(), ff, false, pool);      // up[rows x ff]
  gated_activate(act, s.gate.data(), s.up.data(), rows, ff, ff, pool);
  project(s, s.gate.data(), rows, ff, down, out, d, accumulate, pool);
}

void ffn_block(const ModelConfig& c, const FfnSpec& spec, const LayerWeights& L, const float* xn, int64_t rows,
               float* out, bool accumulate, ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd;
  if (spec.kind == FfnKind::Plain) {
    // out (+)= W_down act(W_up xn + b_up) + b_down
    const int64_t ff = L.w_up.n_out;
    project(s, xn, rows, d, L.w_up, s.gate.data(), ff, false, pool);
    if (!L.b_up.empty()) add_bias(s.gate.data(), rows, ff, L.b_up);
    pool.parallel_for(static_cast<size_t>(rows), [&](size_t begin, size_t end) {
      activate(spec.act, s.gate.data() + begin * static_cast<size_t>(ff), static_cast<int64_t>(end - begin) * ff);
    });
    project(s, s.gate.data(), rows, ff, L.w_down, out, d, accumulate, pool);
    if (!L.b_down.empty()) add_bias(out, rows, d, L.b_down);
    return;
  }
  if (spec.fused_gate_up) {
    // up[rows x 2 ff] = [gate | up]; the activated gate goes to s.gate.
    const int64_t ff = L.w_down.n_in;
    project(s, xn, rows, d, L.w_up, s.up.data(), 2 * ff, false, pool);
    for (int64_t r = 0; r < rows; ++r) std::copy_n(s.up.data() + r * 2 * ff, ff, s.gate.data() + r * ff);
    gated_activate(spec.act, s.gate.data(), s.up.data() + ff, rows, ff, 2 * ff, pool);
    project(s, s.gate.data(), rows, ff, L.w_down, out, d, accumulate, pool);
    return;
  }
  gated_ffn(spec.act, L.w_gate, L.w_up, L.w_down, xn, rows, d, out, accumulate, s, pool);
}

}  // namespace lmzip
