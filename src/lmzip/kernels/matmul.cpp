#include "lmzip/kernels/matmul.h"

#include <cblas.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <mutex>

#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"
#include "lmzip/kernels/reduce.h"

namespace lmzip {
namespace {

// OpenBLAS runs single-threaded: lmzip splits the work over its own pool (measured faster on this machine than
// OpenBLAS's threads for the panel shapes of a forward pass, and it keeps thread counts in one place).
void init_blas_once() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Each sgemm call repacks the whole activation matrix x, so fewer, wider panels are faster: measured on a
// 1900 x 896 x 4864 product, one panel per thread ran at 85 GFLOP/s per core against 72 for 64-row panels.
// A panel's dequantized copy is capped at kMaxPanelFloats (32 MB) so that 7B-sized matrices stay bounded.
constexpr int64_t kMaxPanelFloats = int64_t{8} << 20;

}  // namespace

void WeightView::dequantize_rows(int64_t first, int64_t count, float* dst) const {
  LMZIP_CHECK(first >= 0 && count >= 0 && first + count <= n_out, "dequantize_rows out of range: " + name);
  dequantize_row(type, row(first), dst, static_cast<size_t>(count * n_in));
}

WeightView make_weight_view(std::string name, GgmlType type, const uint8_t* data, int64_t n_in, int64_t n_out) {
  WeightView w;
  w.name = std::move(name);
  w.type = type;
  w.data = data;
  w.n_in = n_in;
  w.n_out = n_out;
  auto bytes = ggml_bytes(type, static_cast<uint64_t>(n_in));
  LMZIP_CHECK(bytes.has_value(), "make_weight_view: row length not a multiple of the block size: " + w.name);
  w.row_bytes = *bytes;
  return w;
}

void sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, bool b_transposed, float beta, float* c, int64_t ldc) {
  init_blas_once();
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void matmul_panel(const float* x, int64_t m, int64_t ldx, const WeightView& w, int64_t first, int64_t count,
                  float* y, int64_t ldy, bool accumulate, std::vector<float>& scratch) {
  const float* panel;
  if (w.type == GgmlType::F32) {
    panel = reinterpret_cast<const float*>(w.row(first));  // used in place: no copy
  } else {
    scratch.resize(static_cast<size_t>(count * w.n_in));
    w.dequantize_rows(first, count, scratch.data());
    panel = scratch.data();
  }
  sgemm(m, count, w.n_in, 1.0f, x, ldx, panel, w.n_in, /*b_transposed=*/true, accumulate ? 1.0f : 0.0f, y, ldy);
}

void matmul(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy, bool accumulate,
            ThreadPool& pool) {
  // Panels of output columns: one per thread where the size cap allows, else a multiple of the thread count,
  // so that no thread idles at the end.
  const int64_t threads = pool.size();
  const int64_t max_rows = std::max<int64_t>(16, kMaxPanelFloats / w.n_in);
  int64_t n_panels = (w.n_out + max_rows - 1) / max_rows;
  n_panels = (n_panels + threads - 1) / threads * threads;
  int64_t panel_rows = (w.n_out + n_panels - 1) / n_panels;
  panel_rows = (panel_rows + 15) / 16 * 16;  // whole SIMD tiles
  n_panels = (w.n_out + panel_rows - 1) / panel_rows;
  pool.parallel_items(static_cast<size_t>(n_panels), [&](size_t p) {
    thread_local std::vector<float> scratch;
    const int64_t first = static_cast<int64_t>(p) * panel_rows;
    const int64_t count = std::min(panel_rows, w.n_out - first);
    matmul_panel(x, m, ldx, w, first, count, y + first, ldy, accumulate, scratch);
  });
}

float dot_fixed(const float* a, const float* b, int64_t n) {
  float lane[kReduceLanes] = {};
  int64_t i = 0;
  for (; i + kReduceLanes <= n; i += kReduceLanes) {
    for (int j = 0; j < kReduceLanes; ++j) lane[j] = std::fma(a[i + j], b[i + j], lane[j]);
  }
  float tail = 0;
  for (; i < n; ++i) tail = std::fma(a[i], b[i], tail);
  return combine_lanes_sum(lane) + tail;
}

namespace {

#if defined(__AVX512F__)
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
  return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif
inline float to_float(float x) { return x; }
inline float to_float(uint16_t h) { return fp16_to_float(h); }

// out[k] = dot_fixed(a, b[k], n) for four rows at once, bit for bit: each row keeps dot_fixed's per-lane FMA
// sequence, tail and lane combination; interleaving four rows only hides the FMA latency and shares the loads
// of a. Row is float, or uint16_t fp16 bits converted exactly on load (no dequantized copy of the weights).
template <typename Row>
void dot4_fixed(const float* a, const Row* const* b, int64_t n, float* out) {
  float lane[4][kReduceLanes];
  int64_t i = 0;
#if defined(__AVX512F__)
  static_assert(kReduceLanes == 16);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (; i + kReduceLanes <= n; i += kReduceLanes) {
    const __m512 va = _mm512_loadu_ps(a + i);
    for (int k = 0; k < 4; ++k) acc[k] = _mm512_fmadd_ps(va, load16(b[k] + i), acc[k]);
  }
  for (int k = 0; k < 4; ++k) _mm512_storeu_ps(lane[k], acc[k]);
#else
  for (int k = 0; k < 4; ++k) std::fill(lane[k], lane[k] + kReduceLanes, 0.0f);
  for (; i + kReduceLanes <= n; i += kReduceLanes) {
    for (int k = 0; k < 4; ++k) {
      for (int j = 0; j < kReduceLanes; ++j) lane[k][j] = std::fma(a[i + j], to_float(b[k][i + j]), lane[k][j]);
    }
  }
#endif
  for (int k = 0; k < 4; ++k) {
    float tail = 0;
    for (int64_t t = i; t < n; ++t) tail = std::fma(a[t], to_float(b[k][t]), tail);
    out[k] = combine_lanes_sum(lane[k]) + tail;
  }
}

// y[r][first + o] (+)= dot_fixed(x[r], rows[o]) for o < count, four rows at a time.
template <typename Row>
void fixed_panel(const float* x, int64_t m, int64_t ldx, const Row* rows, int64_t row_stride, int64_t n_in,
                 int64_t first, int64_t count, float* y, int64_t ldy, bool accumulate) {
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t o = 0; o < count; o += 4) {
      const Row* b[4];
      for (int k = 0; k < 4; ++k) b[k] = rows + std::min(o + k, count - 1) * row_stride;  // tail: repeat the last
      float d[4];
      dot4_fixed(x + r * ldx, b, n_in, d);
      for (int k = 0; k < 4 && o + k < count; ++k) {
        float& out = y[r * ldy + first + o + k];
        out = accumulate ? out + d[k] : d[k];
      }
    }
  }
}

}  // namespace

