#include "lmzip/hf/checkpoint.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>

#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/format/safetensors.h"
#include "lmzip/hf/architectures.h"
#include "lmzip/io/file.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<GgmlType> ggml_type_of(SafetensorsDtype d) {
  switch (d) {
    case SafetensorsDtype::F32: return GgmlType::F32;
    case SafetensorsDtype::F16: return GgmlType::F16;
    case SafetensorsDtype::BF16: return GgmlType::BF16;
    default: return std::nullopt;
  }
}

std::vector<float> to_floats(const SafetensorsTensor& t, GgmlType type) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  dequantize_row(type, t.data, v.data(), v.size());
  return v;
}

std::string float_bytes(const std::vector<float>& v) {
  std::string s(v.size() * sizeof(float), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// The row order that turns a fused QKV into [all Q | all K | all V] (llama.cpp's converters do the same).
// Falcon: n_kv groups of (n_head / n_kv queries, one key, one value); GPT-NeoX: per head (q, k, v).
std::vector<int64_t> qkv_row_order(Transform t, int64_t n_head, int64_t n_kv, int64_t head_dim) {
  std::vector<int64_t> blocks;  // source block (of head_dim rows) for each destination block
  if (t == Transform::FalconQkv) {
    const int64_t per = n_head / n_kv + 2;
    for (int64_t g = 0; g < n_kv; ++g) {
      for (int64_t q = 0; q < n_head / n_kv; ++q) blocks.push_back(g * per + q);
    }
    for (int64_t g = 0; g < n_kv; ++g) blocks.push_back(g * per + per - 2);
    for (int64_t g = 0; g < n_kv; ++g) blocks.push_back(g * per + per - 1);
  } else {
    for (int64_t part = 0; part < 3; ++part) {
      for (int64_t h = 0; h < n_head; ++h) blocks.push_back(h * 3 + part);
    }
  }
  std::vector<int64_t> rows;
  for (int64_t b : blocks) {
    for (int64_t r = 0; r < head_dim; ++r) rows.push_back(b * head_dim + r);
  }
  return rows;
}

// Llama 3's frequency factors as llama.cpp's converter computes them from rope_scaling (rope_freqs.weight:
// each rotary frequency is divided by its factor).
std::vector<float> llama3_rope_factors(const HfConfig& c, const json& scaling, int64_t n_rot, double base) {
  auto num = [&](const char* key, double fallback) {
    const auto it = scaling.find(key);
    if (it == scaling.end() || it->is_null()) return fallback;
    if (!it->is_number()) throw Error(c.path() + ": rope_scaling." + key + " should be a number");
    return it->get<double>();
  };
  const double factor = num("factor", 8.0), low = num("low_freq_factor", 1.0), high = num("high_freq_factor", 4.0);
  const double old_ctx = num("original_max_position_embeddings", 8192);
  if (!(factor > 0) || !(high > low) || !(old_ctx > 0)) {
    throw Error(c.path() + ": rope_scaling llama3 needs factor > 0, high_freq_factor > low_freq_factor");
  }
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> factors;
  for (int64_t i = 0; i < n_rot; i += 2) {
    const float freq = static_cast<float>(1.0 / std::pow(base, static_cast<double>(i) / static_cast<double>(n_rot)));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

json read_config_json(const std::string& path) {
  json j = parse_json(read_file(path, {.max_stream_bytes = 64u << 20}), path);
  if (!j.is_object()) throw Error(path + ": not a JSON object");
  return j;
}

// Pads or checks the vocabulary against the embedding's rows: converters pad with unused [PAD<i>] tokens
// (Mamba's and GPT-NeoX's embeddings are rounded up to a multiple of 8 or 128).
void fit_vocab(Vocab& v, int64_t n_vocab, const std::string& tokenizer_file, const std::string& dir) {
  if (static_cast<int64_t>(v.tokens.size()) > n_vocab) {
    throw Error(tokenizer_file + ": the tokenizer has " + std::to_string(v.tokens.size()) +
                " tokens but the model's embedding in " + dir + " has only " + std::to_string(n_vocab) + " rows");
  }
  if (!v.scores.empty()) v.scores.resize(static_cast<size_t>(n_vocab), 0.0f);
  if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::Normal);
  for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab; ++i) {
    v.tokens.push_back("[PAD" + std::to_string(i) + "]");
    v.types.push_back(TokenType::Unused);
  }
  if (!v.lstrip.empty()) v.lstrip.resize(v.tokens.size(), false);
  if (!v.rstrip.empty()) v.rstrip.resize(v.tokens.size(), false);
}

}  // namespace

bool is_hf_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fs::exists(fs::path(path) / "config.json", ec);
  return fs::path(path).filename() == "config.json" && fs::is_regular_file(path, ec);
}

