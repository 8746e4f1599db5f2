// Test helpers of the model tests: a random-weight model written to the test's temp directory and loaded, and
// random token ids.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lmzip/format/gguf.h"
#include "lmzip/model/model.h"
#include "lmzip/model/synth.h"
#include "testutil/testutil.h"

namespace lmzip::test {

struct SynthFixture {
  GgufFile file;
  std::unique_ptr<Model> model;  // views into `file`
};

// synth_model(shape, seed, type) written as <temp dir>/<name>.gguf, then opened and loaded.
inline SynthFixture load_synth(const SynthShape& shape, uint64_t seed, GgmlType type, const std::string& name) {
  SynthOptions o;
  o.shape = shape;
  o.seed = seed;
  o.type = type;
  const std::string path = temp_dir() + "/" + name + ".gguf";
  synth_model(o).writer.write(path);
  SynthFixture f{GgufFile::open(path), nullptr};
  f.model = Model::load(f.file);
  return f;
}

// n token ids drawn uniformly from [0, vocab) by a seeded std::mt19937.
inline std::vector<TokenId> random_tokens(int n, uint32_t seed, TokenId vocab = 300) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<TokenId> token(0, vocab - 1);
  std::vector<TokenId> t(static_cast<size_t>(n));
  for (TokenId& x : t) x = token(rng);
  return t;
}

}  // namespace lmzip::test
