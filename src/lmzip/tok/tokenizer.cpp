#include "lmzip/tok/tokenizer.h"

#include "lmzip/core/error.h"
#include "lmzip/tok/bpe.h"
#include "lmzip/tok/gemma4.h"
#include "lmzip/tok/spm.h"

namespace lmzip {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  return from_vocab(Vocab::from_gguf(file), file.name());
}

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(Vocab vocab, const std::string& source_name) {
  if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab), source_name);
  if (vocab.model == "gpt2") return make_bpe_tokenizer(std::move(vocab), source_name);
  if (vocab.model == "gemma4") return make_gemma4_tokenizer(std::move(vocab), source_name);
  throw Error(source_name + ": tokenizer model '" + vocab.model +
              "' is not supported (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE, gemma4 = Gemma 4 merge-list BPE)");
}

}  // namespace lmzip
