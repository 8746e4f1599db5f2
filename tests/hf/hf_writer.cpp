#include "hf/hf_writer.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "lmzip/core/error.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fp16.h"

namespace lmzip::test {

namespace fs = std::filesystem;

std::vector<float> floats_of(const GgufTensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  dequantize_row(t.type, t.data, v.data(), v.size());
  return v;
}

std::string bytes_of(const std::vector<float>& v, SafetensorsDtype dtype) {
  if (dtype == SafetensorsDtype::F32) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.data(), s.size());
    return s;
  }
  std::string s(v.size() * 2, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = dtype == SafetensorsDtype::BF16 ? float_to_bf16(v[i]) : float_to_fp16(v[i]);
    std::memcpy(s.data() + 2 * i, &h, 2);
  }
  return s;
}

// Rows of `v` (each `width` wide) reordered: out row i = in row from[i].
std::vector<float> take_rows(const std::vector<float>& v, int64_t width, const std::vector<int64_t>& from) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < from.size(); ++i) {
    std::copy_n(v.begin() + from[i] * width, width, out.begin() + static_cast<int64_t>(i) * width);
  }
  return out;
}

// llama.cpp's permute() for RoPE pairs undone: GGUF row (h, 2i + j) is Hugging Face row (h, j * hd/2 + i).
std::vector<int64_t> unpermute_order(int64_t n_head, int64_t head_dim) {
  std::vector<int64_t> from;
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < head_dim / 2; ++i) from.push_back(h * head_dim + 2 * i + j);
    }
  }
  return from;
}

int64_t meta_int(const GgufFile& g, const std::string& key, int64_t fallback = -1) {
  if (const auto* v = g.find(key); v != nullptr && v->type() == GgufType::ARRAY) {
    int64_t common = 0;
    for (uint64_t i = 0; i < v->array_size(); ++i) common = std::max(common, v->array_int(i));
    return common;
  }
  return g.get_int(key).value_or(fallback);
}
double meta_num(const GgufFile& g, const std::string& key, double fallback) { return g.get_double(key).value_or(fallback); }

