// Model::load: the configuration from GGUF metadata, then every tensor of the architecture's table checked for
// presence, type and shape and bound to its slot.
#include "lmzip/model/model.h"

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/arch.h"

namespace lmzip {
namespace {

int positive_int(const GgufFile& file, const std::string& key, int64_t value) {
  if (value <= 0 || value > (int64_t{1} << 30)) {
    throw Error(file.name() + ": metadata " + key + " = " + std::to_string(value) + " is out of range");
  }
  return static_cast<int>(value);
}

ModelConfig read_config(const GgufFile& file, const ArchSpec& spec) {
  const std::string& a = spec.name;
  auto require = [&](const std::string& key) { return positive_int(file, a + key, file.require_int(a + key)); };
  ModelConfig c;
  c.architecture = a;
  c.n_embd = require(".embedding_length");
  c.n_layer = require(".block_count");
  c.n_head = require(".attention.head_count");
  c.n_head_kv = positive_int(file, a + ".attention.head_count_kv",
                             file.get_int(a + ".attention.head_count_kv").value_or(c.n_head));
  c.n_ff = require(".feed_forward_length");
  c.n_ctx_train = positive_int(file, a + ".context_length", file.get_int(a + ".context_length").value_or(4096));
  if (c.n_embd % c.n_head != 0 || c.n_head % c.n_head_kv != 0) {
    throw Error(file.name() + ": embedding_length " + std::to_string(c.n_embd) + ", head_count " +
                std::to_string(c.n_head) + " and head_count_kv " + std::to_string(c.n_head_kv) +
                " do not divide evenly");
  }
  c.head_dim = c.n_embd / c.n_head;
  c.n_rot = positive_int(file, a + ".rope.dimension_count",
                         file.get_int(a + ".rope.dimension_count").value_or(c.head_dim));
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0) {
    throw Error(file.name() + ": " + a + ".rope.dimension_count " + std::to_string(c.n_rot) +
                " must be even and at most the head dimension " + std::to_string(c.head_dim));
  }
  c.rope_freq_base = static_cast<float>(file.get_double(a + ".rope.freq_base").value_or(10000.0));
  c.norm_eps = static_cast<float>(file.get_double(a + ".attention.layer_norm_rms_epsilon").value_or(1e-5));
  if (!(c.rope_freq_base > 0) || !(c.norm_eps > 0) || !std::isfinite(c.norm_eps)) {
    throw Error(file.name() + ": rope.freq_base and attention.layer_norm_rms_epsilon must be positive");
  }
  // Rope scaling as llama.cpp reads it: rope.scaling.factor (else the older rope.scale_linear) divides the
  // positions, for "linear" scaling or when no type is given. Other types (yarn, longrope) change the angles in
  // ways this engine does not implement: refused rather than scored wrong.
  const std::string scaling = file.get_string(a + ".rope.scaling.type").value_or("");
  if (!scaling.empty() && scaling != "none" && scaling != "linear") {
    throw Error(file.name() + ": rope scaling type '" + scaling + "' is not supported (supported: none, linear)");
  }
  double factor = file.get_double(a + ".rope.scaling.factor").value_or(0.0);
  if (factor == 0.0) factor = file.get_double(a + ".rope.scale_linear").value_or(0.0);
  if (scaling != "none" && factor != 0.0) {
    if (!(factor > 0) || !std::isfinite(factor)) {
      throw Error(file.name() + ": rope scaling factor " + std::to_string(factor) + " must be positive");
    }
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  }
  c.rope_style = spec.rope_style;
  c.qkv_bias = spec.qkv_bias;
  return c;
}

int64_t dim_value(const ModelConfig& c, Dim d) {
  switch (d) {
    case Dim::Embd: return c.n_embd;
    case Dim::Vocab: return c.n_vocab;
    case Dim::QDim: return int64_t{c.n_head} * c.head_dim;
    case Dim::KVDim: return int64_t{c.n_head_kv} * c.head_dim;
    case Dim::FF: return c.n_ff;
    case Dim::RotHalf: return c.n_rot / 2;
  }
  return 0;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// Checks one tensor against its spec and binds it. Returns false when an optional tensor is absent.
template <typename Owner>
bool bind_tensor(const GgufFile& file, const ModelConfig& c, const TensorSpec<Owner>& spec,
                 const std::string& name, Owner& owner) {
  const GgufTensorInfo* t = file.find_tensor(name);
  const bool required = spec.need == Need::Required || (spec.need == Need::IfQkvBias && c.qkv_bias);
  if (t == nullptr) {
    if (!required) return false;
    throw Error(file.name() + ": missing tensor " + name + " (required by architecture " + c.architecture + ")");
  }
  std::vector<int64_t> expected;
  for (Dim d : spec.dims) expected.push_back(dim_value(c, d));
  std::vector<int64_t> actual(t->dims.begin(), t->dims.end());
  if (actual != expected) {
    throw Error(file.name() + ": tensor " + name + " has shape " + t->shape_string() + ", expected " +
                shape_string(expected) + " for n_embd " + std::to_string(c.n_embd) + ", n_head " +
                std::to_string(c.n_head) + ", n_head_kv " + std::to_string(c.n_head_kv) + ", n_ff " +
                std::to_string(c.n_ff) + ", n_vocab " + std::to_string(c.n_vocab));
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
          owner.*member = make_weight_view(name, t->type, t->data, actual[0], actual.size() > 1 ? actual[1] : 1);
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

std::unique_ptr<Model> Model::load(const GgufFile& file) {
  const std::string arch = file.architecture();
  const ArchSpec* spec = find_arch(arch);
  if (spec == nullptr) {
    throw Error(file.name() + ": unsupported architecture '" + arch + "' (supported: " +
                supported_architectures() + ")");
  }
  std::unique_ptr<Model> model(new Model());
  model->file_name_ = file.name();
  ModelConfig& c = model->config_;
  c = read_config(file, *spec);
  // The vocabulary size is the embedding's second dimension.
  const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  if (embd == nullptr) throw Error(file.name() + ": missing tensor token_embd.weight");
  if (embd->dims.size() != 2 || embd->dims[1] == 0 || embd->dims[1] > (uint64_t{1} << 30)) {
    throw Error(file.name() + ": tensor token_embd.weight has shape " + embd->shape_string() +
                ", expected [n_embd, n_vocab]");
  }
  c.n_vocab = static_cast<int>(embd->dims[1]);

  ModelWeights& w = model->weights_;
  for (const auto& t : spec->model_tensors) {
    const bool present = bind_tensor(file, c, t, t.name, w);
    if (std::string_view(t.name) == "output.weight" && !present) c.tied_output = true;
  }
  if (c.tied_output) w.output = w.token_embd;
  c.rope_freq_factors = !w.rope_freq_factors.empty();
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    for (const auto& t : spec->layer_tensors) {
      bind_tensor(file, c, t, "blk." + std::to_string(l) + "." + t.name, w.layers[static_cast<size_t>(l)]);
    }
  }
  return model;
}

}  // namespace lmzip
