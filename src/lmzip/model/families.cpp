// The families lmzip runs, as data: per GGUF `general.architecture`, its norm and RoPE kinds, its own metadata
// keys, the block description of each layer and its tensor table. The conventions follow llama.cpp's GGUF
// converters and graphs (names, layouts) and the published Hugging Face definitions (the math).
#include "lmzip/model/family.h"

#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

using MW = ModelWeights;
using LW = LayerWeights;
using Table = std::vector<TensorSpec<LW>>;
using ModelTable = std::vector<TensorSpec<MW>>;

// ---- Tensor-table pieces shared by the families ----

template <typename Owner>
std::vector<TensorSpec<Owner>> operator+(std::vector<TensorSpec<Owner>> a, const std::vector<TensorSpec<Owner>>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ModelTable model_tensors(Need output_norm_bias = Need::Optional) {
  return {
      {"token_embd.weight", {Dim::Embd, Dim::Vocab}, Need::Required, &MW::token_embd},
      {"output_norm.weight", {Dim::Embd}, Need::Required, &MW::output_norm},
      {"output_norm.bias", {Dim::Embd}, output_norm_bias, &MW::output_norm_b},
      {"output.weight", {Dim::Embd, Dim::Vocab}, Need::Optional, &MW::output},
      {"rope_freqs.weight", {Dim::RotHalf}, Need::Optional, &MW::rope_freq_factors},
  };
}

Table attn_norm(Need bias = Need::Optional) {
  return {{"attn_norm.weight", {Dim::Embd}, Need::Required, &LW::attn_norm},
          {"attn_norm.bias", {Dim::Embd}, bias, &LW::attn_norm_b}};
}
Table ffn_norm(Need need = Need::Required, Need bias = Need::Optional) {
  return {{"ffn_norm.weight", {Dim::Embd}, need, &LW::ffn_norm},
          {"ffn_norm.bias", {Dim::Embd}, bias, &LW::ffn_norm_b}};
}
Table split_qkv(Need bias) {
  return {{"attn_q.weight", {Dim::Embd, Dim::QDim}, Need::Required, &LW::wq},
          {"attn_k.weight", {Dim::Embd, Dim::KVDim}, Need::Required, &LW::wk},
          {"attn_v.weight", {Dim::Embd, Dim::KVDim}, Need::Required, &LW::wv},
          {"attn_q.bias", {Dim::QDim}, bias, &LW::bq},
          {"attn_k.bias", {Dim::KVDim}, bias, &LW::bk},
          {"attn_v.bias", {Dim::KVDim}, bias, &LW::bv}};
}
Table fused_qkv(Need bias) {
  return {{"attn_qkv.weight", {Dim::Embd, Dim::QKVDim}, Need::Required, &LW::wqkv},
          {"attn_qkv.bias", {Dim::QKVDim}, bias, &LW::bqkv}};
}
Table attn_output(Need bias = Need::Optional) {
  return {{"attn_output.weight", {Dim::QDim, Dim::Embd}, Need::Required, &LW::wo},
          {"attn_output.bias", {Dim::Embd}, bias, &LW::bo}};
}
Table gated_ffn(Need need = Need::IfDense, Dim width = Dim::FF) {
  return {{"ffn_gate.weight", {Dim::Embd, width}, need, &LW::w_gate},
          {"ffn_up.weight", {Dim::Embd, width}, need, &LW::w_up},
          {"ffn_down.weight", {width, Dim::Embd}, need, &LW::w_down}};
}
Table plain_ffn(Need bias) {
  return {{"ffn_up.weight", {Dim::Embd, Dim::FF}, Need::Required, &LW::w_up},
          {"ffn_up.bias", {Dim::FF}, bias, &LW::b_up},
          {"ffn_down.weight", {Dim::FF, Dim::Embd}, Need::Required, &LW::w_down},
          {"ffn_down.bias", {Dim::Embd}, bias, &LW::b_down}};
}
Table experts(Dim width) {
  return {{"ffn_gate_inp.weight", {Dim::Embd, Dim::Expert}, Need::IfExperts, &LW::gate_inp},
          {"ffn_gate_exps.weight", {Dim::Embd, width, Dim::Expert}, Need::IfExperts, &LW::gate_exps},
          {"ffn_up_exps.weight", {Dim::Embd, width, Dim::Expert}, Need::IfExperts, &LW::up_exps},
          {"ffn_down_exps.weight", {width, Dim::Embd, Dim::Expert}, Need::IfExperts, &LW::down_exps}};
}
Table shared_expert(bool gated = true) {
  Table gate;
  if (gated) gate = {{"ffn_gate_inp_shexp.weight", {Dim::Embd, Dim::One}, Need::IfGatedShared, &LW::gate_inp_shexp}};
  return gate + Table{
          {"ffn_gate_shexp.weight", {Dim::Embd, Dim::FFShexp}, Need::IfShared, &LW::gate_shexp},
          {"ffn_up_shexp.weight", {Dim::Embd, Dim::FFShexp}, Need::IfShared, &LW::up_shexp},
          {"ffn_down_shexp.weight", {Dim::FFShexp, Dim::Embd}, Need::IfShared, &LW::down_shexp}};
}
// Mamba-1 mixer tensors; `need` Required (mamba) or IfMamba (hybrid layers).
Table mamba_tensors(Need need) {
  return {{"ssm_in.weight", {Dim::Embd, Dim::DInner2}, need, &LW::ssm_in},
          {"ssm_conv1d.weight", {Dim::DConv, Dim::DInner}, need, &LW::ssm_conv1d},
          {"ssm_conv1d.bias", {Dim::DInner}, need, &LW::ssm_conv1d_b},
          {"ssm_x.weight", {Dim::DInner, Dim::XProj}, need, &LW::ssm_x},
          {"ssm_dt.weight", {Dim::DtRank, Dim::DInner}, need, &LW::ssm_dt},
          {"ssm_dt.bias", {Dim::DInner}, need, &LW::ssm_dt_b},
          {"ssm_a", {Dim::DState, Dim::DInner}, need, &LW::ssm_a},
          {"ssm_d", {Dim::DInner}, need, &LW::ssm_d},
          {"ssm_out.weight", {Dim::DInner, Dim::Embd}, need, &LW::ssm_out}};
}
// DeepSeek-V2 latent attention: with q LoRA (attn_q_a, its norm, attn_q_b) or without ("lite": attn_q); which
// one the file has is checked by the loader.
Table latent_attention() {
  return {{"attn_q_a.weight", {Dim::Embd, Dim::QLora}, Need::Optional, &LW::wq_a},
          {"attn_q_a_norm.weight", {Dim::QLora}, Need::Optional, &LW::q_a_norm},
          {"attn_q_b.weight", {Dim::QLora, Dim::QDim}, Need::Optional, &LW::wq_b},
          {"attn_q.weight", {Dim::Embd, Dim::QDim}, Need::Optional, &LW::wq},
          {"attn_kv_a_mqa.weight", {Dim::Embd, Dim::KVLoraRot}, Need::Required, &LW::wkv_a},
          {"attn_kv_a_norm.weight", {Dim::KVLora}, Need::Required, &LW::kv_a_norm},
          {"attn_kv_b.weight", {Dim::KVLora, Dim::KVB}, Need::Required, &LW::wkv_b},
          {"attn_output.weight", {Dim::VDim, Dim::Embd}, Need::Required, &LW::wo}};
}

Table post_norms() {
  return {{"post_attention_norm.weight", {Dim::Embd}, Need::Required, &LW::post_attn_norm},
          {"post_ffw_norm.weight", {Dim::Embd}, Need::Required, &LW::post_ffn_norm}};
}

// ---- Reading family keys ----

double key_or(const GgufFile& f, const ModelConfig& c, const char* suffix, double fallback) {
  return f.get_double(c.architecture + "." + suffix).value_or(fallback);
}
double require_key(const GgufFile& f, const ModelConfig& c, const char* suffix) {
  return f.require_double(c.architecture + "." + suffix);
}
bool has_tensor(const GgufFile& f, int il, const char* name) {
  return f.find_tensor("blk." + std::to_string(il) + "." + name) != nullptr;
}

// ---- Block descriptions ----

LayerSpec llama_layer(const GgufFile&, const ModelConfig& c, int) {
  LayerSpec s;  // RMSNorm -> attention -> + -> RMSNorm -> SwiGLU (or Mixtral's experts) -> +
  if (c.n_expert > 0) s.ffn = {.kind = FfnKind::Experts, .act = Activation::Silu, .renormalize = true};
  return s;
}

LayerSpec qwen2moe_layer(const GgufFile& f, const ModelConfig& c, int il) {
  LayerSpec s;
  s.ffn = {.kind = FfnKind::Experts, .act = Activation::Silu, .renormalize = false,
           .shared_expert = c.n_ff_shexp > 0, .shared_expert_gated = has_tensor(f, il, "ffn_gate_inp_shexp.weight")};
  return s;
}

LayerSpec qwen_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.attention.fused_qkv = true;
  return s;
}

