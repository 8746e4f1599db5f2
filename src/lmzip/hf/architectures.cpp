// The Hugging Face architectures as data: tensor names from transformers' modeling files, the mapping to
// llama.cpp's names and the metadata keys as llama.cpp's convert_hf_to_gguf.py derives them from config.json.
#include "lmzip/hf/architectures.h"

#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

using Rules = std::vector<HfTensorRule>;

Rules operator+(Rules a, const Rules& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

[[noreturn]] void unsupported(const HfMetadata& m, const std::string& what) {
  throw Error(m.config.path() + ": " + what + " is not supported for " + m.config.arch_hint());
}

int64_t n_embd_of(HfMetadata& m) { return m.config.require_int({"hidden_size", "n_embd", "d_model"}); }

// The keys llama-like decoders share (Llama, Mistral, Qwen2, Gemma, Phi-3, StableLM, StarCoder2).
int64_t decoder_keys(HfMetadata& m, const char* eps_key, std::initializer_list<const char*> eps_names) {
  const HfConfig& c = m.config;
  const int64_t n_embd = n_embd_of(m);
  const int64_t n_head = c.require_int({"num_attention_heads"});
  m.u32("context_length", c.get_int({"max_position_embeddings"}).value_or(4096));
  m.u32("embedding_length", n_embd);
  m.u32("block_count", c.require_int({"num_hidden_layers"}));
  if (auto ff = c.get_int({"intermediate_size"})) m.u32("feed_forward_length", *ff);
  m.attention(n_embd, n_head, c.get_int({"num_key_value_heads"}).value_or(n_head));
  m.f32(eps_key, c.require_double(eps_names));
  return n_embd;
}

const char* kRms = "attention.layer_norm_rms_epsilon";
const char* kLayer = "attention.layer_norm_epsilon";

void no_mlp_bias(HfMetadata& m) {
  if (m.config.flag("mlp_bias", false)) unsupported(m, "mlp_bias");
}

void llama_meta(HfMetadata& m) {
  decoder_keys(m, kRms, {"rms_norm_eps"});
  no_mlp_bias(m);
  m.rope();
}

void mistral_meta(HfMetadata& m) {
  // Mistral's sliding window (4096 in 7B v0.1) never bites at the protocols' windows; llama.cpp ignores it too.
  llama_meta(m);
}

void mixtral_meta(HfMetadata& m) {
  llama_meta(m);
  m.u32("expert_count", m.config.require_int({"num_local_experts"}));
  m.u32("expert_used_count", m.config.require_int({"num_experts_per_tok"}));
}

void qwen2_meta(HfMetadata& m) {
  if (m.config.flag("use_sliding_window", false)) unsupported(m, "use_sliding_window true");
  decoder_keys(m, kRms, {"rms_norm_eps"});
  m.rope();
}

void qwen2moe_meta(HfMetadata& m) {
  qwen2_meta(m);
  const HfConfig& c = m.config;
  if (c.flag("norm_topk_prob", false)) unsupported(m, "norm_topk_prob true");
  if (c.get_int({"decoder_sparse_step"}).value_or(1) != 1) unsupported(m, "decoder_sparse_step other than 1");
  if (const nlohmann::json* dense = c.find({"mlp_only_layers"}); dense != nullptr && !dense->empty()) {
    unsupported(m, "mlp_only_layers");
  }
  m.u32("expert_count", c.require_int({"num_experts"}));
  m.u32("expert_used_count", c.require_int({"num_experts_per_tok"}));
  m.u32("expert_feed_forward_length", c.require_int({"moe_intermediate_size"}));
  m.u32("expert_shared_feed_forward_length", c.require_int({"shared_expert_intermediate_size"}));
}

// Qwen (v1): its own key names; intermediate_size is twice the width of each FFN matrix.
void qwen_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  const int64_t n_embd = n_embd_of(m);
  const int64_t n_head = c.require_int({"num_attention_heads"});
  m.u32("context_length", c.get_int({"max_position_embeddings", "seq_length"}).value_or(8192));
  m.u32("embedding_length", n_embd);
  m.u32("block_count", c.require_int({"num_hidden_layers"}));
  m.u32("feed_forward_length", c.require_int({"intermediate_size"}));
  m.attention(n_embd, n_head, n_head);
  m.f32(kRms, c.require_double({"layer_norm_epsilon"}));
  m.rope(c.get_double({"rotary_pct"}).value_or(1.0), /*scaling_allowed=*/false);
}

