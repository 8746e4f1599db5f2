// SentencePiece BPE ("llama" tokenizer model): merges ordered by piece score, byte fallback, the '▁' convention.
#pragma once

#include <memory>
#include <string>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab, const std::string& source_name);

}  // namespace lmzip
