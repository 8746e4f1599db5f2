// Internal to model/: the blocks a layer is built from, one kind per file. Each reads its input rows, writes
// (or adds, `accumulate`) its output rows, and uses the state's buffers and kernels (fast or fixed-order).
// Shapes: row-major [rows x width] fp32; d = n_embd.
#pragma once

#include <cstdint>
#include <span>

#include "lmzip/kernels/ops.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/forward.h"

namespace lmzip {

// y[n x w.n_out] (+)= x[n x w.n_in] W^T with the state's kernels (fixed-order when deterministic).
void project(const ForwardState& s, const float* x, int64_t n, int64_t ldx, const WeightView& w, float* y,
             int64_t ldy, bool accumulate, ThreadPool& pool);

// out[rows x d] = norm(x) by the layer's norm kind (RMSNorm, or LayerNorm with the bias when present).
void norm_rows(NormKind kind, const float* x, float* out, int64_t rows, int64_t d, std::span<const float> weight,
               std::span<const float> bias, float eps, ThreadPool& pool);

// What a mixer block works on in one pass: the chunks (sequences) of the n rows, the rope table of the pass,
// and r0, the first row whose output is needed (the last layer skips the rows before it).
struct PassRows {
  std::span<const SequenceChunk> chunks;
  const RopeTable* rope = nullptr;
  int64_t rope_pos0 = 0;  // position of the rope table's first row
  int64_t n = 0, r0 = 0;
};

// out[rows r0..n) (+)= attention of xn[n x d] (every row's keys and values are cached). blocks/attention.cpp
void attention_block(const ModelConfig& c, const LayerSpec& spec, const LayerWeights& L, int layer,
                     const float* xn, const PassRows& rows, float* out, bool accumulate, ForwardState& s,
                     ThreadPool& pool);

// The attention core shared by the attention mixers: RoPE on s.k_new [n x kv_dim] and s.q [n - r0 x q_dim]
// (the first n_rot dims of each head), the new keys and values (s.v_new) into the layer's cache at the chunks'
// slots, then softmax attention of each chunk's carried rows into s.attn [n - r0 x q_dim].
void cache_and_attend(const ModelConfig& c, const AttentionSpec& spec, int layer, const PassRows& rows,
                      ForwardState& s, ThreadPool& pool);

// out[rows r0..n) (+)= DeepSeek-V2 multi-head latent attention of xn[n x d]. blocks/latent_attention.cpp
void latent_attention_block(const ModelConfig& c, const LayerWeights& L, int layer, const float* xn,
                            const PassRows& rows, float* out, bool accumulate, ForwardState& s, ThreadPool& pool);

// out[n x d] (+)= Mamba-1 mixer of xn[n x d], advancing each chunk's recurrent state. blocks/mamba.cpp
void mamba_block(const ModelConfig& c, const LayerWeights& L, int layer, const float* xn, const PassRows& rows,
                 float* out, bool accumulate, ForwardState& s, ThreadPool& pool);

// out[rows x d] (+)= the dense feed-forward (gated or plain) of xn[rows x d]. blocks/ffn.cpp
void ffn_block(const ModelConfig& c, const FfnSpec& spec, const LayerWeights& L, const float* xn, int64_t rows,
               float* out, bool accumulate, ForwardState& s, ThreadPool& pool);

// A gated FFN with explicit matrices (an expert, a shared expert): out (+)= down(act(gate x) * up x).
void gated_ffn(Activation act, const WeightView& gate, const WeightView& up, const WeightView& down, const float* xn,
               int64_t rows, int64_t d, float* out, bool accumulate, ForwardState& s, ThreadPool& pool);

// out[rows x d] (+)= sparse experts of xn[rows x d]: top-k routing per row, only the chosen experts' rows
// multiplied, plus the shared expert. blocks/experts.cpp
void experts_block(const ModelConfig& c, const FfnSpec& spec, const LayerWeights& L, const float* xn, int64_t rows,
                   float* out, bool accumulate, ForwardState& s, ThreadPool& pool);

// x = act(x) over n values; gate = act(gate) * up.
void activate(Activation act, float* x, int64_t n);
void gated_activate(Activation act, float* gate, const float* up, int64_t rows, int64_t n, int64_t ld_up,
                    ThreadPool& pool);

// One layer over the pass: x[n x d] -> x, following the layer's block description. layer.cpp
void run_layer(const ModelConfig& c, const LayerSpec& spec, const LayerWeights& L, int layer, const PassRows& rows,
               ForwardState& s, ThreadPool& pool);

}  // namespace lmzip
