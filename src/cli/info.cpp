// lmzip info MODEL.gguf [--json]: what a model file holds.
#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/format/gguf.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/model/family.h"

namespace lmzip::cli {
namespace {

nlohmann::json value_json(const GgufValue& v) {
  switch (v.type()) {
    case GgufType::STRING: return std::string(*v.as_string());
    case GgufType::BOOL: return *v.as_bool();
    case GgufType::FLOAT32: case GgufType::FLOAT64: return *v.as_double();
    case GgufType::ARRAY: return v.to_display(8);
    default:
      if (auto i = v.as_int()) return *i;
      return *v.as_double();
  }
}

// "0-3, 5, 7-9" for sorted layer indices.
std::string layer_ranges(const std::vector<int>& layers) {
  std::string out;
  for (size_t i = 0; i < layers.size();) {
    size_t j = i;
    while (j + 1 < layers.size() && layers[j + 1] == layers[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(layers[i]) + (j > i ? "-" + std::to_string(layers[j]) : "");
    i = j + 1;
  }
  return out;
}

int run_info(int argc, char** argv) {
  std::string_view usage = "lmzip info MODEL [--json] [--all]";
  bool json = false, all = false;
  std::vector<std::string> files;
  ArgParser args(std::string(usage),
                 "Shows a model: architecture, hyperparameters, tokenizer, special tokens, tensors by type,\n"
                 "total bytes and parameter count. MODEL is a GGUF file or a Hugging Face checkpoint directory\n"
                 "(shown as the GGUF lmzip reads it as: llama.cpp's metadata keys and tensor names).");
  args.flag("--json", &json, "print one JSON object");
  args.flag("--all", &all, "also list every metadata key and every tensor");
  args.positionals("MODEL", &files, 1, 1, "the model: a GGUF file (or a vocabulary-only one), or a checkpoint directory");
  if (!args.parse(argc, argv)) return 0;

  const ModelSource source = open_model_source(files[0], "", /*require_tokenizer=*/false);
  const GgufFile& f = source.file;
  std::string arch = f.get_string("general.architecture").value_or("(none)");
  nlohmann::json j;
  j["file"] = files[0];
  j["format"] = source.format;
  if (source.format == "gguf") {
    j["gguf_version"] = f.version();
    j["file_bytes"] = f.file_size();
  } else {
    j["hf_architecture"] = source.hf_architecture;
    j["tokenizer_file"] = source.tokenizer_file;
    j["unused_tensors"] = source.unused_tensors;
  }
  j["model_id"] = source.id;
  j["architecture"] = arch;
  if (auto n = f.get_string("general.name")) j["name"] = *n;

  // Hyperparameters: every "<arch>.*" scalar key.
  nlohmann::json hp = nlohmann::json::object();
  for (const auto& [k, v] : f.metadata()) {
    if (k.rfind(arch + ".", 0) == 0) hp[k.substr(arch.size() + 1)] = value_json(v);
  }
  j["hyperparameters"] = hp;

  nlohmann::json tok = nlohmann::json::object();
  tok["model"] = f.get_string("tokenizer.ggml.model").value_or("(none)");
  if (auto pre = f.get_string("tokenizer.ggml.pre")) tok["pre"] = *pre;
  const GgufValue* tokens = f.find_array("tokenizer.ggml.tokens", GgufType::STRING);
  tok["vocab_size"] = tokens ? tokens->array_size() : 0;
  if (const GgufValue* merges = f.find_array("tokenizer.ggml.merges", GgufType::STRING)) {
    tok["merges"] = merges->array_size();
  }
  nlohmann::json special = nlohmann::json::object();
  for (const char* role : {"bos", "eos", "unknown", "padding", "separator", "eot", "mask"}) {
    std::string key = std::string("tokenizer.ggml.") + role + "_token_id";
    if (auto id = f.get_int(key)) {
      nlohmann::json s;
      s["id"] = *id;
      if (tokens && *id >= 0 && static_cast<uint64_t>(*id) < tokens->array_size()) {
        s["text"] = std::string(tokens->array_strings()[*id]);
      }
      special[role] = s;
    }
  }
  tok["special_tokens"] = special;
  for (const char* flag : {"add_bos_token", "add_eos_token", "add_space_prefix"}) {
    if (auto b = f.get_bool(std::string("tokenizer.ggml.") + flag)) tok[flag] = *b;
  }
  j["tokenizer"] = tok;

  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (count, bytes)
  uint64_t params = 0, tensor_bytes = 0;
  for (const auto& t : f.tensors()) {
    auto& e = by_type[ggml_type_name(t.type)];
    e.first += 1;
    e.second += t.n_bytes;
    params += t.n_elements;
    tensor_bytes += t.n_bytes;
  }
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, e] : by_type) types[name] = {{"tensors", e.first}, {"bytes", e.second}};
  j["tensor_count"] = f.tensors().size();
  j["tensor_types"] = types;
  j["tensor_bytes"] = tensor_bytes;
  j["parameters"] = params;
  // The block structure lmzip runs: one line per distinct layer kind, with the layers that have it.
  std::string blocks_error;
  nlohmann::json blocks = nlohmann::json::array();
  if (!f.tensors().empty()) {
    if (const Family* family = find_family(arch)) {
      j["family"] = family->models;
      try {
        const auto model = source.load_model();
        const ModelConfig& c = model->config();
        std::vector<std::pair<LayerSpec, std::vector<int>>> kinds;
        for (int il = 0; il < c.n_layer; ++il) {
          const LayerSpec& spec = c.layers[static_cast<size_t>(il)];
          auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == spec; });
          if (it == kinds.end()) kinds.push_back({spec, {il}});
          else it->second.push_back(il);
        }
        for (const auto& [spec, layers] : kinds) {
          blocks.push_back({{"layers", layers}, {"block", spec.describe(c.rope, c.n_head, c.n_head_kv)}});
        }
      } catch (const Error& e) {
        blocks_error = e.what();
      }
    } else {
      blocks_error = "architecture '" + arch + "' is not supported (supported: " + supported_architectures() + ")";
    }
    j["blocks"] = blocks;
    if (!blocks_error.empty()) j["blocks_error"] = blocks_error;
  }
  if (all) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : f.metadata()) meta[k] = value_json(v);
    j["metadata"] = meta;
    nlohmann::json ts = nlohmann::json::array();
    for (const auto& t : f.tensors()) {
      ts.push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"dims", t.dims}, {"bytes", t.n_bytes}});
    }
    j["tensors"] = ts;
  }

  if (json) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  auto str = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  if (source.format == "gguf") {
    std::cout << "file          " << files[0] << " (GGUF v" << f.version() << ", " << f.file_size() << " bytes)\n";
  } else {
    std::cout << "checkpoint    " << files[0] << " (Hugging Face " << source.hf_architecture << ", safetensors; read as GGUF)\n";
    std::cout << "tokenizer file " << (source.tokenizer_file.empty() ? "(none)" : source.tokenizer_file) << "\n";
    if (!source.unused_tensors.empty()) {
      std::cout << "unused        " << source.unused_tensors.size() << " checkpoint tensors no rule maps (e.g. "
                << source.unused_tensors.front() << ")\n";
    }
  }
  if (j.contains("name")) std::cout << "name          " << str(j["name"]) << "\n";
  std::cout << "architecture  " << arch << "\n";
  for (auto& [k, v] : hp.items()) std::cout << "  " << k << " = " << str(v) << "\n";
  std::cout << "tokenizer     " << str(tok["model"]);
  if (tok.contains("pre")) std::cout << " (pre " << str(tok["pre"]) << ")";
  std::cout << ", " << str(tok["vocab_size"]) << " tokens";
  if (tok.contains("merges")) std::cout << ", " << str(tok["merges"]) << " merges";
  std::cout << "\n";
  for (auto& [role, s] : special.items()) {
    std::cout << "  " << role << " = " << str(s["id"]);
    if (s.contains("text")) std::cout << " " << s["text"].dump();
    std::cout << "\n";
  }
  for (const char* flag : {"add_bos_token", "add_eos_token", "add_space_prefix"}) {
    if (tok.contains(flag)) std::cout << "  " << flag << " = " << str(tok[flag]) << "\n";
  }
  std::cout << "tensors       " << f.tensors().size() << " (" << tensor_bytes << " bytes, " << params
            << " parameters)\n";
  for (const auto& [name, e] : by_type) {
    std::cout << "  " << name << ": " << e.first << " tensors, " << e.second << " bytes\n";
  }
  if (j.contains("family")) std::cout << "family        " << str(j["family"]) << "\n";
  if (!blocks.empty()) std::cout << "blocks\n";
  for (const auto& b : blocks) {
    std::cout << "  layers " << layer_ranges(b["layers"].get<std::vector<int>>()) << ": " << str(b["block"]) << "\n";
  }
  if (!blocks_error.empty()) std::cout << "blocks        cannot run: " << blocks_error << "\n";
  if (all) {
    std::cout << "metadata\n";
    for (const auto& [k, v] : f.metadata()) std::cout << "  " << k << " = " << v.to_display() << "\n";
    std::cout << "tensor list\n";
    for (const auto& t : f.tensors()) {
      std::cout << "  " << t.name << " " << ggml_type_name(t.type) << " " << t.shape_string() << "\n";
    }
  }
  return 0;
}

Registration reg{{"info", "show a model (GGUF file or checkpoint): architecture, hyperparameters, tokenizer, tensors", run_info}};

}  // namespace
}  // namespace lmzip::cli
