// Every family against llama.cpp's own numbers (../shared/archs: random-weight GGUFs written with llama.cpp's
// gguf-py, llama-perplexity on zoo/corpora/cc.testA.txt, context 128, 8 chunks), and every family's sequence
// paths (Session, MultiSession, packed option scoring) against Model::score on tiny synth models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/model/family.h"
#include "lmzip/model/packed.h"
#include "lmzip/model/session.h"
#include "lmzip/model/synth.h"
#include "model/reference_forward.h"
#include "model/synth_fixture.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

nlohmann::json archs_reference() {
  std::ifstream f(test::shared_dir() + "/archs/reference.json");
  return nlohmann::json::parse(f);
}

// llama-perplexity's running PPL after each chunk: chunk i is ids[128 i, 128 i + 128) with BOS first, outputs
// 64..126 scored (63 per chunk).
std::vector<double> running_ppl(const Model& model, const std::vector<TokenId>& ids, int chunks, ThreadPool& pool) {
  std::vector<double> out;
  double total = 0;
  for (int i = 0; i < chunks; ++i) {
    std::vector<TokenId> input(ids.begin() + 128 * i, ids.begin() + 128 * (i + 1));
    input[0] = 1;
    std::vector<ScoredTarget> targets;
    for (uint32_t p = 64; p < 127; ++p) targets.push_back({p, input[p + 1]});
    for (double v : model.score(input, targets, pool)) total += v;
    out.push_back(std::exp(total / (63.0 * (i + 1))));
  }
  return out;
}

struct ArchCase {
  std::string file;  // archs/<file>.gguf
  double tolerance;  // relative, on every running PPL
};
void PrintTo(const ArchCase& c, std::ostream* os) { *os << c.file; }

class LlamaCppArchs : public ::testing::TestWithParam<ArchCase> {};

// F32 files against llama.cpp with an F32 KV cache (`variants.kv_cache_f32`): the only rounding llama.cpp adds
// there is its fp16 GELU table. F16 files: llama.cpp also rounds every activation to fp16 before each product
// (its F16 matmul), so those agree less closely (measured: at most 1.3e-4, qwen2moe-F16).
TEST_P(LlamaCppArchs, ReproducesRunningPerplexity) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  const ArchCase& c = GetParam();
  const nlohmann::json ref = archs_reference();
  nlohmann::json row;
  for (const auto& m : ref["models"]) {
    if (m["file"] == "shared/archs/" + c.file + ".gguf") row = m;
  }
  ASSERT_FALSE(row.is_null()) << "no reference.json row for " << c.file;
  const std::vector<TokenId> ids = ref["scored_region_token_ids"].get<std::vector<TokenId>>();
  ASSERT_EQ(ids.size(), 1024u);
  GgufFile file = GgufFile::open(test::shared_dir() + "/archs/" + c.file + ".gguf");
  const auto model = Model::load(file);
  ThreadPool pool(2);
  const std::vector<double> got = running_ppl(*model, ids, 8, pool);
  const nlohmann::json& expected_row = row.contains("variants") && row["variants"].contains("kv_cache_f32")
                                           ? row["variants"]["kv_cache_f32"]
                                           : row;
  const std::vector<double> expected = expected_row["running_ppl"].get<std::vector<double>>();
  ASSERT_EQ(expected.size(), 8u);
  double worst = 0;
  for (size_t k = 0; k < 8; ++k) {
    const double rel = std::abs(got[k] - expected[k]) / expected[k];
    worst = std::max(worst, rel);
    EXPECT_LT(rel, c.tolerance) << c.file << " chunk " << k + 1 << ": " << got[k] << " vs llama.cpp " << expected[k];
  }
  std::printf("%s: worst relative difference to llama.cpp over 8 running PPLs %.2e\n", c.file.c_str(), worst);
}

