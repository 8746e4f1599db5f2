// The CUDA engine against the CPU engine: every zoo model x testA corpus under the hkust protocol (BPC within
// 1e-3 relative in bf16, 1e-5 in fp32), per-target nats on one window, batched = single windows, and tiny
// synthetic qwen2 (biases, NEOX RoPE) and tied llama models. Needs the plugin ($LMZIP_CUDA_PLUGIN) and a GPU:
// without them every test is skipped with the reason (CI has neither; scripts/cuda/check.sh runs it on a GPU).
// $LMZIP_CUDA_MODELS: colon-separated model paths (default: the zoo's models in ../shared).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <algorithm>
#include <sstream>

#include "lmzip/core/error.h"
#include "lmzip/device/device.h"
#include "lmzip/format/gguf.h"
#include "lmzip/model/synth.h"
#include "lmzip/score/bpc.h"
#include "lmzip/score/corpus.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

// Empty when the tests can run; otherwise why not.
std::string skip_reason() {
  const char* p = std::getenv("LMZIP_CUDA_PLUGIN");
  if (!p || !*p) return "LMZIP_CUDA_PLUGIN is not set (no CUDA plugin to test)";
  if (!std::filesystem::exists(p)) return std::string("LMZIP_CUDA_PLUGIN names a missing file: ") + p;
  return "";
}

#define SKIP_WITHOUT_CUDA()                                \
  do {                                                     \
    const std::string why = skip_reason();                 \
    if (!why.empty()) GTEST_SKIP() << why;                 \
  } while (0)

// Creates an engine; a missing GPU (the plugin loads but finds no device) skips the test.
std::unique_ptr<CudaEngine> engine_or_skip(const Model& m, DeviceCompute compute, int max_tokens, int max_seq,
                                           std::string* skip) {
  try {
    return CudaEngine::create(m, {.compute = compute, .max_tokens = max_tokens, .max_seq = max_seq});
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("finding a CUDA GPU") != std::string::npos) {
      *skip = msg;
      return nullptr;
    }
    throw;
  }
}

std::vector<std::string> zoo_models() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("LMZIP_CUDA_MODELS"); env && *env) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':')) {
      if (!item.empty()) out.push_back(item);
    }
    return out;
  }
  for (const char* n : {"zoo-s1", "zoo-s2", "zoo-m1", "zoo-m2", "zoo-m2-F16", "zoo-m2-BF16", "zoo-m2-Q8_0"}) {
    const std::string p = test::shared_dir() + "/zoo/models/" + n + ".gguf";
    if (std::filesystem::exists(p)) out.push_back(p);
  }
  return out;
}

std::vector<std::string> zoo_corpora() {
  std::vector<std::string> out;
  for (const char* n : {"cc", "python", "arxiv_math"}) {
    out.push_back(test::shared_dir() + "/zoo/corpora/" + n + ".testA.jsonl");
  }
  return out;
}

std::vector<ScoredTarget> to_engine(std::span<const ScoreTarget> targets) {
  std::vector<ScoredTarget> t(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) t[i] = {targets[i].position, targets[i].token};
  return t;
}

BpcResult run_cpu(const Model& m, const ScoringPlan& plan, ThreadPool& pool) {
  WindowScorer s = [&](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    return m.score(input, to_engine(targets), pool);
  };
  return run_scoring(plan, s, {});
}

BpcResult run_gpu(CudaEngine& e, const ScoringPlan& plan) {
  WindowScorer s = [&](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    return e.score(input, to_engine(targets));
  };
  RunOptions o;
  o.batch_windows = static_cast<size_t>(e.max_seq());
  o.batch_scorer = [&](std::span<const WindowInput> windows) {
    std::vector<std::vector<ScoredTarget>> t(windows.size());
    std::vector<CudaEngine::Window> w(windows.size());
    for (size_t i = 0; i < windows.size(); ++i) {
      t[i] = to_engine(windows[i].targets);
      w[i] = {windows[i].input, t[i]};
    }
    return e.score_batch(w);
  };
  return run_scoring(plan, s, o);
}

TEST(Cuda, ZooBpcMatchesTheCpuEngine) {
  SKIP_WITHOUT_CUDA();
  LMZIP_REQUIRE_SHARED("zoo/corpora/cc.testA.jsonl");
  const std::vector<std::string> models = zoo_models();
  ASSERT_FALSE(models.empty()) << "no zoo model found";
  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const ProtocolParams params = default_params(Protocol::Hkust);
  for (const std::string& path : models) {
    GgufFile file = GgufFile::open(path);
    auto tok = Tokenizer::from_gguf(file);
    auto model = Model::load(file);
    std::vector<ScoringPlan> plans;
    std::vector<double> cpu;
    for (const std::string& c : zoo_corpora()) {
      plans.push_back(plan_scoring(load_corpus(c, {}), *tok, params, pool.size()));
      cpu.push_back(run_cpu(*model, plans.back(), pool).bpc());
    }
    for (DeviceCompute compute : {DeviceCompute::Bf16, DeviceCompute::Fp32}) {
      std::string skip;
      auto e = engine_or_skip(*model, compute, static_cast<int>(params.window), 4, &skip);
      if (!e) GTEST_SKIP() << skip;
      const double bound = compute == DeviceCompute::Fp32 ? 1e-5 : 1e-3;
      for (size_t ci = 0; ci < plans.size(); ++ci) {
        const BpcResult g = run_gpu(*e, plans[ci]);
        const double rel = std::abs(g.bpc() - cpu[ci]) / cpu[ci];
        std::printf("CUDA-BPC %s %s %s cpu %.9f gpu %.9f rel %.3e %.0f tok/s\n",
                    std::filesystem::path(path).filename().c_str(),
                    std::filesystem::path(zoo_corpora()[ci]).filename().c_str(),
                    compute == DeviceCompute::Fp32 ? "fp32" : "bf16", cpu[ci], g.bpc(), rel,
                    g.seconds > 0 ? double(g.scored_tokens) / g.seconds : 0.0);
        EXPECT_TRUE(std::isfinite(g.bpc()));
        EXPECT_LE(rel, bound) << path << " " << zoo_corpora()[ci] << " " << e->description();
        EXPECT_EQ(g.scored_tokens, plans[ci].scored_tokens);
      }
    }
  }
}

