// What `lmzip eval` prints and records, shared with `lmzip merge` of eval parts: the table, the JSON object and
// the scores in the results store.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "lmzip/eval/runner.h"
#include "lmzip/store/results_store.h"

namespace lmzip::cli {

struct EvalRunInfo {
  std::string model, model_path, data;
  bool add_bos = false;
  long long max_context = 2048;
};

nlohmann::json eval_result_json(const eval::EvalResult& r, const EvalRunInfo& info, double seconds);
void print_eval_table(const eval::EvalResult& r, const std::string& model);
void record_eval(const eval::EvalResult& r, const EvalRunInfo& info, ResultsStore& store);

}  // namespace lmzip::cli
