// The engine-backed LanguageModel on the bundled zoo model: prefix-shared, batched option scoring equals scoring
// each context + option from scratch; generations in flight together equal each alone and a hand-rolled greedy loop.
#include <gtest/gtest.h>

#include <algorithm>

#include "lmzip/core/error.h"
#include "lmzip/eval/engine_lm.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/format/gguf.h"
#include "lmzip/model/session.h"

namespace lmzip::eval {
namespace {

struct Zoo {
  GgufFile file = GgufFile::open("models/zoo-m2-F16.gguf");
  std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(file);
  std::unique_ptr<Model> model = Model::load(file);
  ThreadPool pool{2};
};

TEST(Session, TruncateThenAppendEqualsAFreshContext) {
  Zoo z;
  auto a = z.tok->encode("The cat sat on", {.add_special = false});
  auto b = z.tok->encode(" the mat", {.add_special = false});
  auto c = z.tok->encode(" a chair", {.add_special = false});
  Session s(*z.model, 64), fresh(*z.model, 64);
  s.append(a, z.pool);
  s.append(b, z.pool);
  s.truncate(static_cast<int64_t>(a.size()));
  EXPECT_TRUE(s.logits().empty());
  s.append(c, z.pool);
  std::vector<TokenId> ac = a;
  ac.insert(ac.end(), c.begin(), c.end());
  fresh.append(ac, z.pool);
  ASSERT_EQ(s.size(), fresh.size());
  EXPECT_TRUE(std::equal(s.logits().begin(), s.logits().end(), fresh.logits().begin()));
  EXPECT_THROW(s.truncate(s.size() + 1), Error);
}

// -ln p of each token of `option` after `context`, scoring context + option alone in one Model::score pass.
std::vector<double> from_scratch(Zoo& z, const std::string& context, const std::string& option) {
  const auto ctx = z.tok->encode(context, {.add_special = false});
  auto whole = z.tok->encode(context + option, {.add_special = false});
  std::vector<ScoredTarget> targets;
  for (size_t p = ctx.size(); p < whole.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), whole[p]});
  return z.model->score(whole, targets, z.pool);
}

TEST(EngineLm, PrefixSharingMatchesScoringEachOptionFromScratch) {
  Zoo z;
  EngineLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256});
  const std::string context = "Question: Which gas do plants take in from the air?\nAnswer:";
  const std::vector<std::string> options = {" oxygen", " carbon dioxide", " nitrogen"};
  auto got = lm.loglikelihoods(context, options);
  ASSERT_EQ(got.size(), 3u);
  const auto ctx = z.tok->encode(context, {.add_special = false});
  for (size_t i = 0; i < options.size(); ++i) {
    const auto nlls = from_scratch(z, context, options[i]);
    double sum = 0;
    for (double x : nlls) sum += x;
    ASSERT_EQ(got[i].token_nlls.size(), nlls.size()) << options[i];
    EXPECT_NEAR(got[i].loglikelihood, -sum, 1e-3 * nlls.size()) << options[i];
  }
  // The context ran once: context + each option but its last token (which only is a target).
  size_t expected_tokens = ctx.size();
  for (const auto& o : options) expected_tokens += from_scratch(z, context, o).size() - 1;
  EXPECT_EQ(lm.tokens_computed(), expected_tokens);
}

