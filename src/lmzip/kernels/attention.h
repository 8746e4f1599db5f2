// Causal multi-head attention with grouped-query heads, by GEMM per head and block of queries.
#pragma once

#include <cstdint>

#include "lmzip/kernels/thread_pool.h"

namespace lmzip {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;  // divides n_head; query head h reads key/value head h / (n_head / n_head_kv)
  int head_dim = 0;
};

// out[i] = softmax(q[i] K^T / sqrt(head_dim), keys 0..first_position+i) V, per head.
//   q:   [n_query x n_head * head_dim], query i at position first_position + i
//   k,v: [first_position + n_query (or more) x n_head_kv * head_dim], row j = position j
//   out: [n_query x n_head * head_dim]
// Work is split over (head, block of queries); memory per thread is one block of scores,
// kQueryBlock x (first_position + n_query) floats. Softmax uses exp_approx and a float sum.
void causal_attention(const float* q, int64_t n_query, int64_t first_position, const float* k, const float* v,
                      float* out, const AttentionShape& shape, ThreadPool& pool);

// The deterministic form (Session, the codec): the same result for any thread count and any split of the
// queries into calls. Per (query, head): scores by dot_fixed, softmax by the fixed-order reductions of
// reduce.h, out = sum_j p_j v_j accumulated in key order. No GEMM; for short query batches.
void causal_attention_fixed(const float* q, int64_t n_query, int64_t first_position, const float* k,
                            const float* v, float* out, const AttentionShape& shape, ThreadPool& pool);

}  // namespace lmzip
