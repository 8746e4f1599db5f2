// Session: the deterministic incremental path. Logits bit-identical for any thread count and any split of the
// tokens into append() calls; agreement with Model::score and the double-precision reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "lmzip/core/error.h"
#include "lmzip/model/session.h"
#include "lmzip/model/synth.h"
#include "model/reference_forward.h"
#include "model/synth_fixture.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

using test::random_tokens;

test::SynthFixture make_model(const std::string& arch, GgmlType type) {
  const SynthShape shape{.arch = arch, .n_vocab = 300, .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                         .n_ff = 512, .n_ctx = 256, .tied_output = arch == "qwen2"};
  return test::load_synth(shape, 21, type, "session-" + arch + "-" + ggml_type_name(type));
}

// The logits after each prefix, appending in chunks of `chunk` with `threads` threads.
std::vector<std::vector<float>> run(const Model& m, const std::vector<TokenId>& tokens, size_t chunk,
                                    int threads, int64_t max_batch) {
  ThreadPool pool(threads);
  Session s(m, 128, max_batch);
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < tokens.size(); i += chunk) {
    s.append(std::span(tokens).subspan(i, std::min(chunk, tokens.size() - i)), pool);
    out.emplace_back(s.logits().begin(), s.logits().end());
  }
  return out;
}

TEST(Session, LogitsBitIdenticalAcrossThreadsAndChunking) {
  for (const char* arch : {"llama", "qwen2"}) {
    test::SynthFixture f = make_model(arch, GgmlType::Q8_0);
    const auto tokens = random_tokens(24, 3);
    const auto one_by_one = run(*f.model, tokens, 1, 1, 32);
    for (auto [chunk, threads, max_batch] : {std::tuple{1, 2, 32}, {1, 3, 32}, {24, 2, 32}, {6, 2, 4}, {24, 1, 5}}) {
      const auto other = run(*f.model, tokens, static_cast<size_t>(chunk), threads, max_batch);
      ASSERT_EQ(other.size(), tokens.size() / static_cast<size_t>(chunk));
      // Compare the logits after the last token of each chunk with the one-by-one run at the same point.
      for (size_t i = 0; i < other.size(); ++i) {
        const auto& expected = one_by_one[(i + 1) * static_cast<size_t>(chunk) - 1];
        ASSERT_EQ(std::memcmp(other[i].data(), expected.data(), expected.size() * sizeof(float)), 0)
            << arch << " chunk " << chunk << " threads " << threads << " max_batch " << max_batch << " at " << i;
      }
    }
  }
}

TEST(Session, AgreesWithScoreAndReference) {
  test::SynthFixture f = make_model("qwen2", GgmlType::F16);
  const auto tokens = random_tokens(30, 4);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
  ThreadPool pool(2);
  const auto fast = f.model->score(std::span(tokens).first(tokens.size() - 1), targets, pool);
  const auto ref = test::reference_nll(f.file, std::span(tokens).first(tokens.size() - 1), targets);
  Session s(*f.model, 64);
  for (size_t p = 0; p + 1 < tokens.size(); ++p) {
    s.append(std::span(tokens).subspan(p, 1), pool);
    EXPECT_EQ(s.size(), static_cast<int64_t>(p + 1));
    const double nll = s.nll(tokens[p + 1]);
    EXPECT_NEAR(nll, ref[p], 1e-4) << p;
    EXPECT_NEAR(nll, fast[p], 1e-4) << p;
  }
}

TEST(Session, ContextLimitAndBadTokensLeaveItUnchanged) {
  test::SynthFixture f = make_model("llama", GgmlType::F32);
  ThreadPool pool(1);
  Session s(*f.model, 4);
  EXPECT_TRUE(s.logits().empty());
  const std::vector<TokenId> three{1, 2, 3}, two{4, 5}, bad{7, 300};
  s.append(three, pool);
  const std::vector<float> before(s.logits().begin(), s.logits().end());
  EXPECT_THROW(s.append(two, pool), Error);
  EXPECT_THROW(s.append(bad, pool), Error);
  EXPECT_EQ(s.size(), 3);
  EXPECT_EQ(std::vector<float>(s.logits().begin(), s.logits().end()), before);
  EXPECT_THROW(s.nll(-1), Error);
  s.reset();
  EXPECT_EQ(s.size(), 0);
  s.append(three, pool);
  EXPECT_EQ(std::vector<float>(s.logits().begin(), s.logits().end()), before);
}

}  // namespace
}  // namespace lmzip
