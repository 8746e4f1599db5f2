#include "lmzip/model/synth.h"

#include <cmath>
#include <functional>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/arch.h"

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
  if (find_arch(s.arch) == nullptr) {
    throw Error("synth: unsupported architecture '" + s.arch + "' (supported: " + supported_architectures() + ")");
  }
  if (s.n_vocab < 3 || s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0 ||
      s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0) {
    throw Error("synth: inconsistent shape (n_embd must divide by n_head, n_head by n_head_kv)");
  }
  const int head_dim = s.n_embd / s.n_head;
  if (s.n_rot < 0 || s.n_rot > head_dim || s.n_rot % 2 != 0) throw Error("synth: n_rot must be even, <= head_dim");
}

}  // namespace

const char* synth_presets() { return "tiny, qwen2-0.5b, llama-7b"; }

std::optional<SynthShape> synth_preset(std::string_view preset, std::string_view arch) {
  SynthShape s;
  if (preset == "tiny") {
    s = SynthShape{};
  } else if (preset == "qwen2-0.5b") {  // Qwen2-0.5B / Qwen2.5-0.5B
    s = {.n_vocab = 151936, .n_embd = 896, .n_layer = 24, .n_head = 14, .n_head_kv = 2, .n_ff = 4864,
         .n_ctx = 32768, .rope_freq_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true};
  } else if (preset == "llama-7b") {  // Llama 2 7B
    s = {.n_vocab = 32000, .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 32, .n_ff = 11008,
         .n_ctx = 4096};
  } else {
    return std::nullopt;
  }
  s.arch = std::string(arch);
  return s;
}

SynthModel synth_model(const SynthOptions& options) {
  SynthShape s = options.shape;
  check_shape(s);
  if (!is_supported_weight_type(options.type)) {
    throw Error(std::string("synth: unsupported weight type ") + ggml_type_name(options.type) + " (supported: " +
                supported_weight_types() + ")");
  }
  SynthModel model;
  GgufWriter& w = model.writer;
  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", "lmzip-synth-" + s.arch);
  if (!options.vocab_path.empty()) {
    copy_tokenizer_metadata(options.vocab_path, w, s.n_vocab);
  } else {
    synthetic_tokenizer_metadata(s.n_vocab, w);
  }
  const std::string& a = s.arch;
  const int head_dim = s.n_embd / s.n_head, n_rot = s.n_rot ? s.n_rot : head_dim;
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(n_rot));
  w.set_f32(a + ".rope.freq_base", s.rope_freq_base);
  if (s.rope_scale_linear > 0) {
    w.set_string(a + ".rope.scaling.type", "linear");
    w.set_f32(a + ".rope.scaling.factor", s.rope_scale_linear);
  }
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.norm_eps);

  const uint64_t seed = options.seed;
  auto add = [&](const std::string& name, uint64_t n_in, uint64_t rows, Distribution dist, bool matrix) {
    GgmlType type = matrix ? options.type : GgmlType::F32;
    if (n_in % ggml_type_info(type).block_elements != 0) {
      type = n_in % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
      model.fallbacks.push_back(name + ": " + ggml_type_name(type));
    }
    std::vector<uint64_t> dims = rows == 1 ? std::vector<uint64_t>{n_in} : std::vector<uint64_t>{n_in, rows};
    w.add_tensor_generated(name, type, dims,
                           [=] { return generate_tensor(name, seed, type, n_in, rows, dist); });
  };
  const uint64_t d = s.n_embd, v = s.n_vocab, q_dim = d, kv_dim = uint64_t(s.n_head_kv) * head_dim, ff = s.n_ff;
  const Distribution norm{1.0f, 0.1f}, bias{0.0f, 0.1f};
  // Tied output: embeddings of std 2/sqrt(n_embd) give logits of std ~2 against a unit-RMS hidden state.
  add("token_embd.weight", d, v, s.tied_output ? Distribution{0, std::sqrt(12.0f / d)} : Distribution{0, 1.7f},
      true);
  add("output_norm.weight", d, 1, norm, false);
  if (!s.tied_output) add("output.weight", d, v, matrix_distribution(d), true);
  if (s.rope_freqs) add("rope_freqs.weight", n_rot / 2, 1, {4.5f, 3.5f}, false);
  const bool qkv_bias = find_arch(a)->qkv_bias;
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", d, 1, norm, false);
    add(p + "attn_q.weight", d, q_dim, matrix_distribution(d), true);
    add(p + "attn_k.weight", d, kv_dim, matrix_distribution(d), true);
    add(p + "attn_v.weight", d, kv_dim, matrix_distribution(d), true);
    if (qkv_bias) {
      add(p + "attn_q.bias", q_dim, 1, bias, false);
      add(p + "attn_k.bias", kv_dim, 1, bias, false);
      add(p + "attn_v.bias", kv_dim, 1, bias, false);
    }
    add(p + "attn_output.weight", q_dim, d, matrix_distribution(q_dim), true);
    add(p + "ffn_norm.weight", d, 1, norm, false);
    add(p + "ffn_gate.weight", d, ff, matrix_distribution(d), true);
    add(p + "ffn_up.weight", d, ff, matrix_distribution(d), true);
    add(p + "ffn_down.weight", ff, d, matrix_distribution(ff), true);
  }
  return model;
}

}  // namespace lmzip
