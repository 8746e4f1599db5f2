// `lmzip eval` end to end with the bundled zoo model on the MATH, SAT-Math and DS-1000 fixtures: each task runs,
// reports its metrics with the documented names, and logs prompts in the task's format. (A tiny model scores
// near zero; the values are checked to be ones the documents can give.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kModel = "models/zoo-m2-F16.gguf";
const std::string kFixtures = "tests/eval/fixtures/";

std::vector<nlohmann::json> read_samples(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

bool is_fraction_of(double v, int n) {
  for (int k = 0; k <= n; ++k) {
    if (std::abs(v - static_cast<double>(k) / n) < 1e-12) return true;
  }
  return false;
}

TEST(EvalTasksCli, MathFourShotMinervaOnTheDirectoryLayout) {
  const std::string log = test::temp_dir() + "/math-samples.jsonl";
  auto r = test::run_lmzip("eval --json --no-db -t 1 -m " + kModel + " --task math --data " + kFixtures +
                           "math/test --limit 2 --log-samples " + log);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "math");
  EXPECT_EQ(j["documents"], 2);
  EXPECT_EQ(j["num_fewshot"], 4);
  ASSERT_TRUE(j["metrics"].contains("exact_match,minerva")) << r.out;
  EXPECT_TRUE(is_fraction_of(j["metrics"]["exact_match,minerva"]["value"], 2));
  auto samples = read_samples(log);
  ASSERT_EQ(samples.size(), 2u);
  const std::string prompt = samples[0]["prompt"];
  EXPECT_TRUE(prompt.starts_with("Problem:\nFind the domain of the expression  $")) << prompt;
  EXPECT_TRUE(prompt.ends_with("\n\nProblem:\nIf $x + 3 = 5$, what is the value of $x$?\n\nSolution:")) << prompt;
  EXPECT_EQ(samples[0]["references"][0], "2");
  EXPECT_TRUE(samples[1]["extracted"].contains("minerva"));
}

TEST(EvalTasksCli, SatMathAgievalFewShot) {
  const std::string log = test::temp_dir() + "/sat-samples.jsonl";
  auto r = test::run_lmzip("eval --json --no-db -t 1 -m " + kModel + " --task sat_math --data " + kFixtures +
                           "sat_math/sat-math.jsonl --fewshot-data " + kFixtures + "sat_math/few_shot.jsonl" +
                           " --log-samples " + log);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["documents"], 3);
  EXPECT_EQ(j["num_fewshot"], 4);
  ASSERT_TRUE(j["metrics"].contains("exact_match,agieval")) << r.out;
  EXPECT_TRUE(is_fraction_of(j["metrics"]["exact_match,agieval"]["value"], 3));
  auto samples = read_samples(log);
  ASSERT_EQ(samples.size(), 3u);
  const std::string prompt = samples[2]["prompt"];
  EXPECT_TRUE(prompt.starts_with("Here are the answers for the problems in the exam.\nProblem 1.    $$(x-6)^{2}"));
  EXPECT_TRUE(prompt.ends_with("Problem 5.    A line passes through $(0,1)$ and $(2,5)$. What is its slope?\n"
                               "Choose from the following options:    (A)1 (B)2 (C)3 (D)4\n"))
      << prompt;
}

TEST(EvalTasksCli, Ds1000ExecutesAndSkipsTheMissingLibrary) {
  const std::string log = test::temp_dir() + "/ds1000-samples.jsonl";
  auto r = test::run_lmzip("eval --json --no-db -t 1 -m " + kModel + " --task ds1000 --data " + kFixtures +
                           "ds1000/ds1000.jsonl.gz --log-samples " + log);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["documents"], 3);
  ASSERT_TRUE(j["metrics"].contains("pass@1")) << r.out;
  ASSERT_TRUE(j["metrics"].contains("skipped")) << r.out;
  EXPECT_DOUBLE_EQ(j["metrics"]["skipped"]["value"], 1.0 / 3);  // the lmzipfakelib problem
  EXPECT_TRUE(is_fraction_of(j["metrics"]["pass@1"]["value"], 2));
  EXPECT_EQ(j["metrics"]["pass@1"]["n"], 2);  // over the executed problems only
  EXPECT_EQ(j["metrics"]["skipped"]["n"], 3);
  // The table says how many were skipped and why.
  auto table = test::run_lmzip("eval --no-db -t 1 -m " + kModel + " --task ds1000 --data " + kFixtures +
                               "ds1000/ds1000.jsonl.gz");
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("1 of 3 documents skipped: a library they need is missing"), std::string::npos)
      << table.out;
  auto samples = read_samples(log);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_NE(samples[0]["execution"], "skipped");  // numpy is installed (scripts/deps)
  EXPECT_NE(samples[1]["execution"], "skipped");  // pandas
  EXPECT_EQ(samples[2]["execution"], "skipped");
  EXPECT_EQ(samples[2]["missing_module"], "lmzipfakelib");
}

}  // namespace
}  // namespace lmzip
