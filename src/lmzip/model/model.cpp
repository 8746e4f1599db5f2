// Model::load: the configuration from GGUF metadata, then every tensor of the architecture's table checked for
// presence, type and shape and bound to its slot.
#include "lmzip/model/model.h"

#include <optional>

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/family.h"

namespace lmzip {
namespace {

int checked_int(const GgufFile& file, const std::string& key, int64_t value, bool zero_ok = false) {
  if (value < (zero_ok ? 0 : 1) || value > (int64_t{1} << 30)) {
    throw Error(file.name() + ": metadata " + key + " = " + std::to_string(value) + " is out of range");
  }
  return static_cast<int>(value);
}

// attention.head_count_kv: a number, or (hybrid models, Jamba) one per layer with 0 for the layers that do not
// attend; the attending layers must then agree (per-layer KV widths are not supported: one KV cache width).
int head_count_kv(const GgufFile& file, const std::string& key, int fallback) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) return fallback;
  if (v->type() != GgufType::ARRAY) return checked_int(file, key, file.require_int(key), /*zero_ok=*/true);
  int64_t common = 0;
  for (uint64_t i = 0; i < v->array_size(); ++i) {
    const int64_t n = v->array_int(i);
    if (n == 0) continue;
    if (common != 0 && n != common) {
      throw Error(file.name() + ": metadata " + key + " varies between attending layers, which is not supported");
    }
    common = n;
  }
  // All zero: no layer attends (a Jamba cut to its first Mamba layers); the value is then unused.
  return common == 0 ? fallback : checked_int(file, key, common);
}

