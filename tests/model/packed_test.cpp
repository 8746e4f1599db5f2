// Packed evaluation (score_continuations, MultiSession) against scoring each sequence alone with Model::score:
// the same negative log-likelihoods up to rounding, whatever is packed beside a request or however the tokens
// are split into passes.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "lmzip/core/error.h"
#include "lmzip/model/complete.h"
#include "lmzip/model/packed.h"
#include "lmzip/model/session.h"
#include "lmzip/model/synth.h"
#include "model/synth_fixture.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

using test::random_tokens;

test::SynthFixture make_model(const std::string& arch) {
  const SynthShape shape{.arch = arch, .n_vocab = 300, .n_embd = 128, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                         .n_ff = 256, .n_ctx = 512, .tied_output = arch == "qwen2"};
  return test::load_synth(shape, 5, GgmlType::F32, "packed-" + arch);
}

// -ln p of each continuation token, scoring context + continuation alone in one Model::score pass.
std::vector<double> alone(const Model& m, const std::vector<TokenId>& ctx, const std::vector<TokenId>& cont,
                          ThreadPool& pool) {
  std::vector<TokenId> input = ctx;
  input.insert(input.end(), cont.begin(), cont.end());
  std::vector<ScoredTarget> targets;
  for (size_t p = ctx.size(); p < input.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), input[p]});
  return m.score(input, targets, pool);
}

class Packed : public ::testing::TestWithParam<const char*> {};

TEST_P(Packed, ContinuationsOfSeveralContextsMatchScoringEachAlone) {
  test::SynthFixture f = make_model(GetParam());
  ThreadPool pool(2);
  // Contexts of different lengths (one of a single token), continuations of one and of several tokens; the
  // 150-token context spans two query blocks of the attention kernel.
  std::vector<ContextWithContinuations> requests = {
      {random_tokens(40, 1), {random_tokens(1, 2), random_tokens(5, 3), random_tokens(3, 4)}},
      {random_tokens(1, 5), {random_tokens(4, 6)}},
      {random_tokens(150, 7), {random_tokens(2, 8), random_tokens(1, 9)}},
  };
  const auto packed = score_continuations(*f.model, requests, pool);
  ASSERT_EQ(packed.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_EQ(packed[i].size(), requests[i].continuations.size());
    // The same request packed alone gives the same numbers as packed with the others.
    const auto single = score_continuations(*f.model, std::span(requests).subspan(i, 1), pool);
    for (size_t j = 0; j < requests[i].continuations.size(); ++j) {
      const auto ref = alone(*f.model, requests[i].context, requests[i].continuations[j], pool);
      ASSERT_EQ(packed[i][j].size(), ref.size());
      for (size_t t = 0; t < ref.size(); ++t) {
        EXPECT_NEAR(packed[i][j][t], ref[t], 1e-4 * std::max(1.0, ref[t])) << i << "/" << j << "/" << t;
        EXPECT_NEAR(single[0][j][t], packed[i][j][t], 1e-4 * std::max(1.0, ref[t]));
        EXPECT_GT(ref[t], 0.0);
      }
    }
  }
  EXPECT_EQ(packed_tokens(requests[0]), 40 + 0 + 4 + 2);
}

TEST_P(Packed, EmptyContextOrContinuationOrBadTokenIsAnError) {
  test::SynthFixture f = make_model(GetParam());
  ThreadPool pool(1);
  std::vector<ContextWithContinuations> empty_ctx = {{{}, {{1}}}};
  EXPECT_THROW(score_continuations(*f.model, empty_ctx, pool), Error);
  std::vector<ContextWithContinuations> empty_cont = {{{1, 2}, {{}}}};
  EXPECT_THROW(score_continuations(*f.model, empty_cont, pool), Error);
  std::vector<ContextWithContinuations> bad = {{{1, 2}, {{300}}}};
  EXPECT_THROW(score_continuations(*f.model, bad, pool), Error);
}

