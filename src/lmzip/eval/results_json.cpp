#include "lmzip/eval/results_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lmzip::eval {
namespace {

// A stderr lm-eval could not compute is written "N/A"; NaN is not JSON.
Json number_or(double v, const Json& otherwise) { return std::isfinite(v) ? Json(v) : otherwise; }

std::string metric_base(const std::string& key) { return key.substr(0, key.find(',')); }

}  // namespace

std::string lm_eval_metric_key(const std::string& name) {
  return name.find(',') == std::string::npos ? name + ",none" : name;
}

std::string lm_eval_stderr_key(const std::string& key) {
  const size_t comma = key.find(',');
  if (comma == std::string::npos) return key + "_stderr";
  return key.substr(0, comma) + "_stderr" + key.substr(comma);
}

Json lm_eval_task_config(const TaskSpec& spec, const EvalResult& r) {
  const bool choice = spec.request == RequestType::LoglikelihoodOptions;
  Json c = {{"task", spec.name}, {"dataset_path", ""}, {"description", spec.description},
            {"doc_to_text", spec.doc_to_text}, {"doc_to_target", choice ? spec.gold : spec.doc_to_target}};
  if (choice) c["doc_to_choice"] = spec.doc_to_choice;
  c["target_delimiter"] = spec.target_delimiter;
  c["fewshot_delimiter"] = spec.fewshot_delimiter;
  c["fewshot_config"] = {{"sampler", spec.fewshot_sampler}};
  c["test_split"] = spec.test_split ? Json(*spec.test_split) : Json();
  c["fewshot_split"] = spec.fewshot_split ? Json(*spec.fewshot_split) : Json();
  c["num_fewshot"] = r.num_fewshot;
  Json metrics = Json::array();
  std::vector<std::string> seen;
  for (const auto& m : r.metrics) {
    const std::string base = metric_base(m.name);
    if (std::find(seen.begin(), seen.end(), base) != seen.end()) continue;
    seen.push_back(base);
    Json entry = {{"metric", base}, {"aggregation", "mean"}, {"higher_is_better", !base.starts_with("min_k_")}};
    if (base == "exact_match") {
      entry["ignore_case"] = spec.exact_match.ignore_case;
      entry["ignore_punctuation"] = spec.exact_match.ignore_punctuation;
      entry["regexes_to_ignore"] = spec.exact_match.regexes_to_ignore;
    }
    metrics.push_back(entry);
  }
  c["metric_list"] = metrics;
  c["output_type"] = choice ? "multiple_choice" : "generate_until";
  if (!choice) {
    c["generation_kwargs"] = {{"until", spec.until}, {"do_sample", false}, {"max_gen_toks", spec.max_gen_toks}};
    Json filters = Json::array();
    for (const auto& f : spec.filters) {
      filters.push_back({{"name", f.name},
                         {"filter", Json::array({{{"function", "regex"}, {"regex_pattern", f.regex},
                                                  {"group_select", f.group_select}},
                                                 {{"function", "take_first"}}})}});
    }
    if (!filters.empty()) c["filter_list"] = filters;
  }
  c["repeats"] = 1;
  c["should_decontaminate"] = false;
  c["metadata"] = {{"source", spec.source}, {"title", spec.title}};
  return c;
}

Json lm_eval_results_json(const TaskSpec& spec, const EvalResult& r, const LmEvalRunInfo& info) {
  Json task = {{"alias", r.task}};
  Json better = Json::object();
  for (const auto& m : r.metrics) {
    const std::string key = lm_eval_metric_key(m.name);
    task[key] = number_or(m.value, nullptr);
    task[lm_eval_stderr_key(key)] = number_or(m.stderr_value, "N/A");
    better[metric_base(key)] = !metric_base(key).starts_with("min_k_");
  }
  std::string sanitized = info.model_name;
  for (size_t p = sanitized.find('/'); p != std::string::npos; p = sanitized.find('/', p)) sanitized.replace(p, 1, "__");
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.6f", info.end_time - info.start_time);
  Json j;
  j["results"] = {{r.task, task}};
  j["group_subtasks"] = {{r.task, Json::array()}};
  Json config = lm_eval_task_config(spec, r);
  config["dataset_path"] = info.data_path;
  if (!info.fewshot_data_path.empty()) config["fewshot_config"]["dataset_path"] = info.fewshot_data_path;
  j["configs"] = {{r.task, config}};
  j["versions"] = {{r.task, nullptr}};
  j["n-shot"] = {{r.task, r.num_fewshot}};
  j["higher_is_better"] = {{r.task, better}};
  j["n-samples"] = {{r.task, {{"original", info.original_docs}, {"effective", r.n_docs}}}};
  j["config"] = {{"model", "lmzip"},
                 {"model_args", info.model_args},
                 {"batch_size", info.batch_size},
                 {"batch_sizes", Json::array()},
                 {"device", "cpu"},
                 {"use_cache", nullptr},
                 {"limit", info.limit >= 0 ? Json(info.limit) : Json(nullptr)},
                 {"gen_kwargs", nullptr},
                 {"fewshot_seed", info.fewshot_seed}};
  j["git_hash"] = nullptr;
  j["date"] = info.start_time;
  j["model_source"] = "lmzip";
  j["model_name"] = info.model_name;
  j["model_name_sanitized"] = sanitized;
  j["system_instruction"] = nullptr;
  j["chat_template"] = nullptr;
  j["fewshot_as_multiturn"] = false;
  j["start_time"] = info.start_time;
  j["end_time"] = info.end_time;
  j["total_evaluation_time_seconds"] = seconds;
  Json extra = info.lmzip;
  j["lmzip"] = extra;
  return j;
}

}  // namespace lmzip::eval