TEST(EngineLm, BatchesOfDocumentsGiveWhatEachRequestGivesAlone) {
  Zoo z;
  const std::vector<LanguageModel::LoglikelihoodRequest> requests = {
      {"Question: What color is the sky?\nAnswer:", {" blue", " green", " red", " the colour of deep water"}},
      {"", {"Once upon a time"}},  // Min-K% style: no context (BOS)
      {"The capital of France is ", {"Paris", "Lyon"}},
      {"Question: Which gas do plants take in from the air?\nAnswer:", {" oxygen", " carbon dioxide"}}};
  EngineLanguageModel batched(*z.model, *z.tok, z.pool, {.max_context = 256});
  // Small passes: the batch splits into several (each request still whole).
  EngineLanguageModel small(*z.model, *z.tok, z.pool, {.max_context = 256, .batch_tokens = 20});
  EngineLanguageModel single(*z.model, *z.tok, z.pool, {.max_context = 256});
  const auto all = batched.loglikelihoods_batch(requests);
  const auto split = small.loglikelihoods_batch(requests);
  EXPECT_EQ(batched.forward_passes(), 1u);
  EXPECT_GT(small.forward_passes(), 1u);
  ASSERT_EQ(all.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto alone = single.loglikelihoods(requests[i].context, requests[i].continuations);
    ASSERT_EQ(all[i].size(), requests[i].continuations.size());
    for (size_t j = 0; j < alone.size(); ++j) {
      EXPECT_NEAR(all[i][j].loglikelihood, alone[j].loglikelihood, 1e-3) << i << "/" << j;
      EXPECT_NEAR(split[i][j].loglikelihood, alone[j].loglikelihood, 1e-3) << i << "/" << j;
      EXPECT_LT(alone[j].loglikelihood, 0.0);
    }
  }
}

TEST(EngineLm, TrailingSpaceOfTheContextMovesToTheContinuation) {
  Zoo z;
  EngineLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256});
  auto a = lm.loglikelihoods("Answer: ", {"yes"});
  auto b = lm.loglikelihoods("Answer:", {" yes"});
  EXPECT_DOUBLE_EQ(a[0].loglikelihood, b[0].loglikelihood);
}

TEST(EngineLm, GreedyGenerationStopsAtTheTokenLimitOrAStopString) {
  Zoo z;
  EngineLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256});
  const std::string context = "Once upon a time";
  // Hand-rolled greedy decoding of 12 tokens.
  Session s(*z.model, 256);
  auto ids = z.tok->encode(context, {.add_special = false});
  s.append(ids, z.pool);
  std::vector<TokenId> out;
  for (int i = 0; i < 12; ++i) {
    auto l = s.logits();
    TokenId next = static_cast<TokenId>(std::max_element(l.begin(), l.end()) - l.begin());
    if (z.tok->eos() && next == *z.tok->eos()) break;
    out.push_back(next);
    s.append(std::span<const TokenId>(&next, 1), z.pool);
  }
  const std::string expected = z.tok->decode(out);
  EXPECT_EQ(lm.generate(context, {}, 12), expected);
  ASSERT_GE(expected.size(), 2u);
  // A stop string made of the greedy text's second character cuts the generation just before it.
  const std::string stop = expected.substr(1, 1);
  EXPECT_EQ(lm.generate(context, {stop}, 12), cut_at_stop(expected, {stop}));
}

TEST(EngineLm, GenerationsInFlightTogetherEqualEachAlone) {
  Zoo z;
  const std::vector<LanguageModel::GenerationRequest> requests = {
      {"Once upon a time", {}, 12}, {"Question: What is 2 + 3?\nAnswer:", {"\n"}, 20},
      {"def add(a, b):", {"\ndef"}, 30}, {"The", {}, 1}, {"In the beginning", {"."}, 25}};
  EngineLanguageModel alone(*z.model, *z.tok, z.pool, {.max_context = 256});
  std::vector<std::string> expected;
  for (const auto& r : requests) expected.push_back(alone.generate(r.context, r.until, r.max_tokens));
  // Two sequences in flight for five requests: finished slots take the next request.
  EngineLanguageModel two(*z.model, *z.tok, z.pool, {.max_context = 256, .max_in_flight = 2});
  EXPECT_EQ(two.generate_batch(requests), expected);
  EngineLanguageModel eight(*z.model, *z.tok, z.pool, {.max_context = 256});
  EXPECT_EQ(eight.generate_batch(requests), expected);
  // Decoding together takes fewer passes than one request at a time.
  EXPECT_LT(eight.forward_passes(), alone.forward_passes());
}

}  // namespace
}  // namespace lmzip::eval