// Falcon: one LayerNorm feeding attention and MLP in parallel (7B); the "new decoder architecture" (40B) has a
// second norm, attn_norm_2 (HF ln_attn) for attention while attn_norm (HF ln_mlp) feeds the MLP.
LayerSpec falcon_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.norm = NormKind::Layer;
  s.residual = Residual::Parallel;
  s.attention.fused_qkv = true;
  s.ffn = {.kind = FfnKind::Plain, .act = Activation::GeluErf};
  return s;
}
void falcon_finish(LW& L) {
  // Loaded attn_norm_2 into ffn_norm's slot (see the table); 40B: swap so that attn_norm feeds attention.
  if (!L.ffn_norm.empty()) {
    std::swap(L.attn_norm, L.ffn_norm);
    std::swap(L.attn_norm_b, L.ffn_norm_b);
  }
}

LayerSpec starcoder_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.norm = NormKind::Layer;
  s.attention.fused_qkv = true;
  s.ffn = {.kind = FfnKind::Plain, .act = Activation::GeluTanh};
  return s;
}

LayerSpec starcoder2_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.norm = NormKind::Layer;
  s.ffn = {.kind = FfnKind::Plain, .act = Activation::GeluTanh};
  return s;
}

LayerSpec gemma_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.ffn = {.kind = FfnKind::Gated, .act = Activation::GeluTanh};
  return s;
}

