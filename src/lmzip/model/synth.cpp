#include "lmzip/model/synth.h"

#include <cmath>
#include <functional>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/family.h"

namespace lmzip {
namespace {

// splitmix64: a small, fast, well-mixed generator; uniform floats in [-1, 1).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  float uniform() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<float>(static_cast<double>(z >> 40) / static_cast<double>(1ull << 23) - 1.0);
  }

 private:
  uint64_t state_;
};

// How a tensor's values are drawn: center + U(-1, 1) * half_width.
struct Distribution {
  float center = 0;
  float half_width = 1;
};

// Rows of n_in values, quantized to `type` row by row.
std::string generate_tensor(const std::string& name, uint64_t seed, GgmlType type, uint64_t n_in, uint64_t rows,
                            Distribution dist) {
  Random rng(seed ^ xxh64(name.data(), name.size()));
  std::string out;
  std::vector<float> row(n_in);
  for (uint64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist.center + dist.half_width * rng.uniform();
    quantize_row(type, row.data(), row.size(), out);
  }
  return out;
}

// Uniform with standard deviation 1/sqrt(n_in): a product with a normalized input keeps unit scale.
Distribution matrix_distribution(uint64_t n_in) { return {0.0f, std::sqrt(3.0f / static_cast<float>(n_in))}; }

void copy_tokenizer_metadata(const std::string& path, GgufWriter& w, int& n_vocab) {
  GgufFile vocab = GgufFile::open(path);
  const GgufValue* tokens = vocab.find_array("tokenizer.ggml.tokens", GgufType::STRING);
  if (tokens == nullptr) throw Error(path + ": no tokenizer.ggml.tokens array (not a vocabulary GGUF?)");
  n_vocab = static_cast<int>(tokens->array_size());
  for (const auto& [key, v] : vocab.metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    if (v.type() == GgufType::STRING) {
      w.set_string(key, *v.as_string());
    } else if (v.type() == GgufType::BOOL) {
      w.set_bool(key, *v.as_bool());
    } else if (v.type() == GgufType::FLOAT32 || v.type() == GgufType::FLOAT64) {
      w.set_f32(key, static_cast<float>(*v.as_double()));
    } else if (v.is_integer()) {
      w.set_u32(key, static_cast<uint32_t>(*v.as_int()));
    } else if (v.type() == GgufType::ARRAY && v.array_type() == GgufType::STRING) {
      w.set_strings(key, std::vector<std::string>(v.array_strings().begin(), v.array_strings().end()));
    } else if (v.type() == GgufType::ARRAY && v.array_type() == GgufType::FLOAT32) {
      std::vector<float> values(v.array_size());
      for (uint64_t i = 0; i < v.array_size(); ++i) values[i] = static_cast<float>(v.array_number(i));
      w.set_f32s(key, values);
    } else if (v.type() == GgufType::ARRAY && v.array_type() == GgufType::INT32) {
      std::vector<int32_t> values(v.array_size());
      for (uint64_t i = 0; i < v.array_size(); ++i) values[i] = static_cast<int32_t>(v.array_int(i));
      w.set_i32s(key, values);
    } else {
      throw Error(path + ": metadata " + key + " has a type synth cannot copy (" + gguf_type_name(v.type()) + ")");
    }
  }
}

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens (as far as they fit), then fillers.
void synthetic_tokenizer_metadata(int n_vocab, GgufWriter& w) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  auto add = [&](std::string t, int32_t type) {
    scores.push_back(-static_cast<float>(tokens.size()));
    tokens.push_back(std::move(t));
    types.push_back(type);
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (int b = 0; b < 256 && static_cast<int>(tokens.size()) < n_vocab; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 6);
  }
  while (static_cast<int>(tokens.size()) < n_vocab) add("\xe2\x96\x81t" + std::to_string(tokens.size()), 1);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_f32s("tokenizer.ggml.scores", scores);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
}

void check_shape(const SynthShape& s) {
  if (find_family(s.arch) == nullptr) {
    throw Error("synth: unsupported architecture '" + s.arch + "' (supported: " + supported_architectures() + ")");
  }
  if (s.n_vocab < 3 || s.n_embd <= 0 || s.n_layer <= 0) throw Error("synth: inconsistent shape");
  if (s.n_head > 0) {
    if (s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0 || (s.head_dim == 0 && s.n_embd % s.n_head != 0)) {
      throw Error("synth: inconsistent shape (n_embd must divide by n_head, n_head by n_head_kv)");
    }
    const int head_dim = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
    if (s.n_rot < 0 || s.n_rot > head_dim || s.n_rot % 2 != 0) throw Error("synth: n_rot must be even, <= head_dim");
  }
  if (s.n_expert > 0 && (s.n_expert_used <= 0 || s.n_expert_used > s.n_expert)) {
    throw Error("synth: expert_used_count must be in 1..expert_count");
  }
}

