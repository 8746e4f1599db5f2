// Norms and projections every block uses.
#include "lmzip/core/error.h"
#include "lmzip/kernels/matmul.h"
#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

void project(const ForwardState& s, const float* x, int64_t n, int64_t ldx, const WeightView& w, float* y,
             int64_t ldy, bool accumulate, ThreadPool& pool) {
  if (n == 0) return;
  if (s.deterministic) {
    matmul_fixed(x, n, ldx, w, y, ldy, accumulate, pool);
  } else {
    matmul(x, n, ldx, w, y, ldy, accumulate, pool);
  }
}

void norm_rows(NormKind kind, const float* x, float* out, int64_t rows, int64_t d, std::span<const float> weight,
               std::span<const float> bias, float eps, ThreadPool& pool) {
  switch (kind) {
    case NormKind::Rms:
      rms_norm(x, out, rows, d, weight, eps, pool);
      if (!bias.empty()) add_bias(out, rows, d, bias);
      return;
    case NormKind::Layer: layer_norm(x, out, rows, d, weight, bias, eps, pool); return;
    case NormKind::None:
      if (out != x) std::copy_n(x, rows * d, out);
      return;
  }
}

}  // namespace lmzip
