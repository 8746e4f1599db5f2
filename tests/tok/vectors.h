// The conformance vectors of ../shared/vocab: NAME.gguf.inp holds inputs separated by a line
// "__ggml_vocab_test__"; NAME.gguf.out one line of expected ids per input (no BOS/EOS, special text not parsed).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lmzip/tok/tokenizer.h"

namespace lmzip::test {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Vectors {
  std::vector<std::string> inputs;
  std::vector<std::vector<TokenId>> expected;
};

// `base` is the path of the .gguf file the vectors belong to.
inline Vectors load_vectors(const std::string& base) {
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

inline std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace lmzip::test