LayerSpec gemma2_layer(const GgufFile& f, const ModelConfig& c, int il) {
  LayerSpec s = gemma_layer(f, c, il);
  s.post_norms = true;
  s.attention.softcap = static_cast<float>(key_or(f, c, "attn_logit_softcapping", 0));
  // Gemma 2 alternates local (sliding window) and global attention, starting with a local layer.
  if (il % 2 == 0) s.attention.sliding_window = static_cast<int>(require_key(f, c, "attention.sliding_window"));
  return s;
}

LayerSpec phi3_layer(const GgufFile& f, const ModelConfig& c, int) {
  LayerSpec s;
  s.attention.fused_qkv = true;
  s.attention.sliding_window = static_cast<int>(require_key(f, c, "attention.sliding_window"));
  s.ffn.fused_gate_up = true;
  return s;
}

LayerSpec gptneox_layer(const GgufFile& f, const ModelConfig& c, int) {
  LayerSpec s;
  s.norm = NormKind::Layer;
  s.attention.fused_qkv = true;
  s.ffn = {.kind = FfnKind::Plain, .act = Activation::GeluErf};
  const GgufValue* parallel = f.find(c.architecture + ".use_parallel_residual");
  if (parallel == nullptr || !parallel->as_bool()) {
    throw Error(f.name() + ": gptneox needs the boolean key gptneox.use_parallel_residual");
  }
  s.residual = *parallel->as_bool() ? Residual::Parallel : Residual::Sequential;
  return s;
}

// StableLM: parallel residual exactly when the layer has no ffn_norm (as llama.cpp decides it).
LayerSpec stablelm_layer(const GgufFile& f, const ModelConfig&, int il) {
  LayerSpec s;
  s.norm = NormKind::Layer;
  if (!has_tensor(f, il, "ffn_norm.weight")) s.residual = Residual::Parallel;
  return s;
}

LayerSpec command_r_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.norm = NormKind::Layer;  // without bias: the mean is still subtracted
  s.residual = Residual::Parallel;
  return s;
}

LayerSpec olmo2_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.pre_norm = false;
  s.post_norms = true;
  s.attention.qk_norm = true;
  return s;
}

LayerSpec mamba_layer(const GgufFile&, const ModelConfig&, int) {
  LayerSpec s;
  s.mixer = MixerKind::Mamba;
  s.ffn.kind = FfnKind::None;
  return s;
}