// Falcon, from FalconConfig or the older RW configs: one or two LayerNorms, parallel attention + MLP.
void falcon_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  if (c.flag("alibi", false)) unsupported(m, "alibi");
  if (!c.flag("parallel_attn", true)) unsupported(m, "parallel_attn false (Falcon-RW)");
  const int64_t n_embd = n_embd_of(m);
  const int64_t n_head = c.require_int({"num_attention_heads", "n_head"});
  const bool new_decoder = c.flag("new_decoder_architecture", c.get_string("model_type").value_or("") == "RefinedWeb");
  // transformers: num_kv_heads when the new decoder architecture or not multi-query, else 1.
  const bool multi_query = c.flag("multi_query", true);
  int64_t n_kv = n_head;
  if (new_decoder || !multi_query) n_kv = c.get_int({"num_kv_heads", "n_head_kv"}).value_or(n_head);
  else n_kv = 1;
  m.u32("context_length", 2048);
  m.u32("embedding_length", n_embd);
  m.u32("block_count", c.require_int({"num_hidden_layers", "n_layer"}));
  m.u32("feed_forward_length", c.get_int({"ffn_hidden_size"}).value_or(4 * n_embd));
  m.attention(n_embd, n_head, n_kv);
  m.f32(kLayer, c.get_double({"layer_norm_epsilon"}).value_or(1e-5));
  m.rope(1.0, /*scaling_allowed=*/false);
}

void starcoder_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  if (!c.flag("multi_query", true)) unsupported(m, "multi_query false");
  const int64_t n_embd = n_embd_of(m);
  m.u32("context_length", c.require_int({"n_positions", "max_position_embeddings"}));
  m.u32("embedding_length", n_embd);
  m.u32("block_count", c.require_int({"n_layer", "num_hidden_layers"}));
  m.u32("feed_forward_length", c.get_int({"n_inner"}).value_or(4 * n_embd));
  m.attention(n_embd, c.require_int({"n_head", "num_attention_heads"}), 1);
  m.f32(kLayer, c.get_double({"layer_norm_epsilon"}).value_or(1e-5));
}

void starcoder2_meta(HfMetadata& m) {
  if (!m.config.flag("use_bias", true)) unsupported(m, "use_bias false");
  decoder_keys(m, kLayer, {"norm_epsilon", "layer_norm_epsilon"});
  m.rope();
}

void gemma_meta(HfMetadata& m) {
  decoder_keys(m, kRms, {"rms_norm_eps"});
  m.rope(1.0, false);
}

void gemma2_meta(HfMetadata& m) {
  gemma_meta(m);
  const HfConfig& c = m.config;
  m.f32("attn_logit_softcapping", c.get_double({"attn_logit_softcapping"}).value_or(0));
  m.f32("final_logit_softcapping", c.get_double({"final_logit_softcapping"}).value_or(0));
  m.u32("attention.sliding_window", c.require_int({"sliding_window"}));
  // lmzip (like llama.cpp) scales queries by 1/sqrt(head_dim), or n_embd / n_head for the 46-layer 27B model.
  const int64_t layers = c.require_int({"num_hidden_layers"}), n_embd = n_embd_of(m);
  const double expected = layers == 46 ? static_cast<double>(n_embd / m.head_count) : static_cast<double>(m.head_dim);
  const double scalar = c.get_double({"query_pre_attn_scalar"}).value_or(expected);
  if (scalar != expected) {
    unsupported(m, "query_pre_attn_scalar " + std::to_string(scalar) + " (expected " + std::to_string(expected) + ")");
  }
}

