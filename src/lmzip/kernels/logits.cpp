#include "lmzip/kernels/logits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/kernels/reduce.h"

namespace lmzip {
namespace {

// Vocabulary rows dequantized and multiplied at once: wide, because each sgemm call repacks the hidden rows.
constexpr int64_t kVocabPanel = 1024;
constexpr int64_t kRowBlock = 512;  // scored positions per GEMM: bounds the logits scratch to 512 x 1024 (2 MB)

}  // namespace

void softcap_logits(float* z, int64_t n, float softcap) {
  if (softcap <= 0) return;
  const float inv = 1.0f / softcap;
  for (int64_t i = 0; i < n; ++i) z[i] = softcap * std::tanh(z[i] * inv);
}

void output_nll(const float* h, int64_t m, const WeightView& w, std::span<const int32_t> targets, double* nll,
                ThreadPool& pool, float softcap) {
  LMZIP_CHECK(static_cast<int64_t>(targets.size()) == m, "output_nll: one target per row");
  const int64_t n_vocab = w.n_out;
  const int64_t n_panels = (n_vocab + kVocabPanel - 1) / kVocabPanel;
  // Per (panel, row): the panel's max logit and sum of exp(logit - max).
  std::vector<float> panel_max(static_cast<size_t>(n_panels * m));
  std::vector<double> panel_sum(panel_max.size());
  std::vector<float> target_logit(static_cast<size_t>(m));  // each written by the one panel holding the target
  pool.parallel_items(static_cast<size_t>(n_panels), [&](size_t p) {
    thread_local std::vector<float> weights, logits;
    const int64_t v0 = static_cast<int64_t>(p) * kVocabPanel, nv = std::min(kVocabPanel, n_vocab - v0);
    const float* panel = nullptr;
    if (w.type == GgmlType::F32) {
      panel = reinterpret_cast<const float*>(w.row(v0));
    } else {
      weights.resize(static_cast<size_t>(nv * w.n_in));
      w.dequantize_rows(v0, nv, weights.data());
      panel = weights.data();
    }
    logits.resize(static_cast<size_t>(std::min(kRowBlock, m) * nv));
    for (int64_t r0 = 0; r0 < m; r0 += kRowBlock) {
      const int64_t rows = std::min(kRowBlock, m - r0);
      // logits[rows x nv] = h[r0 : r0+rows] panel^T
      sgemm(rows, nv, w.n_in, 1.0f, h + r0 * w.n_in, w.n_in, panel, w.n_in, true, 0.0f, logits.data(), nv);
      for (int64_t r = 0; r < rows; ++r) {
        float* l = logits.data() + r * nv;
        softcap_logits(l, nv, softcap);
        const int64_t t = targets[static_cast<size_t>(r0 + r)];
        if (t >= v0 && t < v0 + nv) target_logit[static_cast<size_t>(r0 + r)] = l[t - v0];
        const float max = max_of(l, nv);
        const float sum = exp_shift_sum(l, nv, max);  // overwrites the logits with their exp
        const size_t at = static_cast<size_t>(static_cast<int64_t>(p) * m + r0 + r);
        panel_max[at] = max;
        panel_sum[at] = sum;
      }
    }
  });
  // Merge the panels in vocabulary order: logsumexp = M + ln(sum_p sum_p * exp(max_p - M)).
  for (int64_t r = 0; r < m; ++r) {
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t p = 0; p < n_panels; ++p) max = std::max(max, static_cast<double>(panel_max[p * m + r]));
    double sum = 0;
    for (int64_t p = 0; p < n_panels; ++p) sum += panel_sum[p * m + r] * std::exp(panel_max[p * m + r] - max);
    nll[r] = max + std::log(sum) - target_logit[static_cast<size_t>(r)];
  }
}

}  // namespace lmzip
