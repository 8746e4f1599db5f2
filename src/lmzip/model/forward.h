// Internal to model/: the per-run state of a forward pass and the pass itself, shared by Model::score and
// Session. Not thread-safe: one ForwardState per concurrent run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

// Activations for up to max_batch new tokens at once, and a key/value cache of max_context positions per layer.
// deterministic: use the fixed-order kernels (matmul_fixed, causal_attention_fixed), whose results depend
// neither on the thread count nor on how the tokens are split into calls; otherwise the BLAS kernels.
struct ForwardState {
  ForwardState(const ModelConfig& c, int64_t max_batch, int64_t max_context, bool deterministic);
  // True when this (fast-path) state's buffers are large enough for a model of configuration c.
  bool fits(const ModelConfig& c, int64_t batch, int64_t context) const;
  int64_t max_batch = 0, max_context = 0;
  bool deterministic = false;
  std::vector<float> x;      // [n x n_embd] the residual stream; after the pass, the last layer's output
  std::vector<float> xn;     // [n x n_embd] normalized input of the current block
  std::vector<float> q;      // [n x n_head * head_dim]
  std::vector<float> attn;   // [n x n_head * head_dim] attention output before Wo
  std::vector<float> gate;   // [n x n_ff]
  std::vector<float> up;     // [n x n_ff]
  std::vector<float> k_new, v_new;  // [n x n_head_kv * head_dim] the new rows' keys and values before caching
  std::vector<std::vector<float>> k_cache, v_cache;  // per layer [positions x n_head_kv * head_dim]
};

// One sequence's new tokens in a packed forward pass: n_tokens tokens at positions first_pos.., whose keys and
// values go to cache slots first_slot..; each attends the shared prefix slots [prefix_begin, prefix_end) and its
// own slots [own_begin, its slot]. A pass may pack several chunks (several sequences, or options continuing one
// context) as consecutive rows; see AttentionRun.
struct SequenceChunk {
  int64_t n_tokens = 0;
  int64_t first_pos = 0, first_slot = 0, own_begin = 0;
  int64_t prefix_begin = 0, prefix_end = 0;
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

// h[m x n_embd] = rms_norm(s.x[rows[i]]) * output_norm: the rows that meet the output layer.
std::vector<float> final_norm_rows(const Model& model, const ForwardState& s, std::span<const int64_t> rows,
                                   ThreadPool& pool);

// Throws lmzip::Error for a token id outside the vocabulary.
void check_tokens(const Model& model, std::span<const TokenId> tokens);

}  // namespace lmzip