void phi3_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  const int64_t n_embd = decoder_keys(m, kRms, {"rms_norm_eps"});
  (void)n_embd;
  const int64_t ctx = c.get_int({"max_position_embeddings"}).value_or(4096);
  m.u32("attention.sliding_window", c.get_int({"sliding_window"}).value_or(ctx));
  const int64_t orig = c.get_int({"original_max_position_embeddings"}).value_or(ctx);
  m.u32("rope.scaling.original_context_length", orig);
  // LongRoPE ("longrope", older "su"): per-dimension factors for short and long contexts become
  // rope_factors_{short,long}.weight and the attention factor sqrt(1 + ln(scale) / ln(original context)), as
  // llama.cpp's converter computes them.
  const nlohmann::json* scaling = c.find({"rope_scaling"});
  std::string type;
  if (scaling != nullptr && scaling->is_object()) {
    for (const char* k : {"rope_type", "type"}) {
      if (scaling->contains(k) && (*scaling)[k].is_string()) type = (*scaling)[k].get<std::string>();
    }
  }
  m.rope(c.get_double({"partial_rotary_factor"}).value_or(1.0), /*scaling_allowed=*/false,
         /*skip_scaling=*/type == "longrope" || type == "su");
  if (type == "longrope" || type == "su") {
    const int64_t half = (m.n_rot) / 2;
    for (const char* which : {"long_factor", "short_factor"}) {
      const auto it = scaling->find(which);
      if (it == scaling->end() || !it->is_array() || static_cast<int64_t>(it->size()) != half) {
        throw Error(c.path() + ": rope_scaling." + which + " should list " + std::to_string(half) + " numbers");
      }
      std::vector<float> f;
      for (const auto& x : *it) {
        if (!x.is_number()) throw Error(c.path() + ": rope_scaling." + which + " holds a non-number");
        f.push_back(x.get<float>());
      }
      m.extra_tensors.emplace_back(std::string(which) == "long_factor" ? "rope_factors_long.weight"
                                                                        : "rope_factors_short.weight", f);
    }
    const double scale = static_cast<double>(ctx) / static_cast<double>(orig);
    m.f32("rope.scaling.attn_factor", scale <= 1 ? 1.0 : std::sqrt(1 + std::log(scale) / std::log(static_cast<double>(orig))));
  }
}

void gptneox_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  const std::string act = c.get_string("hidden_act").value_or("gelu");
  if (act != "gelu") unsupported(m, "hidden_act '" + act + "' (lmzip's gptneox uses the exact GELU)");
  const int64_t n_embd = n_embd_of(m);
  const int64_t n_head = c.require_int({"num_attention_heads"});
  m.u32("context_length", c.get_int({"max_position_embeddings"}).value_or(2048));
  m.u32("embedding_length", n_embd);
  m.u32("block_count", c.require_int({"num_hidden_layers"}));
  m.u32("feed_forward_length", c.require_int({"intermediate_size"}));
  m.attention(n_embd, n_head, n_head);
  m.flag("use_parallel_residual", c.flag("use_parallel_residual", true));
  m.f32(kLayer, c.get_double({"layer_norm_eps"}).value_or(1e-5));
  m.rope(c.get_double({"rotary_pct", "partial_rotary_factor"}).value_or(1.0));
}

void stablelm_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  if (c.flag("qk_layernorm", false)) unsupported(m, "qk_layernorm (per-head Q/K norms)");
  decoder_keys(m, kLayer, {"layer_norm_eps", "norm_eps"});
  m.rope(c.get_double({"partial_rotary_factor", "rope_pct"}).value_or(0.25));
}

void mamba_ssm_keys(HfMetadata& m, int64_t n_embd, int64_t d_inner, int64_t d_state, int64_t d_conv,
                    const nlohmann::json* dt_rank) {
  int64_t rank = (n_embd + 15) / 16;  // "auto"
  if (dt_rank != nullptr && dt_rank->is_number_integer()) rank = dt_rank->get<int64_t>();
  else if (dt_rank != nullptr && !(dt_rank->is_string() && dt_rank->get<std::string>() == "auto")) {
    throw Error(m.config.path() + ": time_step_rank should be an integer or \"auto\"");
  }
  m.u32("ssm.conv_kernel", d_conv);
  m.u32("ssm.inner_size", d_inner);
  m.u32("ssm.state_size", d_state);
  m.u32("ssm.time_step_rank", rank);
}

void mamba_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  if (c.flag("use_bias", false)) unsupported(m, "use_bias (in_proj/out_proj biases)");
  if (!c.flag("use_conv_bias", true)) unsupported(m, "use_conv_bias false");
  const int64_t n_embd = n_embd_of(m);
  m.u32("context_length", int64_t{1} << 20);
  m.u32("embedding_length", n_embd);
  m.u32("feed_forward_length", 0);
  m.u32("attention.head_count", 0);
  m.u32("block_count", c.require_int({"num_hidden_layers", "n_layer"}));
  const int64_t d_inner = c.get_int({"intermediate_size"}).value_or(c.get_int({"expand"}).value_or(2) * n_embd);
  mamba_ssm_keys(m, n_embd, d_inner, c.require_int({"state_size"}), c.get_int({"conv_kernel"}).value_or(4),
                 c.find({"time_step_rank"}));
  m.f32(kRms, c.get_double({"layer_norm_epsilon"}).value_or(1e-5));
}

