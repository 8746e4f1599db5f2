// lmzip info MODEL.gguf [--json]: what a model file holds.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "lmzip/format/gguf.h"

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

int run_info(int argc, char** argv) {
  std::string_view usage = "lmzip info MODEL.gguf [--json] [--all]";
  bool json = false, all = false;
  std::vector<std::string> files;
  ArgParser args(std::string(usage),
                 "Shows a GGUF file: architecture, hyperparameters, tokenizer, special tokens, tensors by type,\n"
                 "total bytes and parameter count.");
  args.flag("--json", &json, "print one JSON object");
  args.flag("--all", &all, "also list every metadata key and every tensor");
  args.positionals("MODEL.gguf", &files, 1, 1, "the model (or vocabulary-only) GGUF file");
  if (!args.parse(argc, argv)) return 0;

  GgufFile f = GgufFile::open(files[0]);
  std::string arch = f.get_string("general.architecture").value_or("(none)");
  nlohmann::json j;
  j["file"] = files[0];
  j["gguf_version"] = f.version();
  j["file_bytes"] = f.file_size();
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
  std::cout << "file          " << files[0] << " (GGUF v" << f.version() << ", " << f.file_size() << " bytes)\n";
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

Registration reg{{"info", "show a GGUF model file: architecture, hyperparameters, tokenizer, tensors", run_info}};

}  // namespace
}  // namespace lmzip::cli
