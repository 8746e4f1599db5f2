#include "lmzip/eval/runner.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/eval/sandbox.h"

namespace lmzip::eval {
namespace {

std::string where(const Json& doc) {
  std::string f = doc.contains("_file") && doc["_file"].is_string() ? doc["_file"].get<std::string>() : "document";
  return f;
}

std::vector<std::string> as_strings(const Json& v, const std::string& what, const Json& doc) {
  std::vector<std::string> out;
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw Error(where(doc) + ": " + what + " is neither a string nor a list: " + v.dump());
  for (const Json& e : v) out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

}  // namespace

std::vector<std::vector<LanguageModel::Continuation>> LanguageModel::loglikelihoods_batch(
    const std::vector<LoglikelihoodRequest>& requests) {
  std::vector<std::vector<Continuation>> out;
  for (const auto& r : requests) out.push_back(loglikelihoods(r.context, r.continuations));
  return out;
}

std::vector<std::string> LanguageModel::generate_batch(const std::vector<GenerationRequest>& requests) {
  std::vector<std::string> out;
  for (const auto& r : requests) out.push_back(generate(r.context, r.until, r.max_tokens));
  return out;
}

std::vector<std::string> choices_of(const TaskSpec& spec, const Json& doc) {
  Json v = render_value(spec.doc_to_choice, doc);
  if (!v.is_array() || v.empty()) {
    throw Error(where(doc) + ": task " + spec.name + ": doc_to_choice '" + spec.doc_to_choice +
                "' must give a non-empty list, got " + v.dump());
  }
  return as_strings(v, "doc_to_choice", doc);
}

size_t gold_of(const TaskSpec& spec, const Json& doc) {
  const std::string g = py_strip(render_text(spec.gold, doc));
  const size_t n_choices = choices_of(spec, doc).size();
  size_t index = n_choices;
  if (spec.gold_type == GoldType::Index) {
    if (!g.empty() && g.find_first_not_of("0123456789") == std::string::npos && g.size() < 9) index = std::stoul(g);
  } else if (spec.gold_type == GoldType::Letter) {
    if (g.size() == 1 && g[0] >= 'A' && g[0] <= 'Z') index = static_cast<size_t>(g[0] - 'A');
  } else {
    auto labels = as_strings(render_value(spec.gold_labels, doc), "gold_labels", doc);
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == g) index = i;
    }
  }
  if (index >= n_choices) {
    throw Error(where(doc) + ": task " + spec.name + ": gold answer '" + g + "' does not name one of the " +
                std::to_string(n_choices) + " options");
  }
  return index;
}

std::vector<std::string> references_of(const TaskSpec& spec, const Json& doc) {
  auto refs = as_strings(render_value(spec.doc_to_target, doc), "doc_to_target", doc);
  if (refs.empty()) throw Error(where(doc) + ": task " + spec.name + ": the document has no reference answer");
  return refs;
}

std::string demo_target(const TaskSpec& spec, const Json& doc) {
  if (spec.request == RequestType::LoglikelihoodOptions) return choices_of(spec, doc)[gold_of(spec, doc)];
  return references_of(spec, doc)[0];
}

std::string build_prompt(const TaskSpec& spec, const Json& doc, const std::vector<const Json*>& demos) {
  std::string prompt = spec.description.empty() ? "" : render_text(spec.description, doc);
  for (const Json* d : demos) {
    prompt += render_text(spec.doc_to_text, *d) + spec.target_delimiter + demo_target(spec, *d) +
              spec.fewshot_delimiter;
  }
  return prompt + render_text(spec.doc_to_text, doc);
}

FewshotSampler::FewshotSampler(const TaskSpec& spec, const std::vector<Json>& pool, bool pool_is_eval_split,
                               uint64_t seed)
    : spec_(spec), pool_(pool), pool_is_eval_(pool_is_eval_split), rng_(seed) {}

std::vector<const Json*> FewshotSampler::demos_for(const Json& doc, int k) {
  std::vector<const Json*> candidates;
  for (const Json& d : pool_) {
    if (pool_is_eval_ && &d == &doc) continue;
    if (!spec_.fewshot_group.empty() && d.value(spec_.fewshot_group, Json()) != doc.value(spec_.fewshot_group, Json())) {
      continue;
    }
    if (!spec_.fewshot_field.empty()) {
      const std::string v = render_text(spec_.fewshot_field, d);
      if (std::find(spec_.fewshot_values.begin(), spec_.fewshot_values.end(), v) == spec_.fewshot_values.end()) continue;
    }
    candidates.push_back(&d);
  }
  const size_t want = static_cast<size_t>(std::max(0, k));
  if (candidates.size() < want) {
    throw Error("task " + spec_.name + ": " + std::to_string(want) + "-shot needs " + std::to_string(want) +
                " demonstrations but the few-shot pool has " + std::to_string(candidates.size()) +
                (spec_.fewshot_group.empty() ? "" : " with the same " + spec_.fewshot_group) +
                " (give --fewshot-data or fewer --shots)");
  }
  if (spec_.fewshot_sampler == "random") {
    // Partial Fisher-Yates with plain modulo draws (std distributions are implementation-defined).
    for (size_t i = 0; i < want; ++i) std::swap(candidates[i], candidates[i + rng_() % (candidates.size() - i)]);
  }
  candidates.resize(want);
  return candidates;
}

