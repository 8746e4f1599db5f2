// The engine-backed LanguageModel on the bundled zoo model: prefix-shared option scoring equals scoring each
// context + option from scratch; Session::truncate; greedy generation equals a hand-rolled greedy loop.
#include <gtest/gtest.h>

#include <algorithm>

#include "lmzip/core/error.h"
#include "lmzip/eval/engine_lm.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/format/gguf.h"

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

TEST(EngineLm, PrefixSharingMatchesScoringEachOptionFromScratch) {
  Zoo z;
  SessionLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256, .share_prefix = true});
  SessionLanguageModel scratch(*z.model, *z.tok, z.pool, {.max_context = 256, .share_prefix = false});
  const std::string context = "Question: Which gas do plants take in from the air?\nAnswer:";
  const std::vector<std::string> options = {" oxygen", " carbon dioxide", " nitrogen"};
  auto got = lm.loglikelihoods(context, options);
  auto ref = scratch.loglikelihoods(context, options);
  ASSERT_EQ(got.size(), 3u);
  const auto ctx = z.tok->encode(context, {.add_special = false});
  for (size_t i = 0; i < options.size(); ++i) {
    auto whole = z.tok->encode(context + options[i], {.add_special = false});
    std::vector<ScoredTarget> targets;
    for (size_t p = ctx.size(); p < whole.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), whole[p]});
    auto nlls = z.model->score(whole, targets, z.pool);
    double sum = 0;
    for (double x : nlls) sum += x;
    ASSERT_EQ(got[i].token_nlls.size(), nlls.size()) << options[i];
    EXPECT_NEAR(got[i].loglikelihood, -sum, 1e-3 * nlls.size()) << options[i];
    EXPECT_DOUBLE_EQ(ref[i].loglikelihood, -sum) << options[i];
  }
}

TEST(EngineLm, TrailingSpaceOfTheContextMovesToTheContinuation) {
  Zoo z;
  SessionLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256, .share_prefix = true});
  auto a = lm.loglikelihoods("Answer: ", {"yes"});
  auto b = lm.loglikelihoods("Answer:", {" yes"});
  EXPECT_DOUBLE_EQ(a[0].loglikelihood, b[0].loglikelihood);
}

TEST(EngineLm, GreedyGenerationStopsAtTheTokenLimitOrAStopString) {
  Zoo z;
  SessionLanguageModel lm(*z.model, *z.tok, z.pool, {.max_context = 256});
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

}  // namespace
}  // namespace lmzip::eval