std::vector<ArchCase> arch_cases() {
  std::vector<ArchCase> cases;
  for (const char* f : {"llama", "qwen2", "mixtral", "qwen2moe", "qwen", "falcon-7b", "falcon-40b", "starcoder",
                        "starcoder2", "gemma", "gemma2", "phi3", "gptneox", "stablelm", "mamba", "command-r",
                        "olmo2", "deepseek2"}) {
    cases.push_back({f, 5e-4});
  }
  for (const char* f : {"llama-F16", "mixtral-F16", "qwen2moe-F16", "starcoder-F16", "mamba-F16", "deepseek2-F16"}) {
    cases.push_back({f, 1e-3});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Archs, LlamaCppArchs, ::testing::ValuesIn(arch_cases()), [](const auto& info) {
  std::string n = info.param.file;
  for (char& ch : n) if (ch == '-') ch = '_';
  return n;
});

// The fast forward (Model::score: BLAS kernels, fp32 activations) against the double-precision reference
// forward (reference_forward.cpp, written apart from the engine) on every F32 file of ../shared/archs: chunk 0
// as llama-perplexity scores it (BOS + 127 tokens, the 63 targets at 65..127). Measured: at most 2.5e-7
// relative on the NLL sum and 2e-5 nats per token (fp32 rounding over 2-26 layers of width 64; gemma2's 26
// layers the largest). The bounds (2e-5 relative on the sum, 5e-4 nats per token) leave 1-2 orders of magnitude
// for other BLAS builds while any real difference in the math (a wrong pair layout, scale, norm, routing) moves
// these random models' NLLs by 1e-3 relative or more (the README's discriminative checks).
class ArchsAgainstReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchsAgainstReference, FastForwardMatchesDoubleReference) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  const nlohmann::json ref = archs_reference();
  std::vector<TokenId> input = ref["scored_region_token_ids"].get<std::vector<TokenId>>();
  input.resize(128);
  input[0] = 1;
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 64; p < 127; ++p) targets.push_back({p, input[p + 1]});
  GgufFile file = GgufFile::open(test::shared_dir() + "/archs/" + GetParam() + ".gguf");
  const auto model = Model::load(file);
  ThreadPool pool(2);
  const std::vector<double> got = model->score(input, targets, pool);
  const std::vector<double> want = test::reference_nll(file, input, targets);
  double sum_got = 0, sum_want = 0, worst = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    sum_got += got[i], sum_want += want[i];
    worst = std::max(worst, std::abs(got[i] - want[i]));
    EXPECT_NEAR(got[i], want[i], 5e-4) << GetParam() << " target " << i;
  }
  const double rel = std::abs(sum_got - sum_want) / sum_want;
  EXPECT_LT(rel, 2e-5) << GetParam() << ": NLL sum " << sum_got << " vs reference " << sum_want;
  std::printf("%s: NLL sum relative difference to the double reference %.2e, worst token %.2e nats\n",
              GetParam().c_str(), rel, worst);
}

INSTANTIATE_TEST_SUITE_P(Archs, ArchsAgainstReference,
                         ::testing::Values("llama", "qwen2", "mixtral", "qwen2moe", "qwen", "falcon-7b", "falcon-40b",
                                           "starcoder", "starcoder2", "gemma", "gemma2", "phi3", "gptneox",
                                           "stablelm", "mamba", "command-r", "olmo2", "deepseek2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

// ---- Sequence paths of every family on tiny synth models ----

class FamilyPaths : public ::testing::TestWithParam<std::string> {};

test::SynthFixture tiny(const std::string& arch, GgmlType type = GgmlType::F32) {
  SynthShape shape = *synth_preset("tiny", arch);
  if (arch == "llama") shape.n_expert = 4, shape.n_expert_used = 2;  // Mixtral: llama with experts
  return test::load_synth(shape, 7, type, "family-" + arch + "-" + ggml_type_name(type));
}

// Session (deterministic kernels) appended in uneven pieces gives the probabilities Model::score gives in one
// pass; MultiSession sequences sharing passes equal a Session bit for bit.
TEST_P(FamilyPaths, SessionAndMultiSessionAgreeWithScore) {
  test::SynthFixture f = tiny(GetParam(), GgmlType::Q8_0);
  const Model& m = *f.model;
  ThreadPool pool(2);
  const auto tokens = test::random_tokens(40, 11);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
  const std::vector<double> expected = m.score(tokens, targets, pool);

  Session s(m, 64, 8);
  std::vector<std::vector<float>> session_logits;
  size_t at = 0;
  for (size_t piece : {1, 5, 13, 2, 19}) {
    s.append(std::span(tokens).subspan(at, piece), pool);
    at += piece;
    session_logits.emplace_back(s.logits().begin(), s.logits().end());
    if (at < tokens.size()) {
      EXPECT_NEAR(s.nll(tokens[at]), expected[at - 1], 2e-4) << GetParam() << " after " << at << " tokens";
    }
  }
  // Two sequences in lockstep: one the tokens above, one other tokens; the first equals the Session exactly.
  MultiSession multi(m, 2, 64, /*deterministic=*/true);
  const auto other = test::random_tokens(40, 12);
  at = 0;
  size_t k = 0;
  for (size_t piece : {1, 5, 13, 2, 19}) {
    const MultiSession::Append entries[] = {{0, std::span(tokens).subspan(at, piece)},
                                            {1, std::span(other).subspan(at, piece)}};
    const auto logits = multi.append(entries, pool);
    ASSERT_EQ(std::memcmp(logits[0].data(), session_logits[k].data(), logits[0].size() * sizeof(float)), 0)
        << GetParam() << " piece " << k;
    at += piece;
    ++k;
  }
}

// Option log-likelihoods (the eval path: options continue their context's cache, or, for a recurrent model,
// each option runs after its own copy of the context) equal scoring each context + option alone.
TEST_P(FamilyPaths, ContinuationsAgreeWithScore) {
  test::SynthFixture f = tiny(GetParam());
  const Model& m = *f.model;
  ThreadPool pool(2);
  std::vector<ContextWithContinuations> requests = {
      {test::random_tokens(20, 1), {test::random_tokens(3, 2), test::random_tokens(1, 3), test::random_tokens(6, 4)}},
      {test::random_tokens(9, 5), {test::random_tokens(4, 6)}}};
  const auto got = score_continuations(m, requests, pool);
  for (size_t i = 0; i < requests.size(); ++i) {
    for (size_t j = 0; j < requests[i].continuations.size(); ++j) {
      const auto& ctx = requests[i].context;
      const auto& cont = requests[i].continuations[j];
      std::vector<TokenId> input(ctx);
      input.insert(input.end(), cont.begin(), cont.end() - 1);
      std::vector<ScoredTarget> targets;
      for (size_t t = 0; t < cont.size(); ++t) targets.push_back({static_cast<uint32_t>(ctx.size() - 1 + t), cont[t]});
      const auto expected = m.score(input, targets, pool);
      ASSERT_EQ(got[i][j].size(), expected.size());
      for (size_t t = 0; t < expected.size(); ++t) {
        EXPECT_NEAR(got[i][j][t], expected[t], 1e-4) << GetParam() << " request " << i << " option " << j;
      }
    }
  }
}

// Every family's tiny synth model (jamba: Mamba and attention layers, experts and dense FFNs; deepseek2: latent
// attention with YaRN, a dense block then experts) scored by Model::score against the double reference forward,
// on 48 random tokens, every position a target. fp32 against double on 2-26 layers of width 64: measured below
// 4.4e-6 nats per token (gemma), jamba 1.2e-6, deepseek2 7e-7; the bound 1e-4.
TEST_P(FamilyPaths, ScoreMatchesDoubleReference) {
  test::SynthFixture f = tiny(GetParam());
  ThreadPool pool(2);
  const auto tokens = test::random_tokens(48, 21);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
  const std::vector<double> got = f.model->score(tokens, targets, pool);
  const std::vector<double> want = test::reference_nll(f.file, tokens, targets);
  double worst = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - want[i]));
    EXPECT_NEAR(got[i], want[i], 1e-4) << GetParam() << " target " << i;
  }
  std::printf("%s (tiny synth): worst |nll - reference| %.2e nats\n", GetParam().c_str(), worst);
}