void jamba_meta(HfMetadata& m) {
  const HfConfig& c = m.config;
  if (c.flag("mamba_proj_bias", false)) unsupported(m, "mamba_proj_bias");
  if (!c.flag("mamba_conv_bias", true)) unsupported(m, "mamba_conv_bias false");
  const int64_t n_embd = n_embd_of(m);
  const int64_t n_layer = c.require_int({"num_hidden_layers"});
  const int64_t n_head = c.require_int({"num_attention_heads"});
  const int64_t n_kv = c.get_int({"num_key_value_heads"}).value_or(n_head);
  const int64_t attn_period = c.get_int({"attn_layer_period"}).value_or(8), attn_offset = c.get_int({"attn_layer_offset"}).value_or(4);
  if (attn_period <= 0) throw Error(c.path() + ": attn_layer_period must be positive");
  m.u32("context_length", c.get_int({"max_position_embeddings"}).value_or(262144));
  m.u32("embedding_length", n_embd);
  m.u32("block_count", n_layer);
  const int64_t ff = c.require_int({"intermediate_size"});
  m.u32("feed_forward_length", ff);
  m.attention(n_embd, n_head, n_kv);
  // One KV width per layer, 0 where the layer is a Mamba block (as llama.cpp's converter writes it).
  std::vector<int32_t> kv(static_cast<size_t>(n_layer), 0);
  for (int64_t i = 0; i < n_layer; ++i) {
    if (i % attn_period == attn_offset) kv[static_cast<size_t>(i)] = static_cast<int32_t>(n_kv);
  }
  m.w.set_i32s(m.arch + ".attention.head_count_kv", kv);
  m.u32("expert_count", c.require_int({"num_experts"}));
  m.u32("expert_used_count", c.require_int({"num_experts_per_tok"}));
  m.u32("expert_feed_forward_length", ff);
  mamba_ssm_keys(m, n_embd, c.get_int({"mamba_expand"}).value_or(2) * n_embd, c.require_int({"mamba_d_state"}),
                 c.get_int({"mamba_d_conv"}).value_or(4), c.find({"mamba_dt_rank"}));
  m.f32(kRms, c.require_double({"rms_norm_eps"}));
}

// ---- Tensor-name rules ----

Rules decoder_model() {
  return {{"model.embed_tokens.weight", "token_embd.weight"},
          {"model.norm.weight", "output_norm.weight"},
          {"model.norm.bias", "output_norm.bias"},
          {"lm_head.weight", "output.weight"}};
}

