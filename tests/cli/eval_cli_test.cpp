// `lmzip eval` end to end on the bundled demo model and the task fixtures: the JSON contract, sample logs, the
// results store, and errors naming the file and the expected fields.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kModel = "models/zoo-m2-F16.gguf";
const std::string kFixtures = "tests/eval/fixtures/";

using CliRun = test::CliResult;
CliRun lmzip(const std::string& args) { return test::run_lmzip(args); }

TEST(EvalCli, ArcChallengeJsonAndSampleLog) {
  const std::string log = test::temp_dir() + "/arc-samples.jsonl";
  CliRun r = lmzip("eval --json --no-db -t 1 -m " + kModel + " --task arc_challenge --data " + kFixtures +
                   "arc/ARC-Challenge-Test.jsonl --fewshot-data " + kFixtures +
                   "arc/ARC-Challenge-Train.jsonl --shots 2 --min-k 20 --share-prefix --log-samples " + log);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "arc_challenge");
  EXPECT_EQ(j["documents"], 3);
  EXPECT_EQ(j["num_fewshot"], 2);
  for (const char* m : {"acc", "acc_norm", "min_k_20"}) ASSERT_TRUE(j["metrics"].contains(m)) << m;
  double acc = j["metrics"]["acc"]["value"];
  EXPECT_TRUE(acc == 0 || acc == 1.0 / 3 || acc == 2.0 / 3 || acc == 1) << acc;
  std::istringstream lines(read_file(log));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto s = nlohmann::json::parse(line);
    EXPECT_EQ(s["loglikelihoods"].size(), s["choices"].size());
    EXPECT_TRUE(s["prompt"].get<std::string>().starts_with("Question: "));
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(EvalCli, GenerationTaskRunsAndRecordsScores) {
  const std::string db = test::temp_dir() + "/eval.sqlite";
  CliRun r = lmzip("eval --json --db " + db + " -t 1 -m " + kModel + " --task nq_open --data " + kFixtures +
                   "nq_open/NQ-open.dev.jsonl --fewshot-data " + kFixtures + "nq_open/NQ-open.train.jsonl --shots 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["metrics"].contains("exact_match,remove_whitespace"));
  CliRun list = lmzip("results list --scores --db " + db + " --json");
  EXPECT_NE(list.out.find("nq_open"), std::string::npos) << list.out << list.err;
}

TEST(EvalCli, ErrorsNameTheFileAndFields) {
  CliRun r = lmzip("eval --no-db -m " + kModel + " --task hellaswag --data " + kFixtures + "gsm8k/test.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("gsm8k/test.jsonl:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("activity_label"), std::string::npos) << r.err;
  r = lmzip("eval --no-db -m " + kModel + " --task nope --data x");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("arc_challenge"), std::string::npos) << r.err;
  r = lmzip("eval --no-db -m " + kModel + " --task mmlu --data " + kFixtures + "mmlu/test");
  EXPECT_EQ(r.rc, 1);  // 5-shot needs 5 dev rows per subject; the fixture has 2
  EXPECT_NE(r.err.find("5-shot"), std::string::npos) << r.err;
  r = lmzip("eval --no-db --task gsm8k --data x");
  EXPECT_EQ(r.rc, 2);
}

TEST(EvalCli, EveryBuiltinTaskRunsOnItsFixture) {
  const std::string mbpp_test = test::temp_dir() + "/mbpp_test.jsonl";
  std::string all = read_file(kFixtures + "mbpp/mbpp.jsonl");
  write_file_atomic(mbpp_test, all.substr(all.rfind("{\"text\"")));  // task_id 11: the evaluated split
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"arc_challenge", "arc/ARC-Challenge-Test.jsonl --fewshot-data " + kFixtures + "arc/ARC-Challenge-Train.jsonl --shots 2"},
      {"hellaswag", "hellaswag/hellaswag_val.jsonl"},
      {"mmlu", "mmlu/test --fewshot-data " + kFixtures + "mmlu/dev --shots 1"},
      {"mmlu_cloze", "mmlu/test --fewshot-data " + kFixtures + "mmlu/dev --shots 1"},
      {"mmlu_math", "mmlu/test --fewshot-data " + kFixtures + "mmlu/dev --shots 1"},
      {"gsm8k", "gsm8k/test.jsonl --fewshot-data " + kFixtures + "gsm8k/train.jsonl --shots 2"},
      {"triviaqa", "triviaqa/validation.jsonl --shots 0"},
      {"nq_open", "nq_open/NQ-open.dev.jsonl --fewshot-data " + kFixtures + "nq_open/NQ-open.train.jsonl --shots 1"},
      {"humaneval", "humaneval/HumanEval.jsonl.gz"},
      {"mbpp", "mbpp/mbpp.jsonl --limit 0 --fewshot-data " + kFixtures + "mbpp/mbpp.jsonl"},
  };
  for (const auto& [task, data] : runs) {
    CliRun r = lmzip("eval --json --no-db -t 1 --max-context 512 -m " + kModel + " --task " + task + " --data " +
                     kFixtures + data);
    ASSERT_EQ(r.rc, 0) << task << ": " << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["task"], task);
    EXPECT_FALSE(j["metrics"].empty() && j["documents"] != 0) << task;
  }
  CliRun r = lmzip("eval --json --no-db -t 1 -m " + kModel + " --task mbpp --data " + mbpp_test + " --fewshot-data " +
                   kFixtures + "mbpp/mbpp.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["metrics"].contains("pass@1"));
}

TEST(EvalCli, ListTasks) {
  CliRun r = lmzip("eval --list-tasks");
  ASSERT_EQ(r.rc, 0);
  for (const char* t : {"arc_challenge", "hellaswag", "mmlu", "mmlu_cloze", "mmlu_math", "gsm8k", "triviaqa", "nq_open",
                        "humaneval", "mbpp"}) {
    EXPECT_NE(r.out.find(t), std::string::npos) << t;
  }
}

}  // namespace
}  // namespace lmzip
