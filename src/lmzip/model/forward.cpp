// The forward pass of the llama-style decoder (llama, qwen2, ...), one function per step, reading like the
// equations. All activations are row-major [n_tokens x width] fp32 buffers.
#include <algorithm>
#include <climits>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/kernels/attention.h"
#include "lmzip/kernels/logits.h"
#include "lmzip/kernels/ops.h"
#include "lmzip/model/forward.h"
#include "lmzip/model/model.h"

namespace lmzip {

ForwardState::ForwardState(const ModelConfig& c, int64_t max_batch_, int64_t max_context_, bool deterministic_)
    : max_batch(max_batch_), max_context(max_context_), deterministic(deterministic_) {
  const size_t n = static_cast<size_t>(max_batch);
  const size_t q_dim = static_cast<size_t>(c.n_head) * c.head_dim;
  const size_t kv_dim = static_cast<size_t>(c.n_head_kv) * c.head_dim;
  x.resize(n * c.n_embd);
  xn.resize(n * c.n_embd);
  q.resize(n * q_dim);
  attn.resize(n * q_dim);
  gate.resize(n * c.n_ff);
  up.resize(n * c.n_ff);
  k_new.resize(n * kv_dim);
  v_new.resize(n * kv_dim);
  k_cache.resize(static_cast<size_t>(c.n_layer));
  v_cache.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    k_cache[static_cast<size_t>(l)].resize(static_cast<size_t>(max_context) * kv_dim);
    v_cache[static_cast<size_t>(l)].resize(static_cast<size_t>(max_context) * kv_dim);
  }
}

bool ForwardState::fits(const ModelConfig& c, int64_t batch, int64_t context) const {
  const size_t b = static_cast<size_t>(batch), ctx = static_cast<size_t>(context);
  const size_t q_dim = static_cast<size_t>(c.n_head) * c.head_dim;
  const size_t kv_dim = static_cast<size_t>(c.n_head_kv) * c.head_dim;
  if (batch > max_batch || context > max_context || deterministic) return false;
  if (x.size() < b * c.n_embd || q.size() < b * q_dim || gate.size() < b * c.n_ff) return false;
  if (k_cache.size() != static_cast<size_t>(c.n_layer)) return false;
  for (const auto& k : k_cache) {
    if (k.size() < ctx * kv_dim) return false;
  }
  return true;
}