TEST_P(Packed, MultiSessionLogitsMatchScoringEachSequenceAlone) {
  test::SynthFixture f = make_model(GetParam());
  ThreadPool pool(2);
  const int64_t n_vocab = f.model->config().n_vocab;
  // Three sequences grown in different steps; sequence 1 gets a prefill longer than one pass (1024 rows).
  std::vector<std::vector<TokenId>> seqs = {random_tokens(60, 11), random_tokens(1100, 12), random_tokens(7, 13)};
  MultiSession ms(*f.model, 3, 1200);
  std::vector<std::vector<TokenId>> fed(3);
  auto check = [&](int seq, const std::vector<float>& logits) {
    ASSERT_EQ(static_cast<int64_t>(logits.size()), n_vocab);
    // -ln p of two arbitrary next tokens from the logits, against Model::score of the whole sequence + token.
    for (TokenId next : {TokenId{3}, TokenId{299}}) {
      double mx = -1e30, sum = 0;
      for (float z : logits) mx = std::max(mx, static_cast<double>(z));
      for (float z : logits) sum += std::exp(z - mx);
      const double nll = mx + std::log(sum) - logits[static_cast<size_t>(next)];
      std::vector<TokenId> input = fed[static_cast<size_t>(seq)];
      input.push_back(next);
      const ScoredTarget t{static_cast<uint32_t>(input.size() - 2), next};
      const double ref = f.model->score(input, std::span(&t, 1), pool)[0];
      EXPECT_NEAR(nll, ref, 1e-3 * std::max(1.0, ref)) << "sequence " << seq << " at " << input.size();
    }
  };
  // Step 1: sequences 0 and 1 (prefill), step 2: 2 and 0 (in that order), step 3: one token each.
  std::vector<std::vector<std::pair<int, std::pair<size_t, size_t>>>> steps = {
      {{0, {0, 50}}, {1, {0, 1100}}}, {{2, {0, 7}}, {0, {50, 59}}}, {{0, {59, 60}}, {1, {1100, 1100}}}};
  for (const auto& step : steps) {
    std::vector<MultiSession::Append> entries;
    for (const auto& [seq, range] : step) {
      if (range.first == range.second) continue;
      const auto& s = seqs[static_cast<size_t>(seq)];
      entries.push_back({seq, std::span(s).subspan(range.first, range.second - range.first)});
      fed[static_cast<size_t>(seq)].insert(fed[static_cast<size_t>(seq)].end(), s.begin() + static_cast<long>(range.first),
                                           s.begin() + static_cast<long>(range.second));
    }
    const auto logits = ms.append(entries, pool);
    ASSERT_EQ(logits.size(), entries.size());
    for (size_t e = 0; e < entries.size(); ++e) check(entries[e].sequence, logits[e]);
  }
  EXPECT_EQ(ms.size(0), 60);
  EXPECT_EQ(ms.size(1), 1100);
  EXPECT_EQ(ms.size(2), 7);
  // Too long, repeated or unknown sequences are errors that leave the sessions unchanged.
  const auto extra = random_tokens(200, 14);
  std::vector<MultiSession::Append> too_long = {{1, extra}};
  EXPECT_THROW(ms.append(too_long, pool), Error);
  std::vector<MultiSession::Append> repeated = {{0, std::span(extra).first(1)}, {0, std::span(extra).first(1)}};
  EXPECT_THROW(ms.append(repeated, pool), Error);
  std::vector<MultiSession::Append> unknown = {{3, std::span(extra).first(1)}};
  EXPECT_THROW(ms.append(unknown, pool), Error);
  EXPECT_EQ(ms.size(0), 60);
  EXPECT_EQ(ms.size(1), 1100);
  ms.reset(1);
  EXPECT_EQ(ms.size(1), 0);
}

