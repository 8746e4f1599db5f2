// Every family end to end through the CLI, on llama.cpp's random-weight fixtures (../shared/archs): `lmzip bpc
// --protocol llama.cpp` reproduces llama-perplexity's token count and final perplexity, `compress`/`decompress`
// round-trips a text exactly, and `eval` runs a multiple-choice task and a generation task.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kFixtures = "tests/eval/fixtures/";

nlohmann::json reference_row(const std::string& file) {
  std::ifstream f(test::shared_dir() + "/archs/reference.json");
  const nlohmann::json ref = nlohmann::json::parse(f);
  for (const auto& m : ref["models"]) {
    if (m["file"] == "shared/archs/" + file + ".gguf") return m;
  }
  return nullptr;
}

std::string arch_model(const std::string& file) { return test::shared_dir() + "/archs/" + file + ".gguf"; }

class FamilyCli : public ::testing::TestWithParam<std::string> {};

TEST_P(FamilyCli, BpcReproducesLlamaPerplexity) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  const nlohmann::json row = reference_row(GetParam());
  ASSERT_FALSE(row.is_null());
  const test::CliResult r = test::run_lmzip("bpc --json --no-db -m " + arch_model(GetParam()) + " " +
                                            test::shared_dir() + "/zoo/corpora/cc.testA.txt --protocol llama.cpp "
                                            "--window 128 --max-chunks 8");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"], 30327);
  EXPECT_EQ(j["windows"], 8);
  EXPECT_EQ(j["scored_tokens"], 504);
  const double expected = row["variants"]["kv_cache_f32"]["final_ppl"];
  EXPECT_NEAR(j["ppl"].get<double>(), expected, 5e-4 * expected);
}

TEST_P(FamilyCli, CompressDecompressRoundTrips) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  const std::string dir = test::temp_dir() + "/" + GetParam();
  std::string out, err;
  ASSERT_EQ(test::run_command("mkdir -p " + dir, &out, &err), 0);
  const std::string text = read_file(test::shared_dir() + "/zoo/corpora/cc.testA.txt").substr(0, 1500) + "\x01\xff";
  {
    std::ofstream out(dir + "/in.txt", std::ios::binary);
    out << text;
  }
  test::CliResult c = test::run_lmzip("compress --segment-tokens 256 -m " + arch_model(GetParam()) + " " + dir +
                                      "/in.txt -o " + dir + "/in.lmz");
  ASSERT_EQ(c.rc, 0) << c.err;
  test::CliResult d = test::run_lmzip("decompress -m " + arch_model(GetParam()) + " " + dir + "/in.lmz -o " + dir +
                                      "/out.txt");
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_EQ(read_file(dir + "/out.txt"), text);
}

TEST_P(FamilyCli, EvalRunsChoiceAndGenerationTasks) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  test::CliResult arc = test::run_lmzip("eval --json --no-db -t 2 --max-context 256 -m " + arch_model(GetParam()) +
                                        " --task arc_challenge --data " + kFixtures +
                                        "arc/ARC-Challenge-Test.jsonl --fewshot-data " + kFixtures +
                                        "arc/ARC-Challenge-Train.jsonl --shots 1");
  ASSERT_EQ(arc.rc, 0) << arc.err;
  const auto a = nlohmann::json::parse(arc.out);
  EXPECT_EQ(a["documents"], 3);
  EXPECT_TRUE(a["metrics"].contains("acc_norm"));
  test::CliResult nq = test::run_lmzip("eval --json --no-db -t 2 --max-context 256 -m " + arch_model(GetParam()) +
                                       " --task nq_open --data " + kFixtures + "nq_open/NQ-open.dev.jsonl "
                                       "--fewshot-data " + kFixtures + "nq_open/NQ-open.train.jsonl --shots 1");
  ASSERT_EQ(nq.rc, 0) << nq.err;
  EXPECT_TRUE(nlohmann::json::parse(nq.out)["metrics"].contains("exact_match,remove_whitespace"));
}

INSTANTIATE_TEST_SUITE_P(Archs, FamilyCli,
                         ::testing::Values("llama", "qwen2", "mixtral", "qwen2moe", "qwen", "falcon-7b", "falcon-40b",
                                           "starcoder", "starcoder2", "gemma", "gemma2", "phi3", "gptneox",
                                           "stablelm", "mamba", "command-r", "olmo2", "deepseek2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(FamilyCliInfo, PrintsTheBlockStructure) {
  LMZIP_REQUIRE_SHARED("archs/reference.json");
  test::CliResult r = test::run_lmzip("info " + arch_model("gemma2"));
  ASSERT_EQ(r.rc, 0) << r.err;
  // Gemma 2: local (sliding window) layers on even indices, global on odd, both with post-norms and soft-capping.
  EXPECT_NE(r.out.find("layers 0, 2, 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("window 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("softcap 20"), std::string::npos) << r.out;
  r = test::run_lmzip("info --json " + arch_model("falcon-40b"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["blocks"].size(), 1u);
  EXPECT_EQ(j["blocks"][0]["block"], "LayerNorm -> [attention (GQA, fused QKV, RoPE neox) | GELU MLP] -> +");
}

TEST(FamilyCliSynth, EveryFamilyAndStudyPresetsLoad) {
  const std::string dir = test::temp_dir();
  for (const char* arch : {"llama", "qwen2", "qwen2moe", "qwen", "falcon", "starcoder", "starcoder2", "gemma",
                           "gemma2", "phi3", "gptneox", "stablelm", "command-r", "olmo2", "mamba", "deepseek2",
                           "jamba"}) {
    const std::string path = dir + "/synth-" + std::string(arch) + ".gguf";
    test::CliResult s = test::run_lmzip(std::string("synth --arch ") + arch + " -o " + path);
    ASSERT_EQ(s.rc, 0) << arch << ": " << s.err;
    test::CliResult i = test::run_lmzip("info --json " + path);
    ASSERT_EQ(i.rc, 0) << i.err;
    EXPECT_FALSE(nlohmann::json::parse(i.out).contains("blocks_error")) << arch << ": " << i.out;
  }
  // A study model's real shape, cut to one layer so that it stays small.
  test::CliResult s = test::run_lmzip("synth --preset falcon-7b --layers 1 --type Q8_0 -o " + dir + "/f7.gguf");
  ASSERT_EQ(s.rc, 0) << s.err;
  const auto j = nlohmann::json::parse(test::run_lmzip("info --json " + dir + "/f7.gguf").out);
  EXPECT_EQ(j["architecture"], "falcon");
  EXPECT_EQ(j["hyperparameters"]["attention.head_count"], 71);
  // An unknown architecture names the supported ones.
  s = test::run_lmzip("synth --arch rwkv6 -o " + dir + "/x.gguf");
  EXPECT_EQ(s.rc, 2);
  EXPECT_NE(s.err.find("supported: llama, qwen2"), std::string::npos) << s.err;
  s = test::run_lmzip("synth --preset mixtral-8x7b --arch qwen2 -o " + dir + "/x.gguf");
  EXPECT_NE(s.rc, 0);
  EXPECT_NE(s.err.find("is a llama model"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace lmzip