std::string supported_hf_architectures() {
  std::string s;
  for (const HfArchitecture& a : hf_architectures()) s += (s.empty() ? "" : ", ") + std::string(a.hf_name);
  return s;
}

HfCheckpoint open_hf_checkpoint(const std::string& path, const HfOptions& options) {
  std::error_code ec;
  const fs::path dir = fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
  const std::string config_path = (dir / "config.json").string();
  if (!fs::exists(config_path, ec)) {
    throw Error(dir.string() + ": no config.json (a Hugging Face checkpoint directory holds config.json and "
                "model.safetensors; a GGUF model is a .gguf file)");
  }
  const HfConfig config(config_path, read_config_json(config_path));
  const json& archs = config.json_value().contains("architectures") ? config.json_value()["architectures"] : json();
  if (!archs.is_array() || archs.empty() || !archs[0].is_string()) {
    throw Error(config_path + ": no \"architectures\" list naming the model class (supported: " +
                supported_hf_architectures() + ")");
  }
  const std::string arch_name = archs[0].get<std::string>();
  const HfArchitecture* arch = find_hf_architecture(arch_name);
  if (arch == nullptr) {
    throw Error(config_path + ": architecture '" + arch_name + "' is not supported (supported: " +
                supported_hf_architectures() + ")");
  }

  HfCheckpoint out;
  out.dir = dir.string();
  out.architecture = arch_name;
  SafetensorsCheckpoint weights = SafetensorsCheckpoint::open_dir(out.dir);

  GgufWriter w;
  w.set_string("general.architecture", arch->gguf_arch);
  std::string name = fs::absolute(dir, ec).filename().string();
  if (name.empty() || name == ".") name = fs::absolute(dir, ec).parent_path().filename().string();
  w.set_string("general.name", name);
  HfMetadata meta{config, w, arch->gguf_arch};
  arch->metadata(meta);
  if (arch->halves_rope) w.set_string("lmzip.rope_kind", "neox");

  // Tensors: every checkpoint tensor a rule maps, under its GGUF name.
  std::vector<GgufTensorInfo> tensors;
  std::vector<std::shared_ptr<const void>> keep;
  for (const SafetensorsFile& f : weights.files()) keep.push_back(f.mapping());
  auto owned = [&](std::string bytes) {
    auto p = std::make_shared<const std::string>(std::move(bytes));
    keep.push_back(p);
    return reinterpret_cast<const uint8_t*>(p->data());
  };
  int64_t n_vocab = 0;
  for (const std::string& hf_name : weights.names()) {
    const SafetensorsTensor& t = *weights.find(hf_name);
    const HfTensorRule* rule = nullptr;
    std::vector<std::string> numbers;  // the layer (and expert) in the name
    for (const HfTensorRule& r : arch->tensors) {
      if (match_pattern(r.hf, hf_name, numbers)) {
        rule = &r;
        break;
      }
    }
    if (rule == nullptr) {
      out.unused_tensors.push_back(hf_name);
      continue;
    }
    const auto type = ggml_type_of(t.dtype);
    if (!type) {
      throw Error(weights.file_of(hf_name) + ": tensor '" + hf_name + "' has dtype " +
                  safetensors_dtype_name(t.dtype) + " (lmzip reads F32, F16 and BF16 checkpoints)");
    }
    if (t.shape.empty() || t.n_elements == 0) {
      throw Error(weights.file_of(hf_name) + ": tensor '" + hf_name + "' has shape " + t.shape_string());
    }
    GgufTensorInfo info;
    info.name = fill_pattern(rule->gguf, numbers);
    info.dims.assign(t.shape.rbegin(), t.shape.rend());  // row-major (out, in) is GGUF's [in, out]
    info.type = *type;
    info.data = t.data;
    info.n_bytes = t.n_bytes;
    switch (rule->transform) {
      case Transform::None: break;
      case Transform::Squeeze: {
        std::vector<uint64_t> dims;
        for (uint64_t d : info.dims) {
          if (d != 1) dims.push_back(d);
        }
        info.dims = dims.empty() ? std::vector<uint64_t>{1} : dims;
        break;
      }
      case Transform::NormPlusOne:
      case Transform::NegExp: {
        std::vector<float> v = to_floats(t, *type);
        for (float& x : v) x = rule->transform == Transform::NormPlusOne ? x + 1.0f : -std::exp(x);
        info.type = GgmlType::F32;
        info.n_bytes = v.size() * sizeof(float);
        info.data = owned(float_bytes(v));
        break;
      }
      case Transform::FalconQkv:
      case Transform::NeoxQkv: {
        const int64_t n_head = meta.head_count, n_kv = rule->transform == Transform::FalconQkv ? meta.head_count_kv : n_head;
        const int64_t rows = static_cast<int64_t>(t.shape[0]);
        if (n_head <= 0 || n_kv <= 0 || n_head % n_kv != 0 || rows % (n_head + 2 * n_kv) != 0) {
          throw Error(weights.file_of(hf_name) + ": tensor '" + hf_name + "' has shape " + t.shape_string() +
                      ", which does not split into " + std::to_string(n_head) + " query and " +
                      std::to_string(n_kv) + " key/value heads");
        }
        const int64_t head_dim = rows / (n_head + 2 * n_kv);
        const std::vector<int64_t> order = qkv_row_order(rule->transform, n_head, n_kv, head_dim);
        const uint64_t row_bytes = t.n_bytes / static_cast<uint64_t>(rows);
        bool identity = true;
        for (size_t i = 0; i < order.size(); ++i) identity = identity && order[i] == static_cast<int64_t>(i);
        if (!identity) {
          std::string bytes(t.n_bytes, '\0');
          for (size_t i = 0; i < order.size(); ++i) {
            std::memcpy(bytes.data() + i * row_bytes, t.data + static_cast<uint64_t>(order[i]) * row_bytes, row_bytes);
          }
          info.data = owned(std::move(bytes));
        }
        break;
      }
    }
    if (info.name == "token_embd.weight" && info.dims.size() == 2) n_vocab = static_cast<int64_t>(info.dims[1]);
    tensors.push_back(std::move(info));
  }
  // Tied output: a checkpoint that says so may still store lm_head (a copy); the engine reads token_embd.
  if (config.flag("tie_word_embeddings", arch->tied_by_default)) {
    std::erase_if(tensors, [](const GgufTensorInfo& t) { return t.name == "output.weight"; });
  }
  for (auto& [tensor_name, values] : meta.extra_tensors) {
    GgufTensorInfo info;
    info.name = tensor_name;
    info.dims = {values.size()};
    info.type = GgmlType::F32;
    info.n_bytes = values.size() * sizeof(float);
    info.data = owned(float_bytes(values));
    tensors.push_back(std::move(info));
  }

  // The tokenizer, as tokenizer.ggml.* keys (so every command reads it as from a GGUF file).
  std::optional<VocabFile> tok = load_hf_tokenizer(out.dir, options.tokenizer_file);
  if (tok) {
    if (n_vocab > 0) fit_vocab(tok->vocab, n_vocab, tok->file, out.dir);
    // llama.cpp keys a few special-token attributes on the model's name and family (as from_gguf reads them).
    if (tok->vocab.architecture.empty()) tok->vocab.architecture = arch->gguf_arch;
    if (tok->vocab.name.empty()) tok->vocab.name = name;
    tok->vocab.write_gguf(w);
    out.tokenizer_file = tok->file;
    out.vocab = std::move(tok->vocab);
  } else if (options.require_tokenizer) {
    throw Error(out.dir + ": no tokenizer.model or tokenizer.json (give one with --tokenizer FILE)");
  }
  auto header = std::make_shared<const std::string>(w.to_bytes());
  out.file = GgufFile::assemble(config_path, std::move(header), std::move(tensors), std::move(keep));
  return out;
}

