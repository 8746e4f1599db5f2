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

// s = cap * tanh(s / cap) (Gemma 2's attention soft-capping); nothing for cap <= 0.
void softcap_scores(float* s, int64_t n, float cap) {
  if (cap <= 0) return;
  const float inv = 1.0f / cap;
  for (int64_t j = 0; j < n; ++j) s[j] = cap * std::tanh(s[j] * inv);
}

float score_scale(const AttentionShape& shape) {
  return shape.scale > 0 ? shape.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
}

// The first visible key of a row that sees keys [0, n_valid): all of them, or the last `window`.
int64_t first_visible(int64_t n_valid, int64_t window) {
  return window > 0 ? std::max<int64_t>(0, n_valid - window) : 0;
}

// Softmax of each score row in place over its visible keys; the masked keys become 0.
//   scores: [n_rows x n_keys]; row r sees keys [first_visible, first_valid + r]
void causal_softmax(float* scores, int64_t n_rows, int64_t n_keys, int64_t first_valid, const AttentionShape& shape) {
  for (int64_t r = 0; r < n_rows; ++r) {
    float* s = scores + r * n_keys;
    const int64_t n_valid = first_valid + r + 1;
    const int64_t lo = first_visible(n_valid, shape.window);
    softcap_scores(s + lo, n_valid - lo, shape.softcap);
    const float sum = exp_shift_sum(s + lo, n_valid - lo, max_of(s + lo, n_valid - lo));
    const float inv = 1.0f / sum;
    std::fill(s, s + lo, 0.0f);
    for (int64_t j = lo; j < n_valid; ++j) s[j] *= inv;
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
  const float scale = score_scale(shape);
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
    causal_softmax(scores.data(), b.rows, n_keys, n_prefix + own_skip + b.q0, shape);
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

namespace {

// One (query, head) of the deterministic attention over the key rows keys[0..n) (pointers into the cache).
void attend_fixed(const float* qi, const float* const* keys, const float* const* values, int64_t n, int64_t hd,
                  float scale, float softcap, float* o) {
  thread_local std::vector<float> p;
  p.resize(static_cast<size_t>(n));
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    float d[4];
    dot4_fixed(qi, keys + j, hd, d);
    for (int t = 0; t < 4; ++t) p[static_cast<size_t>(j + t)] = d[t] * scale;
  }
  for (; j < n; ++j) p[static_cast<size_t>(j)] = dot_fixed(qi, keys[j], hd) * scale;
  softcap_scores(p.data(), n, softcap);
  const float inv = 1.0f / exp_shift_sum(p.data(), n, max_of(p.data(), n));
  std::fill(o, o + hd, 0.0f);
  for (j = 0; j < n; ++j) {
    const float pj = p[static_cast<size_t>(j)] * inv;
    const float* vj = values[j];
    for (int64_t c = 0; c < hd; ++c) o[c] = std::fma(pj, vj[c], o[c]);
  }
}

}  // namespace

void attention_runs_fixed(const float* q, std::span<const AttentionRun> runs, const float* k, const float* v,
                          float* out, const AttentionShape& shape, ThreadPool& pool) {
  LMZIP_CHECK(shape.n_head % shape.n_head_kv == 0, "attention: n_head not a multiple of n_head_kv");
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  const int group = shape.n_head / shape.n_head_kv;
  const float scale = score_scale(shape);
  std::vector<std::pair<size_t, int64_t>> rows;  // (run, row within the run)
  for (size_t r = 0; r < runs.size(); ++r) {
    for (int64_t i = 0; i < runs[r].n_rows; ++i) rows.emplace_back(r, i);
  }
  pool.parallel_items(rows.size() * static_cast<size_t>(shape.n_head), [&](size_t item) {
    const auto [r, i] = rows[item / static_cast<size_t>(shape.n_head)];
    const int head = static_cast<int>(item % static_cast<size_t>(shape.n_head));
    const AttentionRun& run = runs[r];
    const int64_t col = (head / group) * hd;
    thread_local std::vector<const float*> keys, values;
    keys.clear();
    values.clear();
    for (int64_t s = run.prefix_begin; s < run.prefix_end; ++s) {
      keys.push_back(k + s * kv_stride + col);
      values.push_back(v + s * kv_stride + col);
    }
    for (int64_t s = run.own_begin; s <= run.own_first + i; ++s) {
      keys.push_back(k + s * kv_stride + col);
      values.push_back(v + s * kv_stride + col);
    }
    const int64_t lo = first_visible(static_cast<int64_t>(keys.size()), shape.window);
    attend_fixed(q + (run.row0 + i) * q_stride + head * hd, keys.data() + lo, values.data() + lo,
                 static_cast<int64_t>(keys.size()) - lo, hd, scale, shape.softcap,
                 out + (run.row0 + i) * q_stride + head * hd);
  });
}

void causal_attention_fixed(const float* q, int64_t n_query, int64_t first_position, const float* k,
                            const float* v, float* out, const AttentionShape& shape, ThreadPool& pool) {
  const AttentionRun run{.row0 = 0, .n_rows = n_query, .own_begin = 0, .own_first = first_position};
  attention_runs_fixed(q, std::span<const AttentionRun>(&run, 1), k, v, out, shape, pool);
}

}  // namespace lmzip
