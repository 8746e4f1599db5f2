// The codec on a real model (zoo-s1 with its SentencePiece tokenizer and the engine's Session): round trips,
// identical bytes for any thread split, and a coded size that matches the model's cross-entropy as the
// engine's own scorer computes it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "lmzip/codec/lmz.h"
#include "lmzip/codec/model_predictor.h"
#include "lmzip/core/error.h"
#include "lmzip/format/gguf.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
#include "testutil/testutil.h"

namespace lmzip::codec {
namespace {

struct Zoo {
  GgufFile file;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Model> model;
  ModelIdentity identity;
  explicit Zoo(const std::string& path)
      : file(GgufFile::open(path)), tokenizer(Tokenizer::from_gguf(file)), model(Model::load(file)),
        identity(identify_model(file, *model, *tokenizer)) {}
};

std::string corpus_prefix(size_t n) {
  std::ifstream in(test::shared_dir() + "/zoo/corpora/cc.testA.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().substr(0, n);
}

TEST(EngineCodec, RoundTripAndThreadInvariance) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  Zoo zoo(test::shared_dir() + "/zoo/models/zoo-s1.gguf");
  std::string input = corpus_prefix(2500) + "\xFF\xFE binary\r\n tail ünïcödé";
  auto factory = [&](int threads_each) {
    return engine_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 160, threads_each);
  };
  CompressStats stats;
  std::string one = compress(input, *zoo.tokenizer, factory(1), zoo.identity,
                             {.segment_tokens = 160, .threads = 1, .progress = {}}, &stats);
  std::string split = compress(input, *zoo.tokenizer, factory(2), zoo.identity,
                               {.segment_tokens = 160, .threads = 2, .progress = {}});
  EXPECT_EQ(one, split);  // 2 workers x 2 engine threads each: the very same bytes
  EXPECT_GE(stats.segments, 4u);
  EXPECT_EQ(decompress(one, "s1.lmz", *zoo.tokenizer, factory(1), zoo.identity, {.threads = 2, .progress = {}}),
            input);
  EXPECT_EQ(decompress(one, "s1.lmz", *zoo.tokenizer, factory(3), zoo.identity, {.threads = 1, .progress = {}}),
            input);
  // Coding overhead: payload bits over the model's cross-entropy (+ raw spans), per segment a few bits.
  double ideal = stats.model_bits + stats.raw_bits;
  EXPECT_LT(8.0 * static_cast<double>(stats.payload_bytes), ideal * 1.005 + 16.0 * stats.segments);
  EXPECT_LT(stats.freq_bits, stats.model_bits * 1.001);
}

// Lockstep segments (one pass per step for all of them) produce the very same file as segments coded alone, and
// decode it with any number of slots, including fewer slots than segments and an engine slot left idle.
TEST(EngineCodec, LockstepSegmentsGiveTheSameBytes) {
  for (const char* name : {"zoo-s1", "zoo-m2-F16"}) {
    const std::string path = test::shared_dir() + "/zoo/models/" + name + ".gguf";
    LMZIP_REQUIRE_SHARED("zoo/models/" + std::string(name) + ".gguf");
    Zoo zoo(path);
    const std::string input = corpus_prefix(3000) + "\xFF\xFE binary\r\n tail";
    const std::string alone = compress(input, *zoo.tokenizer, engine_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 160),
                                       zoo.identity, {.segment_tokens = 160, .threads = 2, .progress = {}});
    for (int slots : {1, 3, 16}) {
      auto lockstep = lockstep_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 160, slots, 2);
      const std::string together =
          compress(input, *zoo.tokenizer, lockstep, zoo.identity, {.segment_tokens = 160, .threads = slots, .progress = {}});
      EXPECT_EQ(together, alone) << name << ", " << slots << " slots";
      auto decoder = lockstep_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 160, slots, 1);
      EXPECT_EQ(decompress(together, "x.lmz", *zoo.tokenizer, decoder, zoo.identity, {.threads = slots, .progress = {}}),
                input) << name << ", " << slots << " slots";
    }
  }
}

// A segment that fails to decode ends its slot: the other lockstep segments go on, and the error reaches the
// caller instead of a hang.
TEST(EngineCodec, LockstepDecodeOfACorruptSegmentFailsCleanly) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  Zoo zoo(test::shared_dir() + "/zoo/models/zoo-s1.gguf");
  const std::string input = corpus_prefix(3000);
  auto factory = [&] { return lockstep_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 160, 3, 2); };
  std::string lmz = compress(input, *zoo.tokenizer, factory(), zoo.identity,
                             {.segment_tokens = 160, .threads = 3, .progress = {}});
  lmz[lmz.size() / 2] = static_cast<char>(lmz[lmz.size() / 2] ^ 0x5A);  // inside a middle segment's payload
  EXPECT_THROW(decompress(lmz, "bad.lmz", *zoo.tokenizer, factory(), zoo.identity, {.threads = 3, .progress = {}}),
               Error);
}

TEST(EngineCodec, ModelBitsMatchTheEngineScorer) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  Zoo zoo(test::shared_dir() + "/zoo/models/zoo-s1.gguf");
  std::string text = corpus_prefix(1500);
  std::vector<TokenId> tokens = zoo.tokenizer->encode(text, {.add_special = false, .parse_special = false});
  ASSERT_LT(tokens.size(), 1000u);
  ASSERT_EQ(zoo.tokenizer->decode(tokens), text);
  CompressStats stats;
  compress(text, *zoo.tokenizer, engine_predictor_factory(*zoo.model, zoo.tokenizer->bos(), 1000), zoo.identity,
           {.segment_tokens = 1000, .threads = 1, .progress = {}}, &stats);
  ASSERT_EQ(stats.segments, 1u);
  ASSERT_EQ(stats.tokens, tokens.size());
  // Model::score over [BOS] + tokens[0..n-2], targets tokens: the same cross-entropy, from the BLAS path.
  std::vector<TokenId> input = {*zoo.tokenizer->bos()};
  input.insert(input.end(), tokens.begin(), tokens.end() - 1);
  std::vector<ScoredTarget> targets;
  for (size_t i = 0; i < tokens.size(); ++i) targets.push_back({static_cast<uint32_t>(i), tokens[i]});
  ThreadPool pool(1);
  double nats = 0;
  for (double x : zoo.model->score(input, targets, pool)) nats += x;
  EXPECT_NEAR(stats.model_bits, nats / std::log(2.0), 1e-4 * stats.model_bits);
}

TEST(EngineCodec, WrongModelIsRefused) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s2.gguf");
  Zoo s1(test::shared_dir() + "/zoo/models/zoo-s1.gguf");
  Zoo s2(test::shared_dir() + "/zoo/models/zoo-s2.gguf");
  EXPECT_EQ(s1.identity.tokenizer_hash, s2.identity.tokenizer_hash);  // same tokenizer, other weights
  EXPECT_NE(s1.identity.weights_hash, s2.identity.weights_hash);
  std::string lmz = compress("hello world", *s1.tokenizer,
                             engine_predictor_factory(*s1.model, s1.tokenizer->bos(), 64), s1.identity,
                             {.segment_tokens = 64, .threads = 1, .progress = {}});
  try {
    decompress(lmz, "x.lmz", *s2.tokenizer, engine_predictor_factory(*s2.model, s2.tokenizer->bos(), 64),
               s2.identity);
    FAIL() << "decoded with the wrong model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weights fingerprint differs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmzip::codec
