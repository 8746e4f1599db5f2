#include "lmzip/tok/tokenizer.h"

#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/tok/bpe.h"
#include "lmzip/tok/gemma4.h"
#include "lmzip/tok/hf_json.h"
#include "lmzip/tok/sp_model.h"
#include "lmzip/tok/spm.h"

namespace lmzip {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  return from_vocab(Vocab::from_gguf(file), file.name());
}

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(Vocab vocab, const std::string& source_name) {
  std::unique_ptr<Tokenizer> tok;
  if (vocab.model == "llama") {
    tok = make_spm_tokenizer(std::move(vocab), source_name);
  } else if (vocab.model == "gpt2") {
    tok = make_bpe_tokenizer(std::move(vocab), source_name);
  } else if (vocab.model == "gemma4") {
    tok = make_gemma4_tokenizer(std::move(vocab), source_name);
  } else {
    throw Error(source_name + ": tokenizer model '" + vocab.model +
                "' is not supported (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE, gemma4 = Gemma 4 merge-list BPE)");
  }
  tok->source_ = source_name;
  return tok;
}

namespace {
bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string sibling_config(const std::string& path) {
  return (fs::path(path).parent_path() / "tokenizer_config.json").string();
}
}  // namespace

Vocab Vocab::from_file(const std::string& path) {
  if (ends_with(path, ".gguf")) return from_gguf(GgufFile::open(path));
  if (ends_with(path, ".json")) return vocab_from_hf_json_file(path);
  if (ends_with(path, ".model")) return vocab_from_sp_model_file(path, sibling_config(path));
  throw Error(path + ": not a tokenizer file lmzip knows by its name (expected *.gguf, a Hugging Face *.json "
                     "such as tokenizer.json, or a SentencePiece *.model)");
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  return from_vocab(Vocab::from_file(path), path);
}

std::string Tokenizer::hf_tokenizer_file(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a directory");
  for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
    const fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw Error(dir + ": no tokenizer.model or tokenizer.json in this Hugging Face model directory");
}

std::optional<VocabFile> vocab_from_hf_dir(const std::string& dir) {
  const std::string model = (fs::path(dir) / "tokenizer.model").string();
  const std::string json = (fs::path(dir) / "tokenizer.json").string();
  std::error_code ec;
  const bool has_model = fs::is_regular_file(model, ec), has_json = fs::is_regular_file(json, ec);
  if (has_model) {
    try {
      return VocabFile{Vocab::from_file(model), model};
    } catch (const Error& e) {
      if (!has_json) throw;
      try {
        return VocabFile{Vocab::from_file(json), json};
      } catch (const Error& e2) {
        throw Error(std::string(e.what()) + "; and " + e2.what());
      }
    }
  }
  if (has_json) return VocabFile{Vocab::from_file(json), json};
  return std::nullopt;
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_dir(const std::string& dir) {
  std::optional<VocabFile> v = vocab_from_hf_dir(dir);
  if (!v) hf_tokenizer_file(dir);  // throws, naming the directory
  return from_vocab(std::move(v->vocab), v->file);
}

}  // namespace lmzip
