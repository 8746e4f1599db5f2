// A language model loaded from a GGUF file, and its causal forward pass on the CPU.
//
// Weights stay memory-mapped in their stored type (supported_weight_types() in kernels/dequant.h); a matrix product
// dequantizes panels of weights to fp32 and runs an fp32 GEMM. Activations are fp32, sums of nats double.
// The architecture (llama, falcon, mamba, ...) is data: a family (family.h) gives a block description per layer
// (block.h) and a tensor table; one layer function runs every family.
//
// Thread safety: a Model is immutable after load(); score() is const and may run concurrently from several
// threads, each with its own ThreadPool.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/kernels/matmul.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/block.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// The model's output at input[position] predicts `target` (the token at position + 1 in the text).
struct ScoredTarget {
  uint32_t position;
  TokenId target;
};

struct ModelConfig {
  std::string architecture;  // general.architecture
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;      // feed_forward_length (the dense FFN's width)
  int n_ctx_train = 0;
  int head_dim = 0;  // attention.key_length, else n_embd / n_head
  int n_rot = 0;     // rope.dimension_count (<= head_dim): dimensions of each head that are rotated
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;   // linear rope scaling: 1 / rope.scaling.factor (positions are compressed)
  float rope_attn_factor = 1.0f;  // rope.scaling.attn_factor: multiplies cos and sin (Phi-3 LongRoPE)
  int64_t rope_orig_ctx = 0;      // rope.scaling.original_context_length: above it Phi-3 uses the long factors;
                                  // YaRN's n_ctx_orig
  bool rope_yarn = false;         // rope.scaling.type "yarn" (families that declare it: DeepSeek-V2)
  float norm_eps = 1e-5f;         // attention.layer_norm_rms_epsilon or attention.layer_norm_epsilon
  RopeKind rope = RopeKind::Normal;
  float attn_scale = 0;           // the query scale (1 / sqrt(head_dim) unless the family says otherwise)
  int v_head_dim = 0;  // attention.value_length; differs from head_dim only for latent attention
  // Multi-head latent attention (DeepSeek-V2): q_lora_rank (0: attn_q directly, "lite"), kv_lora_rank.
  int q_lora_rank = 0, kv_lora_rank = 0;
  // Sparse experts (expert_count > 0).
  int n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
  // Mamba (ssm.*).
  int ssm_d_inner = 0, ssm_d_state = 0, ssm_d_conv = 0, ssm_dt_rank = 0;
  // Model-level behaviour of the family.
  NormKind output_norm = NormKind::Rms;
  float embedding_scale = 0;        // > 0: input embeddings multiplied by it (Gemma: sqrt(n_embd))
  bool learned_positions = false;   // position_embd added to the input (StarCoder)
  float logit_scale = 1;            // logits multiplied by it (Command-R)
  float final_softcap = 0;          // > 0: logits become cap * tanh(logit / cap) (Gemma 2)
  bool tied_output = false;         // no output.weight: the output layer reuses token_embd
  bool rope_freq_factors = false;   // rope_freqs.weight present (Llama 3 frequency scaling)
  std::vector<LayerSpec> layers;    // the block description of every layer

  bool has_attention() const;   // some layer attends (needs a KV cache)
  bool attends(int il) const { return layers[static_cast<size_t>(il)].mixer != MixerKind::Mamba; }
  bool recurrent() const;       // some layer keeps a recurrent state (Mamba): no truncation, no shared prefixes
  int64_t q_dim() const { return int64_t{n_head} * head_dim; }
  int64_t kv_dim() const { return int64_t{n_head_kv} * head_dim; }
};