// config.json as transformers writes it for `cls`, from the GGUF's metadata.
nlohmann::json hf_config(const GgufFile& g, const std::string& cls) {
  using nlohmann::json;
  const std::string a = g.architecture();
  const int64_t n_embd = meta_int(g, a + ".embedding_length"), n_head = meta_int(g, a + ".attention.head_count", 0);
  const int64_t n_kv = meta_int(g, a + ".attention.head_count_kv", n_head);
  const int64_t head_dim = meta_int(g, a + ".attention.key_length", n_head ? n_embd / n_head : 0);
  const int64_t n_rot = meta_int(g, a + ".rope.dimension_count", head_dim);
  const bool tied = g.find_tensor("output.weight") == nullptr;
  json c;
  c["architectures"] = {cls};
  c["vocab_size"] = g.find_tensor("token_embd.weight")->dims[1];
  c["tie_word_embeddings"] = tied;
  c["torch_dtype"] = "float32";
  const double rms = meta_num(g, a + ".attention.layer_norm_rms_epsilon", 1e-5);
  const double ln = meta_num(g, a + ".attention.layer_norm_epsilon", 1e-5);
  auto decoder = [&]() {
    c["hidden_size"] = n_embd;
    c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["num_key_value_heads"] = n_kv;
    c["max_position_embeddings"] = meta_int(g, a + ".context_length");
    c["rope_theta"] = meta_num(g, a + ".rope.freq_base", 10000);
    if (head_dim != n_embd / n_head) c["head_dim"] = head_dim;
  };
  if (cls == "LlamaForCausalLM" || cls == "MixtralForCausalLM" || cls == "Qwen2ForCausalLM" ||
      cls == "Qwen2MoeForCausalLM" || cls == "GemmaForCausalLM" || cls == "Gemma2ForCausalLM" ||
      cls == "Phi3ForCausalLM") {
    decoder();
    c["rms_norm_eps"] = rms;
  }
  if (cls == "MixtralForCausalLM") {
    c["num_local_experts"] = meta_int(g, a + ".expert_count");
    c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
    c["sliding_window"] = nullptr;
  } else if (cls == "Qwen2MoeForCausalLM") {
    c["num_experts"] = meta_int(g, a + ".expert_count");
    c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
    c["moe_intermediate_size"] = meta_int(g, a + ".expert_feed_forward_length");
    c["shared_expert_intermediate_size"] = meta_int(g, a + ".expert_shared_feed_forward_length");
    c["norm_topk_prob"] = false;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = json::array();
  } else if (cls == "Gemma2ForCausalLM") {
    c["attn_logit_softcapping"] = meta_num(g, a + ".attn_logit_softcapping", 0);
    c["final_logit_softcapping"] = meta_num(g, a + ".final_logit_softcapping", 0);
    c["sliding_window"] = meta_int(g, a + ".attention.sliding_window");
    c["query_pre_attn_scalar"] = head_dim;
  } else if (cls == "Phi3ForCausalLM") {
    c["sliding_window"] = meta_int(g, a + ".attention.sliding_window");
    c["original_max_position_embeddings"] = meta_int(g, a + ".rope.scaling.original_context_length");
    if (const GgufTensorInfo* lf = g.find_tensor("rope_factors_long.weight")) {
      c["rope_scaling"] = {{"type", "longrope"},
                           {"long_factor", floats_of(*lf)},
                           {"short_factor", floats_of(*g.find_tensor("rope_factors_short.weight"))}};
    }
  } else if (cls == "QWenLMHeadModel") {
    c["hidden_size"] = n_embd;
    c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["kv_channels"] = head_dim;
    c["layer_norm_epsilon"] = rms;
    c["rotary_emb_base"] = meta_num(g, a + ".rope.freq_base", 10000);
    c["rotary_pct"] = 1.0;
    c["seq_length"] = meta_int(g, a + ".context_length");
    c["max_position_embeddings"] = meta_int(g, a + ".context_length");
  } else if (cls == "FalconForCausalLM") {
    const bool new_decoder = g.find_tensor("blk.0.attn_norm_2.weight") != nullptr;
    c["hidden_size"] = n_embd;
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c["num_attention_heads"] = n_head;
    c["num_kv_heads"] = n_kv;
    c["new_decoder_architecture"] = new_decoder;
    c["multi_query"] = n_kv == 1;
    c["parallel_attn"] = true;
    c["bias"] = g.find_tensor("blk.0.attn_qkv.bias") != nullptr;
    c["alibi"] = false;
    c["layer_norm_epsilon"] = ln;
    c["ffn_hidden_size"] = meta_int(g, a + ".feed_forward_length");
  } else if (cls == "GPTBigCodeForCausalLM") {
    c["n_embd"] = n_embd;
    c["n_layer"] = meta_int(g, a + ".block_count");
    c["n_head"] = n_head;
    c["n_inner"] = meta_int(g, a + ".feed_forward_length");
    c["n_positions"] = meta_int(g, a + ".context_length");
    c["multi_query"] = true;
    c["layer_norm_epsilon"] = ln;
  } else if (cls == "Starcoder2ForCausalLM" || cls == "StableLmForCausalLM") {
    decoder();
    c[cls == "Starcoder2ForCausalLM" ? "norm_epsilon" : "layer_norm_eps"] = ln;
    if (cls == "StableLmForCausalLM") {
      c["partial_rotary_factor"] = static_cast<double>(n_rot) / static_cast<double>(head_dim);
      c["use_qkv_bias"] = g.find_tensor("blk.0.attn_q.bias") != nullptr;
      c["use_parallel_residual"] = g.find_tensor("blk.0.ffn_norm.weight") == nullptr;
    } else {
      c["use_bias"] = true;
    }
  } else if (cls == "GPTNeoXForCausalLM") {
    decoder();
    c["layer_norm_eps"] = ln;
    c["rotary_pct"] = static_cast<double>(n_rot) / static_cast<double>(head_dim);
    c["use_parallel_residual"] = g.get_bool(a + ".use_parallel_residual").value_or(true);
    c["hidden_act"] = "gelu";
  } else if (cls == "MambaForCausalLM" || cls == "JambaForCausalLM") {
    const bool jamba = cls == "JambaForCausalLM";
    c["hidden_size"] = n_embd;
    c["num_hidden_layers"] = meta_int(g, a + ".block_count");
    c[jamba ? "mamba_d_state" : "state_size"] = meta_int(g, a + ".ssm.state_size");
    c[jamba ? "mamba_d_conv" : "conv_kernel"] = meta_int(g, a + ".ssm.conv_kernel");
    c[jamba ? "mamba_expand" : "expand"] = meta_int(g, a + ".ssm.inner_size") / n_embd;
    c[jamba ? "mamba_dt_rank" : "time_step_rank"] = meta_int(g, a + ".ssm.time_step_rank");
    if (jamba) {
      c["rms_norm_eps"] = rms;
      c["num_attention_heads"] = n_head;
      c["num_key_value_heads"] = n_kv;
      c["intermediate_size"] = meta_int(g, a + ".feed_forward_length");
      c["num_experts"] = meta_int(g, a + ".expert_count");
      c["num_experts_per_tok"] = meta_int(g, a + ".expert_used_count");
      c["max_position_embeddings"] = meta_int(g, a + ".context_length");
      int first_attn = -1, first_exp = -1;
      for (int il = 0; il < meta_int(g, a + ".block_count"); ++il) {
        if (first_attn < 0 && g.find_tensor("blk." + std::to_string(il) + ".attn_q.weight")) first_attn = il;
        if (first_exp < 0 && g.find_tensor("blk." + std::to_string(il) + ".ffn_gate_inp.weight")) first_exp = il;
      }
      c["attn_layer_offset"] = first_attn;
      c["attn_layer_period"] = 2;
      c["expert_layer_offset"] = first_exp;
      c["expert_layer_period"] = 2;
    } else {
      c["layer_norm_epsilon"] = rms;
      c["intermediate_size"] = meta_int(g, a + ".ssm.inner_size");
    }
  }
  return c;
}

