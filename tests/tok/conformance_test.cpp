// Conformance vectors made with the reference (Hugging Face) tokenizers: ../shared/vocab/ggml-vocab-NAME.gguf
// with NAME.gguf.inp (inputs separated by a line "__ggml_vocab_test__") and NAME.gguf.out (one line of expected
// ids per input, encoded without BOS/EOS and without parsing special-token text). Every vector must match.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lmzip/tok/tokenizer.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Vectors {
  std::vector<std::string> inputs;
  std::vector<std::vector<TokenId>> expected;
};

Vectors load_vectors(const std::string& base) {
  Vectors v;
  std::string text = slurp(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos;
  while ((pos = text.find(sep)) != std::string::npos) {
    v.inputs.push_back(text.substr(0, pos));
    text.erase(0, pos + sep.size());
  }
  // Some .inp files (gemma-4) end their last input at end of file instead of with a separator.
  if (!text.empty()) v.inputs.push_back(text);
  std::istringstream out(slurp(base + ".out"));
  std::string line;
  while (std::getline(out, line)) {
    std::istringstream ids(line);
    std::vector<TokenId> row;
    TokenId id;
    while (ids >> id) row.push_back(id);
    v.expected.push_back(row);
  }
  return v;
}

std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

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
