// PLACEHOLDER: replaced by the SentencePiece implementation.
#include "lmzip/tok/spm.h"

#include "lmzip/core/error.h"

namespace lmzip {
std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab, const std::string& source_name) {
  throw Error(source_name + ": SentencePiece tokenizer not implemented yet");
}
}  // namespace lmzip
