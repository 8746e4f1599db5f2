// An evaluation's results in the shape of lm-evaluation-harness's results_<date>.json, so tools that read those
// files (and `lmzip results import`) read lmzip's: {"results": {task: {"alias", "acc,none", "acc_stderr,none",
// ...}}, "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config", "model_name", "date", ...}.
#pragma once

#include <cstdint>
#include <string>

#include "lmzip/eval/runner.h"

namespace lmzip::eval {

// lm-eval's "metric,filter" key: "acc" -> "acc,none"; "exact_match,strict-match" stays; "pass@1" -> "pass@1,none".
std::string lm_eval_metric_key(const std::string& name);
// The stderr key beside it: "acc,none" -> "acc_stderr,none".
std::string lm_eval_stderr_key(const std::string& key);

struct LmEvalRunInfo {
  std::string model_name;  // top-level "model_name" (the name `lmzip results import` records)
  std::string model_args;  // config.model_args, e.g. "pretrained=models/x.gguf,max_context=2048,add_bos=False"
  std::string data_path, fewshot_data_path;
  size_t original_docs = 0;  // documents in the data (n-samples.original); the evaluated ones are EvalResult::n_docs
  long long limit = -1;      // -1: none
  size_t batch_size = 1;
  uint64_t fewshot_seed = 1234;
  double start_time = 0, end_time = 0;  // seconds since the epoch
  Json lmzip = Json::object();          // extra lmzip fields (version, model identity, resumed documents)
};

// lm-eval's configs.<task>: the prompt pieces, few-shot rule, output type, generation kwargs and metric list.
Json lm_eval_task_config(const TaskSpec& spec, const EvalResult& r);

Json lm_eval_results_json(const TaskSpec& spec, const EvalResult& r, const LmEvalRunInfo& info);

}  // namespace lmzip::eval
