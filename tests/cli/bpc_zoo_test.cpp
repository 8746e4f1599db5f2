// The zoo: real trained tiny models with PyTorch reference numbers (../shared/zoo/reference.json, computed in
// float32 with float64 sums under the hkust protocol). `lmzip bpc --protocol hkust` must reproduce tokens,
// windows and scored tokens exactly and BPC within 1e-4 relative (F32 models); the F16/BF16/Q8_0 variants of
// zoo-m2 within 1e-3 of zoo-m2's rows. llama.cpp's perplexity on cc.testA.txt (llamacpp_reference.json) must be
// reproduced by --protocol llama.cpp --window 512.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

nlohmann::json load_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

nlohmann::json run_bpc(const std::string& model, const std::string& corpus, const std::string& extra = "") {
  std::string out, err;
  std::string cmd = test::lmzip_bin() + " bpc --json -m " + test::shared_dir() + "/zoo/models/" + model + ".gguf " +
                    test::shared_dir() + "/zoo/corpora/" + corpus + " " + extra;
  int rc = test::run_command(cmd, &out, &err);
  EXPECT_EQ(rc, 0) << cmd << "\n" << err;
  if (rc != 0) return nullptr;
  return nlohmann::json::parse(out);
}

struct Case {
  std::string model;      // file name without .gguf
  std::string reference;  // reference.json model row to compare with
  std::string corpus;     // reference.json corpus name
  double tolerance;       // relative BPC tolerance
};

// Keeps ctest's listing readable (gtest would print the struct's bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " x " << c.corpus; }

class ZooHkust : public ::testing::TestWithParam<Case> {};

TEST_P(ZooHkust, ReproducesReferenceNumbers) {
  LMZIP_REQUIRE_SHARED("zoo/reference.json");
  const Case& c = GetParam();
  nlohmann::json ref;
  for (const auto& row : load_json(test::shared_dir() + "/zoo/reference.json")) {
    if (row["model"] == c.reference && row["corpus"] == c.corpus) ref = row;
  }
  ASSERT_FALSE(ref.is_null()) << "no reference row for " << c.reference << " x " << c.corpus;
  nlohmann::json got = run_bpc(c.model, c.corpus + ".jsonl", "--protocol hkust");
  ASSERT_FALSE(got.is_null());
  EXPECT_EQ(got["documents"], ref["n_docs"]);
  EXPECT_EQ(got["chars"], ref["chars"]);
  EXPECT_EQ(got["bytes"], ref["bytes"]);
  EXPECT_EQ(got["tokens"], ref["tokens"]);
  EXPECT_EQ(got["windows"], ref["windows"]);
  EXPECT_EQ(got["scored_tokens"], ref["scored_tokens"]);
  double rel = std::abs(got["bpc"].get<double>() - ref["bpc"].get<double>()) / ref["bpc"].get<double>();
  EXPECT_LT(rel, c.tolerance) << "bpc " << got["bpc"] << " vs reference " << ref["bpc"];
  double rel_bpb = std::abs(got["bpb"].get<double>() - ref["bpb"].get<double>()) / ref["bpb"].get<double>();
  EXPECT_LT(rel_bpb, c.tolerance);
  // Recorded for the closing numbers: the relative error of this row.
  RecordProperty("relative_bpc_error", std::to_string(rel));
  std::printf("zoo %s x %s: bpc %.9f reference %.9f relative error %.3g\n", c.model.c_str(), c.corpus.c_str(),
              got["bpc"].get<double>(), ref["bpc"].get<double>(), rel);
}

