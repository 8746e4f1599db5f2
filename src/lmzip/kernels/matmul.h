// Matrix products against weights stored in any supported type: panels of weight rows are dequantized to fp32
// and multiplied with an fp32 GEMM (OpenBLAS, single-threaded; the ThreadPool splits the output columns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lmzip/format/ggml_types.h"
#include "lmzip/kernels/thread_pool.h"

namespace lmzip {

// A 2-D weight tensor as GGUF stores it: n_out rows of n_in contiguous elements (dims [n_in, n_out]),
// in `type`, pointing into the memory-mapped file.
struct WeightView {
  std::string name;
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t n_in = 0;    // ne[0]
  int64_t n_out = 0;   // ne[1]
  size_t row_bytes = 0;

  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
  // Rows [first, first + count) as fp32 into dst[count x n_in].
  void dequantize_rows(int64_t first, int64_t count, float* dst) const;
};

// Makes a view; the caller has validated that data holds n_out rows of ggml_bytes(type, n_in) bytes.
WeightView make_weight_view(std::string name, GgmlType type, const uint8_t* data, int64_t n_in, int64_t n_out);

// y[m x w.n_out] (+)= x[m x w.n_in] * W^T, row-major with leading dimensions ldx, ldy.
// accumulate: add into y instead of overwriting it (the residual stream).
void matmul(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy, bool accumulate,
            ThreadPool& pool);

// One panel, on the calling thread: y[m x count] = x[m x n_in] * W[first:first+count]^T, using `scratch`
// for the dequantized panel (resized as needed). ldy: leading dimension of y.
void matmul_panel(const float* x, int64_t m, int64_t ldx, const WeightView& w, int64_t first, int64_t count,
                  float* y, int64_t ldy, bool accumulate, std::vector<float>& scratch);

// The deterministic path (Session, the codec): y[r][o] (+)= dot_fixed(x[r], W[o]). Each output element is
// computed wholly by one thread with a fixed-order dot product, so the result depends neither on the thread
// count nor on m (how many rows are multiplied at once). Slower than matmul (no BLAS).
void matmul_fixed(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy,
                  bool accumulate, ThreadPool& pool);

// sum_i a[i] * b[i] in a fixed order: 16 interleaved fused-multiply-add lanes, combined pairwise, then the
// tail in order. A pure function of (a, b, n).
float dot_fixed(const float* a, const float* b, int64_t n);

// out[k] = dot_fixed(a, b[k], n) for k < 4, bit for bit, faster (four rows interleaved).
void dot4_fixed(const float* a, const float* const* b, int64_t n, float* out);

// Plain fp32 GEMM on the calling thread: C[m x n] = alpha * A[m x k] * op(B) + beta * C, row-major;
// op(B) = B^T (B is [n x k]) when b_transposed, else B ([k x n]).
void sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, bool b_transposed, float beta, float* c, int64_t ldc);

}  // namespace lmzip
