// Which tokenizer file a Hugging Face checkpoint uses, and reading it as a vocabulary (docs/TOKENIZERS.md).
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/hf/architectures.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {
namespace {

namespace fs = std::filesystem;

// The vocabulary of tokenizer.model / tokenizer.json / a .gguf (tok/hf_json.h, tok/sp_model.h).
Vocab read_vocab(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": tokenizer file not found");
  return Tokenizer::from_file(path)->vocab();
}

}  // namespace

std::optional<HfTokenizer> load_hf_tokenizer(const std::string& dir, const std::string& override_file) {
  if (!override_file.empty()) return HfTokenizer{read_vocab(override_file), override_file};
  // The study ran Hugging Face's slow tokenizers: SentencePiece's tokenizer.model where a checkpoint has one.
  // When that file is of a kind lmzip does not read (a Unigram or tiktoken model) and tokenizer.json is there,
  // tokenizer.json is used; if neither reads, the error names both.
  const std::string model = (fs::path(dir) / "tokenizer.model").string(), json = (fs::path(dir) / "tokenizer.json").string();
  std::error_code ec;
  const bool has_model = fs::exists(model, ec), has_json = fs::exists(json, ec);
  if (has_model) {
    try {
      return HfTokenizer{read_vocab(model), model};
    } catch (const Error& e) {
      if (!has_json) throw;
      try {
        return HfTokenizer{read_vocab(json), json};
      } catch (const Error& e2) {
        throw Error(std::string(e.what()) + "; and " + e2.what());
      }
    }
  }
  if (has_json) return HfTokenizer{read_vocab(json), json};
  return std::nullopt;
}

}  // namespace lmzip