namespace {

void score_choice_doc(const TaskSpec& spec, const Json& doc, const std::string& prompt, LanguageModel& lm,
                      Json& sample, std::map<std::string, std::vector<double>>& values) {
  auto choices = choices_of(spec, doc);
  const size_t gold = gold_of(spec, doc);
  std::vector<std::string> continuations;
  for (const auto& c : choices) continuations.push_back(spec.target_delimiter + c);
  auto scored = lm.loglikelihoods(prompt, continuations);
  std::vector<double> lls;
  for (const auto& s : scored) lls.push_back(s.loglikelihood);
  OptionVerdict v = score_options(lls, choices, gold);
  values["acc"].push_back(v.acc);
  values["acc_norm"].push_back(v.acc_norm);
  sample["choices"] = choices;
  sample["loglikelihoods"] = lls;
  sample["gold"] = gold;
  sample["predicted"] = v.predicted;
  sample["predicted_norm"] = v.predicted_norm;
  sample["acc"] = v.acc;
  sample["acc_norm"] = v.acc_norm;
}

void score_generation_doc(const TaskSpec& spec, const Json& doc, const std::string& prompt, LanguageModel& lm,
                          Json& sample, std::map<std::string, std::vector<double>>& values) {
  const std::string response = lm.generate(prompt, spec.until, spec.max_gen_toks);
  sample["response"] = response;
  if (!spec.program.empty()) {
    Json with_response = doc;
    with_response["_response"] = response;
    const std::string program = render_text(spec.program, with_response);
    SandboxResult run = run_python_sandboxed(program, {.wall_seconds = spec.timeout_seconds,
                                                       .cpu_seconds = static_cast<int>(std::ceil(spec.timeout_seconds))});
    values["pass@1"].push_back(run.status == SandboxStatus::Passed ? 1.0 : 0.0);
    sample["program"] = program;
    sample["execution"] = status_name(run.status);
    sample["execution_output"] = run.output;
    sample["network_isolated"] = run.network_isolated;
    return;
  }
  auto refs = references_of(spec, doc);
  sample["references"] = refs;
  for (const ExtractFilter& f : spec.filters) {
    std::string answer = extract_answer(f, response);
    double em = exact_match(answer, refs, spec.exact_match);
    values["exact_match," + f.name].push_back(em);
    sample["extracted"][f.name] = answer;
    sample["exact_match"][f.name] = em;
  }
}

}  // namespace

EvalResult run_task(const TaskSpec& spec, const std::vector<Json>& docs, const std::vector<Json>* pool,
                    LanguageModel& lm, const EvalOptions& options) {
  EvalResult result;
  result.task = spec.name;
  result.num_fewshot = options.num_fewshot >= 0 ? options.num_fewshot : spec.num_fewshot;
  size_t n = docs.size();
  if (options.limit >= 0) n = std::min(n, static_cast<size_t>(options.limit));
  FewshotSampler sampler(spec, pool ? *pool : docs, pool == nullptr, options.seed);
  std::map<std::string, std::vector<double>> values;
  std::vector<std::string> order;  // metric names in first-seen order
  for (size_t i = 0; i < n; ++i) {
    const Json& doc = docs[i];
    const std::string prompt = build_prompt(spec, doc, sampler.demos_for(doc, result.num_fewshot));
    Json sample = {{"doc_index", i}, {"prompt", prompt}};
    if (spec.request == RequestType::LoglikelihoodOptions) score_choice_doc(spec, doc, prompt, lm, sample, values);
    else score_generation_doc(spec, doc, prompt, lm, sample, values);
    if (options.min_k > 0) {
      const std::string text = render_text(spec.doc_to_text, doc) + spec.target_delimiter + demo_target(spec, doc);
      double mk = min_k_prob(lm.loglikelihoods("", {text})[0].token_nlls, options.min_k);
      const std::string name = "min_k_" + std::to_string(static_cast<int>(std::lround(options.min_k * 100)));
      values[name].push_back(mk);
      sample[name] = mk;
    }
    if (i == 0) {
      for (const auto& [name, v] : values) order.push_back(name);
    }
    result.samples.push_back(std::move(sample));
    if (options.progress) options.progress(i + 1, n);
  }
  result.n_docs = n;
  for (const auto& name : order) {
    MeanStderr m = mean_stderr(values[name]);
    result.metrics.push_back({name, m.mean, m.stderr_value});
  }
  return result;
}

}  // namespace lmzip::eval
