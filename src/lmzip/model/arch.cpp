#include "lmzip/model/arch.h"

namespace lmzip {
namespace {

using MW = ModelWeights;
using LW = LayerWeights;

// The llama family's tensors; the other families start from these.
std::vector<TensorSpec<MW>> llama_model_tensors() {
  return {
      {"token_embd.weight", {Dim::Embd, Dim::Vocab}, Need::Required, &MW::token_embd},
      {"output_norm.weight", {Dim::Embd}, Need::Required, &MW::output_norm},
      {"output.weight", {Dim::Embd, Dim::Vocab}, Need::Optional, &MW::output},
      {"rope_freqs.weight", {Dim::RotHalf}, Need::Optional, &MW::rope_freq_factors},
  };
}

std::vector<TensorSpec<LW>> llama_layer_tensors() {
  return {
      {"attn_norm.weight", {Dim::Embd}, Need::Required, &LW::attn_norm},
      {"attn_q.weight", {Dim::Embd, Dim::QDim}, Need::Required, &LW::wq},
      {"attn_k.weight", {Dim::Embd, Dim::KVDim}, Need::Required, &LW::wk},
      {"attn_v.weight", {Dim::Embd, Dim::KVDim}, Need::Required, &LW::wv},
      {"attn_q.bias", {Dim::QDim}, Need::IfQkvBias, &LW::bq},
      {"attn_k.bias", {Dim::KVDim}, Need::IfQkvBias, &LW::bk},
      {"attn_v.bias", {Dim::KVDim}, Need::IfQkvBias, &LW::bv},
      {"attn_output.weight", {Dim::QDim, Dim::Embd}, Need::Required, &LW::wo},
      {"ffn_norm.weight", {Dim::Embd}, Need::Required, &LW::ffn_norm},
      {"ffn_gate.weight", {Dim::Embd, Dim::FF}, Need::Required, &LW::w_gate},
      {"ffn_up.weight", {Dim::Embd, Dim::FF}, Need::Required, &LW::w_up},
      {"ffn_down.weight", {Dim::FF, Dim::Embd}, Need::Required, &LW::w_down},
  };
}

std::vector<ArchSpec> make_registry() {
  std::vector<ArchSpec> archs;
  // Llama 1/2/3, Mistral, Yi, DeepSeek, CodeLlama: Q/K in the converters' permuted layout -> adjacent-pair RoPE.
  archs.push_back({.name = "llama",
                   .rope_style = RopeStyle::Normal,
                   .qkv_bias = false,
                   .model_tensors = llama_model_tensors(),
                   .layer_tensors = llama_layer_tensors()});
  // Qwen2 / Qwen2.5: Q/K/V biases, Q/K unpermuted -> NEOX (half-split) RoPE.
  archs.push_back({.name = "qwen2",
                   .rope_style = RopeStyle::Neox,
                   .qkv_bias = true,
                   .model_tensors = llama_model_tensors(),
                   .layer_tensors = llama_layer_tensors()});
  return archs;
}

const std::vector<ArchSpec>& registry() {
  static const std::vector<ArchSpec> archs = make_registry();
  return archs;
}

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec& a : registry()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string supported_architectures() {
  std::string s;
  for (const ArchSpec& a : registry()) s += (s.empty() ? "" : ", ") + a.name;
  return s;
}

}  // namespace lmzip
