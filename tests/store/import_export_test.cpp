#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/stats/csv.h"
#include "lmzip/store/export.h"
#include "lmzip/store/score_import.h"

namespace lmzip {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ScoreImport, CsvDetectsPercentForTheWholeFile) {
  ScoreImport imp = parse_scores_csv("model,benchmark,score,stderr\nm1,mmlu,57.1,1.2\nm2,mmlu,0.5,\n", "s.csv", {});
  EXPECT_TRUE(imp.from_percent);
  ASSERT_EQ(imp.scores.size(), 2u);
  EXPECT_DOUBLE_EQ(imp.scores[0].score, 0.571);
  EXPECT_DOUBLE_EQ(*imp.scores[0].stderr_value, 0.012);
  EXPECT_DOUBLE_EQ(imp.scores[1].score, 0.005);  // one scale per file: 0.5 percent
  EXPECT_FALSE(imp.scores[1].stderr_value.has_value());
  EXPECT_EQ(imp.scores[0].source, "s.csv");
  imp = parse_scores_csv("model,benchmark,score\nm1,arc,0.25\n", "f.csv", {});
  EXPECT_FALSE(imp.from_percent);
  EXPECT_DOUBLE_EQ(imp.scores[0].score, 0.25);
}

TEST(ScoreImport, CsvErrorsNameTheLine) {
  EXPECT_EQ(error_of([] { parse_scores_csv("model,benchmark,score\nm,b,x\n", "s.csv", {}); }),
            "s.csv:2: column 'score': 'x' is not a number");
  EXPECT_EQ(error_of([] { parse_scores_csv("model,score\nm,1\n", "s.csv", {}); }),
            "s.csv: no column 'benchmark' (columns: model, score)");
  EXPECT_EQ(error_of([] { parse_scores_csv("model,benchmark,score\nm,b,140\n", "s.csv", {}); }),
            "s.csv:2: score 140.000000 is outside 0..100");
  EXPECT_EQ(error_of([] {
              parse_scores_csv("model,benchmark,score\nm,b,40\n", "s.csv", {.scale = ScoreScale::fraction});
            }),
            "s.csv:2: score 40.000000 is outside 0..1 (percent scores? use --scale percent)");
  EXPECT_EQ(error_of([] { parse_scores_csv("model,benchmark,score\n,b,0.4\n", "s.csv", {}); }),
            "s.csv:2: empty model name");
}

// The shape of lm-evaluation-harness 0.4 output (trimmed).
const char* kLmEval = R"({
  "results": {
    "arc_challenge": {"alias": "arc_challenge", "acc,none": 0.5, "acc_stderr,none": 0.0146,
                      "acc_norm,none": 0.53, "acc_norm_stderr,none": 0.0145},
    "gsm8k": {"exact_match,strict-match": 0.31, "exact_match_stderr,strict-match": 0.0127,
              "exact_match,flexible-extract": 0.33, "exact_match_stderr,flexible-extract": "N/A"},
    "wikitext": {"word_perplexity,none": 9.1, "bits_per_byte,none": 0.61}
  },
  "config": {"model": "hf", "model_args": "pretrained=meta-llama/Llama-2-7b-hf,dtype=float16"}
})";

TEST(ScoreImport, LmEvalResultsJson) {
  ScoreImport imp = parse_lm_eval_json(kLmEval, "r.json", {});
  EXPECT_EQ(imp.format, "lm-eval");
  ASSERT_EQ(imp.scores.size(), 2u);
  EXPECT_EQ(imp.scores[0].model_name, "Llama-2-7b-hf");
  EXPECT_EQ(imp.scores[0].benchmark, "arc_challenge");
  EXPECT_EQ(imp.scores[0].metric, "acc_norm,none");  // preferred over acc
  EXPECT_DOUBLE_EQ(imp.scores[0].score, 0.53);
  EXPECT_DOUBLE_EQ(*imp.scores[0].stderr_value, 0.0145);
  EXPECT_EQ(imp.scores[1].metric, "exact_match,strict-match");  // first filter in file order
  EXPECT_DOUBLE_EQ(*imp.scores[1].stderr_value, 0.0127);
  EXPECT_EQ(imp.skipped, std::vector<std::string>{"wikitext"});

  imp = parse_lm_eval_json(kLmEval, "r.json", {.model = "llama2-7b", .metric = "exact_match,flexible-extract"});
  ASSERT_EQ(imp.scores.size(), 1u);
  EXPECT_EQ(imp.scores[0].model_name, "llama2-7b");
  EXPECT_DOUBLE_EQ(imp.scores[0].score, 0.33);
  EXPECT_FALSE(imp.scores[0].stderr_value.has_value());  // "N/A"

  // Older files: plain metric names, model_name at the top.
  imp = parse_lm_eval_json(R"({"model_name": "m", "results": {"hellaswag": {"acc": 0.7, "acc_stderr": 0.01}}})",
                           "old.json", {});
  EXPECT_EQ(imp.scores[0].model_name, "m");
  EXPECT_EQ(imp.scores[0].metric, "acc");
  EXPECT_DOUBLE_EQ(*imp.scores[0].stderr_value, 0.01);
}

