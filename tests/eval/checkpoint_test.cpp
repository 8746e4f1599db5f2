// The eval checkpoint journal (append, reopen, torn last line, fingerprint mismatch) and lm-eval result keys.
#include <gtest/gtest.h>

#include <cmath>

#include "lmzip/eval/checkpoint.h"
#include "lmzip/eval/results_json.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip::eval {
namespace {

const Json kPrint = {{"task", {{"name", "t"}, {"doc_to_text", "{{q}}"}}}, {"data", {{"sha256", "aa"}, {"documents", 3}}},
                     {"shots", 2}};

DocOutcome outcome(int i, double v) {
  return {{{"doc_index", i}, {"prompt", std::to_string(i).insert(0, "Q")}, {"acc", v}}, {{"acc", {v}}, {"min_k_20", {0.1 * i}}}};
}

std::string expect_error(const std::string& path, const Json& print) {
  try {
    EvalCheckpoint c(path, print);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opened";
  return "";
}

TEST(EvalCheckpoint, AppendsBlocksAndReopens) {
  const std::string path = test::temp_dir() + "/a.ckpt";
  {
    EvalCheckpoint c(path, kPrint);
    EXPECT_TRUE(c.done().empty());
    c.append({outcome(0, 1), outcome(1, 0)});
    DocOutcome odd = outcome(2, std::nan(""));
    odd.values["pass@1"] = {};  // a metric with no value yet is kept
    c.append({odd});
  }
  EvalCheckpoint c(path, kPrint);
  ASSERT_EQ(c.done().size(), 3u);
  EXPECT_EQ(c.done()[1].sample["prompt"], "Q1");
  EXPECT_EQ(c.done()[1].values.at("acc"), std::vector<double>{0});
  EXPECT_EQ(c.done()[1].values.at("min_k_20"), std::vector<double>{0.1});  // doubles round-trip exactly
  EXPECT_TRUE(std::isnan(c.done()[2].values.at("acc")[0]));
  EXPECT_TRUE(c.done()[2].values.at("pass@1").empty());
  c.append({outcome(3, 1)});
  EXPECT_EQ(EvalCheckpoint(path, kPrint).done().size(), 4u);
}

TEST(EvalCheckpoint, DropsATornLastLineAndRefusesOtherRuns) {
  const std::string path = test::temp_dir() + "/b.ckpt";
  EvalCheckpoint(path, kPrint).append({outcome(0, 1)});
  const std::string good = read_file(path);
  write_file_atomic(path, good + "{\"doc\": 1, \"val");
  {
    EvalCheckpoint c(path, kPrint);
    EXPECT_EQ(c.done().size(), 1u);
    EXPECT_EQ(read_file(path), good);  // cut off before appending
    c.append({outcome(1, 0)});
  }
  EXPECT_EQ(EvalCheckpoint(path, kPrint).done().size(), 2u);

  Json other = kPrint;
  other["shots"] = 5;
  other["data"]["sha256"] = "bb";
  const std::string e = expect_error(path, other);
  EXPECT_NE(e.find(path + ": this checkpoint is of another run: data.sha256 (checkpoint: \"aa\", this run: \"bb\"); "
                          "shots (checkpoint: 2, this run: 5)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("delete the file"), std::string::npos) << e;

  write_file_atomic(path, good + "not json\n" + "{}\n");
  const std::string bad = expect_error(path, kPrint);
  EXPECT_NE(bad.find(path + ":3: not valid JSON at column "), std::string::npos) << bad;
  EXPECT_NE(bad.find("(not a valid checkpoint line)"), std::string::npos) << bad;
  write_file_atomic(path, "{\"format\": \"something else\"}\n");
  EXPECT_NE(expect_error(path, kPrint).find("not an lmzip eval checkpoint"), std::string::npos);
}

// The fingerprint is the task's whole definition: a field the checkpoint code does not know (here DS-1000's
// program_requires and memory_mb) still makes a changed task a different run.
TEST(EvalCheckpoint, FingerprintCoversEveryFieldOfTheTaskDefinition) {
  const TaskSpec ds = builtin_task("ds1000");
  const Json print = task_definition_json(ds);
  EXPECT_TRUE(print.contains("program_requires")) << print.dump();
  Json changed = ds.definition;
  changed["memory_mb"] = 4096;
  const TaskSpec other = parse_task(changed, "test");
  const auto diffs = fingerprint_differences(print, task_definition_json(other));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_NE(diffs[0].find("memory_mb"), std::string::npos) << diffs[0];
}

TEST(LmEvalResults, MetricAndStderrKeys) {
  EXPECT_EQ(lm_eval_metric_key("acc"), "acc,none");
  EXPECT_EQ(lm_eval_metric_key("exact_match,strict-match"), "exact_match,strict-match");
  EXPECT_EQ(lm_eval_metric_key("pass@1"), "pass@1,none");
  EXPECT_EQ(lm_eval_stderr_key("acc_norm,none"), "acc_norm_stderr,none");
  EXPECT_EQ(lm_eval_stderr_key("exact_match,flexible-extract"), "exact_match_stderr,flexible-extract");
  TaskSpec t = builtin_task("arc_challenge");
  EvalResult r{.task = "arc_challenge", .n_docs = 1, .num_fewshot = 0,
               .metrics = {{"acc", 1.0, std::nan(""), 1}, {"min_k_20", 3.5, 0, 1}}, .samples = {}, .outcomes = {}};
  LmEvalRunInfo info;
  info.model_name = "org/m";
  info.original_docs = 4;
  Json j = lm_eval_results_json(t, r, info);
  EXPECT_EQ(j["results"]["arc_challenge"]["acc,none"], 1.0);
  EXPECT_EQ(j["results"]["arc_challenge"]["acc_stderr,none"], "N/A");  // lm-eval's word for no stderr
  EXPECT_EQ(j["higher_is_better"]["arc_challenge"]["min_k_20"], false);
  EXPECT_EQ(j["model_name_sanitized"], "org__m");
  EXPECT_EQ(j["n-samples"]["arc_challenge"]["original"], 4);
  EXPECT_TRUE(j["config"]["limit"].is_null());
}

}  // namespace
}  // namespace lmzip::eval