// Writes `g` as a Hugging Face checkpoint of class `cls` into `dir`.
void write_checkpoint(const GgufFile& g, const std::string& cls, const std::string& dir, SafetensorsDtype dtype,
                      bool sharded) {
  using nlohmann::json;
  fs::create_directories(dir);
  const json config = hf_config(g, cls);
  std::ofstream(dir + "/config.json") << config.dump(1);
  const std::string a = g.architecture();
  const int64_t n_head = meta_int(g, a + ".attention.head_count", 0), n_embd = meta_int(g, a + ".embedding_length");
  const int64_t n_kv = meta_int(g, a + ".attention.head_count_kv", n_head);
  const int64_t head_dim = meta_int(g, a + ".attention.key_length", n_head ? n_embd / n_head : 0);
  const bool llama = cls == "LlamaForCausalLM" || cls == "MixtralForCausalLM";
  const bool gemma = cls == "GemmaForCausalLM" || cls == "Gemma2ForCausalLM";
  std::vector<SafetensorsWriter> shards(sharded ? 2 : 1);
  json weight_map = json::object();
  size_t count = 0;
  auto put = [&](const std::string& gguf_name, std::vector<uint64_t> shape, const std::vector<float>& v) {
    const std::string name = hf_tensor_name(cls, gguf_name);
    if (name.empty()) throw Error(cls + ": no checkpoint name for " + gguf_name);
    const size_t s = sharded ? count++ % 2 : 0;
    shards[s].add(name, dtype, shape, bytes_of(v, dtype));
    weight_map[name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  };
  for (const GgufTensorInfo& t : g.tensors()) {
    if (t.name == "rope_factors_long.weight" || t.name == "rope_factors_short.weight") continue;  // in config.json
    std::vector<float> v = floats_of(t);
    std::vector<uint64_t> shape(t.dims.rbegin(), t.dims.rend());
    const std::string& n = t.name;
    auto is = [&](const char* suffix) { return n.size() > std::strlen(suffix) && n.ends_with(suffix); };
    if (llama && (is(".attn_q.weight") || is(".attn_k.weight"))) {
      v = take_rows(v, n_embd, unpermute_order(is(".attn_q.weight") ? n_head : n_kv, head_dim));
    }
    if (gemma && n.find("norm") != std::string::npos) {
      for (float& x : v) x -= 1.0f;
    }
    if (is(".ssm_a")) {
      for (float& x : v) x = std::log(-x);
    }
    if (is(".ssm_conv1d.weight")) shape = {shape[0], 1, shape[1]};
    if (cls == "FalconForCausalLM" && (is(".attn_qkv.weight") || is(".attn_qkv.bias"))) {
      // GGUF [Q | K | V] -> per KV group: the group's queries, its key, its value.
      const int64_t width = is(".bias") ? 1 : n_embd, q_per = n_head / n_kv;
      std::vector<int64_t> from;
      for (int64_t grp = 0; grp < n_kv; ++grp) {
        for (int64_t q = 0; q < q_per; ++q)
          for (int64_t r = 0; r < head_dim; ++r) from.push_back((grp * q_per + q) * head_dim + r);
        for (int64_t r = 0; r < head_dim; ++r) from.push_back((n_head + grp) * head_dim + r);
        for (int64_t r = 0; r < head_dim; ++r) from.push_back((n_head + n_kv + grp) * head_dim + r);
      }
      v = take_rows(v, width, from);
    }
    if (cls == "GPTNeoXForCausalLM" && (is(".attn_qkv.weight") || is(".attn_qkv.bias"))) {
      const int64_t width = is(".bias") ? 1 : n_embd;
      std::vector<int64_t> from;
      for (int64_t h = 0; h < n_head; ++h)
        for (int64_t part = 0; part < 3; ++part)
          for (int64_t r = 0; r < head_dim; ++r) from.push_back((part * n_head + h) * head_dim + r);
      v = take_rows(v, width, from);
    }
    if (is("_exps.weight")) {
      // One tensor per expert: [n_expert, rows, cols] -> n_expert tensors (rows, cols).
      const std::string base = n.substr(0, n.size() - std::strlen("_exps.weight"));
      const uint64_t n_exp = shape[0], rows = shape[1], cols = shape[2];
      for (uint64_t e = 0; e < n_exp; ++e) {
        std::vector<float> part(v.begin() + static_cast<int64_t>(e * rows * cols),
                                v.begin() + static_cast<int64_t>((e + 1) * rows * cols));
        put(base + "." + std::to_string(e) + ".weight", {rows, cols}, part);
      }
      continue;
    }
    put(n, shape, v);
  }
  if (!sharded) {
    shards[0].write(dir + "/model.safetensors");
    return;
  }
  shards[0].write(dir + "/model-00001-of-00002.safetensors");
  shards[1].write(dir + "/model-00002-of-00002.safetensors");
  std::ofstream(dir + "/model.safetensors.index.json") << json{{"metadata", json::object()}, {"weight_map", weight_map}}.dump();
}


}  // namespace lmzip::test