// The configuration the loader will read from what synth writes (for the tensor table's dimensions).
ModelConfig shape_config(const SynthShape& s, const Family& f) {
  ModelConfig c;
  c.architecture = s.arch;
  c.n_vocab = s.n_vocab;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_head = s.n_head;
  c.n_head_kv = s.n_head_kv;
  c.n_ff = s.n_ff;
  c.n_ctx_train = s.n_ctx;
  c.head_dim = s.n_head == 0 ? 0 : s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  c.n_rot = s.n_rot ? s.n_rot : c.head_dim;
  c.n_expert = s.n_expert;
  c.n_expert_used = s.n_expert_used;
  c.n_ff_exp = s.n_ff_exp ? s.n_ff_exp : s.n_ff;
  c.n_ff_shexp = s.n_ff_shexp;
  c.ssm_d_inner = s.ssm_d_inner;
  c.ssm_d_state = s.ssm_d_state;
  c.ssm_d_conv = s.ssm_d_conv;
  c.ssm_dt_rank = s.ssm_dt_rank;
  c.v_head_dim = s.v_head_dim ? s.v_head_dim : c.head_dim;
  c.q_lora_rank = s.q_lora_rank;
  c.kv_lora_rank = s.kv_lora_rank;
  c.rope = f.rope;
  return c;
}

// Layer il of the shape: a Mamba block (else it attends), sparse experts (else a dense FFN).
bool synth_mamba_layer(const SynthShape& s, int il) {
  return s.ssm_d_inner > 0 && (s.n_head == 0 || (s.attn_period > 0 && il % s.attn_period != s.attn_offset));
}
bool synth_experts_layer(const SynthShape& s, int il) {
  return s.n_expert > 0 && il >= s.dense_lead && (s.expert_period == 0 || il % s.expert_period == s.expert_offset);
}

// Whether synth writes a tensor of the table for this shape, in layer il (-1: a model tensor).
bool synth_writes(const SynthShape& s, int il, const char* name, Need need) {
  switch (need) {
    case Need::Required: return true;
    case Need::IfDense: return !synth_experts_layer(s, il);
    case Need::IfExperts: return synth_experts_layer(s, il);
    case Need::IfShared:
    case Need::IfGatedShared: return synth_experts_layer(s, il) && s.n_ff_shexp > 0;
    case Need::IfAttention: return !synth_mamba_layer(s, il);
    case Need::IfMamba: return synth_mamba_layer(s, il);
    case Need::Optional: break;
  }
  const std::string n = name;
  if (n == "output.weight") return !s.tied_output;
  if (n == "rope_freqs.weight") return s.rope_freqs;
  for (const std::string& o : s.optional_tensors) {
    if (o == n) return true;
  }
  return false;
}

// How a tensor's values are drawn, by what it is.
Distribution distribution_for(const std::string& name, uint64_t n_in, bool tied_output) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  // Tied output: embeddings of std 2/sqrt(n_embd) give logits of std ~2 against a unit-RMS hidden state.
  if (name == "token_embd.weight") return tied_output ? Distribution{0, std::sqrt(12.0f / n_in)} : Distribution{0, 1.7f};
  if (name == "rope_freqs.weight") return {4.5f, 3.5f};
  if (name.rfind("rope_factors", 0) == 0) return {1.5f, 0.5f};
  if (ends_with("ssm_a")) return {-1.5f, 1.0f};  // A = -exp(A_log) < 0
  if (ends_with("ssm_d")) return {1.0f, 0.5f};
  if (ends_with("ssm_dt.bias")) return {-3.5f, 1.0f};  // softplus of it: dt in about [0.01, 0.1]
  if (ends_with("ssm_conv1d.weight")) return {0.0f, 0.5f};
  if (name.find("norm") != std::string::npos && ends_with(".weight")) return {1.0f, 0.1f};
  if (ends_with(".bias")) return {0.0f, 0.1f};
  if (name == "position_embd.weight") return {0.0f, 0.3f};
  return matrix_distribution(n_in);
}

}  // namespace