// DeepSeek-V2-Lite's form: no q LoRA (attn_q.weight directly); and Jamba's real layer pattern on a small width.
TEST(FamilyVariants, DeepSeekLiteAndJambaPatternMatchReference) {
  SynthShape lite = *synth_preset("tiny", "deepseek2");
  lite.q_lora_rank = 0, lite.optional_tensors = {"attn_q.weight"};
  SynthShape jamba = *synth_preset("jamba-52b", "jamba");
  jamba.n_vocab = 300, jamba.n_embd = 32, jamba.n_layer = 10, jamba.n_head = 4, jamba.n_head_kv = 2;
  jamba.n_ff = 48, jamba.n_expert = 4, jamba.ssm_d_inner = 64, jamba.ssm_dt_rank = 4;
  for (const auto& [name, shape] : {std::pair{"deepseek2-lite", lite}, std::pair{"jamba-pattern", jamba}}) {
    test::SynthFixture f = test::load_synth(shape, 5, GgmlType::F32, std::string("variant-") + name);
    if (std::string(name) == "deepseek2-lite") {
      EXPECT_EQ(f.model->config().q_lora_rank, 0);
      EXPECT_EQ(f.model->weights().layers[0].wq_a.data, nullptr);
    } else {
      int mamba = 0, experts = 0;
      for (const LayerSpec& L : f.model->config().layers) {
        mamba += L.mixer == MixerKind::Mamba;
        experts += L.ffn.kind == FfnKind::Experts;
      }
      EXPECT_EQ(mamba, 9);    // attention only at layer 4
      EXPECT_EQ(experts, 5);  // layers 1, 3, 5, 7, 9
    }
    ThreadPool pool(2);
    const auto tokens = test::random_tokens(40, 3);
    std::vector<ScoredTarget> targets;
    for (uint32_t p = 0; p + 1 < tokens.size(); ++p) targets.push_back({p, tokens[p + 1]});
    const std::vector<double> got = f.model->score(tokens, targets, pool);
    const std::vector<double> want = test::reference_nll(f.file, tokens, targets);
    for (size_t i = 0; i < targets.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << name << " target " << i;
  }
}

// A recurrent state cannot go back: truncate() refuses, and says why.
TEST(FamilyPaths, RecurrentSessionRefusesTruncate) {
  test::SynthFixture f = tiny("mamba");
  ThreadPool pool(1);
  Session s(*f.model, 32);
  EXPECT_FALSE(s.can_truncate());
  s.append(test::random_tokens(5, 1), pool);
  try {
    s.truncate(2);
    FAIL() << "truncate of a recurrent state succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("recurrent state"), std::string::npos) << e.what();
  }
  s.truncate(0);
  EXPECT_EQ(s.size(), 0);
}

std::vector<std::string> all_families() {
  std::vector<std::string> out;
  for (const Family& f : families()) out.push_back(f.name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyPaths, ::testing::ValuesIn(all_families()), [](const auto& info) {
  std::string n = info.param;
  for (char& ch : n) if (ch == '-') ch = '_';
  return n;
});

}  // namespace
}  // namespace lmzip
