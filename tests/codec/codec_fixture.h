// Shared helpers for codec tests: the test tokenizer + count predictor as a complete "model".
#pragma once

#include <memory>
#include <random>
#include <string>

#include "codec/test_tokenizer.h"
#include "lmzip/codec/lmz.h"

namespace lmzip::test {

inline const TestTokenizer& test_tokenizer() {
  static const TestTokenizer tok;
  return tok;
}

inline codec::PredictorFactory count_factory() {
  return [] { return std::make_unique<codec::CountPredictor>(test_tokenizer().vocab_size(), TokenId{0}); };
}

inline codec::ModelIdentity count_identity() {
  return {.name = "test-count",
          .predictor_id = "count/v1",
          .tokenizer_hash = 0x1111,
          .weights_hash = 0x2222,
          .vocab_size = static_cast<uint32_t>(test_tokenizer().vocab_size())};
}

inline std::string compress_test(std::string_view input, uint32_t segment_tokens = 256, int threads = 1,
                                 codec::CompressStats* stats = nullptr) {
  return codec::compress(input, test_tokenizer(), count_factory(), count_identity(),
                         {.segment_tokens = segment_tokens, .threads = threads, .progress = {}}, stats);
}

inline std::string decompress_test(std::string_view lmz, int threads = 1) {
  return codec::decompress(lmz, "test.lmz", test_tokenizer(), count_factory(), count_identity(),
                           {.threads = threads, .progress = {}});
}

inline std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// English-like text with repetitions (so the count model has something to learn).
inline std::string sample_text(size_t n, uint64_t seed) {
  static const char* words[] = {"the", "compression", "of", "text", "and", "a", "model", "is", "in", "ing",
                                "return", "self", "def", "value", "with", "arithmetic", "coding", "range"};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += words[rng() % 18];
    s += rng() % 11 == 0 ? ".\n" : " ";
  }
  s.resize(n);
  return s;
}

}  // namespace lmzip::test