// DeepSeek-V2: latent attention; the first leading_dense_block_count FFNs dense, then experts (softmax, top-k,
// renormalized iff expert_weights_norm, times expert_weights_scale) plus the ungated shared experts.
LayerSpec deepseek2_layer(const GgufFile& f, const ModelConfig& c, int il) {
  LayerSpec s;
  s.mixer = MixerKind::LatentAttention;
  if (il >= static_cast<int>(key_or(f, c, "leading_dense_block_count", 0)) && c.n_expert > 0) {
    const GgufValue* norm = f.find(c.architecture + ".expert_weights_norm");
    s.ffn = {.kind = FfnKind::Experts, .act = Activation::Silu,
             .renormalize = norm != nullptr && norm->as_bool().value_or(false), .shared_expert = c.n_ff_shexp > 0,
             .shared_expert_gated = false,
             .expert_weight_scale = static_cast<float>(key_or(f, c, "expert_weights_scale", 1.0))};
  }
  return s;
}

// Jamba: a Mamba mixer where the layer has ssm_in, attention (no RoPE) otherwise; experts (softmax, top-k, not
// renormalized) where it has a router, a dense SwiGLU otherwise.
LayerSpec jamba_layer(const GgufFile& f, const ModelConfig&, int il) {
  LayerSpec s;
  if (has_tensor(f, il, "ssm_in.weight")) s.mixer = MixerKind::Mamba;
  if (has_tensor(f, il, "ffn_gate_inp.weight")) s.ffn = {.kind = FfnKind::Experts, .act = Activation::Silu};
  return s;
}

// ---- Family-specific configuration ----

void gemma_configure(const GgufFile&, ModelConfig& c) { c.embedding_scale = std::sqrt(static_cast<float>(c.n_embd)); }

void gemma2_configure(const GgufFile& f, ModelConfig& c) {
  gemma_configure(f, c);
  c.final_softcap = static_cast<float>(key_or(f, c, "final_logit_softcapping", 0));
  // HF query_pre_attn_scalar: the head size for 2B and 9B, n_embd / n_head for 27B (46 layers), as llama.cpp
  // derives it from the layer count (no GGUF key carries it).
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_layer == 46 ? c.n_embd / c.n_head : c.head_dim));
}

void phi3_configure(const GgufFile& f, ModelConfig& c) {
  c.rope_attn_factor = static_cast<float>(key_or(f, c, "rope.scaling.attn_factor", 1.0));
  c.rope_orig_ctx = static_cast<int64_t>(key_or(f, c, "rope.scaling.original_context_length", 0));
}

void command_r_configure(const GgufFile& f, ModelConfig& c) {
  c.logit_scale = static_cast<float>(key_or(f, c, "logit_scale", 1.0));
}

void starcoder_configure(const GgufFile&, ModelConfig& c) { c.learned_positions = true; }

void deepseek2_configure(const GgufFile& f, ModelConfig& c) {
  c.q_lora_rank = static_cast<int>(key_or(f, c, "attention.q_lora_rank", 0));
  c.kv_lora_rank = static_cast<int>(require_key(f, c, "attention.kv_lora_rank"));
  if (c.q_lora_rank < 0 || c.kv_lora_rank <= 0 || c.n_rot >= c.head_dim || c.n_head_kv != c.n_head) {
    throw Error(f.name() + ": deepseek2 needs kv_lora_rank > 0, rope.dimension_count < key_length and "
                "head_count_kv = head_count");
  }
  if (key_or(f, c, "expert_gating_func", 1) != 1) {
    throw Error(f.name() + ": deepseek2 expert_gating_func " + std::to_string(key_or(f, c, "expert_gating_func", 1)) +
                " (sigmoid gating, DeepSeek-V3) is not supported (supported: 1, softmax)");
  }
  c.n_ff_shexp = c.n_ff_exp * static_cast<int>(key_or(f, c, "expert_shared_count", 0));
  // llama.cpp: kq_scale = mscale^2 / sqrt(key_length), mscale = 1 + yarn_log_multiplier ln(factor); the rope
  // gets attn_factor 1 / (1 + 0.1 ln(factor)), which cancels ggml's YaRN magnitude (only applied with YaRN).
  const double ln_factor = std::log(1.0 / c.rope_freq_scale);
  const double mscale = 1.0 + key_or(f, c, "rope.scaling.yarn_log_multiplier", 0.0) * ln_factor;
  c.attn_scale = static_cast<float>(mscale * mscale / std::sqrt(static_cast<double>(c.head_dim)));
  c.rope_attn_factor = c.rope_yarn ? 1.0f : static_cast<float>(1.0 / (1.0 + 0.1 * ln_factor));
}