std::vector<Case> zoo_cases() {
  std::vector<Case> cases;
  for (const char* corpus : {"cc.testA", "python.testA", "arxiv_math.testA"}) {
    for (const char* m : {"zoo-s1", "zoo-s2", "zoo-m1", "zoo-m2"}) cases.push_back({m, m, corpus, 1e-4});
    for (const char* m : {"zoo-m2-F16", "zoo-m2-BF16", "zoo-m2-Q8_0"}) cases.push_back({m, "zoo-m2", corpus, 1e-3});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooHkust, ::testing::ValuesIn(zoo_cases()), [](const auto& info) {
  std::string n = info.param.model + "_" + info.param.corpus;
  for (char& ch : n) if (ch == '-' || ch == '.') ch = '_';
  return n;
});

class ZooLlamaCpp : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooLlamaCpp, ReproducesLlamaPerplexity) {
  LMZIP_REQUIRE_SHARED("zoo/llamacpp_reference.json");
  nlohmann::json ref;
  for (const auto& row : load_json(test::shared_dir() + "/zoo/llamacpp_reference.json")) {
    if (row["model"] == GetParam()) ref = row;
  }
  ASSERT_FALSE(ref.is_null());
  nlohmann::json got = run_bpc(GetParam(), "cc.testA.jsonl", "--protocol llama.cpp --window 512");
  ASSERT_FALSE(got.is_null());
  EXPECT_EQ(got["tokens"], ref["tokens"]);
  EXPECT_EQ(got["windows"], ref["chunks"]);
  EXPECT_EQ(got["scored_tokens"], ref["scored_tokens"]);
  // llama.cpp prints PPL with 4 decimals and computes in its own numerics: agree within 1e-4 relative.
  EXPECT_NEAR(got["ppl"].get<double>(), ref["ppl"].get<double>(), 1e-4 * ref["ppl"].get<double>());
  // The joined text is one unit: no standard error or interval over documents.
  EXPECT_EQ(got["uncertainty_units"], 1);
  EXPECT_TRUE(got["ppl_stderr"].is_null());
  EXPECT_TRUE(got["ppl_ci95"].is_null());
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooLlamaCpp, ::testing::Values("zoo-s1", "zoo-m2", "zoo-m2-Q8_0"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// bpc --kl-base: the first 4 llama.cpp chunks of cc.testA (1020 scored tokens) keep these runs short.
const char* kKlWindows = "--protocol llama.cpp --window 512 --max-chunks 4 --bootstrap 0";

TEST(BpcKl, ModelAgainstItselfIsExactlyZero) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2.gguf");
  const std::string ref = test::shared_dir() + "/zoo/models/zoo-m2.gguf";
  nlohmann::json j = run_bpc("zoo-m2", "cc.testA.jsonl", std::string(kKlWindows) + " --kl-base " + ref);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["kl_base"], "zoo-m2");
  EXPECT_EQ(j["kl_positions"], 1020);
  EXPECT_EQ(j["kl_positions"], j["scored_tokens"]);
  EXPECT_EQ(j["kl_mean"].get<double>(), 0.0);
  EXPECT_EQ(j["kl_max"].get<double>(), 0.0);
  EXPECT_EQ(j["kl_min"].get<double>(), 0.0);
  EXPECT_EQ(j["top1_agreement"].get<double>(), 100.0);
  EXPECT_EQ(j["delta_bpc"].get<double>(), 0.0);
  // The model's own numbers from its full logits agree with plain bpc's output-layer kernel.
  nlohmann::json plain = run_bpc("zoo-m2", "cc.testA.jsonl", std::string(kKlWindows) + " --no-db");
  ASSERT_FALSE(plain.is_null());
  EXPECT_NEAR(j["total_nats"].get<double>(), plain["total_nats"].get<double>(),
              1e-6 * plain["total_nats"].get<double>());
  EXPECT_EQ(j["bpc"].get<double>(), j["bpc_base"].get<double>());
}

TEST(BpcKl, F16AgainstF32IsSmallAndPositive) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2-F16.gguf");
  const std::string ref = test::shared_dir() + "/zoo/models/zoo-m2.gguf";
  nlohmann::json j = run_bpc("zoo-m2-F16", "cc.testA.jsonl", std::string(kKlWindows) + " --kl-base " + ref);
  ASSERT_FALSE(j.is_null());
  const double mean = j["kl_mean"].get<double>();
  EXPECT_GT(mean, 0.0);
  EXPECT_LT(mean, 1e-4);  // F16 weights move the distributions by ~1e-8 nats per token on the zoo
  EXPECT_GT(j["kl_stderr"].get<double>(), 0.0);
  EXPECT_LT(j["kl_stderr"].get<double>(), mean);
  EXPECT_LE(j["kl_median"].get<double>(), j["kl_p90"].get<double>());
  EXPECT_LE(j["kl_p90"].get<double>(), j["kl_p99"].get<double>());
  EXPECT_LE(j["kl_p99"].get<double>(), j["kl_max"].get<double>());
  EXPECT_GE(j["kl_min"].get<double>(), 0.0);
  EXPECT_GT(j["top1_agreement"].get<double>(), 99.0);
  EXPECT_LT(std::abs(j["delta_bpc"].get<double>()), 1e-4 * j["bpc_base"].get<double>());
  EXPECT_NEAR(j["delta_bpc"].get<double>(), j["bpc"].get<double>() - j["bpc_base"].get<double>(), 1e-15);
}

