// Conformance vectors made with the reference (Hugging Face) tokenizers: ../shared/vocab/ggml-vocab-NAME.gguf
// with NAME.gguf.inp (inputs separated by a line "__ggml_vocab_test__") and NAME.gguf.out (one line of expected
// ids per input, encoded without BOS/EOS and without parsing special-token text). Every vector must match.
#include <gtest/gtest.h>

#include "lmzip/tok/tokenizer.h"
#include "testutil/testutil.h"
#include "tok/vectors.h"

namespace lmzip {
namespace {

using test::load_vectors;
using test::show;
using test::Vectors;

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesReferenceTokenizer) {
  const std::string name = "vocab/ggml-vocab-" + GetParam() + ".gguf";
  LMZIP_REQUIRE_SHARED(name);
  LMZIP_REQUIRE_SHARED(name + ".inp");
  const std::string base = test::shared_dir() + "/" + name;
  GgufFile file = GgufFile::open(base);
  std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(file);
  Vectors v = load_vectors(base);
  ASSERT_GT(v.inputs.size(), 0u);
  ASSERT_EQ(v.inputs.size(), v.expected.size()) << "inputs and expected outputs do not pair up";
  int failures = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    std::vector<TokenId> got = tok->encode(v.inputs[i], {.add_special = false, .parse_special = false});
    if (got != v.expected[i]) {
      ++failures;
      ADD_FAILURE() << GetParam() << " vector " << i << ": input \"" << v.inputs[i] << "\"\n  expected "
                    << show(v.expected[i]) << "\n  got      " << show(got);
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << v.inputs.size() << " vectors differ";
}

INSTANTIATE_TEST_SUITE_P(Vocab, Conformance,
                         ::testing::Values("llama-spm", "phi-3", "gemma-4", "llama-bpe", "qwen2", "qwen35", "gpt-2",
                                           "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "refact", "mpt",
                                           "command-r"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace lmzip