// The codec's lockstep: a deterministic MultiSession gives each sequence exactly Session's logits, whatever
// other sequences share the pass and however the tokens arrive.
TEST_P(Packed, DeterministicMultiSessionIsBitIdenticalToSession) {
  test::SynthFixture f = make_model(GetParam());
  ThreadPool pool(2), one(1);
  const std::vector<std::vector<TokenId>> seqs = {random_tokens(40, 21), random_tokens(9, 22), random_tokens(25, 23)};
  MultiSession ms(*f.model, 3, 64, /*deterministic=*/true);
  std::vector<std::unique_ptr<Session>> alone;
  for (int i = 0; i < 3; ++i) alone.push_back(std::make_unique<Session>(*f.model, 64, 1));
  std::vector<size_t> fed(3, 0);
  // Prefill 5, 3 and 7 tokens, then one token per sequence per step while each has tokens left.
  const size_t first[3] = {5, 3, 7};
  for (int step = 0; step < 40; ++step) {
    std::vector<MultiSession::Append> entries;
    for (int i = 0; i < 3; ++i) {
      const size_t n = step == 0 ? first[i] : 1;
      if (fed[static_cast<size_t>(i)] + n > seqs[static_cast<size_t>(i)].size()) continue;
      entries.push_back({i, std::span(seqs[static_cast<size_t>(i)]).subspan(fed[static_cast<size_t>(i)], n)});
    }
    if (entries.empty()) break;
    const auto logits = ms.append(entries, pool);
    for (size_t e = 0; e < entries.size(); ++e) {
      Session& s = *alone[static_cast<size_t>(entries[e].sequence)];
      s.append(entries[e].tokens, one);
      fed[static_cast<size_t>(entries[e].sequence)] += entries[e].tokens.size();
      ASSERT_EQ(logits[e].size(), s.logits().size());
      ASSERT_TRUE(std::equal(logits[e].begin(), logits[e].end(), s.logits().begin()))
          << "sequence " << entries[e].sequence << " after " << fed[static_cast<size_t>(entries[e].sequence)];
    }
  }
  EXPECT_EQ(fed, (std::vector<size_t>{40, 9, 25}));
}

// A server's concurrent prompts in one pass: each prompt's log-probabilities, alternatives and next token equal
// complete()'s on it alone (up to rounding), with prompts sharing a prefix (an MC question's options), a prompt
// that is a prefix of another, a one-token prompt and an unrelated one.
TEST_P(Packed, CompletePackedMatchesEachPromptAlone) {
  test::SynthFixture f = make_model(GetParam());
  ThreadPool pool(2);
  const std::vector<TokenId> ctx = random_tokens(60, 11);
  auto with = [&](std::vector<TokenId> tail) {
    std::vector<TokenId> p = ctx;
    p.insert(p.end(), tail.begin(), tail.end());
    return p;
  };
  const std::vector<std::vector<TokenId>> prompts = {
      with(random_tokens(3, 12)), random_tokens(25, 13), with(random_tokens(1, 14)), with(random_tokens(7, 15)),
      ctx, random_tokens(1, 16)};
  // The four prompts that begin with ctx share 59 rows at most (each keeps a token of its own): ctx is the
  // shortest, so the group shares 59; the others run whole.
  EXPECT_EQ(packed_prompt_rows(prompts), 59 + (63 - 59) + (61 - 59) + (67 - 59) + (60 - 59) + 25 + 1);
  const auto packed = complete_packed(*f.model, prompts, 3, true, pool);
  ASSERT_EQ(packed.size(), prompts.size());
  double worst = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const CompletionResult one =
        complete(*f.model, prompts[i], {.top_k = 3, .prompt_logprobs = true, .max_new_tokens = 1, .stop = {}}, pool);
    ASSERT_EQ(packed[i].prompt.size(), prompts[i].size() - 1) << i;
    ASSERT_EQ(packed[i].generated.size(), 1u);
    for (size_t t = 0; t < one.prompt.size(); ++t) {
      EXPECT_EQ(packed[i].prompt[t].token, prompts[i][t + 1]);
      EXPECT_NEAR(packed[i].prompt[t].logprob, one.prompt[t].logprob, 1e-4) << i << "/" << t;
      worst = std::max(worst, std::abs(packed[i].prompt[t].logprob - one.prompt[t].logprob));
      ASSERT_EQ(packed[i].prompt[t].top.size(), 3u);
      for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(packed[i].prompt[t].top[k].second, one.prompt[t].top[k].second, 1e-4);
    }
    EXPECT_EQ(packed[i].generated[0].token, one.generated[0].token) << i;
    EXPECT_NEAR(packed[i].generated[0].logprob, one.generated[0].logprob, 1e-4);
  }
  std::cout << "largest |packed - alone| log-probability: " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Arch, Packed, ::testing::Values("llama", "qwen2"));

}  // namespace
}  // namespace lmzip