std::vector<Family> make_registry() {
  std::vector<Family> fs;
  const Table common_attn = attn_norm() + split_qkv(Need::Optional) + attn_output() + ffn_norm();
  // Llama 1/2/3, Mistral, Mixtral (expert_count > 0), Yi, DeepSeek-LLM, CodeLlama.
  fs.push_back({.name = "llama", .models = "Llama 1/2/3, Mistral, Mixtral, Yi, DeepSeek-LLM, CodeLlama",
                .rope = RopeKind::Normal, .model_tensors = model_tensors(),
                .layer_tensors = common_attn + gated_ffn() + experts(Dim::FF), .layer = llama_layer});
  fs.push_back({.name = "qwen2", .models = "Qwen1.5, Qwen2, Qwen2.5", .rope = RopeKind::Neox,
                .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() + split_qkv(Need::Required) + attn_output() + ffn_norm() + gated_ffn(),
                .layer = llama_layer});
  fs.push_back({.name = "qwen2moe", .models = "Qwen1.5-MoE, Qwen2-MoE", .rope = RopeKind::Neox,
                .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() + split_qkv(Need::Required) + attn_output() + ffn_norm() +
                                 experts(Dim::FFExp) + shared_expert(),
                .layer = qwen2moe_layer});
  fs.push_back({.name = "qwen", .models = "Qwen (v1) 7B/14B/72B", .rope = RopeKind::Neox,
                .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() + fused_qkv(Need::Required) + attn_output() + ffn_norm() +
                                 gated_ffn(Need::Required, Dim::FFHalf),
                .layer = qwen_layer});
  fs.push_back({.name = "falcon", .models = "Falcon 7B/40B/180B", .norm = NormKind::Layer, .rope = RopeKind::Neox,
                .model_tensors = model_tensors(Need::Required),
                .layer_tensors = attn_norm(Need::Required) + fused_qkv(Need::Optional) + attn_output() +
                                 // attn_norm_2 (40B) is read into ffn_norm's slot; falcon_finish swaps them.
                                 Table{{"attn_norm_2.weight", {Dim::Embd}, Need::Optional, &LW::ffn_norm},
                                       {"attn_norm_2.bias", {Dim::Embd}, Need::Optional, &LW::ffn_norm_b}} +
                                 plain_ffn(Need::Optional),
                .layer = falcon_layer, .finish_layer = falcon_finish});
  fs.push_back({.name = "starcoder", .models = "StarCoder, StarCoderBase, SantaCoder (gpt_bigcode)",
                .norm = NormKind::Layer, .rope = RopeKind::None,
                .model_tensors = model_tensors(Need::Required) +
                                 ModelTable{{"position_embd.weight", {Dim::Embd, Dim::Ctx}, Need::Required,
                                             &MW::position_embd}},
                .layer_tensors = attn_norm(Need::Required) + fused_qkv(Need::Required) + attn_output(Need::Required) +
                                 ffn_norm(Need::Required, Need::Required) + plain_ffn(Need::Required),
                .configure = starcoder_configure, .layer = starcoder_layer});
  fs.push_back({.name = "starcoder2", .models = "StarCoder2 3B/7B/15B", .norm = NormKind::Layer,
                .rope = RopeKind::Neox, .model_tensors = model_tensors(Need::Required),
                .layer_tensors = attn_norm(Need::Required) + split_qkv(Need::Required) + attn_output(Need::Required) +
                                 ffn_norm(Need::Required, Need::Required) + plain_ffn(Need::Required),
                .layer = starcoder2_layer});
  fs.push_back({.name = "gemma", .models = "Gemma 2B/7B, CodeGemma", .rope = RopeKind::Neox,
                .model_tensors = model_tensors(), .layer_tensors = common_attn + gated_ffn(Need::Required),
                .configure = gemma_configure, .layer = gemma_layer});
  fs.push_back({.name = "gemma2", .models = "Gemma 2 2B/9B/27B", .rope = RopeKind::Neox,
                .keys = {{"attn_logit_softcapping", FamilyKey::F32, false, 50.0},
                         {"final_logit_softcapping", FamilyKey::F32, false, 30.0},
                         {"attention.sliding_window", FamilyKey::U32, true, 4096}},
                .model_tensors = model_tensors(),
                .layer_tensors = common_attn + gated_ffn(Need::Required) + post_norms(),
                .configure = gemma2_configure, .layer = gemma2_layer});
  fs.push_back({.name = "phi3", .models = "Phi-3, Phi-3.5 (mini, medium)", .rope = RopeKind::Neox,
                .keys = {{"attention.sliding_window", FamilyKey::U32, true, 2047}},
                .model_tensors = model_tensors() +
                                 ModelTable{{"rope_factors_long.weight", {Dim::RotHalf}, Need::Optional,
                                             &MW::rope_factors_long},
                                            {"rope_factors_short.weight", {Dim::RotHalf}, Need::Optional,
                                             &MW::rope_factors_short}},
                .layer_tensors = attn_norm() + fused_qkv(Need::Optional) + attn_output() + ffn_norm() +
                                 Table{{"ffn_up.weight", {Dim::Embd, Dim::FF2}, Need::Required, &LW::w_up},
                                       {"ffn_down.weight", {Dim::FF, Dim::Embd}, Need::Required, &LW::w_down}},
                .configure = phi3_configure, .layer = phi3_layer});
  fs.push_back({.name = "gptneox", .models = "GPT-NeoX-20B, Pythia", .norm = NormKind::Layer,
                .rope = RopeKind::Neox, .keys = {{"use_parallel_residual", FamilyKey::Bool, true, 1}},
                .model_tensors = model_tensors(Need::Required),
                .layer_tensors = attn_norm(Need::Required) + fused_qkv(Need::Required) + attn_output(Need::Required) +
                                 ffn_norm(Need::Required, Need::Required) + plain_ffn(Need::Required),
                .layer = gptneox_layer});
  fs.push_back({.name = "stablelm", .models = "StableLM 2, StableLM-3B-4E1T, StableCode", .norm = NormKind::Layer,
                .rope = RopeKind::Neox, .model_tensors = model_tensors(Need::Required),
                .layer_tensors = attn_norm(Need::Required) + split_qkv(Need::Optional) + attn_output() +
                                 ffn_norm(Need::Optional, Need::Optional) + gated_ffn(Need::Required),
                .layer = stablelm_layer});
  fs.push_back({.name = "command-r", .models = "Command-R, Aya 23 (Cohere)", .norm = NormKind::Layer,
                .rope = RopeKind::Normal, .keys = {{"logit_scale", FamilyKey::F32, false, 0.0625}},
                .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() + split_qkv(Need::Optional) + attn_output() + gated_ffn(Need::Required),
                .configure = command_r_configure, .layer = command_r_layer});
  fs.push_back({.name = "olmo2", .models = "OLMo 2", .rope = RopeKind::Neox, .model_tensors = model_tensors(),
                .layer_tensors = split_qkv(Need::Optional) +
                                 Table{{"attn_q_norm.weight", {Dim::QDim}, Need::Required, &LW::q_norm},
                                       {"attn_k_norm.weight", {Dim::KVDim}, Need::Required, &LW::k_norm}} +
                                 attn_output() + gated_ffn(Need::Required) + post_norms(),
                .layer = olmo2_layer});
  fs.push_back({.name = "mamba", .models = "Mamba (v1) 130M-2.8B", .rope = RopeKind::None,
                .model_tensors = model_tensors(), .layer_tensors = attn_norm() + mamba_tensors(Need::Required),
                .layer = mamba_layer});
  fs.push_back({.name = "deepseek2", .models = "DeepSeek-V2, DeepSeek-V2-Lite, DeepSeek-Coder-V2",
                .rope = RopeKind::Normal, .rope_yarn = true,
                .keys = {{"expert_shared_count", FamilyKey::U32, false, 1},
                         {"expert_weights_scale", FamilyKey::F32, false, 1.5},
                         {"rope.scaling.yarn_log_multiplier", FamilyKey::F32, false, 0.1}},
                .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() + latent_attention() + ffn_norm() + gated_ffn() +
                                 experts(Dim::FFExp) + shared_expert(/*gated=*/false),
                .configure = deepseek2_configure, .layer = deepseek2_layer});
  fs.push_back({.name = "jamba", .models = "Jamba-v0.1, Jamba-1.5 (attention + Mamba + experts)",
                .rope = RopeKind::None, .model_tensors = model_tensors(),
                .layer_tensors = attn_norm() +
                                 Table{{"attn_q.weight", {Dim::Embd, Dim::QDim}, Need::IfAttention, &LW::wq},
                                       {"attn_k.weight", {Dim::Embd, Dim::KVDim}, Need::IfAttention, &LW::wk},
                                       {"attn_v.weight", {Dim::Embd, Dim::KVDim}, Need::IfAttention, &LW::wv},
                                       {"attn_output.weight", {Dim::QDim, Dim::Embd}, Need::IfAttention, &LW::wo}} +
                                 mamba_tensors(Need::IfMamba) +
                                 Table{{"ssm_dt_norm.weight", {Dim::DtRank}, Need::IfMamba, &LW::ssm_dt_norm},
                                       {"ssm_b_norm.weight", {Dim::DState}, Need::IfMamba, &LW::ssm_b_norm},
                                       {"ssm_c_norm.weight", {Dim::DState}, Need::IfMamba, &LW::ssm_c_norm}} +
                                 ffn_norm() + gated_ffn() + experts(Dim::FFExp),
                .layer = jamba_layer});
  return fs;
}

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> fs = make_registry();
  return fs;
}

