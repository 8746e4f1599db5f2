#include "lmzip/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/kernels/reduce.h"
#include "lmzip/kernels/matmul.h"

namespace lmzip {
namespace {

constexpr int64_t kQueryBlock = 128;

// Softmax of each score row in place over its causal prefix; the masked tail becomes 0.
//   scores: [n_rows x n_keys]; row r may attend keys [0, first_valid + r]
void causal_softmax(float* scores, int64_t n_rows, int64_t n_keys, int64_t first_valid) {
  for (int64_t r = 0; r < n_rows; ++r) {
    float* s = scores + r * n_keys;
    const int64_t n_valid = first_valid + r + 1;
    const float sum = exp_shift_sum(s, n_valid, max_of(s, n_valid));
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n_valid; ++j) s[j] *= inv;
    std::fill(s + n_valid, s + n_keys, 0.0f);
  }
}

}  // namespace

void causal_attention(const float* q, int64_t n_query, int64_t first_position, const float* k, const float* v,
                      float* out, const AttentionShape& shape, ThreadPool& pool) {
  LMZIP_CHECK(shape.n_head % shape.n_head_kv == 0, "attention: n_head not a multiple of n_head_kv");
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  const int group = shape.n_head / shape.n_head_kv;
  const int64_t n_blocks = (n_query + kQueryBlock - 1) / kQueryBlock;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Items ordered by decreasing cost (last query blocks attend the most keys) for dynamic balancing.
  pool.parallel_items(static_cast<size_t>(n_blocks * shape.n_head), [&](size_t item) {
    const int64_t block = n_blocks - 1 - static_cast<int64_t>(item) / shape.n_head;
    const int head = static_cast<int>(static_cast<int64_t>(item) % shape.n_head);
    const int64_t q0 = block * kQueryBlock, rows = std::min(kQueryBlock, n_query - q0);
    const int64_t n_keys = first_position + q0 + rows;  // keys visible to the block's last query
    const float* qh = q + q0 * q_stride + head * hd;
    const float* kh = k + (head / group) * hd;
    const float* vh = v + (head / group) * hd;
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(rows * n_keys));
    // scores[rows x n_keys] = scale * Q_blk[rows x hd] K[n_keys x hd]^T
    sgemm(rows, n_keys, hd, scale, qh, q_stride, kh, kv_stride, /*b_transposed=*/true, 0.0f, scores.data(), n_keys);
    causal_softmax(scores.data(), rows, n_keys, first_position + q0);
    // out_blk[rows x hd] = P[rows x n_keys] V[n_keys x hd]
    sgemm(rows, hd, n_keys, 1.0f, scores.data(), n_keys, vh, kv_stride, /*b_transposed=*/false, 0.0f,
          out + q0 * q_stride + head * hd, q_stride);
  });
}

void causal_attention_fixed(const float* q, int64_t n_query, int64_t first_position, const float* k,
                            const float* v, float* out, const AttentionShape& shape, ThreadPool& pool) {
  LMZIP_CHECK(shape.n_head % shape.n_head_kv == 0, "attention: n_head not a multiple of n_head_kv");
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  const int group = shape.n_head / shape.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  pool.parallel_items(static_cast<size_t>(n_query * shape.n_head), [&](size_t item) {
    const int64_t i = static_cast<int64_t>(item) / shape.n_head;
    const int head = static_cast<int>(static_cast<int64_t>(item) % shape.n_head);
    const int64_t n_keys = first_position + i + 1;
    const float* qi = q + i * q_stride + head * hd;
    const float* kh = k + (head / group) * hd;
    const float* vh = v + (head / group) * hd;
    thread_local std::vector<float> p;
    p.resize(static_cast<size_t>(n_keys));
    for (int64_t j = 0; j < n_keys; ++j) p[static_cast<size_t>(j)] = dot_fixed(qi, kh + j * kv_stride, hd) * scale;
    const float inv = 1.0f / exp_shift_sum(p.data(), n_keys, max_of(p.data(), n_keys));
    float* o = out + i * q_stride + head * hd;
    std::fill(o, o + hd, 0.0f);
    for (int64_t j = 0; j < n_keys; ++j) {
      const float pj = p[static_cast<size_t>(j)] * inv;
      const float* vj = vh + j * kv_stride;
      for (int64_t c = 0; c < hd; ++c) o[c] = std::fma(pj, vj[c], o[c]);
    }
  });
}

}  // namespace lmzip