// Per-target agreement on one window of `m`, and batched windows against single ones.
void compare_window(const Model& m, const std::vector<TokenId>& input, const std::vector<ScoredTarget>& targets,
                    double fp32_bound, double bf16_bound, const std::string& label) {
  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const std::vector<double> cpu = m.score(input, targets, pool);
  for (DeviceCompute compute : {DeviceCompute::Fp32, DeviceCompute::Bf16}) {
    std::string skip;
    auto e = engine_or_skip(m, compute, static_cast<int>(input.size()), 3, &skip);
    if (!e) GTEST_SKIP() << skip;
    const std::vector<double> gpu = e->score(input, targets);
    ASSERT_EQ(gpu.size(), cpu.size());
    double worst = 0, mean = 0;
    for (size_t i = 0; i < gpu.size(); ++i) {
      ASSERT_TRUE(std::isfinite(gpu[i])) << i;
      worst = std::max(worst, std::abs(gpu[i] - cpu[i]));
      mean += std::abs(gpu[i] - cpu[i]) / gpu.size();
    }
    const bool fp32 = compute == DeviceCompute::Fp32;
    std::printf("CUDA-NATS %s %s targets %zu worst %.3e mean %.3e nats\n", label.c_str(), fp32 ? "fp32" : "bf16",
                gpu.size(), worst, mean);
    EXPECT_LE(worst, fp32 ? fp32_bound : bf16_bound) << label;
    // Three windows in one pass (the same one, shifted copies) equal each scored alone.
    std::vector<std::vector<TokenId>> ins(3, input);
    std::rotate(ins[1].begin(), ins[1].begin() + 1, ins[1].end());
    std::rotate(ins[2].begin(), ins[2].begin() + 2, ins[2].end());
    std::vector<CudaEngine::Window> w;
    for (auto& in : ins) w.push_back({in, targets});
    const auto batched = e->score_batch(w);
    ASSERT_EQ(batched.size(), 3u);
    for (size_t s = 0; s < 3; ++s) {
      const std::vector<double> single = e->score(ins[s], targets);
      ASSERT_EQ(batched[s].size(), single.size());
      double d = 0;
      for (size_t i = 0; i < single.size(); ++i) d = std::max(d, std::abs(batched[s][i] - single[i]));
      EXPECT_LE(d, fp32 ? 1e-5 : 2e-2) << label << " window " << s;
    }
  }
}

TEST(Cuda, PerTargetNatsOnOneZooWindow) {
  SKIP_WITHOUT_CUDA();
  const std::vector<std::string> models = zoo_models();
  ASSERT_FALSE(models.empty());
  GgufFile file = GgufFile::open(models.back());
  auto tok = Tokenizer::from_gguf(file);
  auto model = Model::load(file);
  ThreadPool pool(2);
  const ScoringPlan plan = plan_scoring(load_corpus(zoo_corpora()[0], {}), *tok, default_params(Protocol::Hkust), 2);
  const Window& w = plan.windows[0];
  std::vector<TokenId> input(plan.stream.tokens.begin() + w.begin, plan.stream.tokens.begin() + w.begin + w.length);
  std::vector<ScoredTarget> targets;
  for (size_t p = w.first_scored; p < w.first_scored + w.n_scored; ++p) {
    targets.push_back({static_cast<uint32_t>(p), plan.stream.tokens[w.begin + p + 1]});
  }
  compare_window(*model, input, targets, 2e-4, 0.25, std::filesystem::path(models.back()).filename().string());
}

void synth_case(const std::string& arch, bool tied, GgmlType type) {
  SynthOptions o;
  o.shape = *synth_preset("tiny", arch);
  o.shape.tied_output = tied;
  o.type = type;
  o.seed = 11;
  const std::string path = test::temp_dir() + "/cuda_" + arch + (tied ? "_tied" : "") + ".gguf";
  synth_model(o).writer.write(path);
  GgufFile file = GgufFile::open(path);
  auto model = Model::load(file);
  std::mt19937 rng(5);
  std::uniform_int_distribution<TokenId> token(0, model->config().n_vocab - 1);
  std::vector<TokenId> input(200);
  for (TokenId& t : input) t = token(rng);
  std::vector<ScoredTarget> targets;
  for (uint32_t p = 0; p < input.size(); p += 3) targets.push_back({p, token(rng)});
  targets.push_back({0, token(rng)});  // a position scored twice
  compare_window(*model, input, targets, 1e-4, 0.1, arch + (tied ? " tied" : ""));
}

TEST(Cuda, SynthQwen2BiasesAndNeoxMatchTheCpu) {
  SKIP_WITHOUT_CUDA();
  synth_case("qwen2", false, GgmlType::F32);
}

TEST(Cuda, SynthTiedLlamaQ8MatchesTheCpu) {
  SKIP_WITHOUT_CUDA();
  synth_case("llama", true, GgmlType::Q8_0);
}

}  // namespace
}  // namespace lmzip