// ---- HfConfig ------------------------------------------------------------------------------------------------

const json* HfConfig::find(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) {
    const auto it = j_.find(k);
    if (it != j_.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::optional<int64_t> HfConfig::get_int(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) {
    const json* v = find({k});
    if (v == nullptr) continue;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() && std::abs(v->get<double>()) < 1e15) {
      return static_cast<int64_t>(v->get<double>());
    }
    throw Error(path_ + ": " + k + " should be an integer but is " + v->dump());
  }
  return std::nullopt;
}

int64_t HfConfig::require_int(std::initializer_list<const char*> keys) const {
  if (auto v = get_int(keys)) return *v;
  throw Error(path_ + ": missing " + *keys.begin() + " (required for " + arch_hint() + ")");
}

std::optional<double> HfConfig::get_double(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) {
    const json* v = find({k});
    if (v == nullptr) continue;
    if (!v->is_number()) throw Error(path_ + ": " + k + " should be a number but is " + v->dump());
    return v->get<double>();
  }
  return std::nullopt;
}

double HfConfig::require_double(std::initializer_list<const char*> keys) const {
  if (auto v = get_double(keys)) return *v;
  throw Error(path_ + ": missing " + *keys.begin() + " (required for " + arch_hint() + ")");
}

bool HfConfig::flag(const char* key, bool fallback) const {
  const json* v = find({key});
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw Error(path_ + ": " + key + " should be true or false but is " + v->dump());
  return v->get<bool>();
}

