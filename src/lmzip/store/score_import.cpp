#include "lmzip/store/score_import.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/io/file.h"
#include "lmzip/stats/csv.h"

namespace lmzip {
namespace {

using ordered_json = nlohmann::ordered_json;

// Converts all scores of one file to fractions; `where` names each score's origin for messages.
void apply_scale(ScoreImport& imp, ScoreScale scale, const std::vector<std::string>& where) {
  bool percent = scale == ScoreScale::percent;
  if (scale == ScoreScale::detect) {
    for (const auto& s : imp.scores) percent = percent || s.score > 1;
  }
  double limit = percent ? 100 : 1;
  for (size_t i = 0; i < imp.scores.size(); ++i) {
    ScoreRecord& s = imp.scores[i];
    if (s.score < 0 || s.score > limit) {
      throw Error(where[i] + ": score " + std::to_string(s.score) + " is outside 0.." + (percent ? "100" : "1") +
                  (percent ? "" : " (percent scores? use --scale percent)"));
    }
    if (percent) {
      s.score /= 100;
      if (s.stderr_value) *s.stderr_value /= 100;
    }
  }
  imp.from_percent = percent;
}

std::string model_from_file(const ordered_json& j, const std::string& source) {
  if (j.contains("model_name") && j["model_name"].is_string() && !j["model_name"].get<std::string>().empty()) {
    return j["model_name"].get<std::string>();
  }
  // Older files: config.model_args = "pretrained=org/name,dtype=..."; the last path part names the model.
  if (j.contains("config") && j["config"].is_object() && j["config"].contains("model_args") &&
      j["config"]["model_args"].is_string()) {
    std::string args = j["config"]["model_args"].get<std::string>();
    size_t p = args.find("pretrained=");
    if (p != std::string::npos) {
      std::string v = args.substr(p + 11, args.find(',', p) == std::string::npos ? std::string::npos
                                                                                   : args.find(',', p) - p - 11);
      size_t slash = v.find_last_of('/');
      if (slash != std::string::npos) v = v.substr(slash + 1);
      if (!v.empty()) return v;
    }
  }
  throw Error(source + ": no model name in the file (model_name or config.model_args pretrained=): give --model");
}

// The key of the metric to take from one task's results, or "" when it has none of the wanted ones.
std::string pick_metric(const ordered_json& task, const std::string& wanted) {
  auto matches = [](const std::string& key, const std::string& metric) {
    return key == metric || key.rfind(metric + ",", 0) == 0;
  };
  std::vector<std::string> prefs = wanted.empty()
                                       ? std::vector<std::string>{"acc_norm", "acc", "exact_match", "pass@1", "f1"}
                                       : std::vector<std::string>{wanted};
  for (const auto& m : prefs) {
    for (const auto& [key, value] : task.items()) {
      if (value.is_number() && matches(key, m)) return key;
    }
  }
  return "";
}

}  // namespace

ScoreScale parse_score_scale(const std::string& name) {
  if (name == "detect") return ScoreScale::detect;
  if (name == "fraction") return ScoreScale::fraction;
  if (name == "percent") return ScoreScale::percent;
  throw UsageError("--scale must be detect, fraction or percent, not '" + name + "'");
}

ScoreImport parse_scores_csv(std::string_view text, const std::string& source, const ScoreImportOptions& options) {
  stats::CsvTable t = stats::parse_csv(text, source);
  size_t model = t.column("model"), bench = t.column("benchmark"), score = t.column("score");
  bool has_stderr = t.has_column("stderr"), has_metric = t.has_column("metric");
  ScoreImport imp{.format = "csv"};
  std::vector<std::string> where;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    ScoreRecord s{.model_name = t.rows[r][model], .benchmark = t.rows[r][bench], .score = t.number(r, score),
                  .source = source};
    if (s.model_name.empty()) throw Error(t.where(r) + ": empty model name");
    if (s.benchmark.empty()) throw Error(t.where(r) + ": empty benchmark name");
    if (has_stderr && !t.rows[r][t.column("stderr")].empty()) s.stderr_value = t.number(r, t.column("stderr"));
    if (has_metric) s.metric = t.rows[r][t.column("metric")];
    imp.scores.push_back(std::move(s));
    where.push_back(t.where(r));
  }
  if (imp.scores.empty()) throw Error(source + ": no scores (only a header line)");
  apply_scale(imp, options.scale, where);
  return imp;
}

ScoreImport parse_lm_eval_json(std::string_view text, const std::string& source, const ScoreImportOptions& options) {
  ordered_json j = parse_ordered_json(text, source);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_object()) {
    throw Error(source + ": no \"results\" object (expected an lm-evaluation-harness results file)");
  }
  std::string model = options.model.empty() ? model_from_file(j, source) : options.model;
  ScoreImport imp{.format = "lm-eval"};
  std::vector<std::string> where;
  for (const auto& [task, metrics] : j["results"].items()) {
    std::string key = metrics.is_object() ? pick_metric(metrics, options.metric) : "";
    if (key.empty()) {
      imp.skipped.push_back(task);
      continue;
    }
    ScoreRecord s{.model_name = model, .benchmark = task, .metric = key, .score = metrics[key].get<double>(),
                  .source = source};
    // The stderr of "acc,none" is "acc_stderr,none" (older files: "acc" / "acc_stderr"); "N/A" means none.
    size_t comma = key.find(',');
    std::string stderr_key = comma == std::string::npos ? key + "_stderr"
                                                        : key.substr(0, comma) + "_stderr" + key.substr(comma);
    if (metrics.contains(stderr_key) && metrics[stderr_key].is_number()) {
      s.stderr_value = metrics[stderr_key].get<double>();
    }
    imp.scores.push_back(std::move(s));
    where.push_back(source + ": results." + task + "." + key);
  }
  if (imp.scores.empty()) {
    throw Error(source + ": no task has the metric " +
                (options.metric.empty() ? std::string("acc_norm, acc, exact_match, pass@1 or f1") : options.metric) +
                " (choose one with --metric)");
  }
  apply_scale(imp, options.scale == ScoreScale::detect ? ScoreScale::fraction : options.scale, where);
  return imp;
}

ScoreImport read_scores_file(const std::string& path, const ScoreImportOptions& options) {
  std::string text = read_file(path);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return parse_lm_eval_json(text, path, options);
  return parse_scores_csv(text, path, options);
}

}  // namespace lmzip