// The weights of one block. Shapes as GGUF dims (ne[0] first = input features of a matrix). Matrices are views
// into the mapping in their stored type; vectors (norms, biases, small SSM parameters) are fp32 copies. A tensor
// the family does not have stays empty (a view with no data, an empty vector).
struct LayerWeights {
  std::vector<float> attn_norm, attn_norm_b;  // [n_embd] (Falcon-40B: HF ln_attn, from attn_norm_2)
  WeightView wqkv;                   // [n_embd, q_dim + 2 kv_dim] fused, rows [Q | K | V]
  std::vector<float> bqkv;
  WeightView wq, wk, wv;             // [n_embd, q_dim], [n_embd, kv_dim] x2
  std::vector<float> bq, bk, bv;
  std::vector<float> q_norm, k_norm;  // [q_dim], [kv_dim] (OLMo 2)
  // Latent attention (DeepSeek-V2): q = wq_b(rms(wq_a x)) (or wq x), [c_kv | k_pe] = wkv_a x,
  // per head [k_nope | v] = wkv_b rms(c_kv).
  WeightView wq_a, wq_b;             // [n_embd, q_lora], [q_lora, q_dim]
  std::vector<float> q_a_norm;       // [q_lora]
  WeightView wkv_a;                  // [n_embd, kv_lora + n_rot]
  std::vector<float> kv_a_norm;      // [kv_lora]
  WeightView wkv_b;                  // [kv_lora, n_head (nope + v_head_dim)]
  WeightView wo;                     // [q_dim, n_embd] (latent attention: [n_head v_head_dim, n_embd])
  std::vector<float> bo;
  std::vector<float> post_attn_norm;  // [n_embd] (Gemma 2, OLMo 2)
  std::vector<float> ffn_norm, ffn_norm_b;  // [n_embd]
  WeightView w_gate, w_up, w_down;   // [n_embd, n_ff] x2, [n_ff, n_embd]; Phi-3: w_up [n_embd, 2 n_ff]
  std::vector<float> b_up, b_down;
  std::vector<float> post_ffn_norm;  // [n_embd]
  // Experts: 3-D tensors [n_in, n_out, n_expert] viewed as n_expert stacked matrices (expert_matrix()), or
  // one 2-D tensor per expert (blk.N.ffn_gate.E.weight: older GGUF files, Hugging Face checkpoints). The
  // per-expert views below are what the blocks read; the loader fills them from either layout.
  WeightView gate_inp;               // [n_embd, n_expert] the router
  WeightView gate_exps, up_exps, down_exps;
  std::vector<WeightView> gate_exp, up_exp, down_exp;  // one matrix per expert
  WeightView gate_inp_shexp;         // [n_embd, 1]
  WeightView gate_shexp, up_shexp, down_shexp;  // [n_embd, n_ff_shexp] x2, [n_ff_shexp, n_embd]
  // Mamba.
  WeightView ssm_in;                 // [n_embd, 2 d_inner] -> [x | z]
  std::vector<float> ssm_conv1d, ssm_conv1d_b;  // [d_conv, d_inner], [d_inner]
  WeightView ssm_x;                  // [d_inner, dt_rank + 2 d_state] -> [dt | B | C]
  WeightView ssm_dt;                 // [dt_rank, d_inner]
  std::vector<float> ssm_dt_b;       // [d_inner]
  std::vector<float> ssm_a, ssm_d;   // [d_state, d_inner] (A = -exp(A_log)), [d_inner]
  std::vector<float> ssm_dt_norm, ssm_b_norm, ssm_c_norm;  // [dt_rank], [d_state] x2: Jamba's RMSNorms on dt, B, C
  WeightView ssm_out;                // [d_inner, n_embd]
};

struct ModelWeights {
  WeightView token_embd;              // [n_embd, n_vocab]
  WeightView position_embd;           // [n_embd, n_ctx_train] (StarCoder)
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm, output_norm_b;  // [n_embd]
  WeightView output;                  // [n_embd, n_vocab] (token_embd when tied)
  std::vector<float> rope_freq_factors;  // [n_rot / 2], empty when absent
  std::vector<float> rope_factors_long, rope_factors_short;  // [n_rot / 2] (Phi-3)
};

// Expert e of a 3-D expert tensor, as a 2-D matrix.
WeightView expert_matrix(const WeightView& stacked, int n_expert, int e);

class Model {
 public:
  // Loads `file` (which must outlive the Model): reads the configuration, validates every tensor's presence,
  // type and shape; throws lmzip::Error naming the file and the tensor or key otherwise.
  static std::unique_ptr<Model> load(const GgufFile& file);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const std::string& file_name() const { return file_name_; }

  // One causal forward pass over `input` (a fresh context, positions 0..input.size()-1) and, for each target,
  // -ln p(target | input[0..position]) in nats, in the order of `targets`. Positions without targets never
  // touch the output layer. Throws lmzip::Error for a token id outside the vocabulary or a bad position.
  std::vector<double> score(std::span<const TokenId> input, std::span<const ScoredTarget> targets,
                            ThreadPool& pool) const;

 private:
  Model() = default;
  std::string file_name_;
  ModelConfig config_;
  ModelWeights weights_;
};

}  // namespace lmzip