namespace {

// y[n x w.n_out] (+)= x[n x w.n_in] W^T with the state's kernels.
void project(const ForwardState& s, const float* x, int64_t n, int64_t ldx, const WeightView& w, float* y,
             int64_t ldy, bool accumulate, ThreadPool& pool) {
  if (s.deterministic) {
    matmul_fixed(x, n, ldx, w, y, ldy, accumulate, pool);
  } else {
    matmul(x, n, ldx, w, y, ldy, accumulate, pool);
  }
}

// x[t] = token_embd[input[t]]
void embed_tokens(const Model& model, std::span<const TokenId> input, float* x) {
  const ModelConfig& c = model.config();
  for (size_t t = 0; t < input.size(); ++t) {
    model.weights().token_embd.dequantize_rows(input[t], 1, x + t * static_cast<size_t>(c.n_embd));
  }
}

// x += Wo · attention(rope(Wq·xn + bq), rope(Wk·xn + bk), Wv·xn + bv), xn = rms_norm(x) * attn_norm.
// The new rows' keys and values are written into the cache slots their chunks name. Only query rows [r0, n) are
// carried on (queries, output): the last layer needs no more than the scored rows (r0 > 0 needs a single chunk).
void attention_step(const ModelConfig& c, const LayerWeights& L, int layer, const RopeTable& rope,
                    int64_t rope_pos0, std::span<const SequenceChunk> chunks, int64_t n, int64_t r0,
                    ForwardState& s, ThreadPool& pool) {
  const int64_t d = c.n_embd, q_dim = int64_t{c.n_head} * c.head_dim, kv_dim = int64_t{c.n_head_kv} * c.head_dim;
  const int64_t n_q = n - r0;
  float* k = s.k_cache[static_cast<size_t>(layer)].data();
  float* v = s.v_cache[static_cast<size_t>(layer)].data();
  rms_norm(s.x.data(), s.xn.data(), n, d, L.attn_norm, c.norm_eps, pool);
  project(s, s.xn.data() + r0 * d, n_q, d, L.wq, s.q.data(), q_dim, false, pool);  // q[n_q x q_dim]
  project(s, s.xn.data(), n, d, L.wk, s.k_new.data(), kv_dim, false, pool);       // k[n x kv_dim]
  project(s, s.xn.data(), n, d, L.wv, s.v_new.data(), kv_dim, false, pool);       // v[n x kv_dim]
  if (c.qkv_bias) {
    add_bias(s.q.data(), n_q, q_dim, L.bq);
    add_bias(s.k_new.data(), n, kv_dim, L.bk);
    add_bias(s.v_new.data(), n, kv_dim, L.bv);
  }
  const bool neox = c.rope_style == RopeStyle::Neox;
  std::vector<AttentionRun> runs;
  int64_t row = 0;
  for (const SequenceChunk& ch : chunks) {
    const int64_t table_row = ch.first_pos - rope_pos0;
    float* k_rows = s.k_new.data() + row * kv_dim;
    apply_rope(k_rows, ch.n_tokens, c.n_head_kv, c.head_dim, rope, neox, table_row);
    std::copy_n(k_rows, ch.n_tokens * kv_dim, k + ch.first_slot * kv_dim);
    std::copy_n(s.v_new.data() + row * kv_dim, ch.n_tokens * kv_dim, v + ch.first_slot * kv_dim);
    // Query rows of this chunk that are carried on (all of them unless r0 > 0, which has one chunk).
    const int64_t skip = std::max<int64_t>(0, r0 - row);
    if (ch.n_tokens > skip) {
      apply_rope(s.q.data() + (row + skip - r0) * q_dim, ch.n_tokens - skip, c.n_head, c.head_dim, rope, neox,
                 table_row + skip);
      runs.push_back({.row0 = row + skip - r0, .n_rows = ch.n_tokens - skip, .prefix_begin = ch.prefix_begin,
                      .prefix_end = ch.prefix_end, .own_begin = ch.own_begin, .own_first = ch.first_slot + skip});
    }
    row += ch.n_tokens;
  }
  const AttentionShape shape{.n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim = c.head_dim};
  if (s.deterministic) {
    attention_runs_fixed(s.q.data(), runs, k, v, s.attn.data(), shape, pool);
  } else {
    attention_runs(s.q.data(), runs, k, v, s.attn.data(), shape, pool);
  }
  project(s, s.attn.data(), n_q, q_dim, L.wo, s.x.data() + r0 * d, d, /*accumulate=*/true, pool);  // x += attn Wo^T
}

// x += W_down · (silu(W_gate · xn) * (W_up · xn)), xn = rms_norm(x) * ffn_norm, for rows [r0, n).
void ffn_step(const ModelConfig& c, const LayerWeights& L, int64_t n, int64_t r0, ForwardState& s,
              ThreadPool& pool) {
  const int64_t d = c.n_embd, rows = n - r0;
  float* x = s.x.data() + r0 * d;
  rms_norm(x, s.xn.data(), rows, d, L.ffn_norm, c.norm_eps, pool);
  project(s, s.xn.data(), rows, d, L.w_gate, s.gate.data(), c.n_ff, false, pool);  // gate[rows x n_ff]
  project(s, s.xn.data(), rows, d, L.w_up, s.up.data(), c.n_ff, false, pool);      // up[rows x n_ff]
  swiglu(s.gate.data(), s.up.data(), rows, c.n_ff, pool);
  project(s, s.gate.data(), rows, c.n_ff, L.w_down, x, d, /*accumulate=*/true, pool);
}

}  // namespace

namespace {

void run_layers(const Model& model, std::span<const TokenId> tokens, std::span<const SequenceChunk> chunks,
                ForwardState& s, ThreadPool& pool, int64_t first_output_row) {
  const ModelConfig& c = model.config();
  const int64_t n = static_cast<int64_t>(tokens.size());
  int64_t rows = 0, pos_lo = INT64_MAX, pos_hi = 0;
  for (const SequenceChunk& ch : chunks) {
    LMZIP_CHECK(ch.n_tokens > 0 && ch.first_pos >= 0 && ch.first_slot >= ch.own_begin && ch.own_begin >= 0 &&
                    ch.first_slot + ch.n_tokens <= s.max_context && ch.prefix_begin >= 0 &&
                    ch.prefix_begin <= ch.prefix_end && ch.prefix_end <= s.max_context,
                "forward: chunk outside the state's cache");
    rows += ch.n_tokens;
    pos_lo = std::min(pos_lo, ch.first_pos);
    pos_hi = std::max(pos_hi, ch.first_pos + ch.n_tokens);
  }
  LMZIP_CHECK(rows == n && n <= s.max_batch, "forward: chunks do not cover the tokens, or the state is too small");
  LMZIP_CHECK(first_output_row >= 0 && first_output_row < std::max<int64_t>(n, 1) &&
                  (first_output_row == 0 || chunks.size() == 1),
              "forward_tokens: bad row");
  if (n == 0) return;
  embed_tokens(model, tokens, s.x.data());
  const RopeTable rope =
      make_rope_table(pos_lo, pos_hi - pos_lo, c.n_rot, c.rope_freq_base, model.weights().rope_freq_factors,
                      c.rope_freq_scale);
  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = model.weights().layers[static_cast<size_t>(l)];
    // Every layer but the last must produce all rows: the next layer's keys and values need them.
    const int64_t r0 = l + 1 == c.n_layer ? first_output_row : 0;
    attention_step(c, L, l, rope, pos_lo, chunks, n, r0, s, pool);
    ffn_step(c, L, n, r0, s, pool);
  }
}

}  // namespace

