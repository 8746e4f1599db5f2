// `lmzip eval` end to end on the bundled demo model and the task fixtures: the JSON contract, sample logs, the
// results store, and errors naming the file and the expected fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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
                   "arc/ARC-Challenge-Train.jsonl --shots 2 --min-k 20 --log-samples " + log);
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
  };  // mbpp: below, on its evaluated split (--limit 0, which evaluates nothing, is refused)
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

// Code tasks on a kernel that refuses the sandbox's namespaces (simulated with LMZIP_SANDBOX_NO_NAMESPACES=1):
// an error naming --unsafe-exec before the model is loaded; with --unsafe-exec a warning, and every sample says
// how it was confined.
TEST(EvalCli, CodeTasksRefuseToRunUnconfinedWithoutUnsafeExec) {
  const std::string dir = test::temp_dir();
  const std::string mbpp_test = dir + "/mbpp_unsafe.jsonl", samples = dir + "/unsafe_samples.jsonl";
  std::string all = read_file(kFixtures + "mbpp/mbpp.jsonl");
  write_file_atomic(mbpp_test, all.substr(all.rfind("{\"text\"")));
  const std::string cmd = "eval --json --no-db -t 1 -m " + kModel + " --task mbpp --data " + mbpp_test +
                          " --fewshot-data " + kFixtures + "mbpp/mbpp.jsonl --log-samples " + samples;
  CliRun confined = lmzip(cmd);
  ASSERT_EQ(confined.rc, 0) << confined.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(samples))["isolation"], "namespaces");
  setenv("LMZIP_SANDBOX_NO_NAMESPACES", "1", 1);
  CliRun refused = lmzip(cmd);
  CliRun unsafe = lmzip(cmd + " --unsafe-exec");
  unsetenv("LMZIP_SANDBOX_NO_NAMESPACES");
  EXPECT_EQ(refused.rc, 1);
  EXPECT_NE(refused.err.find("cannot confine untrusted code"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--unsafe-exec"), std::string::npos) << refused.err;
  ASSERT_EQ(unsafe.rc, 0) << unsafe.err;
  EXPECT_NE(unsafe.err.find("warning: generated code runs unconfined"), std::string::npos) << unsafe.err;
  const std::string isolation = nlohmann::json::parse(read_file(samples))["isolation"];
  EXPECT_EQ(isolation.rfind("none (--unsafe-exec)", 0), 0u) << isolation;
  EXPECT_NE(lmzip("eval --help").out.find("--unsafe-exec"), std::string::npos);
}

TEST(EvalCli, ListTasks) {
  CliRun r = lmzip("eval --list-tasks");
  ASSERT_EQ(r.rc, 0);
  for (const char* t : {"arc_challenge", "hellaswag", "mmlu", "mmlu_cloze", "mmlu_math", "gsm8k", "triviaqa", "nq_open",
                        "humaneval", "mbpp"}) {
    EXPECT_NE(r.out.find(t), std::string::npos) << t;
  }
}

// n ARC-style questions (options differ per question) in a temporary JSONL file.
std::string arc_data(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    nlohmann::json d = {{"id", "q" + std::to_string(i)},
                        {"question", {{"stem", "Which of these is number " + std::to_string(i) + "?"},
                                      {"choices", nlohmann::json::array()}}},
                        {"answerKey", std::string(1, static_cast<char>('A' + i % 4))}};
    for (int c = 0; c < 4; ++c) {
      d["question"]["choices"].push_back({{"text", "item " + std::to_string((i * 3 + c * 7) % 11)},
                                          {"label", std::string(1, static_cast<char>('A' + c))}});
    }
    text += d.dump() + "\n";
  }
  const std::string path = test::temp_dir() + "/arc" + std::to_string(n) + ".jsonl";
  write_file_atomic(path, text);
  return path;
}

