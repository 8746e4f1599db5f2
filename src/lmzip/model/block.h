// The block description of one layer: what a family is made of, as data. A family (family.h) says, per layer,
// which norm, which mixer (attention or Mamba), which feed-forward and which residual layout it uses; the one
// layer function (layer.cpp) reads this description and calls the blocks (blocks/*.cpp). Adding a family means
// writing its description and its tensor table, not another code path.
#pragma once

#include <string>

namespace lmzip {

// RMSNorm: x / sqrt(mean(x^2) + eps) * w. LayerNorm: (x - mean) / sqrt(var + eps) * w (+ b when the file has a
// bias). Weight offsets such as Gemma's 1 + w are already folded into the GGUF weights by the converters.
enum class NormKind { None, Rms, Layer };

// How RoPE pairs the dimensions of a head. Normal (GGML mode 0): adjacent pairs (2i, 2i+1), what llama-family
// converters' permuted Q/K weights expect. Neox (GGML mode 2): pairs (i, i + n_rot/2). None: no rotation
// (learned absolute positions, or none at all). Fixed per architecture in llama.cpp, not a GGUF key.
enum class RopeKind { None, Normal, Neox };

enum class MixerKind {
  Attention,  // multi-head / grouped-query / multi-query softmax attention with a KV cache
  Mamba,      // Mamba-1 selective state space: causal conv + scan, with a recurrent state per sequence
  // DeepSeek-V2 multi-head latent attention: Q (optionally through a low-rank q LoRA) and a compressed KV
  // latent expanded per head to [k_nope | v], plus one shared rotated k_pe; keys wider than values.
  LatentAttention,
};

enum class Activation {
  Silu,
  GeluTanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): PyTorch's gelu(approximate="tanh")
  GeluErf,   // 0.5 x (1 + erf(x / sqrt(2))): PyTorch's exact gelu
};

enum class FfnKind {
  None,     // no feed-forward (Mamba blocks)
  Gated,    // down(act(gate x) * up x): SwiGLU (Silu) or GeGLU (GeluTanh)
  Plain,    // down(act(up x + b) + b): the GPT-2 style MLP with biases where the file has them
  Experts,  // sparse experts, each a gated FFN, top-k routing, optional gated shared expert
};

enum class Residual {
  Sequential,  // x += mixer(norm1 x); x += ffn(norm2 x)
  Parallel,    // x += mixer(norm1 x) + ffn(norm2 x), norm2 = norm1 when the layer has one norm (Falcon-7B, Cohere)
};

struct AttentionSpec {
  bool fused_qkv = false;   // one attn_qkv matrix whose rows are [Q | K | V]
  bool qk_norm = false;     // RMSNorm over the whole projected Q and K vectors before the head split (OLMo 2)
  int sliding_window = 0;   // > 0: a query sees only the keys of the last sliding_window positions
  float softcap = 0;        // > 0: scores become cap * tanh(score / cap) before the softmax (Gemma 2)
  bool operator==(const AttentionSpec&) const = default;
};

struct FfnSpec {
  FfnKind kind = FfnKind::Gated;
  Activation act = Activation::Silu;
  bool fused_gate_up = false;      // ffn_up holds [gate | up] (Phi-3)
  // Experts: softmax over all experts, the top n_expert_used; renormalize the chosen weights to sum to 1
  // (Mixtral) or keep them (Qwen2-MoE, DeepSeek-V2); a shared expert gated by sigmoid(ffn_gate_inp_shexp x).
  bool renormalize = false;
  bool shared_expert = false;
  bool shared_expert_gated = false;
  float expert_weight_scale = 1;
  bool operator==(const FfnSpec&) const = default;
};

struct LayerSpec {
  MixerKind mixer = MixerKind::Attention;
  NormKind norm = NormKind::Rms;  // every norm of the layer
  bool pre_norm = true;           // normalize each block's input (OLMo 2: no)
  bool post_norms = false;        // normalize each block's output before the residual add (Gemma 2, OLMo 2)
  Residual residual = Residual::Sequential;
  AttentionSpec attention;
  FfnSpec ffn;

  // One line for `lmzip info`, e.g. "RMSNorm -> attention (GQA, RoPE neox) -> + -> RMSNorm -> SwiGLU -> +".
  std::string describe(RopeKind rope, int n_head, int n_head_kv) const;
  bool operator==(const LayerSpec&) const = default;
};

}  // namespace lmzip
