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

// Softmax of each score row in place over its visible keys; the masked tail becomes 0.
//   scores: [n_rows x n_keys]; row r sees keys [0, first_valid + r]
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

struct BlockItem {
  size_t run;
  int64_t q0, rows;  // query rows [q0, q0 + rows) of the run
  int64_t cost;      // keys the block's last row sees
};

}  // namespace

void attention_runs(const float* q, std::span<const AttentionRun> runs, const float* k, const float* v, float* out,
                    const AttentionShape& shape, ThreadPool& pool) {
  LMZIP_CHECK(shape.n_head % shape.n_head_kv == 0, "attention: n_head not a multiple of n_head_kv");
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  const int group = shape.n_head / shape.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<BlockItem> blocks;
  for (size_t r = 0; r < runs.size(); ++r) {
    const AttentionRun& run = runs[r];
    LMZIP_CHECK(run.prefix_begin <= run.prefix_end && run.own_begin <= run.own_first, "attention: bad run");
    for (int64_t q0 = 0; q0 < run.n_rows; q0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, run.n_rows - q0);
      blocks.push_back({r, q0, rows, run.prefix_end - run.prefix_begin + run.own_first + q0 + rows - run.own_begin});
    }
  }
  // The costliest blocks first, for dynamic balancing.
  std::stable_sort(blocks.begin(), blocks.end(), [](const BlockItem& a, const BlockItem& b) { return a.cost > b.cost; });
  pool.parallel_items(blocks.size() * static_cast<size_t>(shape.n_head), [&](size_t item) {
    const BlockItem& b = blocks[item / static_cast<size_t>(shape.n_head)];
    const int head = static_cast<int>(item % static_cast<size_t>(shape.n_head));
    const AttentionRun& run = runs[b.run];
    const int64_t n_prefix = run.prefix_end - run.prefix_begin;
    const int64_t own_skip = run.own_first - run.own_begin;      // own keys before the run's first row
    const int64_t n_own = own_skip + b.q0 + b.rows;               // own keys the block's last row sees
    const int64_t n_keys = n_prefix + n_own;
    const float* qh = q + (run.row0 + b.q0) * q_stride + head * hd;
    const int64_t kv_col = (head / group) * hd;
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(b.rows * n_keys));
    // scores[rows x n_keys] = scale * Q_blk [K_prefix; K_own]^T
    if (n_prefix > 0) {
      sgemm(b.rows, n_prefix, hd, scale, qh, q_stride, k + run.prefix_begin * kv_stride + kv_col, kv_stride,
            /*b_transposed=*/true, 0.0f, scores.data(), n_keys);
    }
    sgemm(b.rows, n_own, hd, scale, qh, q_stride, k + run.own_begin * kv_stride + kv_col, kv_stride,
          /*b_transposed=*/true, 0.0f, scores.data() + n_prefix, n_keys);
    causal_softmax(scores.data(), b.rows, n_keys, n_prefix + own_skip + b.q0);
    // out_blk[rows x hd] = P_prefix V_prefix + P_own V_own
    float* o = out + (run.row0 + b.q0) * q_stride + head * hd;
    float beta = 0.0f;
    if (n_prefix > 0) {
      sgemm(b.rows, hd, n_prefix, 1.0f, scores.data(), n_keys, v + run.prefix_begin * kv_stride + kv_col, kv_stride,
            /*b_transposed=*/false, 0.0f, o, q_stride);
      beta = 1.0f;
    }
    sgemm(b.rows, hd, n_own, 1.0f, scores.data() + n_prefix, n_keys, v + run.own_begin * kv_stride + kv_col,
          kv_stride, /*b_transposed=*/false, beta, o, q_stride);
  });
}

void causal_attention(const float* q, int64_t n_query, int64_t first_position, const float* k, const float* v,
                      float* out, const AttentionShape& shape, ThreadPool& pool) {
  const AttentionRun run{.row0 = 0, .n_rows = n_query, .own_begin = 0, .own_first = first_position};
  attention_runs(q, std::span<const AttentionRun>(&run, 1), k, v, out, shape, pool);
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
    int64_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
      const float* keys[4] = {kh + j * kv_stride, kh + (j + 1) * kv_stride, kh + (j + 2) * kv_stride,
                              kh + (j + 3) * kv_stride};
      float d[4];
      dot4_fixed(qi, keys, hd, d);
      for (int t = 0; t < 4; ++t) p[static_cast<size_t>(j + t)] = d[t] * scale;
    }
    for (; j < n_keys; ++j) p[static_cast<size_t>(j)] = dot_fixed(qi, kh + j * kv_stride, hd) * scale;
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