size_t line_count(const std::string& path) {
  std::string s = read_file(path);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(EvalCli, BatchSizesGiveTheSameScores) {
  const std::string base = "eval --json --no-db -t 1 -m " + kModel + " --task arc_challenge --data " + arc_data(10) +
                           " --shots 2 --min-k 20";
  CliRun one = lmzip(base + " --batch 1");
  ASSERT_EQ(one.rc, 0) << one.err;
  const auto m1 = nlohmann::json::parse(one.out)["metrics"];
  ASSERT_EQ(m1.size(), 3u);
  for (const char* b : {"3", "8", "16"}) {
    CliRun r = lmzip(base + " --batch " + b);
    ASSERT_EQ(r.rc, 0) << r.err;
    // The engine packs a block's requests into shared passes: verdicts are the same, log-likelihoods equal up to
    // floating-point rounding (the runner itself gives bit-identical results for any block size: runner_test).
    const auto m = nlohmann::json::parse(r.out)["metrics"];
    EXPECT_EQ(m["acc"], m1["acc"]) << "--batch " << b;
    EXPECT_EQ(m["acc_norm"], m1["acc_norm"]) << "--batch " << b;
    EXPECT_NEAR(m["min_k_20"]["value"].get<double>(), m1["min_k_20"]["value"].get<double>(), 1e-6) << "--batch " << b;
  }
  CliRun bad = lmzip(base + " --batch 0");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--batch"), std::string::npos) << bad.err;
}

// Ctrl-C during a checkpointed run saves and exits 130 with how to resume; the resumed run's scores equal an
// uninterrupted run's; a completed checkpoint gives the results again; another run's checkpoint is refused.
TEST(EvalCli, CheckpointCtrlCAndResumeEqualsUninterrupted) {
  const std::string base = "eval --json --no-db -t 1 -m " + kModel + " --task arc_challenge --data " + arc_data(60) +
                           " --shots 2 --min-k 20 --batch 1";
  CliRun full = lmzip(base);
  ASSERT_EQ(full.rc, 0) << full.err;
  const auto expected = nlohmann::json::parse(full.out)["metrics"];

  const std::string ckpt = test::temp_dir() + "/arc60.ckpt";
  const std::string err = test::temp_dir() + "/arc60.err";
  // Wait until the checkpoint holds the header and 3 documents, then send SIGINT.
  std::string out;
  int rc = test::run_command("( " + test::lmzip_bin() + " " + base + " --checkpoint " + ckpt + " >/dev/null 2>" + err +
                                 " & pid=$!; for i in $(seq 3000); do [ \"$(cat " + ckpt +
                                 " 2>/dev/null | wc -l)\" -ge 4 ] && break; sleep 0.01; done; kill -INT $pid; wait $pid; "
                                 "echo $? )",
                             &out);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out, "130\n") << read_file(err);
  const std::string message = read_file(err);
  EXPECT_NE(message.find("interrupted after"), std::string::npos) << message;
  EXPECT_NE(message.find("progress saved in " + ckpt + ": rerun the same command to resume"), std::string::npos)
      << message;
  const size_t saved = line_count(ckpt) - 1;
  EXPECT_GE(saved, 3u);
  ASSERT_LT(saved, 60u) << "the run finished before the interrupt";
  // A crash in the middle of a write leaves a torn last line: it is dropped.
  std::string text = read_file(ckpt);
  write_file_atomic(ckpt, text + "{\"doc\": " + std::to_string(saved) + ", \"values\": {\"ac");

  CliRun resumed = lmzip(base + " --checkpoint " + ckpt);
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming after " + std::to_string(saved) + " documents"), std::string::npos) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["metrics"], expected);
  EXPECT_EQ(line_count(ckpt), 61u);

  CliRun again = lmzip(base + " --checkpoint " + ckpt);  // complete: nothing to run, the same results
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.err.find("resuming after 60 documents"), std::string::npos) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["metrics"], expected);

  CliRun other = lmzip(base + " --shots 1 --checkpoint " + ckpt);
  EXPECT_EQ(other.rc, 1);
  EXPECT_NE(other.err.find(ckpt + ": this checkpoint is of another run: shots (checkpoint: 2, this run: 1)"),
            std::string::npos)
      << other.err;
  CliRun other_data = lmzip("eval --json --no-db -t 1 -m " + kModel + " --task arc_challenge --data " + kFixtures +
                            "arc/ARC-Challenge-Test.jsonl --shots 2 --min-k 20 --checkpoint " + ckpt);
  EXPECT_EQ(other_data.rc, 1);
  EXPECT_NE(other_data.err.find("data.documents (checkpoint: 60, this run: 3)"), std::string::npos) << other_data.err;
  EXPECT_NE(other_data.err.find("data.sha256"), std::string::npos) << other_data.err;
}