namespace {

struct Preset {
  const char* name;
  SynthShape shape;
};

const std::vector<Preset>& model_presets() {
  static const std::vector<Preset> presets = {
      // Qwen2-0.5B / Qwen2.5-0.5B
      {"qwen2-0.5b", {.arch = "qwen2", .n_vocab = 151936, .n_embd = 896, .n_layer = 24, .n_head = 14, .n_head_kv = 2,
                      .n_ff = 4864, .n_ctx = 32768, .rope_freq_base = 1000000.0f, .norm_eps = 1e-6f,
                      .tied_output = true, .optional_tensors = {"attn_q.bias", "attn_k.bias", "attn_v.bias"}}},
      // Llama 2 7B
      {"llama-7b", {.arch = "llama", .n_vocab = 32000, .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 32,
                    .n_ff = 11008, .n_ctx = 4096}},
      // Falcon-7B: multi-query, one LayerNorm feeding attention and MLP in parallel, tied output.
      {"falcon-7b", {.arch = "falcon", .n_vocab = 65024, .n_embd = 4544, .n_layer = 32, .n_head = 71, .n_head_kv = 1,
                     .n_ff = 18176, .n_ctx = 2048, .tied_output = true}},
      // Falcon-40B: 8 KV groups, two norms (ln_attn, ln_mlp).
      {"falcon-40b", {.arch = "falcon", .n_vocab = 65024, .n_embd = 8192, .n_layer = 60, .n_head = 128, .n_head_kv = 8,
                      .n_ff = 32768, .n_ctx = 2048, .optional_tensors = {"attn_norm_2.weight", "attn_norm_2.bias"}}},
      // Qwen-7B (v1): feed_forward_length is HF's intermediate_size, twice the FFN matrices' width.
      {"qwen-7b", {.arch = "qwen", .n_vocab = 151936, .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 32,
                   .n_ff = 22016, .n_ctx = 8192, .norm_eps = 1e-6f}},
      // StarCoderBase-15.5B (gpt_bigcode): multi-query, learned positions.
      {"starcoderbase", {.arch = "starcoder", .n_vocab = 49152, .n_embd = 6144, .n_layer = 40, .n_head = 48,
                         .n_head_kv = 1, .n_ff = 24576, .n_ctx = 8192}},
      // StarCoder2-7B
      {"starcoder2-7b", {.arch = "starcoder2", .n_vocab = 49152, .n_embd = 4608, .n_layer = 32, .n_head = 36,
                         .n_head_kv = 4, .n_ff = 18432, .n_ctx = 16384, .rope_freq_base = 1000000.0f}},
      // Mixtral-8x7B: 8 experts, top 2.
      {"mixtral-8x7b", {.arch = "llama", .n_vocab = 32000, .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8,
                        .n_ff = 14336, .n_ctx = 32768, .rope_freq_base = 1000000.0f, .n_expert = 8,
                        .n_expert_used = 2}},
      // Jamba-v0.1 (52B): attention every 8th layer from layer 4 (32 heads, 8 KV heads, no RoPE), Mamba
      // otherwise; 16 experts top-2 every other layer from layer 1, a dense SwiGLU otherwise.
      {"jamba-52b", {.arch = "jamba", .n_vocab = 65536, .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8,
                     .n_ff = 14336, .n_ctx = 262144, .norm_eps = 1e-6f, .n_expert = 16, .n_expert_used = 2,
                     .ssm_d_inner = 8192, .ssm_d_state = 16, .ssm_d_conv = 4, .ssm_dt_rank = 256,
                     .attn_period = 8, .attn_offset = 4, .expert_period = 2, .expert_offset = 1}},
      // Mamba-2.8B
      {"mamba-2.8b", {.arch = "mamba", .n_vocab = 50280, .n_embd = 2560, .n_layer = 64, .n_head = 0, .n_head_kv = 0,
                      .n_ff = 0, .n_ctx = 1048576, .tied_output = true, .ssm_d_inner = 5120, .ssm_d_state = 16,
                      .ssm_d_conv = 4, .ssm_dt_rank = 160}},
  };
  return presets;
}

// A small model of every family, with what sets the family apart.
SynthShape tiny_shape(std::string_view arch) {
  SynthShape s;
  s.arch = std::string(arch);
  if (arch == "qwen2" || arch == "qwen2moe" || arch == "stablelm") s.optional_tensors = {"attn_q.bias", "attn_k.bias", "attn_v.bias"};
  if (arch == "qwen2moe") {
    s.n_expert = 4, s.n_expert_used = 2, s.n_ff_exp = 48, s.n_ff_shexp = 96;
  } else if (arch == "falcon") {
    s.n_head_kv = 1;
  } else if (arch == "gemma" || arch == "gemma2") {
    s.head_dim = 24, s.tied_output = true;
    if (arch == "gemma2") s.n_layer = 26, s.n_ff = 64, s.keys = {{"attention.sliding_window", 8}};
  } else if (arch == "phi3") {
    s.optional_tensors = {"rope_factors_long.weight", "rope_factors_short.weight"};
    s.keys = {{"attention.sliding_window", 16}};
  } else if (arch == "gptneox" || arch == "stablelm") {
    s.n_head_kv = 4, s.n_rot = 4;
    if (arch == "stablelm") s.optional_tensors.push_back("ffn_norm.weight"), s.optional_tensors.push_back("ffn_norm.bias");
  } else if (arch == "olmo2") {
    s.n_head_kv = 4;
  } else if (arch == "command-r") {
    s.tied_output = true;
  } else if (arch == "deepseek2") {
    // MLA with q LoRA, key 16 nope + 8 rope, value 16; YaRN; a dense first block, then 4 experts top-2 plus one
    // shared expert (as ../shared/archs/deepseek2.gguf).
    s.n_head_kv = 4, s.head_dim = 24, s.v_head_dim = 16, s.n_rot = 8, s.q_lora_rank = 32, s.kv_lora_rank = 32;
    s.n_ff = 128, s.n_expert = 4, s.n_expert_used = 2, s.n_ff_exp = 32, s.n_ff_shexp = 32, s.dense_lead = 1;
    s.rope_scale_yarn = 4, s.rope_yarn_orig_ctx = 128;
    s.optional_tensors = {"attn_q_a.weight", "attn_q_a_norm.weight", "attn_q_b.weight"};
  } else if (arch == "jamba") {
    // Layers 0 Mamba + experts, 1 attention + dense, 2 Mamba + dense, 3 attention + experts.
    s.n_layer = 4, s.attn_period = 2, s.attn_offset = 1, s.expert_period = 3, s.expert_offset = 0;
    s.n_expert = 4, s.n_expert_used = 2;
    s.ssm_d_inner = 128, s.ssm_d_state = 16, s.ssm_d_conv = 4, s.ssm_dt_rank = 4;
  } else if (arch == "mamba") {
    s.n_head = s.n_head_kv = s.n_ff = 0, s.tied_output = true;
    s.ssm_d_inner = 128, s.ssm_d_state = 16, s.ssm_d_conv = 4, s.ssm_dt_rank = 4;
  }
  return s;
}

}  // namespace

