// The family registry: each GGUF `general.architecture` lmzip runs is a row of data (families.cpp): its norm and
// RoPE kinds, its own metadata keys, a block description per layer (block.h) and one tensor table that drives
// loading and validation (model.cpp), `lmzip synth` (synth.cpp) and the tests' reference forward.
//
// Adding a family: docs/ENGINE.md, "Adding a family".
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"

namespace lmzip {

// A tensor dimension as a function of the configuration.
enum class Dim {
  Embd, Vocab, Ctx,            // n_embd, n_vocab, context_length (learned positions)
  QDim, KVDim, QKVDim,         // n_head * head_dim, n_head_kv * head_dim, q_dim + 2 kv_dim
  FF, FF2, FFHalf,             // n_ff, 2 n_ff (Phi-3's fused gate|up), n_ff / 2 (Qwen v1)
  RotHalf,                     // n_rot / 2
  Expert, FFExp, FFShexp, One, // n_expert, expert_feed_forward_length, the shared expert's width, 1
  DInner, DInner2, DState, DConv, DtRank, XProj,  // Mamba: d_inner, 2 d_inner, d_state, d_conv, dt_rank, dt_rank + 2 d_state
  // Latent attention: q_lora_rank, kv_lora_rank, kv_lora_rank + n_rot, n_head (k_nope + v_head_dim), n_head v_head_dim
  QLora, KVLora, KVLoraRot, KVB, VDim,
};

// When a tensor must be present.
enum class Need {
  Required,
  Optional,    // absent is fine (output.weight: tied to token_embd; biases some checkpoints have)
  IfDense,     // required in layers whose feed-forward is dense (Gated / Plain)
  IfExperts,   // required in layers with sparse experts
  IfShared,    // required in layers with a shared expert
  IfGatedShared,  // required when the shared expert is gated
  IfAttention,    // required in layers that attend (hybrid models: Jamba)
  IfMamba,        // required in Mamba layers (hybrid models)
};

// Where a loaded tensor goes: a matrix (view in stored type) or a vector (fp32 copy).
template <typename Owner>
using TensorSlot = std::variant<WeightView Owner::*, std::vector<float> Owner::*>;

template <typename Owner>
struct TensorSpec {
  const char* name;           // per layer: "attn_q.weight" (the loader adds "blk.N.")
  std::vector<Dim> dims;      // GGUF order, ne[0] first
  Need need;
  TensorSlot<Owner> slot;
};

// A metadata key of the family beyond the common ones (the loader reads them; synth writes `synth_value`).
struct FamilyKey {
  const char* suffix;   // after "<arch>.", e.g. "attn_logit_softcapping"
  enum Type { U32, F32, Bool } type;
  bool required;
  double synth_value;
};

struct Family {
  std::string name;     // general.architecture
  std::string models;   // the models it covers, for `lmzip info` and errors
  NormKind norm = NormKind::Rms;  // also picks the eps key: layer_norm_rms_epsilon or layer_norm_epsilon
  RopeKind rope = RopeKind::Normal;
  bool rope_yarn = false;  // accepts rope.scaling.type "yarn" (the others refuse it)
  std::vector<FamilyKey> keys{};
  std::vector<TensorSpec<ModelWeights>> model_tensors;
  std::vector<TensorSpec<LayerWeights>> layer_tensors;
  // Reads the family's keys (and anything that depends on the file) into the configuration. May be null.
  void (*configure)(const GgufFile& file, ModelConfig& c) = nullptr;
  // The block description of layer `il`, from the configuration and the tensors present in the file.
  LayerSpec (*layer)(const GgufFile& file, const ModelConfig& c, int il) = nullptr;
  // Moves tensors into the slots the block description reads (Falcon-40B's norm names). May be null.
  void (*finish_layer)(LayerWeights& L) = nullptr;
};

// The family of a GGUF architecture name, or nullptr when unsupported.
const Family* find_family(std::string_view name);
const std::vector<Family>& families();
// "llama, qwen2, ..." (for error messages).
std::string supported_architectures();

// The value of a dimension for a configuration.
int64_t dim_value(const ModelConfig& c, Dim d);
// Whether a tensor of `need` is required in a layer of this description.
bool tensor_required(Need need, const LayerSpec* layer);

}  // namespace lmzip
