#include "lmzip/hf/model_source.h"

#include <cstring>
#include <filesystem>
#include <regex>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/hf/architectures.h"
#include "lmzip/hf/checkpoint.h"

namespace lmzip {
namespace {

// A fingerprint of what the engine computes with: the metadata bytes and every tensor (name, type, shape, data).
uint64_t assembled_fingerprint(const GgufFile& f) {
  std::string buffer;
  auto put = [&](uint64_t v) { buffer.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(xxh64(f.file_data(), f.file_size()));
  for (const GgufTensorInfo& t : f.tensors()) {
    buffer += t.name;
    put(static_cast<uint64_t>(t.type));
    for (uint64_t d : t.dims) put(d);
    put(xxh64(t.data, t.n_bytes));
  }
  return xxh64(buffer.data(), buffer.size());
}

}  // namespace

std::string hf_tensor_name(const std::string& hf_architecture, const std::string& gguf_name) {
  const HfArchitecture* arch = find_hf_architecture(hf_architecture);
  if (arch == nullptr) return "";
  std::vector<std::string> numbers;
  for (const HfTensorRule& r : arch->tensors) {
    if (match_pattern(r.gguf, gguf_name, numbers)) return fill_pattern(r.hf, numbers);
  }
  return "";
}

std::string model_display_name(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename() == "config.json") p = p.parent_path();
  if (p.filename().empty()) p = p.parent_path();
  std::string n = p.filename().string();
  if (n.size() > 5 && n.ends_with(".gguf")) n.resize(n.size() - 5);
  return n;
}

std::unique_ptr<Model> ModelSource::load_model() const {
  try {
    return Model::load(file);
  } catch (const Error& e) {
    if (hf_architecture.empty()) throw;
    // Name the tensor as the checkpoint does: "blk.3.attn_q.weight" is model.layers.3.self_attn.q_proj.weight.
    std::string message = e.what();
    static const std::regex gguf_name(R"((blk\.\d+\.[A-Za-z0-9_]+(\.\d+)?\.(weight|bias)|blk\.\d+\.ssm_[ad]|token_embd\.weight|position_embd\.weight|output(_norm)?\.(weight|bias)))");
    std::smatch m;
    if (std::regex_search(message, m, gguf_name)) {
      const std::string hf = hf_tensor_name(hf_architecture, m.str());
      if (!hf.empty()) message += " (checkpoint tensor '" + hf + "'; shapes are in GGUF order, the reverse of the checkpoint's)";
    }
    throw Error(message);
  }
}

std::unique_ptr<Tokenizer> ModelSource::tokenizer() const {
  if (vocab_) return Tokenizer::from_vocab(*vocab_, tokenizer_file);
  if (!tokenizer_override_.empty()) return Tokenizer::from_file(tokenizer_override_);
  return Tokenizer::from_gguf(file);
}

ModelSource open_model_source(const std::string& path, const std::string& tokenizer_file, bool require_tokenizer) {
  ModelSource s;
  s.path = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) || is_hf_checkpoint(path)) {
    HfCheckpoint c = open_hf_checkpoint(path, {.tokenizer_file = tokenizer_file, .require_tokenizer = require_tokenizer});
    s.file = std::move(c.file);
    s.format = "safetensors";
    s.hf_architecture = c.architecture;
    s.tokenizer_file = c.tokenizer_file;
    if (c.vocab) s.vocab_ = std::make_shared<const Vocab>(std::move(*c.vocab));
    s.unused_tensors = std::move(c.unused_tensors);
    s.id = hex_u64(assembled_fingerprint(s.file));
  } else {
    s.file = GgufFile::open(path);
    s.format = "gguf";
    s.tokenizer_file = tokenizer_file.empty() ? path : tokenizer_file;
    s.tokenizer_override_ = tokenizer_file;
    s.id = hex_u64(xxh64(s.file.file_data(), s.file.file_size()));
  }
  for (const GgufTensorInfo& t : s.file.tensors()) s.weight_bytes += t.n_bytes;
  return s;
}

}  // namespace lmzip
