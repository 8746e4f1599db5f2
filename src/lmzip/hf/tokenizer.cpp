// Which tokenizer file a Hugging Face checkpoint uses, and reading it as a vocabulary (docs/TOKENIZERS.md).
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/hf/architectures.h"

namespace lmzip {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Vocab read_vocab(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": tokenizer file not found");
  if (ends_with(path, ".gguf")) return Vocab::from_gguf(GgufFile::open(path));
  throw Error(path + ": not a tokenizer file lmzip reads (tokenizer.model, tokenizer.json or a .gguf vocabulary)");
}

}  // namespace

std::optional<HfTokenizer> load_hf_tokenizer(const std::string& dir, const std::string& override_file) {
  if (!override_file.empty()) return HfTokenizer{read_vocab(override_file), override_file};
  // The study ran Hugging Face's slow tokenizers: SentencePiece's tokenizer.model where a checkpoint has one.
  for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
    const std::string p = (fs::path(dir) / name).string();
    std::error_code ec;
    if (fs::exists(p, ec)) return HfTokenizer{read_vocab(p), p};
  }
  return std::nullopt;
}

}  // namespace lmzip