TEST(ScoreImport, LmEvalErrors) {
  EXPECT_NE(error_of([] { parse_lm_eval_json("{\"results\": {", "r.json", {}); }).find("r.json:1: not valid JSON"),
            std::string::npos);
  // Issue 18 item 15: a number overflow escaped as a bare nlohmann out_of_range, naming no file.
  const std::string overflow = error_of([] { parse_lm_eval_json("{\n\"results\": {\"t\": {\"acc\": 1e999}}}", "r.json", {}); });
  EXPECT_NE(overflow.find("r.json:2: not valid JSON at column "), std::string::npos) << overflow;
  EXPECT_NE(overflow.find("number overflow"), std::string::npos) << overflow;
  EXPECT_EQ(error_of([] { parse_lm_eval_json("{\"x\": 1}", "r.json", {}); }),
            "r.json: no \"results\" object (expected an lm-evaluation-harness results file)");
  EXPECT_EQ(error_of([] { parse_lm_eval_json(R"({"results": {"t": {"acc": 0.5}}})", "r.json", {}); }),
            "r.json: no model name in the file (model_name or config.model_args pretrained=): give --model");
  EXPECT_EQ(error_of([] { parse_lm_eval_json(kLmEval, "r.json", {.metric = "mc2"}); }),
            "r.json: no task has the metric mc2 (choose one with --metric)");
}

TEST(Export, ScoresCsvReimportsExactly) {
  std::vector<StoredScore> stored = {
      {.id = 1, .recorded_at = "t", .score = {.model_name = "a,b", .benchmark = "mmlu", .metric = "acc",
                                              .score = 0.1234567890123, .stderr_value = 0.01, .source = "x"}},
      {.id = 2, .recorded_at = "t", .score = {.model_name = "c\"d", .benchmark = "arc", .score = 0.5}},
  };
  std::string csv = scores_csv(stored);
  ScoreImport back = parse_scores_csv(csv, "export.csv", {.scale = ScoreScale::fraction});
  ASSERT_EQ(back.scores.size(), 2u);
  EXPECT_EQ(back.scores[0].model_name, "a,b");
  EXPECT_EQ(back.scores[0].score, 0.1234567890123);
  EXPECT_EQ(*back.scores[0].stderr_value, 0.01);
  EXPECT_EQ(back.scores[0].metric, "acc");
  EXPECT_EQ(back.scores[1].model_name, "c\"d");
}

TEST(Export, BpcRunsCsvHasEveryFieldOnce) {
  StoredBpcRun run{.id = 3, .recorded_at = "2026-11-28T09:00:00.000Z", .run = {}};
  run.run.model_name = "zoo-m2";
  run.run.corpus_name = "cc, test";
  run.run.bpc = 0.6125;
  run.run.chars = 1000;
  run.run.extra_json = R"({"k":"v"})";
  stats::CsvTable t = stats::parse_csv(bpc_runs_csv({run}), "runs.csv");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.header.size(), 30u);
  EXPECT_EQ(t.rows[0][t.column("id")], "3");
  EXPECT_EQ(t.rows[0][t.column("corpus_name")], "cc, test");
  EXPECT_EQ(t.rows[0][t.column("bpc")], "0.6125");
  EXPECT_EQ(t.rows[0][t.column("chars")], "1000");
  EXPECT_EQ(t.rows[0][t.column("extra_json")], R"({"k":"v"})");
  nlohmann::ordered_json j = bpc_run_json(run);
  EXPECT_EQ(j["extra"]["k"], "v");
  EXPECT_EQ(j["bpc"], 0.6125);
}

}  // namespace
}  // namespace lmzip