Rules split_attention() {
  return {{"model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
          {"model.layers.{L}.input_layernorm.bias", "blk.{L}.attn_norm.bias"},
          {"model.layers.{L}.self_attn.q_proj.weight", "blk.{L}.attn_q.weight"},
          {"model.layers.{L}.self_attn.k_proj.weight", "blk.{L}.attn_k.weight"},
          {"model.layers.{L}.self_attn.v_proj.weight", "blk.{L}.attn_v.weight"},
          {"model.layers.{L}.self_attn.q_proj.bias", "blk.{L}.attn_q.bias"},
          {"model.layers.{L}.self_attn.k_proj.bias", "blk.{L}.attn_k.bias"},
          {"model.layers.{L}.self_attn.v_proj.bias", "blk.{L}.attn_v.bias"},
          {"model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight"},
          {"model.layers.{L}.self_attn.o_proj.bias", "blk.{L}.attn_output.bias"},
          {"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight"},
          {"model.layers.{L}.post_attention_layernorm.bias", "blk.{L}.ffn_norm.bias"}};
}

Rules gated_mlp(const std::string& p = "model.layers.{L}.mlp") {
  return {{p + ".gate_proj.weight", "blk.{L}.ffn_gate.weight"},
          {p + ".up_proj.weight", "blk.{L}.ffn_up.weight"},
          {p + ".down_proj.weight", "blk.{L}.ffn_down.weight"}};
}

Rules llama_rules() { return decoder_model() + split_attention() + gated_mlp(); }

Rules mixtral_rules() {
  return decoder_model() + split_attention() +
         Rules{{"model.layers.{L}.block_sparse_moe.gate.weight", "blk.{L}.ffn_gate_inp.weight"},
               {"model.layers.{L}.block_sparse_moe.experts.{E}.w1.weight", "blk.{L}.ffn_gate.{E}.weight"},
               {"model.layers.{L}.block_sparse_moe.experts.{E}.w2.weight", "blk.{L}.ffn_down.{E}.weight"},
               {"model.layers.{L}.block_sparse_moe.experts.{E}.w3.weight", "blk.{L}.ffn_up.{E}.weight"}};
}

Rules qwen2moe_rules() {
  return decoder_model() + split_attention() +
         Rules{{"model.layers.{L}.mlp.gate.weight", "blk.{L}.ffn_gate_inp.weight"},
               {"model.layers.{L}.mlp.experts.{E}.gate_proj.weight", "blk.{L}.ffn_gate.{E}.weight"},
               {"model.layers.{L}.mlp.experts.{E}.up_proj.weight", "blk.{L}.ffn_up.{E}.weight"},
               {"model.layers.{L}.mlp.experts.{E}.down_proj.weight", "blk.{L}.ffn_down.{E}.weight"},
               {"model.layers.{L}.mlp.shared_expert.gate_proj.weight", "blk.{L}.ffn_gate_shexp.weight"},
               {"model.layers.{L}.mlp.shared_expert.up_proj.weight", "blk.{L}.ffn_up_shexp.weight"},
               {"model.layers.{L}.mlp.shared_expert.down_proj.weight", "blk.{L}.ffn_down_shexp.weight"},
               {"model.layers.{L}.mlp.shared_expert_gate.weight", "blk.{L}.ffn_gate_inp_shexp.weight"}};
}

Rules qwen_rules() {
  // QWenMLP: w1 (x) * silu(w2 (x)): w1 is the up projection, w2 the gate (llama.cpp's mapping).
  return {{"transformer.wte.weight", "token_embd.weight"},
          {"transformer.ln_f.weight", "output_norm.weight"},
          {"lm_head.weight", "output.weight"},
          {"transformer.h.{L}.ln_1.weight", "blk.{L}.attn_norm.weight"},
          {"transformer.h.{L}.attn.c_attn.weight", "blk.{L}.attn_qkv.weight"},
          {"transformer.h.{L}.attn.c_attn.bias", "blk.{L}.attn_qkv.bias"},
          {"transformer.h.{L}.attn.c_proj.weight", "blk.{L}.attn_output.weight"},
          {"transformer.h.{L}.ln_2.weight", "blk.{L}.ffn_norm.weight"},
          {"transformer.h.{L}.mlp.w1.weight", "blk.{L}.ffn_up.weight"},
          {"transformer.h.{L}.mlp.w2.weight", "blk.{L}.ffn_gate.weight"},
          {"transformer.h.{L}.mlp.c_proj.weight", "blk.{L}.ffn_down.weight"}};
}

Rules falcon_rules() {
  // 7B: input_layernorm feeds both branches; 40B: ln_attn (attention) and ln_mlp (MLP), which the falcon family
  // reads as attn_norm_2 and attn_norm.
  return {{"transformer.word_embeddings.weight", "token_embd.weight"},
          {"transformer.ln_f.weight", "output_norm.weight"},
          {"transformer.ln_f.bias", "output_norm.bias"},
          {"lm_head.weight", "output.weight"},
          {"transformer.h.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
          {"transformer.h.{L}.input_layernorm.bias", "blk.{L}.attn_norm.bias"},
          {"transformer.h.{L}.ln_mlp.weight", "blk.{L}.attn_norm.weight"},
          {"transformer.h.{L}.ln_mlp.bias", "blk.{L}.attn_norm.bias"},
          {"transformer.h.{L}.ln_attn.weight", "blk.{L}.attn_norm_2.weight"},
          {"transformer.h.{L}.ln_attn.bias", "blk.{L}.attn_norm_2.bias"},
          {"transformer.h.{L}.self_attention.query_key_value.weight", "blk.{L}.attn_qkv.weight", Transform::FalconQkv},
          {"transformer.h.{L}.self_attention.query_key_value.bias", "blk.{L}.attn_qkv.bias", Transform::FalconQkv},
          {"transformer.h.{L}.self_attention.dense.weight", "blk.{L}.attn_output.weight"},
          {"transformer.h.{L}.self_attention.dense.bias", "blk.{L}.attn_output.bias"},
          {"transformer.h.{L}.mlp.dense_h_to_4h.weight", "blk.{L}.ffn_up.weight"},
          {"transformer.h.{L}.mlp.dense_h_to_4h.bias", "blk.{L}.ffn_up.bias"},
          {"transformer.h.{L}.mlp.dense_4h_to_h.weight", "blk.{L}.ffn_down.weight"},
          {"transformer.h.{L}.mlp.dense_4h_to_h.bias", "blk.{L}.ffn_down.bias"}};
}

Rules starcoder_rules() {
  return {{"transformer.wte.weight", "token_embd.weight"},
          {"transformer.wpe.weight", "position_embd.weight"},
          {"transformer.ln_f.weight", "output_norm.weight"},
          {"transformer.ln_f.bias", "output_norm.bias"},
          {"lm_head.weight", "output.weight"},
          {"transformer.h.{L}.ln_1.weight", "blk.{L}.attn_norm.weight"},
          {"transformer.h.{L}.ln_1.bias", "blk.{L}.attn_norm.bias"},
          {"transformer.h.{L}.attn.c_attn.weight", "blk.{L}.attn_qkv.weight"},
          {"transformer.h.{L}.attn.c_attn.bias", "blk.{L}.attn_qkv.bias"},
          {"transformer.h.{L}.attn.c_proj.weight", "blk.{L}.attn_output.weight"},
          {"transformer.h.{L}.attn.c_proj.bias", "blk.{L}.attn_output.bias"},
          {"transformer.h.{L}.ln_2.weight", "blk.{L}.ffn_norm.weight"},
          {"transformer.h.{L}.ln_2.bias", "blk.{L}.ffn_norm.bias"},
          {"transformer.h.{L}.mlp.c_fc.weight", "blk.{L}.ffn_up.weight"},
          {"transformer.h.{L}.mlp.c_fc.bias", "blk.{L}.ffn_up.bias"},
          {"transformer.h.{L}.mlp.c_proj.weight", "blk.{L}.ffn_down.weight"},
          {"transformer.h.{L}.mlp.c_proj.bias", "blk.{L}.ffn_down.bias"}};
}

Rules starcoder2_rules() {
  return decoder_model() + split_attention() +
         Rules{{"model.layers.{L}.mlp.c_fc.weight", "blk.{L}.ffn_up.weight"},
               {"model.layers.{L}.mlp.c_fc.bias", "blk.{L}.ffn_up.bias"},
               {"model.layers.{L}.mlp.c_proj.weight", "blk.{L}.ffn_down.weight"},
               {"model.layers.{L}.mlp.c_proj.bias", "blk.{L}.ffn_down.bias"}};
}

// Gemma: every RMSNorm weight is stored as w for (1 + w).
Rules gemma_rules(bool gemma2) {
  Rules r = {{"model.embed_tokens.weight", "token_embd.weight"},
             {"model.norm.weight", "output_norm.weight", Transform::NormPlusOne},
             {"model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight", Transform::NormPlusOne},
             {"model.layers.{L}.self_attn.q_proj.weight", "blk.{L}.attn_q.weight"},
             {"model.layers.{L}.self_attn.k_proj.weight", "blk.{L}.attn_k.weight"},
             {"model.layers.{L}.self_attn.v_proj.weight", "blk.{L}.attn_v.weight"},
             {"model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight"}};
  if (gemma2) {
    r = r + Rules{{"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.post_attention_norm.weight",
                   Transform::NormPlusOne},
                  {"model.layers.{L}.pre_feedforward_layernorm.weight", "blk.{L}.ffn_norm.weight", Transform::NormPlusOne},
                  {"model.layers.{L}.post_feedforward_layernorm.weight", "blk.{L}.post_ffw_norm.weight",
                   Transform::NormPlusOne}};
  } else {
    r = r + Rules{{"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight", Transform::NormPlusOne}};
  }
  return r + gated_mlp();
}

Rules phi3_rules() {
  return decoder_model() +
         Rules{{"model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
               {"model.layers.{L}.self_attn.qkv_proj.weight", "blk.{L}.attn_qkv.weight"},
               {"model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight"},
               {"model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight"},
               {"model.layers.{L}.mlp.gate_up_proj.weight", "blk.{L}.ffn_up.weight"},
               {"model.layers.{L}.mlp.down_proj.weight", "blk.{L}.ffn_down.weight"}};
}

Rules gptneox_rules() {
  return {{"gpt_neox.embed_in.weight", "token_embd.weight"},
          {"gpt_neox.final_layer_norm.weight", "output_norm.weight"},
          {"gpt_neox.final_layer_norm.bias", "output_norm.bias"},
          {"embed_out.weight", "output.weight"},
          {"gpt_neox.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
          {"gpt_neox.layers.{L}.input_layernorm.bias", "blk.{L}.attn_norm.bias"},
          {"gpt_neox.layers.{L}.attention.query_key_value.weight", "blk.{L}.attn_qkv.weight", Transform::NeoxQkv},
          {"gpt_neox.layers.{L}.attention.query_key_value.bias", "blk.{L}.attn_qkv.bias", Transform::NeoxQkv},
          {"gpt_neox.layers.{L}.attention.dense.weight", "blk.{L}.attn_output.weight"},
          {"gpt_neox.layers.{L}.attention.dense.bias", "blk.{L}.attn_output.bias"},
          {"gpt_neox.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight"},
          {"gpt_neox.layers.{L}.post_attention_layernorm.bias", "blk.{L}.ffn_norm.bias"},
          {"gpt_neox.layers.{L}.mlp.dense_h_to_4h.weight", "blk.{L}.ffn_up.weight"},
          {"gpt_neox.layers.{L}.mlp.dense_h_to_4h.bias", "blk.{L}.ffn_up.bias"},
          {"gpt_neox.layers.{L}.mlp.dense_4h_to_h.weight", "blk.{L}.ffn_down.weight"},
          {"gpt_neox.layers.{L}.mlp.dense_4h_to_h.bias", "blk.{L}.ffn_down.bias"}};
}

Rules mamba_mixer(const std::string& p) {
  auto keep = [](std::string s) { return s; };
  return {{keep(p + ".in_proj.weight"), "blk.{L}.ssm_in.weight"},
          {keep(p + ".conv1d.weight"), "blk.{L}.ssm_conv1d.weight", Transform::Squeeze},
          {keep(p + ".conv1d.bias"), "blk.{L}.ssm_conv1d.bias"},
          {keep(p + ".x_proj.weight"), "blk.{L}.ssm_x.weight"},
          {keep(p + ".dt_proj.weight"), "blk.{L}.ssm_dt.weight"},
          {keep(p + ".dt_proj.bias"), "blk.{L}.ssm_dt.bias"},
          {keep(p + ".A_log"), "blk.{L}.ssm_a", Transform::NegExp},
          {keep(p + ".D"), "blk.{L}.ssm_d"},
          {keep(p + ".out_proj.weight"), "blk.{L}.ssm_out.weight"}};
}

Rules mamba_rules() {
  return Rules{{"backbone.embeddings.weight", "token_embd.weight"},
               {"backbone.embedding.weight", "token_embd.weight"},
               {"backbone.norm_f.weight", "output_norm.weight"},
               {"lm_head.weight", "output.weight"},
               {"backbone.layers.{L}.norm.weight", "blk.{L}.attn_norm.weight"}} +
         mamba_mixer("backbone.layers.{L}.mixer");
}

Rules jamba_rules() {
  return Rules{{"model.embed_tokens.weight", "token_embd.weight"},
               {"model.final_layernorm.weight", "output_norm.weight"},
               {"lm_head.weight", "output.weight"},
               {"model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight"},
               {"model.layers.{L}.self_attn.q_proj.weight", "blk.{L}.attn_q.weight"},
               {"model.layers.{L}.self_attn.k_proj.weight", "blk.{L}.attn_k.weight"},
               {"model.layers.{L}.self_attn.v_proj.weight", "blk.{L}.attn_v.weight"},
               {"model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight"},
               {"model.layers.{L}.mamba.dt_layernorm.weight", "blk.{L}.ssm_dt_norm.weight"},
               {"model.layers.{L}.mamba.b_layernorm.weight", "blk.{L}.ssm_b_norm.weight"},
               {"model.layers.{L}.mamba.c_layernorm.weight", "blk.{L}.ssm_c_norm.weight"},
               {"model.layers.{L}.pre_ff_layernorm.weight", "blk.{L}.ffn_norm.weight"},
               {"model.layers.{L}.feed_forward.router.weight", "blk.{L}.ffn_gate_inp.weight"},
               {"model.layers.{L}.feed_forward.experts.{E}.gate_proj.weight", "blk.{L}.ffn_gate.{E}.weight"},
               {"model.layers.{L}.feed_forward.experts.{E}.up_proj.weight", "blk.{L}.ffn_up.{E}.weight"},
               {"model.layers.{L}.feed_forward.experts.{E}.down_proj.weight", "blk.{L}.ffn_down.{E}.weight"}} +
         gated_mlp("model.layers.{L}.feed_forward") + mamba_mixer("model.layers.{L}.mamba");
}

std::vector<HfArchitecture> make_registry() {
  return {
      {"LlamaForCausalLM", "llama", llama_meta, llama_rules(), true},
      {"MistralForCausalLM", "llama", mistral_meta, llama_rules(), true},
      {"MixtralForCausalLM", "llama", mixtral_meta, mixtral_rules(), true},
      {"Qwen2ForCausalLM", "qwen2", qwen2_meta, llama_rules()},
      {"Qwen2MoeForCausalLM", "qwen2moe", qwen2moe_meta, qwen2moe_rules()},
      {"QWenLMHeadModel", "qwen", qwen_meta, qwen_rules()},
      {"FalconForCausalLM", "falcon", falcon_meta, falcon_rules(), false, true},
      {"RWForCausalLM", "falcon", falcon_meta, falcon_rules(), false, true},
      {"GPTBigCodeForCausalLM", "starcoder", starcoder_meta, starcoder_rules(), false, true},
      {"Starcoder2ForCausalLM", "starcoder2", starcoder2_meta, starcoder2_rules(), false, true},
      {"GemmaForCausalLM", "gemma", gemma_meta, gemma_rules(false), false, true},
      {"Gemma2ForCausalLM", "gemma2", gemma2_meta, gemma_rules(true), false, true},
      {"Phi3ForCausalLM", "phi3", phi3_meta, phi3_rules()},
      {"GPTNeoXForCausalLM", "gptneox", gptneox_meta, gptneox_rules()},
      {"StableLmForCausalLM", "stablelm", stablelm_meta, llama_rules()},
      {"StableLMEpochForCausalLM", "stablelm", stablelm_meta, llama_rules()},
      {"MambaForCausalLM", "mamba", mamba_meta, mamba_rules(), false, true},
      {"JambaForCausalLM", "jamba", jamba_meta, jamba_rules()},
  };
}

}  // namespace

bool match_pattern(std::string_view pattern, std::string_view name, std::vector<std::string>& numbers) {
  numbers.clear();
  size_t p = 0, n = 0;
  while (p < pattern.size()) {
    if (pattern.compare(p, 3, "{L}") == 0 || pattern.compare(p, 3, "{E}") == 0) {
      size_t digits = 0;
      while (n + digits < name.size() && name[n + digits] >= '0' && name[n + digits] <= '9' && digits < 7) ++digits;
      if (digits == 0 || (digits > 1 && name[n] == '0')) return false;
      numbers.emplace_back(name.substr(n, digits));
      n += digits;
      p += 3;
    } else {
      if (n >= name.size() || name[n] != pattern[p]) return false;
      ++n;
      ++p;
    }
  }
  return n == name.size();
}

std::string fill_pattern(std::string pattern, const std::vector<std::string>& numbers) {
  size_t i = 0;
  for (size_t at = pattern.find('{'); at != std::string::npos && i < numbers.size(); at = pattern.find('{', at)) {
    pattern.replace(at, 3, numbers[i]);
    at += numbers[i++].size();
  }
  return pattern;
}

const std::vector<HfArchitecture>& hf_architectures() {
  static const std::vector<HfArchitecture> archs = make_registry();
  return archs;
}

const HfArchitecture* find_hf_architecture(std::string_view hf_name) {
  for (const HfArchitecture& a : hf_architectures()) {
    if (hf_name == a.hf_name) return &a;
  }
  return nullptr;
}

}  // namespace lmzip
