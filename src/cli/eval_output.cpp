#include "eval_output.h"

#include <cmath>
#include <cstdio>

namespace lmzip::cli {

nlohmann::json eval_result_json(const eval::EvalResult& r, const EvalRunInfo& info, double seconds) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : r.metrics) metrics[m.name] = {{"value", m.value}, {"stderr", m.stderr_value}, {"n", m.n}};
  return {{"task", r.task}, {"model", info.model}, {"model_path", info.model_path}, {"data", info.data},
          {"num_fewshot", r.num_fewshot}, {"documents", r.n_docs}, {"metrics", metrics}, {"seconds", seconds},
          {"add_bos", info.add_bos}, {"max_context", info.max_context}};
}

void print_eval_table(const eval::EvalResult& r, const std::string& model) {
  std::printf("%-16s %-28s %6s %8s %8s\n", "task", "metric", "n", "value", "stderr");
  for (const auto& m : r.metrics) {
    std::printf("%-16s %-28s %6zu %8.4f %8.4f\n", r.task.c_str(), m.name.c_str(), m.n, m.value, m.stderr_value);
  }
  for (const auto& m : r.metrics) {
    if (m.name == "skipped" && m.value > 0) {
      std::printf("%zu of %zu documents skipped: a library they need is missing (see --log-samples)\n",
                  static_cast<size_t>(std::llround(m.value * static_cast<double>(m.n))), m.n);
    }
  }
  std::printf("model %s, %d-shot\n", model.c_str(), r.num_fewshot);
}

void record_eval(const eval::EvalResult& r, const EvalRunInfo& info, ResultsStore& store) {
  std::vector<ScoreRecord> records;
  for (const auto& m : r.metrics) {
    records.push_back({.model_name = info.model, .benchmark = r.task, .metric = m.name, .score = m.value,
                       .stderr_value = m.stderr_value, .source = "lmzip eval " + info.data});
  }
  store.record_scores(records);
}

}  // namespace lmzip::cli
