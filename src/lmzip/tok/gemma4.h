// Gemma 4's tokenizer ("gemma4" tokenizer model): SentencePiece-style BPE driven by a merge list.
#pragma once

#include <memory>
#include <string>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {

std::unique_ptr<Tokenizer> make_gemma4_tokenizer(Vocab vocab, const std::string& source_name);

}  // namespace lmzip
