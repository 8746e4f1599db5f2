// Benchmark scores from outside lmzip, for `lmzip results import`: a CSV (model,benchmark,score[,stderr]
// [,metric]) or an lm-evaluation-harness results JSON (results.<task>.<metric>). Parsing only; the caller
// records the scores in a ResultsStore. Every error names the file and the line or key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmzip/store/results_store.h"

namespace lmzip {

enum class ScoreScale {
  detect,    // CSV: percent when any score exceeds 1, else fractions; lm-eval JSON: fractions
  fraction,  // scores are 0..1
  percent,   // scores are 0..100 (divided by 100)
};
ScoreScale parse_score_scale(const std::string& name);  // "detect" | "fraction" | "percent"

struct ScoreImportOptions {
  ScoreScale scale = ScoreScale::detect;
  std::string model{};   // lm-eval: the model name to record (default: the file's model_name / pretrained=)
  std::string metric{};  // lm-eval: the metric to take, e.g. "acc" or "exact_match,strict-match"
                         // (default: the first of acc_norm, acc, exact_match, pass@1, f1 a task has)
};

struct ScoreImport {
  std::string format{};  // "csv" or "lm-eval"
  bool from_percent = false;
  std::vector<ScoreRecord> scores{};
  std::vector<std::string> skipped{};  // lm-eval tasks without the wanted metric
};

ScoreImport parse_scores_csv(std::string_view text, const std::string& source, const ScoreImportOptions& options);
ScoreImport parse_lm_eval_json(std::string_view text, const std::string& source, const ScoreImportOptions& options);
// Reads `path` and picks the format from its first non-blank character ('{' = lm-eval JSON, else CSV).
ScoreImport read_scores_file(const std::string& path, const ScoreImportOptions& options);

}  // namespace lmzip
