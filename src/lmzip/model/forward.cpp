// The forward pass of every family: embeddings, the layers (layer.cpp reads each layer's block description),
// the final norm and the output layer. All activations are row-major [n_tokens x width] fp32 buffers.
#include <algorithm>
#include <climits>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/kernels/attention.h"
#include "lmzip/kernels/logits.h"
#include "lmzip/kernels/ops.h"
#include "lmzip/model/family.h"
#include "lmzip/model/forward.h"
#include "lmzip/model/model.h"
#include "lmzip/model/blocks/blocks.h"

namespace lmzip {

namespace {

// x[t] = token_embd[input[t]] (* embedding_scale) (+ position_embd[position of t]).
void embed_tokens(const Model& model, std::span<const TokenId> input, std::span<const SequenceChunk> chunks,
                  float* x) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const size_t d = static_cast<size_t>(c.n_embd);
  for (size_t t = 0; t < input.size(); ++t) w.token_embd.dequantize_rows(input[t], 1, x + t * d);
  if (c.embedding_scale > 0) {
    for (size_t i = 0; i < input.size() * d; ++i) x[i] *= c.embedding_scale;
  }
  if (c.learned_positions) {
    std::vector<float> pos(d);
    size_t t = 0;
    for (const SequenceChunk& ch : chunks) {
      for (int64_t i = 0; i < ch.n_tokens; ++i, ++t) {
        const int64_t p = ch.first_pos + i;
        if (p >= w.position_embd.n_out) {
          throw Error(model.file_name() + ": position " + std::to_string(p) + " is beyond the " +
                      std::to_string(w.position_embd.n_out) + " learned positions of the model");
        }
        w.position_embd.dequantize_rows(p, 1, pos.data());
        for (size_t k = 0; k < d; ++k) x[t * d + k] += pos[k];
      }
    }
  }
}

// The widest FFN any layer runs (dense, expert or shared expert), for the gate/up buffers.
int64_t widest_ffn(const ModelConfig& c) {
  int64_t w = 0;
  for (const LayerSpec& L : c.layers) {
    if (L.ffn.kind == FfnKind::Gated || L.ffn.kind == FfnKind::Plain) w = std::max<int64_t>(w, c.n_ff);
    if (L.ffn.kind == FfnKind::Experts) w = std::max<int64_t>({w, c.n_ff_exp, c.n_ff_shexp});
  }
  return w;
}

}  // namespace

ForwardState::ForwardState(const ModelConfig& c, int64_t max_batch_, int64_t max_context_, bool deterministic_,
                           int n_states_)
    : config(c), max_batch(max_batch_), max_context(max_context_), n_states(n_states_),
      deterministic(deterministic_) {
  const size_t n = static_cast<size_t>(max_batch);
  const size_t q_dim = static_cast<size_t>(c.q_dim()), kv_dim = static_cast<size_t>(c.kv_dim());
  const size_t ff = static_cast<size_t>(widest_ffn(c));
  bool fused = false, parallel = false, mamba = false, latent = false;
  for (const LayerSpec& L : c.layers) {
    fused |= L.attention.fused_qkv;
    parallel |= L.residual == Residual::Parallel;
    mamba |= L.mixer == MixerKind::Mamba;
    latent |= L.mixer == MixerKind::LatentAttention;
  }
  if (latent) {
    mla_q_a.resize(n * static_cast<size_t>(c.q_lora_rank));
    mla_kv_a.resize(n * static_cast<size_t>(c.kv_lora_rank + c.n_rot));
    mla_c.resize(n * static_cast<size_t>(c.kv_lora_rank));
    mla_kv_b.resize(n * static_cast<size_t>(dim_value(c, Dim::KVB)));
  }
  x.resize(n * c.n_embd);
  xn.resize(n * c.n_embd);
  if (parallel) xn2.resize(n * c.n_embd);
  mix.resize(n * c.n_embd);
  q.resize(n * q_dim);
  if (fused) qkv.resize(n * (q_dim + 2 * kv_dim));
  attn.resize(n * q_dim);
  gate.resize(n * ff);
  up.resize(n * 2 * ff);
  k_new.resize(n * kv_dim);
  v_new.resize(n * kv_dim);
  const size_t layers = static_cast<size_t>(c.n_layer);
  k_cache.resize(layers);
  v_cache.resize(layers);
  conv_state.resize(layers);
  ssm_state.resize(layers);
  const size_t di = static_cast<size_t>(c.ssm_d_inner), ds = static_cast<size_t>(c.ssm_d_state);
  for (size_t l = 0; l < layers; ++l) {
    if (c.layers[l].mixer != MixerKind::Mamba) {
      k_cache[l].resize(static_cast<size_t>(max_context) * kv_dim);
      v_cache[l].resize(static_cast<size_t>(max_context) * kv_dim);
    } else {
      conv_state[l].resize(static_cast<size_t>(n_states) * (static_cast<size_t>(c.ssm_d_conv) - 1) * di);
      ssm_state[l].resize(static_cast<size_t>(n_states) * di * ds);
    }
  }
  if (mamba) {
    ssm_xz.resize(n * 2 * di);
    ssm_x.resize(n * di);
    ssm_dbc.resize(n * (static_cast<size_t>(c.ssm_dt_rank) + 2 * ds));
    ssm_dt.resize(n * di);
    ssm_y.resize(n * di);
  }
}

