// Causal multi-head attention with grouped-query heads, by GEMM per head and block of queries.
#pragma once

#include <cstdint>
#include <span>

#include "lmzip/kernels/thread_pool.h"

namespace lmzip {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;  // divides n_head; query head h reads key/value head h / (n_head / n_head_kv)
  int head_dim = 0;
  float scale = 0;     // scores = scale * q.k; 0: 1 / sqrt(head_dim)
  float softcap = 0;   // > 0: scores become softcap * tanh(score / softcap) before the softmax (Gemma 2)
  int64_t window = 0;  // > 0: a row sees only its last `window` visible keys (sliding-window attention)
};

// A run of consecutive query rows of one sequence, whose keys and values sit in cache slots. Row i of the run
// (query row row0 + i) attends the shared prefix slots [prefix_begin, prefix_end) and its own sequence's
// slots [own_begin, own_first + i] (with a window, only the last `window` keys of prefix then own): own_first is the slot of the run's first row. Plain causal attention is
// one run {row0 0, prefix empty, own_begin 0, own_first = first position}; packing several sequences (options
// that continue one context, contexts of several documents, generations in flight) is several runs.
struct AttentionRun {
  int64_t row0 = 0, n_rows = 0;
  int64_t prefix_begin = 0, prefix_end = 0;
  int64_t own_begin = 0, own_first = 0;
};

// out[row] = softmax(q[row] K_visible^T / sqrt(head_dim)) V_visible per head, for the rows of every run.
//   q, out: [rows x n_head * head_dim]; k, v: [slots x n_head_kv * head_dim], row j = slot j.
// Work is split over (run, block of queries, head); each block is two GEMMs for the scores (prefix and own
// slots) and two for the output. Softmax uses exp_approx and a float sum.
void attention_runs(const float* q, std::span<const AttentionRun> runs, const float* k, const float* v, float* out,
                    const AttentionShape& shape, ThreadPool& pool);

// The deterministic form of attention_runs (Session, the codec): per (query row, head) the scores over the
// prefix slots then the own slots by dot_fixed, the fixed-order softmax, and the values accumulated in that key
// order. A row's result depends only on its query and the keys/values it sees, never on the other rows, the
// thread count or the slot numbers: a one-run call equals causal_attention_fixed bit for bit.
void attention_runs_fixed(const float* q, std::span<const AttentionRun> runs, const float* k, const float* v,
                          float* out, const AttentionShape& shape, ThreadPool& pool);

// out[i] = softmax(q[i] K^T / sqrt(head_dim), keys 0..first_position+i) V, per head.
//   q:   [n_query x n_head * head_dim], query i at position first_position + i
//   k,v: [first_position + n_query (or more) x n_head_kv * head_dim], row j = position j
//   out: [n_query x n_head * head_dim]
// The one-run case of attention_runs.
void causal_attention(const float* q, int64_t n_query, int64_t first_position, const float* k, const float* v,
                      float* out, const AttentionShape& shape, ThreadPool& pool);

// The deterministic form (Session, the codec): the same result for any thread count and any split of the
// queries into calls. Per (query, head): scores by dot_fixed, softmax by the fixed-order reductions of
// reduce.h, out = sum_j p_j v_j accumulated in key order. No GEMM; for short query batches.
void causal_attention_fixed(const float* q, int64_t n_query, int64_t first_position, const float* k,
                            const float* v, float* out, const AttentionShape& shape, ThreadPool& pool);

}  // namespace lmzip