void dot4_fixed(const float* a, const float* const* b, int64_t n, float* out) { dot4_fixed<float>(a, b, n, out); }

void matmul_fixed(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy,
                  bool accumulate, ThreadPool& pool) {
  constexpr int64_t kFixedPanel = 64;  // weight rows per work item (dequantized at once for quantized types)
  const int64_t n_panels = (w.n_out + kFixedPanel - 1) / kFixedPanel;
  pool.parallel_items(static_cast<size_t>(n_panels), [&](size_t p) {
    const int64_t first = static_cast<int64_t>(p) * kFixedPanel, count = std::min(kFixedPanel, w.n_out - first);
    if (w.type == GgmlType::F32) {
      fixed_panel(x, m, ldx, reinterpret_cast<const float*>(w.row(first)), w.n_in, w.n_in, first, count, y, ldy,
                  accumulate);
    } else if (w.type == GgmlType::F16) {
      // fp16 rows are 2-byte aligned in GGUF (tensor data is 32-byte aligned, rows are whole elements).
      fixed_panel(x, m, ldx, reinterpret_cast<const uint16_t*>(w.row(first)), w.n_in, w.n_in, first, count, y, ldy,
                  accumulate);
    } else {
      thread_local std::vector<float> panel;
      panel.resize(static_cast<size_t>(count * w.n_in));
      w.dequantize_rows(first, count, panel.data());
      fixed_panel(x, m, ldx, panel.data(), w.n_in, w.n_in, first, count, y, ldy, accumulate);
    }
  });
}

}  // namespace lmzip
