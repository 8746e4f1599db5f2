// The architecture registry: each GGUF `general.architecture` the engine runs is a row of data: its options
// (rope style, biases, ...) and the tensor table that drives loading and validation. Adding a family that
// fits the same forward pass (norm -> attention -> residual -> norm -> FFN -> residual) means adding a row
// here, plus a small option in the forward pass for anything genuinely new.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmzip/model/model.h"

namespace lmzip {

// A tensor dimension as a function of the configuration.
enum class Dim { Embd, Vocab, QDim, KVDim, FF, RotHalf };

// When a tensor must be present.
enum class Need {
  Required,
  Optional,   // absent is fine (e.g. output.weight: tied to token_embd; rope_freqs.weight)
  IfQkvBias,  // required exactly when the architecture has Q/K/V biases
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

struct ArchSpec {
  std::string name;  // general.architecture
  RopeStyle rope_style = RopeStyle::Normal;
  bool qkv_bias = false;
  std::vector<TensorSpec<ModelWeights>> model_tensors;
  std::vector<TensorSpec<LayerWeights>> layer_tensors;
};

// The spec for a GGUF architecture name, or nullptr when unsupported.
const ArchSpec* find_arch(std::string_view name);
// "llama, qwen2" (for error messages).
std::string supported_architectures();

}  // namespace lmzip
