// The one way the commands open a model: a GGUF file, or a Hugging Face checkpoint directory (or its
// config.json), with an optional tokenizer file in place of the model's own. Both give a GgufFile, so the
// engine, tokenizers and codec read them the same way.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

struct ModelSource {
  GgufFile file;
  std::string path;            // as given
  std::string format;          // "gguf" or "safetensors"
  std::string hf_architecture; // config.json's class ("" for GGUF)
  std::string tokenizer_file;  // the tokenizer's source: the GGUF itself, or the tokenizer file used
  std::string id;              // 16 hex digits: GGUF xxh64 of the file; checkpoints xxh64 over metadata + tensors
  uint64_t weight_bytes = 0;   // the tensors' bytes
  std::vector<std::string> unused_tensors;  // checkpoint tensors no rule maps (ignored)

  // Model::load, with errors about a tensor also naming it as the checkpoint does.
  std::unique_ptr<Model> load_model() const;
  std::unique_ptr<Tokenizer> tokenizer() const;

 private:
  friend ModelSource open_model_source(const std::string&, const std::string&, bool);
  std::string tokenizer_override_;     // GGUF with --tokenizer
  std::shared_ptr<const Vocab> vocab_;  // a checkpoint's tokenizer
};

// Opens `path`; `tokenizer_file` (optional) replaces the model's tokenizer. `require_tokenizer` false lets a
// checkpoint without tokenizer files load (lmzip info).
ModelSource open_model_source(const std::string& path, const std::string& tokenizer_file = "",
                              bool require_tokenizer = true);

// The name results get by default: a .gguf file's name without the extension, a checkpoint's directory name.
std::string model_display_name(const std::string& path);

// The checkpoint name of a GGUF tensor name for a Hugging Face architecture ("" when no rule gives one).
std::string hf_tensor_name(const std::string& hf_architecture, const std::string& gguf_name);

}  // namespace lmzip