TEST(BpcKl, DifferentTokenizersAreRefusedNamingBothFiles) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2.gguf");
  const std::string other = test::temp_dir() + "/kl_synth.gguf";
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " synth -o " + other, nullptr), 0);
  const std::string model = test::shared_dir() + "/zoo/models/zoo-m2.gguf";
  std::string out, err;
  const int rc = test::run_command(test::lmzip_bin() + " bpc -m " + model + " --kl-base " + other + " " +
                                       kKlWindows + " " + test::shared_dir() + "/zoo/corpora/cc.testA.jsonl",
                                   &out, &err);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find(model), std::string::npos) << err;
  EXPECT_NE(err.find(other), std::string::npos) << err;
  EXPECT_NE(err.find("do not share a tokenizer"), std::string::npos) << err;
  EXPECT_TRUE(out.empty()) << out;
}

TEST(BpcKl, RefusesOptionsItDoesNotSupport) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2.gguf");
  const std::string model = test::shared_dir() + "/zoo/models/zoo-m2.gguf";
  std::string err;
  const int rc = test::run_command(test::lmzip_bin() + " bpc -m " + model + " --kl-base " + model +
                                       " --shard 0/2 " + test::shared_dir() + "/zoo/corpora/cc.testA.jsonl",
                                   nullptr, &err);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("--kl-base"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// --loss-curve: the token curve's sums are the run's total nats; the byte curve starts at byte 0.
TEST(BpcLossCurve, CurvesAddUpToTheRunsNats) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string path = test::temp_dir() + "/curve.json";
  nlohmann::json j = run_bpc("zoo-s1", "cc.testA.jsonl", "--protocol doc --bootstrap 0 --no-db --loss-curve " + path);
  ASSERT_FALSE(j.is_null());
  const nlohmann::json c = load_json(path)["corpora"][0];
  EXPECT_EQ(c["corpus"], "cc.testA");
  double nats = 0;
  uint64_t count = 0;
  const auto& t = c["token_position"];
  for (size_t i = 0; i < t["count"].size(); ++i) {
    nats += t["mean_nats"][i].get<double>() * t["count"][i].get<double>();
    count += t["count"][i].get<uint64_t>();
  }
  EXPECT_EQ(count, j["scored_tokens"].get<uint64_t>());
  EXPECT_NEAR(nats, j["total_nats"].get<double>(), 1e-9 * j["total_nats"].get<double>());
  EXPECT_EQ(t["count"].size(), 1900u);  // doc windows of 1900 tokens: outputs 0..1899
  const auto& b = c["byte_position"];
  ASSERT_GT(b["count"].size(), 100u);
  EXPECT_EQ(b["count"][0], j["documents"]);  // every document's first byte
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// --per-doc --min-k: at 100 % Min-K% is the document's mean NLL; the BPC is the plain run's.
TEST(BpcMinK, PerDocumentScoresAtOneHundredPercentAreMeans) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string path = test::temp_dir() + "/mink.jsonl";
  nlohmann::json j = run_bpc("zoo-s1", "cc.testA.jsonl",
                             "--protocol doc --bootstrap 0 --no-db --per-doc " + path + " --min-k 100");
  ASSERT_FALSE(j.is_null());
  nlohmann::json plain = run_bpc("zoo-s1", "cc.testA.jsonl", "--protocol doc --bootstrap 0 --no-db");
  ASSERT_FALSE(plain.is_null());
  // From the full logits in double vs the output-layer kernel: the same up to float rounding.
  EXPECT_NEAR(j["bpc"].get<double>(), plain["bpc"].get<double>(), 1e-7 * plain["bpc"].get<double>());
  std::ifstream f(path);
  std::string line;
  int docs = 0;
  while (std::getline(f, line)) {
    auto d = nlohmann::json::parse(line);
    ASSERT_TRUE(d.contains("min_k_100") && d.contains("min_k_pp_100")) << line;
    const double mean_nll = d["nats"].get<double>() / d["scored_tokens"].get<double>();
    EXPECT_NEAR(d["min_k_100"].get<double>(), mean_nll, 1e-9 * mean_nll);
    EXPECT_GT(d["min_k_pp_100"].get<double>(), -10.0);
    EXPECT_LT(d["min_k_pp_100"].get<double>(), 10.0);
    ++docs;
  }
  EXPECT_EQ(docs, j["documents"].get<int>());
  std::string err;
  EXPECT_NE(test::run_command(test::lmzip_bin() + " bpc --no-db -m " + test::shared_dir() +
                                  "/zoo/models/zoo-s1.gguf --min-k 20 " + test::shared_dir() +
                                  "/zoo/corpora/cc.testA.jsonl",
                              nullptr, &err),
            0);
  EXPECT_NE(err.find("--min-k needs --per-doc"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip
