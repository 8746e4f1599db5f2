// A language model loaded from a GGUF file, and its causal forward pass on the CPU.
//
// Weights stay memory-mapped in their stored type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K); a matrix product
// dequantizes panels of weights to fp32 and runs an fp32 GEMM. Activations are fp32, sums of nats double.
// The architecture (llama, qwen2, ...) is a configuration plus a tensor table from the registry in arch.h.
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
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// The model's output at input[position] predicts `target` (the token at position + 1 in the text).
struct ScoredTarget {
  uint32_t position;
  TokenId target;
};

// How RoPE pairs the dimensions of a head. Normal (GGML mode 0): adjacent pairs (2i, 2i+1), what llama-family
// converters' permuted Q/K weights expect. Neox (GGML mode 2): pairs (i, i + n_rot/2), as qwen2 stores Q/K.
enum class RopeStyle { Normal, Neox };

struct ModelConfig {
  std::string architecture;  // general.architecture
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int n_ctx_train = 0;
  int head_dim = 0;  // n_embd / n_head
  int n_rot = 0;     // rope.dimension_count (<= head_dim): dimensions of each head that are rotated
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear rope scaling: 1 / rope.scaling.factor (positions are compressed)
  float norm_eps = 1e-5f;  // attention.layer_norm_rms_epsilon
  RopeStyle rope_style = RopeStyle::Normal;
  bool qkv_bias = false;     // Q/K/V projections have biases (qwen2)
  bool tied_output = false;  // no output.weight: the output layer reuses token_embd
  bool rope_freq_factors = false;  // rope_freqs.weight present (Llama 3 frequency scaling)
};

// The weights of one transformer block. Shapes as GGUF dims (ne[0] first = input features of a matrix).
// Matrices are views into the mapping in their stored type; vectors (norms, biases) are small fp32 copies.
struct LayerWeights {
  std::vector<float> attn_norm;      // [n_embd]
  WeightView wq;                     // [n_embd, n_head * head_dim]
  WeightView wk;                     // [n_embd, n_head_kv * head_dim]
  WeightView wv;                     // [n_embd, n_head_kv * head_dim]
  std::vector<float> bq, bk, bv;     // [n_head * head_dim], [n_head_kv * head_dim] x2; empty without biases
  WeightView wo;                     // [n_head * head_dim, n_embd]
  std::vector<float> ffn_norm;       // [n_embd]
  WeightView w_gate;                 // [n_embd, n_ff]
  WeightView w_up;                   // [n_embd, n_ff]
  WeightView w_down;                 // [n_ff, n_embd]
};

struct ModelWeights {
  WeightView token_embd;              // [n_embd, n_vocab]
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;     // [n_embd]
  WeightView output;                  // [n_embd, n_vocab] (token_embd when tied)
  std::vector<float> rope_freq_factors;  // [n_rot / 2], empty when absent
};

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
