// The attention mixer: Q/K/V projections (split or fused, with biases), optional whole-vector Q/K norms, RoPE,
// the KV cache, softmax attention over the chunks' visible slots (window, soft-capping), the output projection.
#include <algorithm>

#include "lmzip/kernels/attention.h"
#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

void attention_block(const ModelConfig& c, const LayerSpec& spec, const LayerWeights& L, int layer,
                     const float* xn, const PassRows& pass, float* out, bool accumulate, ForwardState& s,
                     ThreadPool& pool) {
  const int64_t d = c.n_embd, q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const int64_t n = pass.n, r0 = pass.r0, n_q = n - r0;
  if (spec.attention.fused_qkv) {
    // qkv[n x (q_dim + 2 kv_dim)] = xn Wqkv^T + b, rows [Q | K | V]; split into the Q, K, V buffers.
    const int64_t w = q_dim + 2 * kv_dim;
    project(s, xn, n, d, L.wqkv, s.qkv.data(), w, false, pool);
    if (!L.bqkv.empty()) add_bias(s.qkv.data(), n, w, L.bqkv);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = s.qkv.data() + r * w;
      if (r >= r0) std::copy_n(row, q_dim, s.q.data() + (r - r0) * q_dim);
      std::copy_n(row + q_dim, kv_dim, s.k_new.data() + r * kv_dim);
      std::copy_n(row + q_dim + kv_dim, kv_dim, s.v_new.data() + r * kv_dim);
    }
  } else {
    project(s, xn + r0 * d, n_q, d, L.wq, s.q.data(), q_dim, false, pool);  // q[n_q x q_dim]
    project(s, xn, n, d, L.wk, s.k_new.data(), kv_dim, false, pool);       // k[n x kv_dim]
    project(s, xn, n, d, L.wv, s.v_new.data(), kv_dim, false, pool);       // v[n x kv_dim]
    if (!L.bq.empty()) add_bias(s.q.data(), n_q, q_dim, L.bq);
    if (!L.bk.empty()) add_bias(s.k_new.data(), n, kv_dim, L.bk);
    if (!L.bv.empty()) add_bias(s.v_new.data(), n, kv_dim, L.bv);
  }
  if (spec.attention.qk_norm) {  // OLMo 2: RMSNorm over the whole projected vector, before the head split
    rms_norm(s.q.data(), s.q.data(), n_q, q_dim, L.q_norm, c.norm_eps, pool);
    rms_norm(s.k_new.data(), s.k_new.data(), n, kv_dim, L.k_norm, c.norm_eps, pool);
  }
  cache_and_attend(c, spec.attention, layer, pass, s, pool);
  project(s, s.attn.data(), n_q, q_dim, L.wo, out, d, accumulate, pool);  // out (+)= attn Wo^T
  if (!L.bo.empty()) add_bias(out, n_q, d, L.bo);
}

void cache_and_attend(const ModelConfig& c, const AttentionSpec& spec, int layer, const PassRows& pass,
                      ForwardState& s, ThreadPool& pool) {
  const int64_t q_dim = c.q_dim(), kv_dim = c.kv_dim(), r0 = pass.r0;
  float* k = s.k_cache[static_cast<size_t>(layer)].data();
  float* v = s.v_cache[static_cast<size_t>(layer)].data();
  const bool rotate = c.rope != RopeKind::None, neox = c.rope == RopeKind::Neox;
  std::vector<AttentionRun> runs;
  int64_t row = 0;
  for (const SequenceChunk& ch : pass.chunks) {
    const int64_t table_row = ch.first_pos - pass.rope_pos0;
    float* k_rows = s.k_new.data() + row * kv_dim;
    if (rotate) apply_rope(k_rows, ch.n_tokens, c.n_head_kv, c.head_dim, *pass.rope, neox, table_row);
    std::copy_n(k_rows, ch.n_tokens * kv_dim, k + ch.first_slot * kv_dim);
    std::copy_n(s.v_new.data() + row * kv_dim, ch.n_tokens * kv_dim, v + ch.first_slot * kv_dim);
    // Query rows of this chunk that are carried on (all of them unless r0 > 0, which has one chunk).
    const int64_t skip = std::max<int64_t>(0, r0 - row);
    if (ch.n_tokens > skip) {
      if (rotate) {
        apply_rope(s.q.data() + (row + skip - r0) * q_dim, ch.n_tokens - skip, c.n_head, c.head_dim, *pass.rope,
                   neox, table_row + skip);
      }
      runs.push_back({.row0 = row + skip - r0, .n_rows = ch.n_tokens - skip, .prefix_begin = ch.prefix_begin,
                      .prefix_end = ch.prefix_end, .own_begin = ch.own_begin, .own_first = ch.first_slot + skip});
    }
    row += ch.n_tokens;
  }
  const AttentionShape shape{.n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim = c.head_dim,
                             .scale = c.attn_scale, .softcap = spec.softcap, .window = spec.sliding_window};
  if (s.deterministic) {
    attention_runs_fixed(s.q.data(), runs, k, v, s.attn.data(), shape, pool);
  } else {
    attention_runs(s.q.data(), runs, k, v, s.attn.data(), shape, pool);
  }
}

}  // namespace lmzip
