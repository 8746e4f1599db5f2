// PLACEHOLDER: replaced by the byte-level BPE implementation.
#include "lmzip/tok/bpe.h"

#include "lmzip/core/error.h"

namespace lmzip {
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab, const std::string& source_name) {
  throw Error(source_name + ": byte-level BPE tokenizer not implemented yet");
}
}  // namespace lmzip
