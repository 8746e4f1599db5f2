// Internal to model/: the per-run state of a forward pass and the pass itself, shared by Model::score and
// Session. Not thread-safe: one ForwardState per concurrent run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

// Activations for up to max_batch new tokens at once, and the sequence state: per attention layer a key/value
// cache of max_context slots, per Mamba layer a conv and SSM state for each of n_states sequences.
// deterministic: use the fixed-order kernels (matmul_fixed, attention_runs_fixed), whose results depend
// neither on the thread count nor on how the tokens are split into calls; otherwise the BLAS kernels.
struct ForwardState {
  ForwardState(const ModelConfig& c, int64_t max_batch, int64_t max_context, bool deterministic, int n_states = 1);
  // True when this (fast-path) state's buffers are large enough for a model of configuration c.
  bool fits(const ModelConfig& c, int64_t batch, int64_t context) const;
  ModelConfig config;  // what the buffers were sized for
  int64_t max_batch = 0, max_context = 0;
  int n_states = 0;
  bool deterministic = false;
  std::vector<float> x;      // [n x n_embd] the residual stream; after the pass, the last layer's output
  std::vector<float> xn;     // [n x n_embd] normalized input of the current block
  std::vector<float> xn2;    // [n x n_embd] the FFN's own normalized input in a parallel layer
  std::vector<float> mix;    // [n x n_embd] a block's output before its post-norm
  std::vector<float> q;      // [n x q_dim]
  std::vector<float> qkv;    // [n x (q_dim + 2 kv_dim)] fused projections
  std::vector<float> attn;   // [n x q_dim] attention output before Wo
  std::vector<float> gate;   // [n x widest FFN]
  std::vector<float> up;     // [n x 2 widest FFN]
  std::vector<float> k_new, v_new;  // [n x kv_dim] the new rows' keys and values before caching
  std::vector<std::vector<float>> k_cache, v_cache;  // per attention layer [slots x kv_dim]; empty otherwise
  // Mamba, per layer (empty for attention layers): [n_states x (d_conv - 1) x d_inner], [n_states x d_inner x d_state]
  std::vector<std::vector<float>> conv_state, ssm_state;
  std::vector<float> ssm_xz, ssm_x, ssm_dbc, ssm_dt, ssm_y;  // [n x 2 d_inner], [n x d_inner], [n x xproj], ...
  // Latent attention (empty otherwise): [n x q_lora], [n x (kv_lora + n_rot)], [n x kv_lora],
  // [n x n_head (nope + v_head_dim)]
  std::vector<float> mla_q_a, mla_kv_a, mla_c, mla_kv_b;
};

// One sequence's new tokens in a packed forward pass: n_tokens tokens at positions first_pos.., whose keys and
// values go to cache slots first_slot..; each attends the shared prefix slots [prefix_begin, prefix_end) and its
// own slots [own_begin, its slot]. A pass may pack several chunks (several sequences, or options continuing one
// context) as consecutive rows; see AttentionRun.
// A recurrent layer keeps one state per sequence: the chunk's `state` (reset when first_pos is 0). A recurrent
// state cannot share a prefix: prefix slots must be empty for recurrent models.
struct SequenceChunk {
  int64_t n_tokens = 0;
  int64_t first_pos = 0, first_slot = 0, own_begin = 0;
  int64_t prefix_begin = 0, prefix_end = 0;
  int state = 0;
};

// Runs all layers over `tokens` (the chunks' tokens one after another; at most max_batch), reading and writing
// the cache slots the chunks name (all below max_context). Leaves the final residual stream of every row in
// s.x. With a deterministic state every row's result is the one it gets alone (the codec's lockstep segments).
void forward_packed(const Model& model, std::span<const TokenId> tokens, std::span<const SequenceChunk> chunks,
                    ForwardState& s, ThreadPool& pool);

// Runs all layers over `tokens` (at most max_batch) at positions [pos0, pos0 + tokens.size()) (within
// max_context), reading keys/values of positions [0, pos0) from the cache and appending the new ones.
// Leaves the final residual stream in s.x, valid for rows [first_output_row, n): the last layer skips the
// rows before it (their keys and values are still computed and cached).
void forward_tokens(const Model& model, std::span<const TokenId> tokens, int64_t pos0, ForwardState& s,
                    ThreadPool& pool, int64_t first_output_row = 0);

// The fast-path state kept per calling thread between calls (reallocating ~100 MB of activations each window
// cost ~4% in page faults and zero-filling), grown when a pass needs more rows or cache slots than it has.
ForwardState& thread_fast_state(const ModelConfig& c, int64_t rows, int64_t slots);

// h[m x n_embd] = output_norm(s.x[rows[i]]) * logit_scale: the rows that meet the output layer.
std::vector<float> final_norm_rows(const Model& model, const ForwardState& s, std::span<const int64_t> rows,
                                   ThreadPool& pool);

// Throws lmzip::Error for a token id outside the vocabulary.
void check_tokens(const Model& model, std::span<const TokenId> tokens);

// logits[m x n_vocab] = output · h (fixed-order kernels when deterministic), final soft-capping applied.
void output_logits(const Model& model, const float* h, int64_t m, float* logits, bool deterministic,
                   ThreadPool& pool);

}  // namespace lmzip
