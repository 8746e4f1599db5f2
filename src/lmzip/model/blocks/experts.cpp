// Sparse experts: the router scores every expert once per token, the top n_expert_used are kept, and only the
// chosen experts' matrices multiply the rows routed to them. A shared expert (Qwen2-MoE, DeepSeek) runs on every
// row, gated by sigmoid(ffn_gate_inp_shexp x) where the file has that gate.
//
// Deterministic: each row's expert outputs are computed by row-independent products and summed in rank order.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

void experts_block(const ModelConfig& c, const FfnSpec& spec, const LayerWeights& L, const float* xn, int64_t rows,
                   float* out, bool accumulate, ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd;
  const int n_expert = c.n_expert, k = c.n_expert_used;
  // Routing: probabilities = softmax(router xn) per row; the top k (ties to the lower index).
  std::vector<float> logits(static_cast<size_t>(rows * n_expert));
  project(s, xn, rows, d, L.gate_inp, logits.data(), n_expert, false, pool);
  std::vector<float> weight(static_cast<size_t>(rows * k));
  std::vector<std::vector<int64_t>> routed(static_cast<size_t>(n_expert));  // (row * k + rank) per expert
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits.data() + r * n_expert;
    const float max = *std::max_element(z, z + n_expert);
    std::vector<double> p(static_cast<size_t>(n_expert));
    double sum = 0;
    for (int e = 0; e < n_expert; ++e) sum += (p[static_cast<size_t>(e)] = std::exp(static_cast<double>(z[e] - max)));
    std::vector<int> order(static_cast<size_t>(n_expert));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
    double kept = 0;
    for (int j = 0; j < k; ++j) kept += p[static_cast<size_t>(order[static_cast<size_t>(j)])];
    for (int j = 0; j < k; ++j) {
      const int e = order[static_cast<size_t>(j)];
      const double w = p[static_cast<size_t>(e)] / (spec.renormalize ? kept : sum);
      weight[static_cast<size_t>(r * k + j)] = static_cast<float>(w * spec.expert_weight_scale);
      routed[static_cast<size_t>(e)].push_back(r * k + j);
    }
  }
  // Each expert on the rows routed to it: y[(row, rank)] = expert(xn[row]).
  std::vector<float> y(static_cast<size_t>(rows * k * d));
  std::vector<float> xe, ye;
  for (int e = 0; e < n_expert; ++e) {
    const auto& slots = routed[static_cast<size_t>(e)];
    if (slots.empty()) continue;
    const int64_t m = static_cast<int64_t>(slots.size());
    xe.resize(static_cast<size_t>(m * d));
    ye.resize(static_cast<size_t>(m * d));
    for (int64_t i = 0; i < m; ++i) std::copy_n(xn + (slots[static_cast<size_t>(i)] / k) * d, d, xe.data() + i * d);
    const auto ue = static_cast<size_t>(e);
    gated_ffn(spec.act, L.gate_exp[ue], L.up_exp[ue], L.down_exp[ue], xe.data(), m, d, ye.data(), false, s, pool);
    for (int64_t i = 0; i < m; ++i) std::copy_n(ye.data() + i * d, d, y.data() + slots[static_cast<size_t>(i)] * d);
  }
  // The shared expert on every row, with its sigmoid gate.
  std::vector<float> shared;
  if (spec.shared_expert) {
    shared.resize(static_cast<size_t>(rows * d));
    gated_ffn(spec.act, L.gate_shexp, L.up_shexp, L.down_shexp, xn, rows, d, shared.data(), false, s, pool);
    if (spec.shared_expert_gated) {
      std::vector<float> g(static_cast<size_t>(rows));
      project(s, xn, rows, d, L.gate_inp_shexp, g.data(), 1, false, pool);
      for (int64_t r = 0; r < rows; ++r) {
        const float gate = 1.0f / (1.0f + std::exp(-g[static_cast<size_t>(r)]));
        for (int64_t i = 0; i < d; ++i) shared[static_cast<size_t>(r * d + i)] *= gate;
      }
    }
  }
  // out (+)= sum over ranks of weight * y, then the shared expert.
  for (int64_t r = 0; r < rows; ++r) {
    float* o = out + r * d;
    if (!accumulate) std::fill(o, o + d, 0.0f);
    for (int j = 0; j < k; ++j) {
      const float w = weight[static_cast<size_t>(r * k + j)];
      const float* yr = y.data() + (r * k + j) * d;
      for (int64_t i = 0; i < d; ++i) o[i] += w * yr[i];
    }
    if (!shared.empty()) {
      for (int64_t i = 0; i < d; ++i) o[i] += shared[static_cast<size_t>(r * d + i)];
    }
  }
}

}  // namespace lmzip