TEST(EvalCli, LmEvalResultsJsonImportsIntoTheStore) {
  const std::string out = test::temp_dir() + "/results_arc.json";
  const std::string db = test::temp_dir() + "/imported.sqlite";
  CliRun r = lmzip("eval --json --no-db -t 1 -m " + kModel + " --task arc_challenge --data " + kFixtures +
                   "arc/ARC-Challenge-Test.jsonl --fewshot-data " + kFixtures +
                   "arc/ARC-Challenge-Train.jsonl --shots 2 --limit 2 --batch 4 --name zoo-eval --output " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto mine = nlohmann::json::parse(r.out)["metrics"];
  const auto j = nlohmann::json::parse(read_file(out));
  const auto& t = j["results"]["arc_challenge"];
  EXPECT_EQ(t["alias"], "arc_challenge");
  EXPECT_EQ(t["acc,none"], mine["acc"]["value"]);
  EXPECT_EQ(t["acc_stderr,none"], mine["acc"]["stderr"]);
  EXPECT_EQ(t["acc_norm,none"], mine["acc_norm"]["value"]);
  EXPECT_EQ(t["acc_norm_stderr,none"], mine["acc_norm"]["stderr"]);
  EXPECT_EQ(j["n-shot"]["arc_challenge"], 2);
  EXPECT_EQ(j["n-samples"]["arc_challenge"]["original"], 3);
  EXPECT_EQ(j["n-samples"]["arc_challenge"]["effective"], 2);
  EXPECT_EQ(j["configs"]["arc_challenge"]["num_fewshot"], 2);
  EXPECT_EQ(j["configs"]["arc_challenge"]["output_type"], "multiple_choice");
  EXPECT_EQ(j["configs"]["arc_challenge"]["doc_to_text"], "Question: {{question_text}}\nAnswer:");
  EXPECT_EQ(j["higher_is_better"]["arc_challenge"]["acc"], true);
  EXPECT_EQ(j["config"]["model"], "lmzip");
  EXPECT_EQ(j["config"]["limit"], 2);
  EXPECT_EQ(j["config"]["batch_size"], 4);
  EXPECT_NE(j["config"]["model_args"].get<std::string>().find("pretrained=" + kModel), std::string::npos);
  EXPECT_EQ(j["model_name"], "zoo-eval");
  EXPECT_TRUE(j["date"].is_number());

  CliRun imp = lmzip("results import " + out + " --db " + db);
  ASSERT_EQ(imp.rc, 0) << imp.err;
  CliRun list = lmzip("results list --scores --json --db " + db);
  ASSERT_EQ(list.rc, 0) << list.err;
  const auto row = nlohmann::json::parse(list.out.substr(0, list.out.find('\n')));
  EXPECT_EQ(row["model"], "zoo-eval");
  EXPECT_EQ(row["benchmark"], "arc_challenge");
  EXPECT_EQ(row["metric"], "acc_norm,none");  // the importer's first choice
  EXPECT_EQ(row["score"], mine["acc_norm"]["value"]);
  EXPECT_EQ(row["stderr"], mine["acc_norm"]["stderr"]);
  CliRun table = lmzip("results list --scores --db " + db);
  EXPECT_NE(table.out.find("zoo-eval"), std::string::npos) << table.out;

  // A generation task: lm-eval's "exact_match,<filter>" keys, and --metric picks one when importing.
  const std::string gen = test::temp_dir() + "/results_gsm.json";
  CliRun g = lmzip("eval --json --no-db -t 1 --max-context 512 -m " + kModel + " --task gsm8k --data " + kFixtures +
                   "gsm8k/test.jsonl --fewshot-data " + kFixtures + "gsm8k/train.jsonl --shots 1 --output " + gen);
  ASSERT_EQ(g.rc, 0) << g.err;
  const auto gj = nlohmann::json::parse(read_file(gen));
  EXPECT_TRUE(gj["results"]["gsm8k"].contains("exact_match,strict-match"));
  EXPECT_TRUE(gj["results"]["gsm8k"].contains("exact_match_stderr,flexible-extract"));
  EXPECT_EQ(gj["configs"]["gsm8k"]["output_type"], "generate_until");
  EXPECT_EQ(gj["configs"]["gsm8k"]["filter_list"][0]["name"], "strict-match");
  CliRun gi = lmzip("results import " + gen + " --metric exact_match,strict-match --db " + db);
  ASSERT_EQ(gi.rc, 0) << gi.err;
  list = lmzip("results list --scores --json --db " + db);
  EXPECT_NE(list.out.find("\"benchmark\":\"gsm8k\",\"metric\":\"exact_match,strict-match\""), std::string::npos)
      << list.out;
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// lmzip eval --shard I/N into parts, lmzip merge of them: the single run's metrics and standard errors exactly
// (every block, and so every engine pass, is the single run's); a rerun of a complete shard is skipped.
TEST(EvalShardCli, MergedShardsEqualTheSingleRun) {
  const std::string data = test::temp_dir() + "/arc-shard.jsonl";
  {
    std::string text;
    for (int i = 0; i < 9; ++i) {
      nlohmann::json d = {{"id", "q" + std::to_string(i)},
                          {"question", {{"stem", "Which of these is number " + std::to_string(i) + "?"},
                                        {"choices", nlohmann::json::array()}}},
                          {"answerKey", std::string(1, static_cast<char>('A' + i % 4))}};
      for (int c = 0; c < 4; ++c) {
        d["question"]["choices"].push_back({{"text", "item " + std::to_string((i * 3 + c * 7) % 11)},
                                            {"label", std::string(1, static_cast<char>('A' + c))}});
      }
      text += d.dump() + "\n";
    }
    write_file_atomic(data, text);
  }
  const std::string base = "eval -t 1 -m " + kModel + " --task arc_challenge --data " + data + " --shots 2 --min-k 20 --batch 2";
  CliRun single = lmzip(base + " --json --no-db");
  ASSERT_EQ(single.rc, 0) << single.err;
  const auto s = nlohmann::json::parse(single.out);
  const std::string dir = test::temp_dir() + "/eval-parts";
  for (int i = 0; i < 3; ++i) {
    CliRun r = lmzip(base + " --shard " + std::to_string(i) + "/3 --shard-dir " + dir);
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  CliRun again = lmzip(base + " --shard 1/3 --shard-dir " + dir);
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("already complete (skipped)"), std::string::npos) << again.out;
  const std::string db = test::temp_dir() + "/eval-merge.sqlite";
  CliRun m = lmzip("merge --json --db " + db + " " + dir);
  ASSERT_EQ(m.rc, 0) << m.err;
  const auto j = nlohmann::json::parse(m.out);
  EXPECT_EQ(j["documents"], 9);
  EXPECT_EQ(j["shards"], 3);
  ASSERT_EQ(j["metrics"].size(), 3u);
  for (const char* k : {"acc", "acc_norm", "min_k_20"}) {
    EXPECT_EQ(j["metrics"][k]["value"].get<double>(), s["metrics"][k]["value"].get<double>()) << k;
    EXPECT_EQ(j["metrics"][k]["stderr"].get<double>(), s["metrics"][k]["stderr"].get<double>()) << k;
    EXPECT_EQ(j["metrics"][k]["n"], 9) << k;
  }
  CliRun listed = lmzip("results list --scores --db " + db);
  EXPECT_EQ(listed.rc, 0) << listed.err;
  EXPECT_NE(listed.out.find("arc_challenge"), std::string::npos) << listed.out;
  // A missing shard is named; options that belong to the merge are refused.
  std::filesystem::remove(dir + "/arc_challenge.zoo-m2-F16.2-of-3.lmzeval");
  CliRun missing = lmzip("merge --no-db " + dir);
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("1 of 3 shards missing: 2/3"), std::string::npos) << missing.err;
  CliRun bad = lmzip(base + " --shard 0/3 --output x.json");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--output does not apply to --shard"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace lmzip
