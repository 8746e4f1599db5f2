// lmzip convert MODEL -o OUT.gguf [--type TYPE]: writes a Hugging Face checkpoint (or a GGUF file, to change its
// weight type) as a GGUF file that lmzip and llama.cpp both read: llama.cpp's tensor names and metadata keys,
// Llama's Q/K rows permuted as its converter permutes them, experts stacked into one 3-D tensor per kind.
#include <iostream>
#include <map>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/family.h"

namespace lmzip::cli {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<float> floats(const GgufTensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements));
  dequantize_row(t.type, t.data, v.data(), v.size());
  return v;
}

// llama.cpp's permute(): Hugging Face row (h, j * hd/2 + i) goes to row (h, 2i + j), so that its RoPE, which
// rotates adjacent pairs, computes what Hugging Face's rotation of halves does.
std::vector<float> permute_for_pairs(const std::vector<float>& v, int64_t n_head, int64_t width) {
  const int64_t rows = static_cast<int64_t>(v.size()) / width, head_dim = rows / n_head;
  std::vector<float> out(v.size());
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const int64_t from = h * head_dim + j * (head_dim / 2) + i, to = h * head_dim + 2 * i + j;
        std::copy_n(v.begin() + from * width, width, out.begin() + to * width);
      }
    }
  }
  return out;
}

int run_convert(int argc, char** argv) {
  std::string model_path, output, type_name, tokenizer_path;
  bool force = false;
  ArgParser args("lmzip convert MODEL -o OUT.gguf [--type F32|F16|BF16|Q8_0|Q4_K|...] [--tokenizer FILE] [--force]",
                 "Writes MODEL (a Hugging Face checkpoint directory, or a GGUF file) as a GGUF file that lmzip and\n"
                 "llama.cpp both read: llama.cpp's tensor names and metadata keys (docs/HF.md). Matrices get --type\n"
                 "(default: as stored; rows that do not fit its blocks stay F16); norms and biases are F32.");
  std::vector<std::string> positional;
  args.positionals("MODEL", &positional, 1, 1, "a Hugging Face checkpoint directory or a .gguf file");
  args.option("-o,--output", "OUT.gguf", &output, "the GGUF file to write (required)");
  args.option("--type", "TYPE", &type_name, "weight type of the matrices: " + std::string(supported_weight_types()));
  args.option("--tokenizer", "FILE", &tokenizer_path, "tokenizer.model, tokenizer.json or .gguf vocabulary to embed");
  args.flag("-f,--force", &force, "overwrite an existing output file");
  if (!args.parse(argc, argv)) return 0;
  if (output.empty()) throw UsageError("-o OUT.gguf is required");
  model_path = positional[0];
  std::optional<GgmlType> type;
  if (!type_name.empty()) {
    type = ggml_type_from_name(type_name);
    if (!type || !is_supported_weight_type(*type)) {
      throw UsageError("unknown or unsupported --type '" + type_name + "' (" + supported_weight_types() + ")");
    }
  }
  check_overwrite(output, {model_path}, force);

  const ModelSource source = open_model_source(model_path, tokenizer_path);
  const GgufFile& f = source.file;
  const std::unique_ptr<Model> model = source.load_model();  // validates every tensor before writing
  const ModelConfig& c = model->config();
  const Family* family = find_family(c.architecture);
  // Q/K read with the half-split RoPE in place of a family's pair RoPE: permute them back for llama.cpp.
  const bool permute_qk = f.get_string("lmzip.rope_kind").value_or("") == "neox" && family->rope == RopeKind::Normal;

  GgufWriter w;
  for (const auto& [key, value] : f.metadata()) {
    if (key.rfind("lmzip.", 0) == 0 || key == "general.alignment") continue;
    if (!tokenizer_path.empty() && source.format == "gguf" && key.rfind("tokenizer.", 0) == 0) continue;
    w.set_value(key, value);
  }
  if (!tokenizer_path.empty() && source.format == "gguf") source.tokenizer()->vocab().write_gguf(w);

  auto target_type = [&](const GgufTensorInfo& t) {
    if (t.dims.size() < 2) return GgmlType::F32;
    const GgmlType want = type.value_or(t.type);
    return t.dims[0] % ggml_type_info(want).block_elements == 0 ? want : GgmlType::F16;
  };
  auto encode = [](GgmlType type, const std::vector<float>& v, uint64_t row) {
    std::string out;
    for (size_t at = 0; at < v.size(); at += row) quantize_row(type, v.data() + at, row, out);
    return out;
  };
  // Per-expert tensors (blk.N.ffn_gate.E.weight) grouped into llama.cpp's stacked blk.N.ffn_gate_exps.weight.
  std::map<std::string, std::vector<const GgufTensorInfo*>> experts;
  for (const GgufTensorInfo& t : f.tensors()) {
    const size_t dot = t.name.rfind('.', t.name.size() - std::string(".weight").size() - 1);
    const std::string stem = dot == std::string::npos ? "" : t.name.substr(0, dot);
    const std::string index = dot == std::string::npos ? "" : t.name.substr(dot + 1, t.name.size() - dot - 8);
    const bool per_expert = ends_with(t.name, ".weight") && !index.empty() &&
                            index.find_first_not_of("0123456789") == std::string::npos &&
                            (ends_with(stem, ".ffn_gate") || ends_with(stem, ".ffn_up") || ends_with(stem, ".ffn_down"));
    if (per_expert) {
      auto& list = experts[stem + "_exps.weight"];
      const size_t e = std::stoul(index);
      if (list.size() <= e) list.resize(e + 1, nullptr);
      list[e] = &t;
      continue;
    }
    const GgmlType out_type = target_type(t);
    const bool is_q = ends_with(t.name, ".attn_q.weight"), is_k = ends_with(t.name, ".attn_k.weight");
    const int64_t heads = is_q ? c.n_head : c.n_head_kv;
    const GgufTensorInfo* src = &t;
    w.add_tensor_generated(t.name, out_type, t.dims, [=, &encode] {
      std::vector<float> v = floats(*src);
      if (permute_qk && (is_q || is_k)) v = permute_for_pairs(v, heads, static_cast<int64_t>(src->dims[0]));
      return encode(out_type, v, src->dims[0]);
    });
  }
  for (const auto& [name, list] : experts) {
    for (size_t e = 0; e < list.size(); ++e) {
      if (list[e] == nullptr) throw Error(f.name() + ": " + name + ": expert " + std::to_string(e) + " is missing");
    }
    const GgufTensorInfo& first = *list.front();
    const GgmlType out_type = target_type(first);
    const std::vector<uint64_t> dims = {first.dims[0], first.dims[1], list.size()};
    w.add_tensor_generated(name, out_type, dims, [list, out_type, &encode] {
      std::string out;
      for (const GgufTensorInfo* t : list) out += encode(out_type, floats(*t), t->dims[0]);
      return out;
    });
  }
  w.write(output);
  std::cerr << "convert: wrote " << output << " (" << c.architecture << ", " << f.tensors().size() << " tensors"
            << (permute_qk ? ", Q/K permuted for llama.cpp's RoPE" : "") << ")\n";
  return 0;
}

Registration reg{{"convert", "write a Hugging Face checkpoint (or a GGUF) as a GGUF file llama.cpp also reads", run_convert}};

}  // namespace
}  // namespace lmzip::cli