std::string synth_presets() {
  std::string s = "tiny";
  for (const Preset& p : model_presets()) s += std::string(", ") + p.name;
  return s;
}

std::optional<SynthShape> synth_preset(std::string_view preset, std::string_view arch) {
  if (preset == "tiny") return tiny_shape(arch.empty() ? "llama" : arch);
  for (const Preset& p : model_presets()) {
    if (preset != p.name) continue;
    if (!arch.empty() && arch != p.shape.arch) {
      throw Error("synth: preset " + std::string(preset) + " is a " + p.shape.arch + " model, not " +
                  std::string(arch));
    }
    return p.shape;
  }
  return std::nullopt;
}

SynthModel synth_model(const SynthOptions& options) {
  SynthShape s = options.shape;
  check_shape(s);
  if (!is_supported_weight_type(options.type)) {
    throw Error(std::string("synth: unsupported weight type ") + ggml_type_name(options.type) + " (supported: " +
                supported_weight_types() + ")");
  }
  const Family& family = *find_family(s.arch);
  SynthModel model;
  GgufWriter& w = model.writer;
  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", "lmzip-synth-" + s.arch);
  if (!options.vocab_path.empty()) {
    copy_tokenizer_metadata(options.vocab_path, w, s.n_vocab);
  } else {
    synthetic_tokenizer_metadata(s.n_vocab, w);
  }
  const ModelConfig c = shape_config(s, family);
  const std::string& a = s.arch;
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  if (s.attn_period > 0 && s.ssm_d_inner > 0) {
    std::vector<int32_t> kv(static_cast<size_t>(s.n_layer));
    for (int il = 0; il < s.n_layer; ++il) kv[static_cast<size_t>(il)] = synth_mamba_layer(s, il) ? 0 : s.n_head_kv;
    w.set_i32s(a + ".attention.head_count_kv", kv);
  } else {
    w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  }
  if (s.head_dim > 0 || s.v_head_dim > 0) {
    w.set_u32(a + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
    w.set_u32(a + ".attention.value_length", static_cast<uint32_t>(c.v_head_dim));
  }
  if (s.q_lora_rank > 0) w.set_u32(a + ".attention.q_lora_rank", static_cast<uint32_t>(s.q_lora_rank));
  if (s.kv_lora_rank > 0) w.set_u32(a + ".attention.kv_lora_rank", static_cast<uint32_t>(s.kv_lora_rank));
  if (s.dense_lead > 0) w.set_u32(a + ".leading_dense_block_count", static_cast<uint32_t>(s.dense_lead));
  if (s.rope_scale_yarn > 0) {
    w.set_string(a + ".rope.scaling.type", "yarn");
    w.set_f32(a + ".rope.scaling.factor", s.rope_scale_yarn);
    w.set_u32(a + ".rope.scaling.original_context_length", static_cast<uint32_t>(s.rope_yarn_orig_ctx));
  }
  if (s.n_head > 0) {
    w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(c.n_rot));
    w.set_f32(a + ".rope.freq_base", s.rope_freq_base);
  }
  if (s.rope_scale_linear > 0) {
    w.set_string(a + ".rope.scaling.type", "linear");
    w.set_f32(a + ".rope.scaling.factor", s.rope_scale_linear);
  }
  w.set_f32(a + (family.norm == NormKind::Rms ? ".attention.layer_norm_rms_epsilon" : ".attention.layer_norm_epsilon"),
            s.norm_eps);
  if (s.n_expert > 0) {
    w.set_u32(a + ".expert_count", static_cast<uint32_t>(s.n_expert));
    w.set_u32(a + ".expert_used_count", static_cast<uint32_t>(s.n_expert_used));
    if (s.n_ff_exp > 0) w.set_u32(a + ".expert_feed_forward_length", static_cast<uint32_t>(s.n_ff_exp));
    if (s.n_ff_shexp > 0) w.set_u32(a + ".expert_shared_feed_forward_length", static_cast<uint32_t>(s.n_ff_shexp));
  }
  if (s.ssm_d_inner > 0) {
    w.set_u32(a + ".ssm.inner_size", static_cast<uint32_t>(s.ssm_d_inner));
    w.set_u32(a + ".ssm.state_size", static_cast<uint32_t>(s.ssm_d_state));
    w.set_u32(a + ".ssm.conv_kernel", static_cast<uint32_t>(s.ssm_d_conv));
    w.set_u32(a + ".ssm.time_step_rank", static_cast<uint32_t>(s.ssm_dt_rank));
  }
  for (const FamilyKey& k : family.keys) {
    double value = k.synth_value;
    for (const auto& [suffix, v] : s.keys) {
      if (suffix == k.suffix) value = v;
    }
    const std::string key = a + "." + k.suffix;
    if (k.type == FamilyKey::U32) w.set_u32(key, static_cast<uint32_t>(value));
    if (k.type == FamilyKey::F32) w.set_f32(key, static_cast<float>(value));
    if (k.type == FamilyKey::Bool) w.set_bool(key, value != 0);
  }

  const uint64_t seed = options.seed;
  // Matrices (view slots) in options.type, falling back where rows do not fit its blocks; vectors in F32.
  auto add = [&](const std::string& name, const std::vector<int64_t>& shape, bool matrix) {
    GgmlType type = matrix ? options.type : GgmlType::F32;
    const uint64_t n_in = static_cast<uint64_t>(shape[0]);
    uint64_t rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) rows *= static_cast<uint64_t>(shape[i]);
    if (n_in % ggml_type_info(type).block_elements != 0) {
      type = n_in % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
      model.fallbacks.push_back(name + ": " + ggml_type_name(type));
    }
    const std::string base = name.rfind("blk.", 0) == 0 ? name.substr(name.find('.', 4) + 1) : name;
    const Distribution dist = distribution_for(base, n_in, s.tied_output);
    w.add_tensor_generated(name, type, std::vector<uint64_t>(shape.begin(), shape.end()),
                           [=] { return generate_tensor(name, seed, type, n_in, rows, dist); });
  };
  auto add_spec = [&](const auto& spec, int il, const std::string& name) {
    if (!synth_writes(s, il, spec.name, spec.need)) return;
    std::vector<int64_t> shape;
    for (Dim d : spec.dims) shape.push_back(dim_value(c, d));
    const bool matrix = spec.slot.index() == 0 && shape.size() > 1;
    add(name, shape, matrix);
  };
  for (const auto& t : family.model_tensors) add_spec(t, -1, t.name);
  for (int l = 0; l < s.n_layer; ++l) {
    for (const auto& t : family.layer_tensors) add_spec(t, l, "blk." + std::to_string(l) + "." + t.name);
  }
  return model;
}

}  // namespace lmzip