void forward_tokens(const Model& model, std::span<const TokenId> tokens, int64_t pos0, ForwardState& s,
                    ThreadPool& pool, int64_t first_output_row) {
  const SequenceChunk chunk{.n_tokens = static_cast<int64_t>(tokens.size()), .first_pos = pos0,
                            .first_slot = pos0, .own_begin = 0};
  run_layers(model, tokens, std::span<const SequenceChunk>(&chunk, tokens.empty() ? 0 : 1), s, pool,
             first_output_row);
}

void forward_packed(const Model& model, std::span<const TokenId> tokens, std::span<const SequenceChunk> chunks,
                    ForwardState& s, ThreadPool& pool) {
  run_layers(model, tokens, chunks, s, pool, 0);
}

ForwardState& thread_fast_state(const ModelConfig& c, int64_t rows, int64_t slots) {
  thread_local std::unique_ptr<ForwardState> cached;
  if (!cached || !cached->fits(c, rows, slots)) {
    cached.reset();  // release before allocating the larger one
    cached = std::make_unique<ForwardState>(c, rows, slots, /*deterministic=*/false);
  }
  return *cached;
}

std::vector<float> final_norm_rows(const Model& model, const ForwardState& s, std::span<const int64_t> rows,
                                   ThreadPool& pool) {
  const ModelConfig& c = model.config();
  const size_t d = static_cast<size_t>(c.n_embd);
  std::vector<float> h(rows.size() * d);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(s.x.data() + static_cast<size_t>(rows[i]) * d, d, h.data() + i * d);
  }
  rms_norm(h.data(), h.data(), static_cast<int64_t>(rows.size()), c.n_embd, model.weights().output_norm,
           c.norm_eps, pool);
  return h;
}

void check_tokens(const Model& model, std::span<const TokenId> tokens) {
  const int n_vocab = model.config().n_vocab;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab) {
      throw Error(model.file_name() + ": token id " + std::to_string(tokens[i]) + " at input position " +
                  std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
  }
}

std::vector<double> Model::score(std::span<const TokenId> input, std::span<const ScoredTarget> targets,
                                 ThreadPool& pool) const {
  check_tokens(*this, input);
  const int64_t n = static_cast<int64_t>(input.size());
  std::vector<int32_t> target_ids(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].position >= input.size()) {
      throw Error("Model::score: target " + std::to_string(i) + " at position " +
                  std::to_string(targets[i].position) + " is outside the input of " + std::to_string(n) +
                  " tokens");
    }
    if (targets[i].target < 0 || targets[i].target >= config_.n_vocab) {
      throw Error(file_name_ + ": target token id " + std::to_string(targets[i].target) +
                  " is outside the vocabulary [0, " + std::to_string(config_.n_vocab) + ")");
    }
    target_ids[i] = targets[i].target;
  }
  if (n == 0 || targets.empty()) return std::vector<double>(targets.size(), 0.0);

  ForwardState& state = thread_fast_state(config_, n, n);
  // Rows before the first scored position are not carried through the last layer.
  uint32_t first_scored = targets[0].position;
  for (const ScoredTarget& t : targets) first_scored = std::min(first_scored, t.position);
  forward_tokens(*this, input, 0, state, pool, first_scored);
  // Only the scored positions meet the output layer.
  const size_t m = targets.size();
  std::vector<int64_t> rows(m);
  for (size_t i = 0; i < m; ++i) rows[i] = targets[i].position;
  const std::vector<float> h = final_norm_rows(*this, state, rows, pool);
  std::vector<double> nll(m);
  output_nll(h.data(), static_cast<int64_t>(m), weights_.output, target_ids, nll.data(), pool);
  return nll;
}

}  // namespace lmzip
