// The Hugging Face architectures lmzip reads, as data: per config.json class, the GGUF family it becomes, the
// metadata keys its config gives (written as llama.cpp's converter writes them) and the tensor-name rules.
// Internal to hf/ (checkpoint.cpp); docs/HF.md is the user-facing list.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

// config.json, every lookup naming the file and the key; null values count as absent.
class HfConfig {
 public:
  HfConfig(std::string path, nlohmann::json j) : path_(std::move(path)), j_(std::move(j)) {}
  const std::string& path() const { return path_; }
  const nlohmann::json& json_value() const { return j_; }
  const nlohmann::json* find(std::initializer_list<const char*> keys) const;  // the first key present
  std::optional<int64_t> get_int(std::initializer_list<const char*> keys) const;
  int64_t require_int(std::initializer_list<const char*> keys) const;
  std::optional<double> get_double(std::initializer_list<const char*> keys) const;
  double require_double(std::initializer_list<const char*> keys) const;
  bool flag(const char* key, bool fallback) const;
  std::optional<std::string> get_string(const char* key) const;
  std::string arch_hint() const;  // architectures[0], for messages

 private:
  std::string path_;
  nlohmann::json j_;
};

// Writes "<arch>.<key>" metadata and remembers what the tensor transforms need.
struct HfMetadata {
  HfMetadata(const HfConfig& c, GgufWriter& writer, std::string family) : config(c), w(writer), arch(std::move(family)) {}
  const HfConfig& config;
  GgufWriter& w;
  std::string arch;
  int64_t head_count = 0, head_count_kv = 0, head_dim = 0, n_rot = 0;
  std::vector<std::pair<std::string, std::vector<float>>> extra_tensors;  // computed (rope_freqs.weight)

  void u32(const std::string& key, int64_t v);
  void f32(const std::string& key, double v);
  void flag(const std::string& key, bool v);
  // head_count, head_count_kv (and key/value_length when head_dim is not n_embd / n_head).
  void attention(int64_t n_embd, int64_t n_head, int64_t n_kv);
  // rope.freq_base, rope.dimension_count (fraction of the head rotated), rope_scaling (linear; llama3 as
  // rope_freqs.weight) — any other scaling type refused.
  // skip_scaling: the family reads rope_scaling itself (Phi-3's LongRoPE).
  void rope(double fraction = 1.0, bool scaling_allowed = true, bool skip_scaling = false);
};

enum class Transform {
  None,
  Squeeze,      // drop dimensions of size 1 (Mamba's conv1d (d_inner, 1, d_conv))
  NormPlusOne,  // Gemma stores w and computes (1 + w): GGUF stores 1 + w (fp32 copy)
  NegExp,       // Mamba's A_log: GGUF stores A = -exp(A_log) (fp32 copy)
  FalconQkv,    // fused QKV in n_kv groups of (queries, key, value) -> [Q | K | V] (row copy)
  NeoxQkv,      // fused QKV per head (q, k, v) -> [Q | K | V] (row copy)
};

struct HfTensorRule {
  std::string hf;    // e.g. "model.layers.{L}.self_attn.q_proj.weight" ({L} layer, {E} expert)
  std::string gguf;  // e.g. "blk.{L}.attn_q.weight"
  Transform transform = Transform::None;
};

struct HfArchitecture {
  const char* hf_name;    // config.json architectures[0]
  const char* gguf_arch;  // the lmzip family (general.architecture)
  void (*metadata)(HfMetadata& m);
  std::vector<HfTensorRule> tensors;
  bool halves_rope = false;       // Q/K un-permuted where the GGUF family expects llama.cpp's permutation
  bool tied_by_default = false;   // tie_word_embeddings' default in transformers for this class
};

// Whether `name` fits `pattern`, whose {L} and {E} stand for decimal numbers (no leading zeros); the numbers in
// order. fill_pattern puts numbers back into a pattern's placeholders, in order.
bool match_pattern(std::string_view pattern, std::string_view name, std::vector<std::string>& numbers);
std::string fill_pattern(std::string pattern, const std::vector<std::string>& numbers);

const std::vector<HfArchitecture>& hf_architectures();
const HfArchitecture* find_hf_architecture(std::string_view hf_name);

// The checkpoint's tokenizer as a vocabulary: `override_file` when given (tokenizer.model, tokenizer.json or
// a .gguf), else the directory's tokenizer.model, else its tokenizer.json; nullopt when there is none.
std::optional<VocabFile> load_hf_tokenizer(const std::string& dir, const std::string& override_file);

}  // namespace lmzip