// The hyper-parameters every family shares, read with llama.cpp's key names.
ModelConfig read_config(const GgufFile& file, const Family& family) {
  const std::string& a = family.name;
  auto require = [&](const char* key) { return checked_int(file, a + key, file.require_int(a + key)); };
  auto optional = [&](const char* key, int64_t fallback) {
    return checked_int(file, a + key, file.get_int(a + key).value_or(fallback), /*zero_ok=*/true);
  };
  ModelConfig c;
  c.architecture = a;
  c.n_embd = require(".embedding_length");
  c.n_layer = require(".block_count");
  c.n_head = optional(".attention.head_count", 0);
  c.n_head_kv = head_count_kv(file, a + ".attention.head_count_kv", c.n_head);
  c.n_ff = optional(".feed_forward_length", 0);
  c.n_ctx_train = optional(".context_length", 4096);
  if (c.n_head > 0) {
    if (c.n_head_kv == 0 || c.n_head % c.n_head_kv != 0) {
      throw Error(file.name() + ": head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
                  std::to_string(c.n_head_kv));
    }
    if (!file.has(a + ".attention.key_length") && c.n_embd % c.n_head != 0) {
      throw Error(file.name() + ": embedding_length " + std::to_string(c.n_embd) + " does not divide by head_count " +
                  std::to_string(c.n_head));
    }
    c.head_dim = optional(".attention.key_length", c.n_embd / c.n_head);
    c.v_head_dim = optional(".attention.value_length", c.head_dim);  // checked against the layers below
    c.n_rot = optional(".rope.dimension_count", c.head_dim);
    if (c.n_rot > c.head_dim || c.n_rot % 2 != 0) {
      throw Error(file.name() + ": " + a + ".rope.dimension_count " + std::to_string(c.n_rot) +
                  " must be even and at most the head dimension " + std::to_string(c.head_dim));
    }
    c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  }
  c.rope = family.rope;
  // A Hugging Face checkpoint read in place keeps Llama's Q/K rows un-permuted, so its RoPE is the half-split
  // (NEOX) form; the reader says so with this key instead of rewriting the weights (docs/HF.md).
  if (const auto kind = file.get_string("lmzip.rope_kind")) {
    if (*kind == "neox") c.rope = RopeKind::Neox;
    else if (*kind == "normal") c.rope = RopeKind::Normal;
    else throw Error(file.name() + ": lmzip.rope_kind '" + *kind + "' is not one of normal, neox");
  }
  c.rope_freq_base = static_cast<float>(file.get_double(a + ".rope.freq_base").value_or(10000.0));
  // The eps key follows the norm kind, and llama.cpp requires it: never a silent default.
  const std::string eps_key =
      a + (family.norm == NormKind::Rms ? ".attention.layer_norm_rms_epsilon" : ".attention.layer_norm_epsilon");
  if (!file.has(eps_key)) throw Error(file.name() + ": missing metadata " + eps_key + " (required by " + a + ")");
  c.norm_eps = static_cast<float>(file.require_double(eps_key));
  c.output_norm = family.norm;
  if (!(c.rope_freq_base > 0) || !(c.norm_eps > 0) || !std::isfinite(c.norm_eps)) {
    throw Error(file.name() + ": rope.freq_base and " + eps_key + " must be positive");
  }
  // Rope scaling as llama.cpp reads it: rope.scaling.factor (else the older rope.scale_linear) divides the
  // positions, for "linear" scaling or when no type is given. Other types (yarn, longrope) change the angles in
  // ways this engine does not implement: refused rather than scored wrong.
  // YaRN only for the families that declare it (DeepSeek-V2: the ramp blend of make_rope_table).
  const std::string scaling = file.get_string(a + ".rope.scaling.type").value_or("");
  c.rope_yarn = scaling == "yarn" && family.rope_yarn;
  if (!scaling.empty() && scaling != "none" && scaling != "linear" && !c.rope_yarn) {
    throw Error(file.name() + ": rope scaling type '" + scaling + "' is not supported (supported: none, linear" +
                (family.rope_yarn ? ", yarn)" : ")"));
  }
  if (c.rope_yarn) {
    c.rope_orig_ctx = checked_int(file, a + ".rope.scaling.original_context_length",
                                  file.get_int(a + ".rope.scaling.original_context_length").value_or(c.n_ctx_train));
  }
  double factor = file.get_double(a + ".rope.scaling.factor").value_or(0.0);
  if (factor == 0.0) factor = file.get_double(a + ".rope.scale_linear").value_or(0.0);
  if (scaling != "none" && factor != 0.0) {
    if (!(factor > 0) || !std::isfinite(factor)) {
      throw Error(file.name() + ": rope scaling factor " + std::to_string(factor) + " must be positive");
    }
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  }
  // Sparse experts.
  c.n_expert = optional(".expert_count", 0);
  if (c.n_expert > 0) {
    c.n_expert_used = require(".expert_used_count");
    if (c.n_expert_used > c.n_expert) {
      throw Error(file.name() + ": expert_used_count " + std::to_string(c.n_expert_used) + " exceeds expert_count " +
                  std::to_string(c.n_expert));
    }
    c.n_ff_exp = optional(".expert_feed_forward_length", c.n_ff);
    c.n_ff_shexp = optional(".expert_shared_feed_forward_length", 0);
  }
  // Mamba.
  c.ssm_d_inner = optional(".ssm.inner_size", 0);
  c.ssm_d_state = optional(".ssm.state_size", 0);
  c.ssm_d_conv = optional(".ssm.conv_kernel", 0);
  c.ssm_dt_rank = optional(".ssm.time_step_rank", 0);
  for (const FamilyKey& k : family.keys) {
    if (k.required && !file.has(a + "." + k.suffix)) {
      throw Error(file.name() + ": missing metadata " + a + "." + k.suffix + " (required by " + a + ")");
    }
  }
  if (family.configure != nullptr) family.configure(file, c);
  for (int il = 0; il < c.n_layer; ++il) c.layers.push_back(family.layer(file, c, il));
  // What the layers need of the hyper-parameters.
  for (const LayerSpec& L : c.layers) {
    if (L.mixer != MixerKind::Mamba && (c.n_head == 0 || c.n_head_kv == 0)) {
      throw Error(file.name() + ": missing metadata " + a + ".attention.head_count(_kv) (the layers attend)");
    }
    if (L.mixer == MixerKind::Attention && c.v_head_dim != c.head_dim) {
      throw Error(file.name() + ": attention.value_length " + std::to_string(c.v_head_dim) +
                  " differs from key_length " + std::to_string(c.head_dim) +
                  ", which this architecture does not support");
    }
    if (L.mixer == MixerKind::Mamba && (c.ssm_d_inner == 0 || c.ssm_d_state == 0 || c.ssm_d_conv == 0 ||
                                        c.ssm_dt_rank == 0)) {
      throw Error(file.name() + ": missing metadata " + a +
                  ".ssm.{inner_size,state_size,conv_kernel,time_step_rank} (the layers are Mamba blocks)");
    }
    if ((L.ffn.kind == FfnKind::Gated || L.ffn.kind == FfnKind::Plain) && c.n_ff == 0) {
      throw Error(file.name() + ": missing metadata " + a + ".feed_forward_length");
    }
    if (L.ffn.kind == FfnKind::Experts && (c.n_expert == 0 || c.n_ff_exp == 0)) {
      throw Error(file.name() + ": missing metadata " + a + ".expert_count / expert_feed_forward_length");
    }
    if (L.attention.fused_qkv && L.attention.qk_norm) {
      throw Error(file.name() + ": fused QKV with Q/K norms is not supported");
    }
  }
  return c;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// "blk.N.ffn_gate_exps.weight" -> "blk.N.ffn_gate.E.weight" (the per-expert layout), else nullopt.
std::optional<std::string> per_expert_name(const std::string& stacked, int e) {
  const std::string suffix = "_exps.weight";
  if (stacked.size() <= suffix.size() || stacked.compare(stacked.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  return stacked.substr(0, stacked.size() - suffix.size()) + "." + std::to_string(e) + ".weight";
}

// Fills the per-expert views of a layer with experts: from the stacked tensors, or from one tensor per expert,
// each checked for presence, shape and type like any other.
void bind_experts(const GgufFile& file, const ModelConfig& c, int il, LayerWeights& L) {
  struct Part {
    const char* name;
    WeightView LayerWeights::*stacked;
    std::vector<WeightView> LayerWeights::*views;
    bool down;
  };
  const Part parts[] = {{"ffn_gate", &LayerWeights::gate_exps, &LayerWeights::gate_exp, false},
                        {"ffn_up", &LayerWeights::up_exps, &LayerWeights::up_exp, false},
                        {"ffn_down", &LayerWeights::down_exps, &LayerWeights::down_exp, true}};
  const std::string blk = "blk." + std::to_string(il) + ".";
  for (const Part& part : parts) {
    std::vector<WeightView>& views = L.*part.views;
    views.clear();
    const WeightView& stacked = L.*part.stacked;
    for (int e = 0; e < c.n_expert; ++e) {
      if (stacked.data != nullptr) {
        views.push_back(expert_matrix(stacked, c.n_expert, e));
        continue;
      }
      const std::string name = blk + part.name + "." + std::to_string(e) + ".weight";
      const GgufTensorInfo* t = file.find_tensor(name);
      if (t == nullptr) {
        throw Error(file.name() + ": missing tensor " + blk + part.name + "_exps.weight (or " + name +
                    ", one per expert; required by architecture " + c.architecture + ")");
      }
      const std::vector<uint64_t> expected =
          part.down ? std::vector<uint64_t>{static_cast<uint64_t>(c.n_ff_exp), static_cast<uint64_t>(c.n_embd)}
                    : std::vector<uint64_t>{static_cast<uint64_t>(c.n_embd), static_cast<uint64_t>(c.n_ff_exp)};
      if (t->dims != expected) {
        throw Error(file.name() + ": tensor " + name + " has shape " + t->shape_string() + ", expected [" +
                    std::to_string(expected[0]) + ", " + std::to_string(expected[1]) + "]");
      }
      if (!is_supported_weight_type(t->type) || t->dims[0] % ggml_type_info(t->type).block_elements != 0) {
        throw Error(file.name() + ": tensor " + name + " has type " + ggml_type_name(t->type) +
                    ", which lmzip does not support here (supported: " + supported_weight_types() + ")");
      }
      views.push_back(make_weight_view(name, t->type, t->data, static_cast<int64_t>(expected[0]),
                                       static_cast<int64_t>(expected[1])));
    }
  }
}

// Checks one tensor against its spec and binds it. Returns false when an optional tensor is absent.
template <typename Owner>
bool bind_tensor(const GgufFile& file, const ModelConfig& c, const TensorSpec<Owner>& spec,
                 const std::string& name, const LayerSpec* layer, Owner& owner) {
  const GgufTensorInfo* t = file.find_tensor(name);
  const bool required = tensor_required(spec.need, layer);
  if (t == nullptr) {
    if (!required) return false;
    // Stacked experts may instead come one tensor per expert (bind_experts checks those).
    if (per_expert_name(name, 0) && file.find_tensor(*per_expert_name(name, 0)) != nullptr) return false;
    throw Error(file.name() + ": missing tensor " + name + " (required by architecture " + c.architecture + ")");
  }
  std::vector<int64_t> expected;
  for (Dim d : spec.dims) expected.push_back(dim_value(c, d));
  std::vector<int64_t> actual(t->dims.begin(), t->dims.end());
  if (actual != expected) {
    throw Error(file.name() + ": tensor " + name + " has shape " + t->shape_string() + ", expected " +
                shape_string(expected) + " for n_embd " + std::to_string(c.n_embd) + ", n_head " +
                std::to_string(c.n_head) + ", n_head_kv " + std::to_string(c.n_head_kv) + ", n_ff " +
                std::to_string(c.n_ff) + ", n_vocab " + std::to_string(c.n_vocab) +
                (c.n_expert ? ", n_expert " + std::to_string(c.n_expert) : std::string()));
  }
  if (!is_supported_weight_type(t->type)) {
    throw Error(file.name() + ": tensor " + name + " has type " + ggml_type_name(t->type) +
                ", which lmzip does not support (supported: " + supported_weight_types() + ")");
  }
  if (t->dims[0] % ggml_type_info(t->type).block_elements != 0) {
    throw Error(file.name() + ": tensor " + name + " of type " + ggml_type_name(t->type) + " has rows of " +
                std::to_string(t->dims[0]) + " elements, not a multiple of its block size");
  }
  std::visit(
      [&](auto member) {
        using Slot = std::remove_reference_t<decltype(owner.*member)>;
        if constexpr (std::is_same_v<Slot, WeightView>) {
          // A 3-D expert tensor is n_expert stacked matrices: one view of all their rows (expert_matrix()).
          int64_t rows = 1;
          for (size_t i = 1; i < actual.size(); ++i) rows *= actual[i];
          owner.*member = make_weight_view(name, t->type, t->data, actual[0], rows);
        } else {
          std::vector<float>& v = owner.*member;
          v.resize(t->n_elements);
          dequantize_row(t->type, t->data, v.data(), v.size());
        }
      },
      spec.slot);
  return true;
}

}  // namespace

bool ModelConfig::has_attention() const {
  for (const LayerSpec& L : layers) {
    if (L.mixer != MixerKind::Mamba) return true;
  }
  return false;
}

bool ModelConfig::recurrent() const {
  for (const LayerSpec& L : layers) {
    if (L.mixer == MixerKind::Mamba) return true;
  }
  return false;
}

WeightView expert_matrix(const WeightView& stacked, int n_expert, int e) {
  const int64_t rows = stacked.n_out / n_expert;
  return make_weight_view(stacked.name, stacked.type, stacked.row(rows * e), stacked.n_in, rows);
}

std::unique_ptr<Model> Model::load(const GgufFile& file) {
  const std::string arch = file.architecture();
  const Family* family = find_family(arch);
  if (family == nullptr) {
    throw Error(file.name() + ": unsupported architecture '" + arch + "' (supported: " +
                supported_architectures() + ")");
  }
  std::unique_ptr<Model> model(new Model());
  model->file_name_ = file.name();
  ModelConfig& c = model->config_;
  c = read_config(file, *family);
  // The vocabulary size is the embedding's second dimension.
  const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  if (embd == nullptr) throw Error(file.name() + ": missing tensor token_embd.weight");
  if (embd->dims.size() != 2 || embd->dims[1] == 0 || embd->dims[1] > (uint64_t{1} << 30)) {
    throw Error(file.name() + ": tensor token_embd.weight has shape " + embd->shape_string() +
                ", expected [n_embd, n_vocab]");
  }
  c.n_vocab = static_cast<int>(embd->dims[1]);

  ModelWeights& w = model->weights_;
  for (const auto& t : family->model_tensors) {
    const bool present = bind_tensor(file, c, t, t.name, nullptr, w);
    if (std::string_view(t.name) == "output.weight" && !present) c.tied_output = true;
  }
  if (c.tied_output) w.output = w.token_embd;
  c.rope_freq_factors = !w.rope_freq_factors.empty();
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    LayerWeights& L = w.layers[static_cast<size_t>(l)];
    const LayerSpec& spec = c.layers[static_cast<size_t>(l)];
    for (const auto& t : family->layer_tensors) {
      bind_tensor(file, c, t, "blk." + std::to_string(l) + "." + t.name, &spec, L);
    }
    if (family->finish_layer != nullptr) family->finish_layer(L);
    if (spec.ffn.kind == FfnKind::Experts) bind_experts(file, c, l, L);
    const bool split = L.wq.data != nullptr && L.wk.data != nullptr && L.wv.data != nullptr;
    if (spec.mixer == MixerKind::Attention && L.wqkv.data == nullptr && !split) {
      throw Error(file.name() + ": layer " + std::to_string(l) +
                  " has neither attn_qkv.weight nor attn_q/attn_k/attn_v.weight");
    }
    if (spec.mixer == MixerKind::LatentAttention) {
      const bool lora = c.q_lora_rank > 0;
      if (lora ? (L.wq_a.data == nullptr || L.wq_b.data == nullptr || L.q_a_norm.empty()) : L.wq.data == nullptr) {
        throw Error(file.name() + ": layer " + std::to_string(l) + " needs " +
                    (lora ? "attn_q_a.weight, attn_q_a_norm.weight and attn_q_b.weight (q_lora_rank > 0)"
                          : "attn_q.weight (no q_lora_rank)"));
      }
    }
  }
  return model;
}

}  // namespace lmzip