std::optional<std::string> HfConfig::get_string(const char* key) const {
  const json* v = find({key});
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) throw Error(path_ + ": " + key + " should be a string but is " + v->dump());
  return v->get<std::string>();
}

std::string HfConfig::arch_hint() const {
  const auto it = j_.find("architectures");
  if (it != j_.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) return (*it)[0].get<std::string>();
  return "this model";
}

// ---- HfMetadata ----------------------------------------------------------------------------------------------

void HfMetadata::u32(const std::string& key, int64_t v) {
  if (v < 0 || v > 0xffffffffLL) throw Error(config.path() + ": value " + std::to_string(v) + " for " + key + " is out of range");
  w.set_u32(arch + "." + key, static_cast<uint32_t>(v));
}
void HfMetadata::f32(const std::string& key, double v) {
  if (!std::isfinite(v)) throw Error(config.path() + ": value for " + key + " is not finite");
  w.set_f32(arch + "." + key, static_cast<float>(v));
}
void HfMetadata::flag(const std::string& key, bool v) { w.set_bool(arch + "." + key, v); }

void HfMetadata::attention(int64_t n_embd, int64_t n_head, int64_t n_kv) {
  if (n_head <= 0 || n_kv <= 0 || n_head % n_kv != 0) {
    throw Error(config.path() + ": num_attention_heads " + std::to_string(n_head) +
                " is not a positive multiple of the key/value heads " + std::to_string(n_kv));
  }
  head_count = n_head;
  head_count_kv = n_kv;
  u32("attention.head_count", n_head);
  u32("attention.head_count_kv", n_kv);
  head_dim = config.get_int({"head_dim"}).value_or(0);
  if (head_dim <= 0) {
    if (n_embd % n_head != 0) {
      throw Error(config.path() + ": hidden_size " + std::to_string(n_embd) + " does not divide by num_attention_heads " +
                  std::to_string(n_head));
    }
    head_dim = n_embd / n_head;
  } else if (head_dim != n_embd / n_head) {
    u32("attention.key_length", head_dim);
    u32("attention.value_length", head_dim);
  }
}

void HfMetadata::rope(double fraction, bool scaling_allowed, bool skip_scaling) {
  // transformers 5 writes rope_parameters; checkpoints before it rope_theta and rope_scaling.
  const json* params = config.find({"rope_parameters"});
  double base = config.get_double({"rope_theta", "rotary_emb_base"}).value_or(10000.0);
  if (params != nullptr && params->is_object() && params->contains("rope_theta")) base = (*params)["rope_theta"].get<double>();
  f32("rope.freq_base", base);
  n_rot = static_cast<int64_t>(std::llround(static_cast<double>(head_dim) * fraction)) & ~int64_t{1};
  if (!(fraction > 0 && fraction <= 1) || n_rot <= 0) {
    throw Error(config.path() + ": the rotary fraction " + std::to_string(fraction) + " must be in (0, 1]");
  }
  if (n_rot != head_dim) u32("rope.dimension_count", n_rot);
  const json* scaling = config.find({"rope_scaling"});
  if (scaling == nullptr && params != nullptr) scaling = params;
  if (scaling == nullptr || skip_scaling) return;
  if (!scaling->is_object()) throw Error(config.path() + ": rope_scaling should be an object");
  std::string type;
  for (const char* k : {"rope_type", "type"}) {
    if (scaling->contains(k) && (*scaling)[k].is_string()) type = (*scaling)[k].get<std::string>();
  }
  if (type.empty() || type == "default") return;
  if (!scaling_allowed) {
    throw Error(config.path() + ": rope_scaling type '" + type + "' is not supported for " + config.arch_hint());
  }
  if (type == "linear") {
    const auto f = scaling->find("factor");
    if (f == scaling->end() || !f->is_number() || !(f->get<double>() > 0)) {
      throw Error(config.path() + ": rope_scaling linear needs a positive factor");
    }
    w.set_string(arch + ".rope.scaling.type", "linear");
    f32("rope.scaling.factor", f->get<double>());
  } else if (type == "llama3") {
    extra_tensors.emplace_back("rope_freqs.weight", llama3_rope_factors(config, *scaling, n_rot, base));
  } else {
    throw Error(config.path() + ": rope_scaling type '" + type + "' is not supported (supported: linear, llama3)");
  }
}

}  // namespace lmzip