const Family* find_family(std::string_view name) {
  for (const Family& f : families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string supported_architectures() {
  std::string s;
  for (const Family& f : families()) s += (s.empty() ? "" : ", ") + f.name;
  return s;
}

int64_t dim_value(const ModelConfig& c, Dim d) {
  switch (d) {
    case Dim::Embd: return c.n_embd;
    case Dim::Vocab: return c.n_vocab;
    case Dim::Ctx: return c.n_ctx_train;
    case Dim::QDim: return c.q_dim();
    case Dim::KVDim: return c.kv_dim();
    case Dim::QKVDim: return c.q_dim() + 2 * c.kv_dim();
    case Dim::FF: return c.n_ff;
    case Dim::FF2: return int64_t{2} * c.n_ff;
    case Dim::FFHalf: return c.n_ff / 2;
    case Dim::RotHalf: return c.n_rot / 2;
    case Dim::Expert: return c.n_expert;
    case Dim::FFExp: return c.n_ff_exp;
    case Dim::FFShexp: return c.n_ff_shexp;
    case Dim::One: return 1;
    case Dim::DInner: return c.ssm_d_inner;
    case Dim::DInner2: return int64_t{2} * c.ssm_d_inner;
    case Dim::DState: return c.ssm_d_state;
    case Dim::DConv: return c.ssm_d_conv;
    case Dim::DtRank: return c.ssm_dt_rank;
    case Dim::XProj: return int64_t{c.ssm_dt_rank} + 2 * c.ssm_d_state;
    case Dim::QLora: return c.q_lora_rank;
    case Dim::KVLora: return c.kv_lora_rank;
    case Dim::KVLoraRot: return int64_t{c.kv_lora_rank} + c.n_rot;
    case Dim::KVB: return int64_t{c.n_head} * (c.head_dim - c.n_rot + c.v_head_dim);
    case Dim::VDim: return int64_t{c.n_head} * c.v_head_dim;
  }
  return 0;
}

bool tensor_required(Need need, const LayerSpec* layer) {
  switch (need) {
    case Need::Required: return true;
    case Need::Optional: return false;
    case Need::IfDense:
      return layer != nullptr && (layer->ffn.kind == FfnKind::Gated || layer->ffn.kind == FfnKind::Plain);
    case Need::IfExperts: return layer != nullptr && layer->ffn.kind == FfnKind::Experts;
    case Need::IfShared: return layer != nullptr && layer->ffn.kind == FfnKind::Experts && layer->ffn.shared_expert;
    case Need::IfGatedShared:
      return layer != nullptr && layer->ffn.kind == FfnKind::Experts && layer->ffn.shared_expert_gated;
    case Need::IfAttention: return layer != nullptr && layer->mixer != MixerKind::Mamba;
    case Need::IfMamba: return layer != nullptr && layer->mixer == MixerKind::Mamba;
  }
  return false;
}

}  // namespace lmzip