bool ForwardState::fits(const ModelConfig& c, int64_t batch, int64_t context) const {
  // Sized for a configuration of the same shape (a thread may score several models in turn).
  const ModelConfig& a = config;
  const bool same = a.n_embd == c.n_embd && a.n_layer == c.n_layer && a.q_dim() == c.q_dim() &&
                    a.kv_dim() == c.kv_dim() && widest_ffn(a) == widest_ffn(c) && a.layers == c.layers &&
                    a.ssm_d_inner == c.ssm_d_inner && a.ssm_d_state == c.ssm_d_state &&
                    a.ssm_d_conv == c.ssm_d_conv && a.ssm_dt_rank == c.ssm_dt_rank && a.n_rot == c.n_rot &&
                    a.v_head_dim == c.v_head_dim && a.q_lora_rank == c.q_lora_rank &&
                    a.kv_lora_rank == c.kv_lora_rank;
  return same && batch <= max_batch && context <= max_context && !deterministic;
}

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
  embed_tokens(model, tokens, chunks, s.x.data());
  RopeTable rope;
  if (c.rope != RopeKind::None && c.has_attention()) {
    const ModelWeights& w = model.weights();
    // Phi-3 (LongRoPE): the short factors while the sequence fits the original context, the long ones beyond,
    // as Hugging Face decides per forward pass.
    std::span<const float> factors = w.rope_freq_factors;
    if (!w.rope_factors_short.empty() && (c.rope_orig_ctx == 0 || pos_hi <= c.rope_orig_ctx)) {
      factors = w.rope_factors_short;
    } else if (!w.rope_factors_long.empty()) {
      factors = w.rope_factors_long;
    }
    rope = make_rope_table(pos_lo, pos_hi - pos_lo, c.n_rot, c.rope_freq_base, factors, c.rope_freq_scale,
                           c.rope_attn_factor, RopeYarn{.n_ctx_orig = c.rope_yarn ? c.rope_orig_ctx : 0});
  }
  for (int l = 0; l < c.n_layer; ++l) {
    // Every layer but the last must produce all rows: the next layer's keys, values and states need them.
    const PassRows pass{.chunks = chunks, .rope = &rope, .rope_pos0 = pos_lo, .n = n,
                        .r0 = l + 1 == c.n_layer ? first_output_row : 0};
    run_layer(c, c.layers[static_cast<size_t>(l)], model.weights().layers[static_cast<size_t>(l)], l, pass, s, pool);
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
  const int64_t m = static_cast<int64_t>(rows.size());
  norm_rows(c.output_norm, h.data(), h.data(), m, c.n_embd, model.weights().output_norm,
            model.weights().output_norm_b, c.norm_eps, pool);
  if (c.logit_scale != 1.0f) {
    for (float& v : h) v *= c.logit_scale;  // (s h) W^T = s (h W^T): Command-R's logit scale, before the product
  }
  return h;
}

void output_logits(const Model& model, const float* h, int64_t m, float* logits, bool deterministic,
                   ThreadPool& pool) {
  const ModelConfig& c = model.config();
  if (deterministic) {
    matmul_fixed(h, m, c.n_embd, model.weights().output, logits, c.n_vocab, false, pool);
  } else {
    matmul(h, m, c.n_embd, model.weights().output, logits, c.n_vocab, false, pool);
  }
  softcap_logits(logits, m * c.n_vocab, c.final_softcap);
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
  output_nll(h.data(), static_cast<int64_t>(m), weights_.output, target_ids, nll.data(), pool, config_.final_softcap);
  return nll;
}

}  // namespace lmzip
